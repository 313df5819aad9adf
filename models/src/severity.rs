//! Severity: `major` when the feedback involves safety, compensation or
//! large damage, from its words and its telemetry. Missing a safety case is
//! the worst error, so the rules lean to recall: any one signal suffices.

use serde::{Deserialize, Serialize};

/// Severity a case gets.
pub const MAJOR: &str = "major";
/// Severity of everything else.
pub const MINOR: &str = "minor";

/// Phrases that make feedback major, with the reason each stands for.
const MAJOR_PHRASES: &[(&str, &str)] = &[
    ("crash", "crash"),
    ("collision", "crash"),
    ("accident", "crash"),
    ("hit a", "crash"),
    ("rear-ended", "crash"),
    ("rear ended", "crash"),
    ("wreck", "crash"),
    ("totaled", "crash"),
    ("fire", "fire"),
    ("flame", "fire"),
    ("smoke", "smoke"),
    ("burning", "fire"),
    ("caught fire", "fire"),
    ("melted", "fire"),
    ("injur", "injury"),
    ("hurt", "injury"),
    ("hospital", "injury"),
    ("bleed", "injury"),
    ("broke my", "injury"),
    ("burn", "injury"),
    ("death", "death"),
    ("died", "death"),
    ("killed", "death"),
    ("fatal", "death"),
    ("air bag", "airbag"),
    ("airbag", "airbag"),
    ("seat belt", "restraint"),
    ("seatbelt", "restraint"),
    ("brakes failed", "loss of braking"),
    ("brake failure", "loss of braking"),
    ("no brakes", "loss of braking"),
    ("could not stop", "loss of braking"),
    ("couldn't stop", "loss of braking"),
    ("would not stop", "loss of braking"),
    ("pedal went to the floor", "loss of braking"),
    ("pedal goes almost to the floor", "loss of braking"),
    ("pedal goes to the floor", "loss of braking"),
    ("loss of brak", "loss of braking"),
    ("lost brak", "loss of braking"),
    ("brake fluid low", "loss of braking"),
    ("pedal feels soft", "loss of braking"),
    ("loss of steering", "loss of steering"),
    ("lost steering", "loss of steering"),
    ("lost power steering", "loss of steering"),
    ("steering locked", "loss of steering"),
    ("could not steer", "loss of steering"),
    ("couldn't steer", "loss of steering"),
    ("steering failed", "loss of steering"),
    ("stalled", "loss of propulsion"),
    ("stalls", "loss of propulsion"),
    ("shut off while", "loss of propulsion"),
    ("shut down while", "loss of propulsion"),
    ("lost power", "loss of propulsion"),
    ("loss of power", "loss of propulsion"),
    ("loss of drive", "loss of propulsion"),
    ("loss of motive", "loss of propulsion"),
    ("died while driving", "loss of propulsion"),
    ("died on the highway", "loss of propulsion"),
    ("sudden acceleration", "unintended motion"),
    ("accelerated on its own", "unintended motion"),
    ("surged", "unintended motion"),
    ("rolled away", "unintended motion"),
    ("rolled back", "unintended motion"),
    ("high voltage", "high-voltage battery"),
    ("battery fire", "high-voltage battery"),
    ("thermal runaway", "high-voltage battery"),
    ("battery swelling", "high-voltage battery"),
    ("compensat", "compensation"),
    ("refund", "compensation"),
    ("reimburse", "compensation"),
    ("lawyer", "compensation"),
    ("attorney", "compensation"),
    ("lawsuit", "compensation"),
    ("buyback", "compensation"),
    ("lemon", "compensation"),
    ("total loss", "large damage"),
    ("engine seized", "large damage"),
    ("engine blew", "large damage"),
    ("destroyed", "large damage"),
    ("rolled", "unintended motion"),
    ("lunged", "unintended motion"),
    ("into a tree", "crash"),
    ("into a parked", "crash"),
    ("into the back", "crash"),
    ("damaged vehicle", "large damage"),
    ("damage to the", "large damage"),
    ("significant damage", "large damage"),
    ("braking failure", "loss of braking"),
    ("didn't respond to pedal", "loss of braking"),
    ("did not respond to", "loss of control"),
    ("unresponsive", "loss of control"),
    ("snapped", "loss of control"),
    ("tread came off", "tire failure"),
    ("blowout", "tire failure"),
    ("wheel came off", "loss of control"),
    ("fogging", "loss of visibility"),
    ("could not see", "loss of visibility"),
    ("couldn't see", "loss of visibility"),
    ("unsafe", "safety"),
    ("dangerous", "safety"),
    ("safety", "safety"),
    ("is it safe", "safety"),
    ("nearly hit", "safety"),
    ("almost hit", "safety"),
    ("almost crashed", "safety"),
];

/// DTC prefixes of safety systems: B00xx restraints (SRS/airbag), C0xxx
/// brake/ABS/stability, U0151 lost communication with the restraints module.
const SAFETY_DTC_PREFIXES: &[&str] = &["B00", "C0", "U0151"];

/// Words in signal names that carry crash or airbag events.
const CRASH_SIGNAL_WORDS: &[&str] = &["crash", "airbag", "collision", "srs"];

/// A severity with the reasons for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    /// `major` or `minor`.
    pub level: String,
    /// Why: the safety topics and signals found.
    pub reasons: Vec<String>,
}

impl Severity {
    /// Major cases are escalated at once.
    pub fn is_major(&self) -> bool {
        self.level == MAJOR
    }
}

/// Telemetry evidence for severity.
#[derive(Debug, Clone, Default)]
pub struct TelemetryEvidence<'a> {
    /// Trouble codes present.
    pub dtcs: Vec<&'a str>,
    /// Signals with any non-zero sample: their names.
    pub active_signals: Vec<&'a str>,
}

/// Assesses `text` and the telemetry.
pub fn assess(text: &str, telemetry: &TelemetryEvidence<'_>) -> Severity {
    let lower = text.to_lowercase();
    let mut reasons: Vec<String> = Vec::new();
    let mut add = |r: String| {
        if !reasons.contains(&r) {
            reasons.push(r);
        }
    };
    for (phrase, reason) in MAJOR_PHRASES {
        if lower.contains(phrase) {
            add((*reason).to_string());
        }
    }
    for code in &telemetry.dtcs {
        let upper = code.to_uppercase();
        if SAFETY_DTC_PREFIXES.iter().any(|p| upper.starts_with(p)) {
            add(format!("safety-system DTC {upper}"));
        }
    }
    for name in &telemetry.active_signals {
        let l = name.to_lowercase();
        if CRASH_SIGNAL_WORDS.iter().any(|w| l.contains(w)) {
            add(format!("crash/airbag signal {name}"));
        }
    }
    Severity {
        level: if reasons.is_empty() { MINOR } else { MAJOR }.to_string(),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safety_words_dtcs_and_crash_signals_each_make_it_major() {
        let none = TelemetryEvidence::default();
        assert!(assess("the AIR BAG did not deploy in the collision", &none).is_major());
        assert!(assess(
            "I got a message saying brake fluid low, is it safe to keep driving",
            &none
        )
        .is_major());
        assert!(assess("they should reimburse my rental car", &none).is_major());
        assert!(!assess("the radio loses its presets", &none).is_major());
        let dtc = TelemetryEvidence {
            dtcs: vec!["b0012"],
            ..Default::default()
        };
        assert_eq!(
            assess("the light is on", &dtc).reasons,
            vec!["safety-system DTC B0012"]
        );
        let sig = TelemetryEvidence {
            active_signals: vec!["VCFRONT_crashDetected"],
            ..Default::default()
        };
        assert!(assess("strange noise", &sig).is_major());
    }
}
