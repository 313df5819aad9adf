//! What a transcription returns.

use serde::Serialize;

/// One 30 s window of the clip and what was heard in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// Start in the clip, seconds.
    pub start_s: f64,
    /// End in the clip, seconds.
    pub end_s: f64,
    /// The words (empty when silent).
    pub text: String,
    /// Tokens decoded (without the end-of-text).
    pub tokens: usize,
    /// Their ids, in order.
    pub token_ids: Vec<u32>,
    /// Mean log-probability of the decoded tokens, end-of-text included.
    pub avg_logprob: f32,
    /// `exp(avg_logprob)`: the geometric-mean token probability, in 0..=1.
    pub confidence: f32,
    /// Probability of Whisper's no-speech token at the start of the window.
    pub no_speech_prob: f32,
    /// Judged silent: too quiet to decode (see
    /// [`crate::recognizer::SILENCE_DBFS`]; `no_speech_prob` is then 1), or
    /// no-speech probability over 0.6 with average log-probability under −1
    /// (Whisper's rule), or nothing decoded. Its text is left out of the
    /// transcript.
    pub silent: bool,
}

impl Segment {
    /// A window too quiet to hold speech, not decoded.
    pub fn silence(start_s: f64, end_s: f64) -> Segment {
        Segment {
            start_s,
            end_s,
            text: String::new(),
            tokens: 0,
            token_ids: Vec::new(),
            avg_logprob: f32::NEG_INFINITY,
            confidence: 0.0,
            no_speech_prob: 1.0,
            silent: true,
        }
    }
}

/// A transcribed clip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    /// The words of every non-silent segment, joined by spaces.
    pub text: String,
    /// Per 30 s window.
    pub segments: Vec<Segment>,
    /// Language transcribed (ISO 639-1, e.g. `en`).
    pub language: String,
    /// Mean token probability over the non-silent segments, weighted by their
    /// token counts (`exp` of the mean log-probability); `None` when no
    /// speech was heard.
    pub confidence: Option<f32>,
    /// True when every segment was silent: there is nothing to read.
    pub no_speech: bool,
    /// Length of the clip, seconds.
    pub audio_seconds: f64,
    /// The model, e.g. `whisper-tiny.en@ct2`.
    pub model: String,
}

impl Transcript {
    /// Joins segments into a transcript.
    pub fn from_segments(
        segments: Vec<Segment>,
        language: String,
        audio_seconds: f64,
        model: String,
    ) -> Transcript {
        let spoken: Vec<&Segment> = segments.iter().filter(|s| !s.silent).collect();
        let text = spoken
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let weight: f32 = spoken.iter().map(|s| (s.tokens + 1) as f32).sum();
        let confidence = (weight > 0.0).then(|| {
            let sum: f32 = spoken
                .iter()
                .map(|s| s.avg_logprob * (s.tokens + 1) as f32)
                .sum();
            (sum / weight).exp()
        });
        Transcript {
            text,
            no_speech: spoken.is_empty(),
            segments,
            language,
            confidence,
            audio_seconds,
            model,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(text: &str, tokens: usize, avg_logprob: f32, silent: bool) -> Segment {
        Segment {
            start_s: 0.0,
            end_s: 30.0,
            text: text.into(),
            tokens,
            token_ids: vec![0; tokens],
            avg_logprob,
            confidence: avg_logprob.exp(),
            no_speech_prob: 0.0,
            silent,
        }
    }

    /// Silent segments are left out of the text and the confidence; the
    /// confidence weighs segments by their tokens.
    #[test]
    fn silent_segments_are_left_out() {
        let t = Transcript::from_segments(
            vec![
                seg("the brakes squeal", 3, -0.1, false),
                seg("you", 1, -3.0, true),
                seg("at lights", 1, -0.5, false),
            ],
            "en".into(),
            75.0,
            "m".into(),
        );
        assert_eq!(t.text, "the brakes squeal at lights");
        assert!(!t.no_speech);
        let expected = ((-0.1 * 4.0 - 0.5 * 2.0) / 6.0f32).exp();
        assert!((t.confidence.unwrap() - expected).abs() < 1e-6);

        let quiet =
            Transcript::from_segments(vec![seg("", 0, -0.2, true)], "en".into(), 3.0, "m".into());
        assert!(quiet.no_speech);
        assert_eq!((quiet.text.as_str(), quiet.confidence), ("", None));
    }
}
