//! Whisper's special tokens, the decoding prompt and the language choice.
//!
//! Ids differ between English-only and multilingual vocabularies, so they are
//! looked up by name in the model's `tokenizer.json`. A model is multilingual
//! when its vocabulary has 51865 or more entries (OpenAI's rule).

use tokenizers::Tokenizer;

use crate::error::SpeechError;

/// Vocabulary size from which a Whisper model is multilingual.
const MULTILINGUAL_VOCAB: usize = 51_865;

/// The ids decoding needs.
#[derive(Debug, Clone)]
pub struct SpecialTokens {
    /// `<|startoftranscript|>`
    pub sot: u32,
    /// `<|endoftext|>`
    pub eot: u32,
    /// `<|transcribe|>`
    pub transcribe: u32,
    /// `<|notimestamps|>`; every id above it is a timestamp.
    pub no_timestamps: u32,
    /// `<|nospeech|>` or, in older vocabularies, `<|nocaptions|>`.
    pub no_speech: u32,
    /// Language codes and their token ids (multilingual models only).
    pub languages: Vec<(String, u32)>,
    /// Whether the model takes a language and task in its prompt.
    pub multilingual: bool,
}

fn id(tokenizer: &Tokenizer, name: &str) -> Result<u32, SpeechError> {
    tokenizer
        .token_to_id(name)
        .ok_or_else(|| SpeechError::Tokenizer(format!("no token {name}")))
}

impl SpecialTokens {
    /// Looks the ids up; `vocab` is the decoder's vocabulary size.
    pub fn new(tokenizer: &Tokenizer, vocab: usize, lang_ids: &[u32]) -> Result<Self, SpeechError> {
        let multilingual = vocab >= MULTILINGUAL_VOCAB;
        let no_speech =
            id(tokenizer, "<|nospeech|>").or_else(|_| id(tokenizer, "<|nocaptions|>"))?;
        let languages = if multilingual {
            lang_ids
                .iter()
                .filter_map(|&i| {
                    let t = tokenizer.id_to_token(i)?;
                    let code = t.strip_prefix("<|")?.strip_suffix("|>")?;
                    Some((code.to_owned(), i))
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(SpecialTokens {
            sot: id(tokenizer, "<|startoftranscript|>")?,
            eot: id(tokenizer, "<|endoftext|>")?,
            transcribe: id(tokenizer, "<|transcribe|>")?,
            no_timestamps: id(tokenizer, "<|notimestamps|>")?,
            no_speech,
            languages,
            multilingual,
        })
    }

    /// The token of a language code (`en`, `de`, ...), if the model knows it.
    pub fn language(&self, code: &str) -> Option<u32> {
        self.languages
            .iter()
            .find(|(c, _)| c == code)
            .map(|&(_, id)| id)
    }

    /// The code of a language token.
    pub fn language_code(&self, token: u32) -> Option<&str> {
        self.languages
            .iter()
            .find(|&&(_, id)| id == token)
            .map(|(c, _)| c.as_str())
    }

    /// The prompt: `sot` alone for English-only models, else
    /// `sot, language, transcribe`; then `notimestamps` in both cases.
    pub fn prompt(&self, language: Option<u32>) -> Vec<u32> {
        match (self.multilingual, language) {
            (true, Some(lang)) => vec![self.sot, lang, self.transcribe, self.no_timestamps],
            _ => vec![self.sot, self.no_timestamps],
        }
    }
}

/// The language part of a BCP-47 locale, lower-case: `en-US` → `en`,
/// `pt_BR` → `pt`, `zh-Hant-TW` → `zh`. `None` for an empty or odd locale.
pub fn language_of_locale(locale: &str) -> Option<String> {
    let primary = locale.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    let ok = (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic());
    ok.then_some(primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Locales reduce to their language subtag; junk gives nothing.
    #[test]
    fn locale_to_language() {
        assert_eq!(language_of_locale("en-US").as_deref(), Some("en"));
        assert_eq!(language_of_locale("DE_de").as_deref(), Some("de"));
        assert_eq!(language_of_locale("zh-Hant-TW").as_deref(), Some("zh"));
        assert_eq!(language_of_locale("haw").as_deref(), Some("haw"));
        assert_eq!(language_of_locale(""), None);
        assert_eq!(language_of_locale("e1-US"), None);
        assert_eq!(language_of_locale("english"), None);
    }
}
