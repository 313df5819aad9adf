//! The states and kinds a case, its clocks and its feedback can have, as
//! enums. Each names its stored (and JSON) text with `as_str`, parses it back
//! with `FromStr` (an unknown text is an [`UnknownValue`] that lists the
//! allowed ones), and shows its values in the OpenAPI document.

use std::fmt;

/// A text that is none of a kind's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {value:?} is not one of {}", allowed.join(", "))]
pub struct UnknownValue {
    /// The field or parameter it was given for.
    pub field: String,
    /// What was given.
    pub value: String,
    /// What is allowed.
    pub allowed: Vec<String>,
}

impl UnknownValue {
    /// `value` is not one of `allowed` for `field`.
    pub fn new(field: &str, value: &str, allowed: &[&str]) -> Self {
        Self {
            field: field.to_string(),
            value: value.to_string(),
            allowed: allowed.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The same refusal, for a field of another name (`to` for a status).
    pub fn for_field(mut self, field: &str) -> Self {
        self.field = field.to_string();
        self
    }
}

/// Defines a fieldless enum stored as text: serde and utoipa use the same
/// names as `as_str` and `FromStr`.
///
/// `$text` is a `tt`, not a `literal`: utoipa reads `#[serde(rename)]` only
/// from a bare literal token, and a `literal` fragment reaches it wrapped in
/// an invisible group, so the OpenAPI enums showed the Rust variant names.
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $field:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every value's text, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The stored and JSON text of this value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;

            fn from_str(text: &str) -> Result<Self, UnknownValue> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue::new($field, text, Self::NAMES)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

stored_enum! {
    /// Where a case is in its 8D lifecycle (see [`crate::domain::lifecycle`]).
    pub enum CaseStatus as "status" {
        /// Opened, not yet answered.
        New = "new",
        /// The driver got a first response (D1/D2).
        Acknowledged = "acknowledged",
        /// An interim containment action is in place (D3).
        Contained = "contained",
        /// The root cause is known (D4).
        RootCauseFound = "root_cause_found",
        /// The permanent corrective action is in place (D5/D6).
        CorrectiveActionImplemented = "corrective_action_implemented",
        /// The fix is verified (D7): the case is resolved.
        EffectivenessVerified = "effectiveness_verified",
        /// The driver was asked after the fix and has not answered.
        FollowUp = "follow_up",
        /// Done, the driver satisfied (D8).
        Closed = "closed",
        /// Waiting on the customer: clocks paused.
        WaitingCustomer = "waiting_customer",
        /// The driver was not satisfied: the loop repeats.
        Reopened = "reopened",
        /// Merged into another case.
        Merged = "merged",
        /// Cancelled.
        Cancelled = "cancelled",
    }
}

impl CaseStatus {
    /// Statuses in which a case can no longer gain occurrences, be merged
    /// or be split.
    pub const CLOSED: [CaseStatus; 3] = [Self::Closed, Self::Cancelled, Self::Merged];

    /// Whether the case is closed, cancelled or merged.
    pub fn is_closed(self) -> bool {
        Self::CLOSED.contains(&self)
    }
}

stored_enum! {
    /// How serious a case is.
    pub enum Severity as "severity" {
        /// A safety issue: escalated at once, shorter SLA targets.
        Major = "major",
        /// Everything else.
        Minor = "minor",
        /// No model has assessed it yet.
        Unassessed = "unassessed",
    }
}

impl Severity {
    /// Whether it is [`Severity::Major`].
    pub fn is_major(self) -> bool {
        self == Self::Major
    }
}

stored_enum! {
    /// What an SLA clock measures.
    pub enum SlaMetric as "metric" {
        /// Registered and routed to a department.
        Route = "route",
        /// The driver got a first answer.
        FirstResponse = "first_response",
        /// The issue was resolved (effectiveness verified).
        Resolution = "resolution",
        /// The driver hears an update: started by the first response,
        /// restarted by every later message, stopped by the resolution.
        NextUpdate = "next_update",
    }
}

impl SlaMetric {
    /// The clocks that start when a case opens.
    pub const ON_OPEN: [SlaMetric; 3] = [Self::Route, Self::FirstResponse, Self::Resolution];
}

stored_enum! {
    /// Why a case was escalated (each raised once per case, metric and cycle).
    pub enum EscalationKind as "escalation kind" {
        /// A clock passed its target.
        Breached = "breached",
        /// A clock used most of its target.
        BreachImminent = "breach_imminent",
        /// Unresolved after the policy's working days.
        Unresolved = "unresolved",
        /// The case is major: escalated at once.
        Major = "major",
    }
}

stored_enum! {
    /// What a notification event (webhook) announces.
    pub enum NotificationKind as "notification kind" {
        /// A case was opened.
        CaseOpened = "case_opened",
        /// A case was escalated (major, breach imminent, unresolved).
        Escalated = "escalated",
        /// Many vehicles reported one issue in a short window.
        EmergingIssue = "emerging_issue",
        /// An SLA target was missed.
        Breached = "breached",
        /// The fix was verified.
        Resolved = "resolved",
        /// The driver was not satisfied; the case is open again.
        Reopened = "reopened",
    }
}

impl NotificationKind {
    /// The event an escalation of `kind` raises.
    pub fn of_escalation(kind: EscalationKind) -> Self {
        match kind {
            EscalationKind::Breached => Self::Breached,
            _ => Self::Escalated,
        }
    }
}

stored_enum! {
    /// What a knowledge match attached to a case is.
    pub enum MatchKind as "kind" {
        /// A known issue (recall, bulletin) from the knowledge index.
        KnownIssue = "known_issue",
        /// Another case.
        SimilarCase = "similar_case",
    }
}

stored_enum! {
    /// What the cloud's speech recognition did with a clip.
    pub enum AsrStatus as "asr status" {
        /// Its text is the feedback's transcript.
        Transcribed = "transcribed",
        /// The head unit's text was at least as confident.
        KeptHeadUnit = "kept_head_unit",
        /// Nothing was said.
        NoSpeech = "no_speech",
        /// The clip could not be transcribed.
        Failed = "failed",
    }
}

stored_enum! {
    /// Where a feedback's audio clip stands.
    pub enum AudioStatus as "audio status" {
        /// No usable audio.
        NoAudio = "none",
        /// Chunks still arriving.
        Partial = "partial",
        /// The whole clip is stored.
        Complete = "complete",
        /// The reassembled clip failed its checks.
        Corrupt = "corrupt",
        /// The car reported a chunk lost for good.
        Incomplete = "incomplete",
    }
}

stored_enum! {
    /// Who transcribed a feedback's words.
    pub enum TranscriptSource as "transcript source" {
        /// The car's head unit.
        HeadUnit = "head_unit",
        /// The cloud's speech recognition.
        CloudAsr = "cloud_asr",
    }
}

stored_enum! {
    /// What started a capture in the car.
    pub enum Trigger as "trigger" {
        /// The voice assistant.
        Voice = "voice",
        /// A button or menu in the HMI.
        Hmi = "hmi",
        /// A hardware button.
        Button = "button",
        /// The edge agent's command line.
        Cli = "cli",
    }
}

impl From<qloop_protocol::TriggerKind> for Trigger {
    fn from(kind: qloop_protocol::TriggerKind) -> Self {
        use qloop_protocol::TriggerKind as K;
        match kind {
            K::Voice => Self::Voice,
            K::Hmi => Self::Hmi,
            K::Button => Self::Button,
            K::Cli => Self::Cli,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value's text parses back to it and is its JSON form.
    fn round_trips<T>(all: &[T])
    where
        T: Copy
            + PartialEq
            + fmt::Debug
            + fmt::Display
            + std::str::FromStr<Err = UnknownValue>
            + serde::Serialize
            + serde::de::DeserializeOwned,
    {
        for value in all {
            let text = value.to_string();
            assert_eq!(text.parse::<T>().unwrap(), *value);
            assert_eq!(serde_json::to_value(value).unwrap(), text.as_str());
            assert_eq!(
                serde_json::from_value::<T>(serde_json::json!(text)).unwrap(),
                *value
            );
        }
    }

    #[test]
    fn every_kind_round_trips_through_its_text_and_json() {
        round_trips(CaseStatus::ALL);
        round_trips(Severity::ALL);
        round_trips(SlaMetric::ALL);
        round_trips(EscalationKind::ALL);
        round_trips(NotificationKind::ALL);
        round_trips(MatchKind::ALL);
        round_trips(AsrStatus::ALL);
        round_trips(AudioStatus::ALL);
        round_trips(TranscriptSource::ALL);
        round_trips(Trigger::ALL);
    }

    #[test]
    fn an_unknown_text_names_the_field_and_every_allowed_value() {
        let err = "Major".parse::<Severity>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "severity: \"Major\" is not one of major, minor, unassessed"
        );
        let err = "bogus".parse::<CaseStatus>().unwrap_err().for_field("to");
        assert!(err
            .to_string()
            .starts_with("to: \"bogus\" is not one of new, "));
        assert_eq!(err.allowed.len(), CaseStatus::ALL.len());
        let err = serde_json::from_str::<AudioStatus>("\"lost\"").unwrap_err();
        assert!(err.to_string().contains("incomplete"), "{err}");
    }

    #[test]
    fn audio_status_none_is_stored_as_none() {
        assert_eq!(AudioStatus::NoAudio.as_str(), "none");
        assert_eq!(
            AudioStatus::NAMES,
            ["none", "partial", "complete", "corrupt", "incomplete"]
        );
    }

    #[test]
    fn triggers_follow_the_protocol() {
        use qloop_protocol::TriggerKind as K;
        for kind in [K::Voice, K::Hmi, K::Button, K::Cli] {
            assert_eq!(Trigger::from(kind).as_str(), kind.as_str());
        }
    }

    #[test]
    fn a_breach_is_announced_as_breached_and_the_rest_as_escalated() {
        assert_eq!(
            NotificationKind::of_escalation(EscalationKind::Breached),
            NotificationKind::Breached
        );
        for kind in [
            EscalationKind::BreachImminent,
            EscalationKind::Unresolved,
            EscalationKind::Major,
        ] {
            assert_eq!(
                NotificationKind::of_escalation(kind),
                NotificationKind::Escalated
            );
        }
        assert!(CaseStatus::Merged.is_closed() && !CaseStatus::FollowUp.is_closed());
    }
}
