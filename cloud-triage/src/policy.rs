//! The service's policy: linking thresholds, emerging-issue rule and which
//! knowledge triage attaches. Read from TOML (`serve --policy FILE`); every
//! key is optional and defaults to `cloud-triage/policy.toml`, which is
//! embedded in the binary and printed by `print-default-policy`.

use std::path::Path;

use anyhow::Context;
use qloop_knowledge::linking::LinkPolicy;
use serde::{Deserialize, Serialize};

/// The default policy file, as shipped.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../policy.toml");

/// Everything configurable about triage decisions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// When a feedback joins an open case.
    pub linking: LinkPolicy,
    /// When a case is an emerging issue.
    pub emerging: EmergingPolicy,
    /// What knowledge is attached to cases.
    pub matches: MatchPolicy,
    /// When the cloud transcribes the driver's clip itself.
    pub speech: SpeechPolicy,
    /// SLA clocks: calendar, targets, escalation points.
    pub sla: crate::sla::SlaPolicy,
    /// Return visits after resolution and what counts as satisfied.
    pub follow_up: FollowUpPolicy,
    /// Where notification events go (signed webhooks); holds secrets, so
    /// it is never printed back.
    #[serde(skip_serializing)]
    pub webhooks: crate::notify::WebhookConfig,
}

/// Return visits after resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FollowUpPolicy {
    /// Days after resolution when the driver is asked again.
    pub days: Vec<u32>,
    /// Least satisfaction score (1–5) that closes the case; lower reopens it.
    pub satisfied_at_least: u8,
}

impl Default for FollowUpPolicy {
    fn default() -> Self {
        Self {
            days: vec![5, 7],
            satisfied_at_least: 4,
        }
    }
}

/// When a case becomes an emerging issue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmergingPolicy {
    /// Distinct vehicles ...
    pub min_vehicles: u32,
    /// ... within this many days.
    pub window_days: u32,
}

impl Default for EmergingPolicy {
    fn default() -> Self {
        Self {
            min_vehicles: 5,
            window_days: 7,
        }
    }
}

/// Known issues and similar cases attached to each case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchPolicy {
    /// Known issues attached per feedback.
    pub known_issues: usize,
    /// Similar cases attached per feedback.
    pub similar_cases: usize,
    /// Least cosine similarity for a known issue's fixes to be suggested.
    pub suggest_min_similarity: f32,
}

impl Default for MatchPolicy {
    fn default() -> Self {
        Self {
            known_issues: 3,
            similar_cases: 3,
            suggest_min_similarity: 0.50,
        }
    }
}

/// When the cloud transcribes a feedback's clip, and with which model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeechPolicy {
    /// `tiny.en` (English only, the default), `base` (multilingual), or
    /// `off` to store clips without transcribing them.
    pub model: String,
    /// A head unit's transcript below this confidence is transcribed again
    /// from the clip; the more confident of the two is kept.
    pub retranscribe_below: f32,
}

impl Default for SpeechPolicy {
    fn default() -> Self {
        Self {
            model: "tiny.en".into(),
            retranscribe_below: 0.60,
        }
    }
}

impl SpeechPolicy {
    /// The model to run, or `None` when transcription is off.
    pub fn model_kind(&self) -> anyhow::Result<Option<qloop_speech::ModelKind>> {
        match self.model.as_str() {
            "off" => Ok(None),
            name => name
                .parse()
                .map(Some)
                .map_err(|e: String| anyhow::anyhow!("speech.model: {e}, or off")),
        }
    }
}

impl Policy {
    /// Parses and checks a policy document.
    pub fn from_toml(text: &str) -> anyhow::Result<Policy> {
        let policy: Policy = toml::from_str(text)?;
        policy.validate()?;
        Ok(policy)
    }

    /// Reads a policy file.
    pub fn load(path: &Path) -> anyhow::Result<Policy> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the policy {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("in the policy {}", path.display()))
    }

    /// Checks ranges that types cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        let l = &self.linking;
        if !(l.min_similarity.is_finite() && (-1.0..=1.0).contains(&l.min_similarity)) {
            anyhow::bail!("linking.min_similarity must be in -1..=1");
        }
        if l.window_days == 0 || l.window_days > 3650 {
            anyhow::bail!("linking.window_days must be 1..=3650");
        }
        let e = &self.emerging;
        if e.min_vehicles < 2 || e.min_vehicles > 1_000_000 {
            anyhow::bail!("emerging.min_vehicles must be 2..=1000000");
        }
        if e.window_days == 0 || e.window_days > 3650 {
            anyhow::bail!("emerging.window_days must be 1..=3650");
        }
        self.speech.model_kind()?;
        let r = self.speech.retranscribe_below;
        if !(r.is_finite() && (0.0..=1.0).contains(&r)) {
            anyhow::bail!("speech.retranscribe_below must be in 0..=1");
        }
        self.sla.validate()?;
        self.webhooks
            .validate()
            .map_err(|e| anyhow::anyhow!("webhooks.{e}"))?;
        let f = &self.follow_up;
        if f.days.is_empty() || f.days.iter().any(|d| *d == 0 || *d > 365) {
            anyhow::bail!("follow_up.days must name days 1..=365");
        }
        if !(1..=5).contains(&f.satisfied_at_least) {
            anyhow::bail!("follow_up.satisfied_at_least must be 1..=5");
        }
        let m = &self.matches;
        if m.known_issues > qloop_knowledge::search::MAX_LIMIT
            || m.similar_cases > qloop_knowledge::search::MAX_LIMIT
        {
            anyhow::bail!(
                "matches.known_issues and matches.similar_cases must be at most {}",
                qloop_knowledge::search::MAX_LIMIT
            );
        }
        if !(m.suggest_min_similarity.is_finite()
            && (-1.0..=1.0).contains(&m.suggest_min_similarity))
        {
            anyhow::bail!("matches.suggest_min_similarity must be in -1..=1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_is_the_default_policy() {
        assert_eq!(
            Policy::from_toml(DEFAULT_POLICY_TOML).unwrap(),
            Policy::default()
        );
        assert_eq!(Policy::from_toml("").unwrap(), Policy::default());
    }

    #[test]
    fn unknown_keys_and_out_of_range_values_are_named() {
        for (text, needle) in [
            ("[linking]\nmin_similarity = 2.0", "min_similarity"),
            ("[linking]\nmin_simlarity = 0.5", "min_simlarity"),
            ("[emerging]\nmin_vehicles = 1", "min_vehicles"),
            ("[emerging]\nwindow_days = 0", "window_days"),
            ("[matches]\nknown_issues = 1000", "known_issues"),
            ("[nonsense]\nx = 1", "nonsense"),
            ("[speech]\nmodel = \"large\"", "speech.model"),
            ("[speech]\nretranscribe_below = 1.5", "retranscribe_below"),
            ("[linking]\nwindow_days = \"ninety\"", "window_days"),
        ] {
            let err = format!("{:#}", Policy::from_toml(text).unwrap_err());
            assert!(err.contains(needle), "{text:?} gave {err}");
        }
        let custom = Policy::from_toml("[emerging]\nmin_vehicles = 3").unwrap();
        assert_eq!(custom.emerging.min_vehicles, 3);
        assert_eq!(custom.emerging.window_days, 7, "unset keys keep defaults");
    }
}
