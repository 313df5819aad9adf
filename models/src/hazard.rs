//! The learned safety assessment: is this a safety (major) complaint, and
//! which hazard does it describe? Two trained heads on the sentence
//! embedding ([`crate::head`]): a major/not-major head, trained on every
//! example whose safety truth is known (driver sentences, recalls, NHTSA
//! complaints with crash/fire/injury flags), and a hazard head over the 12
//! hazards, trained on the examples that name one.
//!
//! The phrase rules ([`crate::severity`]) stay as a floor: a case is major
//! when either says so. The threshold on the major probability is chosen for
//! recall first (`cloud-triage eval` reports the precision it costs).

use serde::{Deserialize, Serialize};

/// The hazards a safety complaint can describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    /// The car does not stop as it should.
    LossOfBraking,
    /// The driver cannot steer as they should.
    LossOfSteering,
    /// The car loses drive, stalls or shuts down while moving.
    LossOfMotivePower,
    /// The car speeds up on its own.
    UnintendedAcceleration,
    /// The car brakes on its own (phantom braking).
    UnintendedBraking,
    /// Fire, smoke, a burning smell, melting.
    FireOrSmoke,
    /// The driver cannot see or be seen: lights, wipers, fogging, cameras.
    LossOfVisibilityOrLighting,
    /// Airbags, seat belts, child seats that may not protect.
    OccupantProtection,
    /// A door, hood, tailgate or latch opening or not holding.
    DoorHoodLatchOpening,
    /// A wheel or tire failing.
    WheelOrTireFailure,
    /// High voltage, electric shock.
    HighVoltageOrShock,
    /// Safety by another route (compensation, large damage, other).
    Other,
}

impl Hazard {
    /// Every hazard, in index order (the hazard head's classes).
    pub const ALL: [Hazard; 12] = [
        Hazard::LossOfBraking,
        Hazard::LossOfSteering,
        Hazard::LossOfMotivePower,
        Hazard::UnintendedAcceleration,
        Hazard::UnintendedBraking,
        Hazard::FireOrSmoke,
        Hazard::LossOfVisibilityOrLighting,
        Hazard::OccupantProtection,
        Hazard::DoorHoodLatchOpening,
        Hazard::WheelOrTireFailure,
        Hazard::HighVoltageOrShock,
        Hazard::Other,
    ];

    /// The wire and storage name (`loss_of_braking`).
    pub fn name(self) -> &'static str {
        match self {
            Hazard::LossOfBraking => "loss_of_braking",
            Hazard::LossOfSteering => "loss_of_steering",
            Hazard::LossOfMotivePower => "loss_of_motive_power",
            Hazard::UnintendedAcceleration => "unintended_acceleration",
            Hazard::UnintendedBraking => "unintended_braking",
            Hazard::FireOrSmoke => "fire_or_smoke",
            Hazard::LossOfVisibilityOrLighting => "loss_of_visibility_or_lighting",
            Hazard::OccupantProtection => "occupant_protection",
            Hazard::DoorHoodLatchOpening => "door_hood_latch_opening",
            Hazard::WheelOrTireFailure => "wheel_or_tire_failure",
            Hazard::HighVoltageOrShock => "high_voltage_or_shock",
            Hazard::Other => "other",
        }
    }

    /// Words for people (escalation messages, pages).
    pub fn label(self) -> &'static str {
        match self {
            Hazard::LossOfBraking => "loss of braking",
            Hazard::LossOfSteering => "loss of steering",
            Hazard::LossOfMotivePower => "loss of motive power",
            Hazard::UnintendedAcceleration => "unintended acceleration",
            Hazard::UnintendedBraking => "unintended braking",
            Hazard::FireOrSmoke => "fire or smoke",
            Hazard::LossOfVisibilityOrLighting => "loss of visibility or lighting",
            Hazard::OccupantProtection => "occupant protection",
            Hazard::DoorHoodLatchOpening => "door, hood or latch opening",
            Hazard::WheelOrTireFailure => "wheel or tire failure",
            Hazard::HighVoltageOrShock => "high voltage or electric shock",
            Hazard::Other => "other safety",
        }
    }

    /// Parses a name; `Some(None)` for `none` (not a safety case).
    pub fn parse(name: &str) -> Option<Option<Hazard>> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("none") {
            return Some(None);
        }
        Hazard::ALL
            .into_iter()
            .find(|h| h.name().eq_ignore_ascii_case(name))
            .map(Some)
    }

    /// The hazard a phrase rule's reason stands for (see [`crate::severity`]).
    pub fn of_rule_reason(reason: &str) -> Option<Hazard> {
        let r = reason.to_ascii_lowercase();
        let table: [(&str, Hazard); 13] = [
            ("loss of braking", Hazard::LossOfBraking),
            ("loss of steering", Hazard::LossOfSteering),
            ("loss of control", Hazard::LossOfSteering),
            ("loss of propulsion", Hazard::LossOfMotivePower),
            ("unintended motion", Hazard::UnintendedAcceleration),
            ("fire", Hazard::FireOrSmoke),
            ("smoke", Hazard::FireOrSmoke),
            ("visibility", Hazard::LossOfVisibilityOrLighting),
            ("airbag", Hazard::OccupantProtection),
            ("restraint", Hazard::OccupantProtection),
            ("tire failure", Hazard::WheelOrTireFailure),
            ("high-voltage", Hazard::HighVoltageOrShock),
            ("crash/airbag signal", Hazard::OccupantProtection),
        ];
        table
            .into_iter()
            .find(|(k, _)| r.contains(k))
            .map(|(_, h)| h)
    }
}

impl std::fmt::Display for Hazard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The learned safety call on one text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HazardCall {
    /// Probability that it is a safety complaint (calibrated).
    pub p_major: f32,
    /// Whether `p_major` reaches the threshold.
    pub major: bool,
    /// The most likely hazard, were it a safety complaint.
    pub hazard: Hazard,
    /// Its probability among the hazards.
    pub p_hazard: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_rule_reasons_map() {
        for h in Hazard::ALL {
            assert_eq!(Hazard::parse(h.name()), Some(Some(h)));
            assert_eq!(serde_json::to_value(h).unwrap(), h.name());
        }
        assert_eq!(Hazard::parse("none"), Some(None));
        assert_eq!(Hazard::parse("meteor"), None);
        assert_eq!(
            Hazard::of_rule_reason("loss of braking"),
            Some(Hazard::LossOfBraking)
        );
        assert_eq!(Hazard::of_rule_reason("compensation"), None);
    }
}
