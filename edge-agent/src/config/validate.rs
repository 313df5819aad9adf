//! Semantic checks run once at start, so a bad value fails with the key's
//! name instead of surfacing later as a broker refusal or an odd capture.

use qloop_protocol::{validate_vin, Limits, MAX_MESSAGE_BYTES};

use super::{load::ConfigError, Config};
use crate::uplink::BrokerUrl;

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

fn check(ok: bool, key: &'static str, reason: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(invalid(key, reason))
    }
}

impl Config {
    /// Checks every section; the error names the first offending key.
    /// Over 80 lines on purpose: a flat list of one check per key, grouped
    /// by section, so a reader finds a key's rule by scanning for its name.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let limits = Limits::default();
        let v = &self.vehicle;
        validate_vin(&v.vin).map_err(|e| invalid("vehicle.vin", e.to_string()))?;
        check(
            (1980..=2100).contains(&v.year),
            "vehicle.year",
            "must be in 1980..=2100",
        )?;
        check(
            !v.model.is_empty() && v.model.len() <= limits.max_short_string,
            "vehicle.model",
            "must be 1..=128 bytes",
        )?;
        check(
            !v.locale.is_empty() && v.locale.len() <= 35,
            "vehicle.locale",
            "must be a BCP-47 tag like en-US",
        )?;
        check(
            v.software.len() <= limits.max_software,
            "vehicle.software",
            "too many ECUs (most 64)",
        )?;
        for dtc in &v.dtcs {
            check(
                matches!(dtc.status.as_str(), "active" | "stored" | "pending"),
                "vehicle.dtcs.status",
                "must be active, stored or pending",
            )?;
            check(
                !dtc.code.is_empty() && dtc.code.len() <= 16,
                "vehicle.dtcs.code",
                "must be 1..=16 bytes",
            )?;
        }

        let b = &self.broker;
        let url = BrokerUrl::parse(&b.url).map_err(|e| invalid("broker.url", e.to_string()))?;
        check(
            (5..=3600).contains(&b.keepalive_s),
            "broker.keepalive_s",
            "must be in 5..=3600",
        )?;
        check(
            (1..=300).contains(&b.connect_timeout_s),
            "broker.connect_timeout_s",
            "must be in 1..=300",
        )?;
        check(
            (1..=64).contains(&b.max_inflight),
            "broker.max_inflight",
            "must be in 1..=64",
        )?;
        check(
            b.reconnect_min_ms >= 10,
            "broker.reconnect_min_ms",
            "must be at least 10",
        )?;
        check(
            b.reconnect_max_ms >= b.reconnect_min_ms,
            "broker.reconnect_max_ms",
            "must be at least reconnect_min_ms",
        )?;
        if url.tls {
            check(
                b.ca_file.is_some(),
                "broker.ca_file",
                "is required for mqtts:// URLs",
            )?;
        }
        check(
            b.client_cert_file.is_some() == b.client_key_file.is_some(),
            "broker.client_key_file",
            "client_cert_file and client_key_file go together",
        )?;

        check(
            self.outbox.quota_bytes >= 4 * MAX_MESSAGE_BYTES as u64,
            "outbox.quota_bytes",
            "must hold at least four full messages (524288)",
        )?;
        check(
            !self.outbox.dir.as_os_str().is_empty(),
            "outbox.dir",
            "must not be empty",
        )?;

        let t = &self.telemetry;
        check(
            (t.pre_window_ms + t.post_window_ms) as i64 <= limits.max_window_ms,
            "telemetry.pre_window_ms",
            "pre + post window must not exceed 600000 ms",
        )?;
        check(
            (1..=limits.max_samples_per_signal).contains(&t.max_samples_per_signal),
            "telemetry.max_samples_per_signal",
            "must be in 1..=10000",
        )?;
        check(
            (1..=limits.max_signals).contains(&t.max_signals),
            "telemetry.max_signals",
            "must be in 1..=1024",
        )?;
        check(
            t.candump_replay.is_none() || t.dbc.is_some(),
            "telemetry.dbc",
            "is required when candump_replay is set",
        )?;

        let a = &self.audio;
        check(
            (1..=limits.max_audio_ms / 1000).contains(&a.max_duration_s),
            "audio.max_duration_s",
            "must be in 1..=300",
        )?;
        check(
            !a.allowed_rates.is_empty()
                && a.allowed_rates.iter().all(|r| (8000..=48000).contains(r)),
            "audio.allowed_rates",
            "must list rates within 8000..=48000",
        )?;

        check(
            (1024..=1024 * 1024).contains(&self.control.max_line_bytes),
            "control.max_line_bytes",
            "must be in 1024..=1048576",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_env(var: &str, value: &str) -> Result<Config, ConfigError> {
        Config::from_layers(&[], [(var.to_string(), value.to_string())])
    }

    #[test]
    fn each_bad_value_is_reported_with_its_key() {
        for (var, value, key) in [
            (
                "QLOOP_EDGE__VEHICLE__VIN",
                "5YJ3E1EA7KF31700O",
                "vehicle.vin",
            ),
            ("QLOOP_EDGE__BROKER__URL", "http://x:1", "broker.url"),
            (
                "QLOOP_EDGE__BROKER__URL",
                "mqtts://x:8883",
                "broker.ca_file",
            ),
            (
                "QLOOP_EDGE__BROKER__MAX_INFLIGHT",
                "0",
                "broker.max_inflight",
            ),
            (
                "QLOOP_EDGE__OUTBOX__QUOTA_BYTES",
                "1000",
                "outbox.quota_bytes",
            ),
            (
                "QLOOP_EDGE__AUDIO__ALLOWED_RATES",
                "[96000]",
                "audio.allowed_rates",
            ),
            (
                "QLOOP_EDGE__CONTROL__MAX_LINE_BYTES",
                "10",
                "control.max_line_bytes",
            ),
        ] {
            match with_env(var, value) {
                Err(ConfigError::Invalid { key: got, .. }) => assert_eq!(got, key, "{var}"),
                other => panic!("{var}={value}: expected Invalid({key}), got {other:?}"),
            }
        }
    }
}
