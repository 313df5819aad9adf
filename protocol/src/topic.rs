//! MQTT topic names. Up: `qloop/v1/vehicles/{vin}/feedback`; down:
//! `qloop/v1/vehicles/{vin}/events`. Cloud consumers share one subscription.

use crate::error::ValidationError;

/// Prefix of every qloop topic.
pub const PREFIX: &str = "qloop/v1/vehicles";

/// The shared-subscription group cloud workers join.
pub const SHARE_GROUP: &str = "triage";

/// Topic a car publishes feedback, audio chunks and receipts on.
pub fn feedback_topic(vin: &str) -> String {
    format!("{PREFIX}/{vin}/feedback")
}

/// Topic a car subscribes to for downlink events.
pub fn events_topic(vin: &str) -> String {
    format!("{PREFIX}/{vin}/events")
}

/// Wildcard filter for all vehicles' uplink.
pub fn feedback_filter() -> String {
    format!("{PREFIX}/+/feedback")
}

/// Shared-subscription filter for cloud workers (`$share/triage/…`).
pub fn shared_feedback_filter() -> String {
    format!("$share/{SHARE_GROUP}/{}", feedback_filter())
}

/// The VIN a feedback topic names.
pub fn vin_from_feedback_topic(topic: &str) -> Result<&str, ValidationError> {
    let rest = topic
        .strip_prefix(PREFIX)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_suffix("/feedback"))
        .ok_or_else(|| ValidationError::Topic(truncate(topic)))?;
    if rest.is_empty() || rest.contains('/') {
        return Err(ValidationError::Topic(truncate(topic)));
    }
    Ok(rest)
}

fn truncate(s: &str) -> String {
    s.chars().take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vin_is_read_back_from_the_topic_it_was_written_into() {
        let vin = "5YJ3E1EA7KF317000";
        assert_eq!(vin_from_feedback_topic(&feedback_topic(vin)).unwrap(), vin);
    }

    #[test]
    fn foreign_and_nested_topics_are_rejected() {
        for bad in [
            "qloop/v1/vehicles//feedback",
            "qloop/v1/vehicles/a/b/feedback",
            "other/v1/vehicles/X/feedback",
            "qloop/v1/vehicles/X/events",
        ] {
            assert!(vin_from_feedback_topic(bad).is_err(), "{bad}");
        }
    }
}
