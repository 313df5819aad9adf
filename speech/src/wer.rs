//! Word error rate: (substitutions + deletions + insertions) / reference words,
//! after a light normalisation both sides share.
//!
//! Normalisation: lower case; hyphens and slashes split words; every other
//! character that is not a letter, digit or in-word apostrophe is dropped;
//! whole numbers below 1000 written in digits become words ("70" →
//! "seventy"), since Whisper writes numbers in digits and drivers say them.

/// Errors and length behind a word error rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WordErrors {
    /// Reference words replaced by another word.
    pub substitutions: usize,
    /// Reference words missing.
    pub deletions: usize,
    /// Words heard that the reference lacks.
    pub insertions: usize,
    /// Words in the reference.
    pub reference_words: usize,
}

impl WordErrors {
    /// All errors.
    pub fn errors(&self) -> usize {
        self.substitutions + self.deletions + self.insertions
    }

    /// The rate; an empty reference scores 0 when nothing was heard, else
    /// the number of inserted words.
    pub fn rate(&self) -> f64 {
        if self.reference_words == 0 {
            self.insertions as f64
        } else {
            self.errors() as f64 / self.reference_words as f64
        }
    }
}

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

fn number_words(n: usize, out: &mut Vec<String>) {
    if n >= 100 {
        out.push(ONES[n / 100].into());
        out.push("hundred".into());
        if n.is_multiple_of(100) {
            return;
        }
    }
    let r = n % 100;
    if r < 20 && (r > 0 || n < 100) {
        out.push(ONES[r].into());
    } else if r >= 20 {
        out.push(TENS[r / 10].into());
        if !r.is_multiple_of(10) {
            out.push(ONES[r % 10].into());
        }
    }
}

/// The words of `text` after normalisation.
pub fn normalize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let spaced: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c == '-' || c == '/' { ' ' } else { c })
        .collect();
    for raw in spaced.split_whitespace() {
        let kept: String = raw
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '\'' || *c == '’')
            .map(|c| if c == '’' { '\'' } else { c })
            .collect();
        let word = kept.trim_matches('\'');
        if word.is_empty() {
            continue;
        }
        match word.parse::<usize>() {
            Ok(n) if n < 1000 && word.chars().all(|c| c.is_ascii_digit()) => {
                number_words(n, &mut words)
            }
            _ => words.push(word.to_owned()),
        }
    }
    words
}

/// Word errors of `hypothesis` against `reference` (Levenshtein over words).
pub fn word_errors(reference: &str, hypothesis: &str) -> WordErrors {
    let r = normalize(reference);
    let h = normalize(hypothesis);
    // cost[j] = (errors, subs, dels, ins) aligning r[..i] with h[..j].
    let mut prev: Vec<(usize, usize, usize, usize)> = (0..=h.len()).map(|j| (j, 0, 0, j)).collect();
    for i in 1..=r.len() {
        let mut cur = vec![(i, 0, i, 0); h.len() + 1];
        for j in 1..=h.len() {
            let same = r[i - 1] == h[j - 1];
            let diag = prev[j - 1];
            let sub = if same {
                diag
            } else {
                (diag.0 + 1, diag.1 + 1, diag.2, diag.3)
            };
            let del = (prev[j].0 + 1, prev[j].1, prev[j].2 + 1, prev[j].3);
            let ins = (
                cur[j - 1].0 + 1,
                cur[j - 1].1,
                cur[j - 1].2,
                cur[j - 1].3 + 1,
            );
            cur[j] = [sub, del, ins]
                .into_iter()
                .min_by_key(|c| c.0)
                .unwrap_or(sub);
        }
        prev = cur;
    }
    let (_, substitutions, deletions, insertions) = prev[h.len()];
    WordErrors {
        substitutions,
        deletions,
        insertions,
        reference_words: r.len(),
    }
}

/// The word error rate of `hypothesis` against `reference`.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    word_errors(reference, hypothesis).rate()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Case and punctuation do not count; a perfect transcript scores 0.
    #[test]
    fn normalisation_ignores_case_and_punctuation() {
        assert_eq!(
            wer(
                "The brakes squeal when I stop.",
                "the brakes squeal, when i stop"
            ),
            0.0
        );
        assert_eq!(
            normalize("Don't – check-engine light!"),
            ["don't", "check", "engine", "light"]
        );
        assert_eq!(
            normalize("at 70 or 105, not 1000"),
            ["at", "seventy", "or", "one", "hundred", "five", "not", "1000"]
        );
        assert_eq!(
            normalize("0 and 12 and 300"),
            ["zero", "and", "twelve", "and", "three", "hundred"]
        );
    }

    /// Each kind of error is counted once against the reference length.
    #[test]
    fn counts_substitutions_deletions_insertions() {
        let e = word_errors("the car pulls to the left", "the car pulls left");
        assert_eq!((e.deletions, e.substitutions, e.insertions), (2, 0, 0));
        assert!((e.rate() - 2.0 / 6.0).abs() < 1e-12);
        let e = word_errors("wipers are slow", "wipers were slow now");
        assert_eq!((e.substitutions, e.insertions, e.deletions), (1, 1, 0));
        assert!((e.rate() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(wer("radio is loud", ""), 1.0);
    }

    /// An empty reference: nothing heard is perfect, anything heard is an error per word.
    #[test]
    fn empty_reference() {
        assert_eq!(wer("", ""), 0.0);
        assert_eq!(wer("", "thank you"), 2.0);
    }
}
