//! Highlights as plain text: the index returns a fragment as HTML (its
//! text escaped, the query's words in `<b>…</b>`). The page never passes
//! that HTML on: it is read back into runs of text, marked or not, and
//! the template escapes each run again and wraps the marked ones in
//! `<mark>`. Whatever a driver said, it can only ever be text.

/// A run of a highlighted fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// The words, unescaped (the template escapes them).
    pub text: String,
    /// Whether they matched the query.
    pub marked: bool,
}

/// The runs of an index highlight (`a &lt;b&gt; <b>brake</b> fluid`).
///
/// Only the literal `<b>` and `</b>` the highlighter writes separate runs;
/// the text between them had `<`, `>` and `&` escaped, so a `<b>` a driver
/// typed arrives as `&lt;b&gt;` and stays text.
pub fn fragments(html: &str) -> Vec<Fragment> {
    let mut runs: Vec<Fragment> = Vec::new();
    let mut push = |text: &str, marked: bool| {
        let text = unescape(text);
        if text.is_empty() {
            return;
        }
        match runs.last_mut() {
            Some(last) if last.marked == marked => last.text.push_str(&text),
            _ => runs.push(Fragment { text, marked }),
        }
    };
    let mut rest = html;
    while let Some(start) = rest.find("<b>") {
        push(&rest[..start], false);
        let after = &rest[start + 3..];
        let end = after.find("</b>").unwrap_or(after.len());
        push(&after[..end], true);
        rest = after.get(end + 4..).unwrap_or("");
    }
    push(rest, false);
    runs
}

/// Undoes HTML escaping: the five entities the highlighter writes and
/// numeric references; anything else stays as it is (and is escaped
/// again when shown).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        match tail
            .find(';')
            .filter(|end| *end <= 10)
            .and_then(|end| entity(&tail[1..end]).map(|c| (c, end)))
        {
            Some((c, end)) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character an entity name (between `&` and `;`) stands for.
fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, marked: bool) -> Fragment {
        Fragment {
            text: text.into(),
            marked,
        }
    }

    #[test]
    fn marked_words_are_runs_and_escaped_markup_comes_back_as_text() {
        assert_eq!(
            fragments(
                "the <b>brake</b> pedal &lt;script&gt;alert(1)&lt;/script&gt; &amp; <b>fluid</b>"
            ),
            vec![
                run("the ", false),
                run("brake", true),
                run(" pedal <script>alert(1)</script> & ", false),
                run("fluid", true),
            ]
        );
    }

    #[test]
    fn references_and_stray_ampersands_read_as_people_wrote_them() {
        assert_eq!(
            fragments("it&#x27;s &#39;on&#39; &quot;now&quot; R&D &bogus; &#xZZ;"),
            vec![run("it's 'on' \"now\" R&D &bogus; &#xZZ;", false)]
        );
        assert_eq!(fragments(""), vec![]);
        assert_eq!(fragments("<b>open"), vec![run("open", true)]);
    }
}
