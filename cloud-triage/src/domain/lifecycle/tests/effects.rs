//! What each allowed transition, update and answer plans to do.

use serde_json::json;

use super::*;

#[test]
fn acknowledging_stops_the_first_response_and_routing_clocks_and_answers() {
    let effects = run(
        &case(CaseStatus::New),
        CaseStatus::Acknowledged,
        Some("We are on it."),
        None,
        json!({}),
    )
    .unwrap();
    assert_eq!(
        effects,
        vec![
            Effect::SetStatus {
                from: CaseStatus::New,
                to: CaseStatus::Acknowledged,
                note: "acknowledged".into()
            },
            Effect::StopRoute,
            Effect::StopClock(SlaMetric::FirstResponse),
            Effect::MarkFirstResponse,
            Effect::TellDrivers {
                kind: EventKind::FirstResponse,
                message: "We are on it.".into()
            },
            Effect::RestartNextUpdate {
                target_ms: 24 * 3_600_000
            },
        ]
    );
    // Unrouted: the routing clock keeps running.
    let mut unrouted = case(CaseStatus::New);
    unrouted.department = None;
    let effects = run(
        &unrouted,
        CaseStatus::Acknowledged,
        Some("hi"),
        None,
        json!({}),
    )
    .unwrap();
    assert!(!effects.contains(&Effect::StopRoute));
    // Routed by the fields that come with it.
    let effects = run(
        &unrouted,
        CaseStatus::Acknowledged,
        Some("hi"),
        None,
        json!({"department": "Body"}),
    )
    .unwrap();
    assert!(effects.contains(&Effect::StopRoute));
}

#[test]
fn acknowledging_a_reopened_case_is_an_update_not_a_first_response() {
    let effects = run(
        &case(CaseStatus::Reopened),
        CaseStatus::Acknowledged,
        Some("We look again."),
        None,
        json!({}),
    )
    .unwrap();
    assert!(effects.contains(&Effect::TellDrivers {
        kind: EventKind::Update,
        message: "We look again.".into()
    }));
}

#[test]
fn the_next_update_target_follows_the_severity_after_the_fields() {
    let effects = run(
        &case(CaseStatus::New),
        CaseStatus::Acknowledged,
        Some("hi"),
        None,
        json!({"severity": "major"}),
    )
    .unwrap();
    assert_eq!(
        effects.last(),
        Some(&Effect::RestartNextUpdate {
            target_ms: 12 * 3_600_000
        })
    );
}

#[test]
fn verifying_the_fix_resolves_schedules_follow_ups_and_tells_the_driver() {
    let mut c = case(CaseStatus::CorrectiveActionImplemented);
    c.reopen_count = 1;
    c.filled.extend(
        required_fields(CaseStatus::EffectivenessVerified)
            .iter()
            .copied(),
    );
    let effects = run(
        &c,
        CaseStatus::EffectivenessVerified,
        Some("Fixed."),
        None,
        json!({}),
    )
    .unwrap();
    assert_eq!(
        effects[1..],
        [
            Effect::StopClock(SlaMetric::Resolution),
            Effect::StopClock(SlaMetric::NextUpdate),
            Effect::MarkResolved,
            Effect::ScheduleFollowUps {
                cycle: 1,
                days: vec![5, 7]
            },
            Effect::Notify {
                kind: NotificationKind::Resolved,
                payload: json!({"case_id": 7})
            },
            Effect::TellDrivers {
                kind: EventKind::Resolved,
                message: "Fixed.".into()
            },
        ],
        "no next update after the resolution"
    );
}

#[test]
fn reopening_restarts_the_resolution_clock_and_says_why() {
    let effects = run(
        &case(CaseStatus::FollowUp),
        CaseStatus::Reopened,
        None,
        Some("still squeaks"),
        json!({}),
    )
    .unwrap();
    assert_eq!(
        effects,
        vec![
            Effect::SetStatus {
                from: CaseStatus::FollowUp,
                to: CaseStatus::Reopened,
                note: "reopened (still squeaks)".into()
            },
            Effect::Reopen,
            Effect::RestartResolution,
            Effect::Notify {
                kind: NotificationKind::Reopened,
                payload: json!({"case_id": 7, "reason": "still squeaks"})
            },
        ]
    );
}

#[test]
fn waiting_pauses_the_clocks_and_remembers_where_it_was() {
    let effects = run(
        &case(CaseStatus::Contained),
        CaseStatus::WaitingCustomer,
        None,
        Some("photo"),
        json!({}),
    )
    .unwrap();
    assert_eq!(
        effects[1..],
        [
            Effect::PauseClocks,
            Effect::SetPausedFrom(CaseStatus::Contained)
        ]
    );
}

#[test]
fn closing_needs_the_drivers_satisfaction() {
    let err = run(
        &case(CaseStatus::FollowUp),
        CaseStatus::Closed,
        None,
        None,
        json!({}),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "missing for closed: satisfaction");
    let mut answered = case(CaseStatus::FollowUp);
    answered.filled.insert("satisfaction");
    let effects = run(&answered, CaseStatus::Closed, None, None, json!({})).unwrap();
    assert_eq!(effects.last(), Some(&Effect::MarkClosed));
}

#[test]
fn updates_go_to_open_acknowledged_cases_and_wait_with_a_waiting_one() {
    let sla = SlaPolicy::default();
    for status in [
        CaseStatus::New,
        CaseStatus::EffectivenessVerified,
        CaseStatus::Closed,
    ] {
        let err = plan_update(&case(status), "news", &sla).unwrap_err();
        assert!(err.to_string().contains("takes no updates"), "{err}");
    }
    assert!(plan_update(&case(CaseStatus::Contained), "  ", &sla).is_err());
    assert!(check_update_message(&"m".repeat(1_001)).is_err());
    let effects = plan_update(&case(CaseStatus::Contained), " news ", &sla).unwrap();
    assert_eq!(
        effects,
        vec![
            Effect::TellDrivers {
                kind: EventKind::Update,
                message: "news".into()
            },
            Effect::History {
                field: "update",
                new: "news".into()
            },
            Effect::RestartNextUpdate {
                target_ms: 24 * 3_600_000
            },
        ]
    );
    let effects = plan_update(&case(CaseStatus::WaitingCustomer), "news", &sla).unwrap();
    assert_eq!(effects.last(), Some(&Effect::PauseClocks));
}

#[test]
fn satisfaction_closes_or_reopens_a_resolved_case() {
    assert!(check_answer(5, Some("great")).is_ok());
    for score in [0, 6] {
        let err = check_answer(score, None).unwrap_err();
        assert!(
            err.to_string().starts_with("score: must be 1 to 5"),
            "{err}"
        );
    }
    assert!(check_answer(3, Some(&"x".repeat(1_001))).is_err());
    for resolved in [CaseStatus::EffectivenessVerified, CaseStatus::FollowUp] {
        assert!(check_awaiting_satisfaction(resolved).is_ok());
    }
    let err = check_awaiting_satisfaction(CaseStatus::Acknowledged).unwrap_err();
    assert!(err.to_string().contains("not awaiting"), "{err}");
    assert_eq!(after_satisfaction(4, 4), (CaseStatus::Closed, None));
    assert_eq!(
        after_satisfaction(3, 4),
        (
            CaseStatus::Reopened,
            Some("driver not satisfied (3/5)".into())
        )
    );
    assert_eq!(
        satisfaction_note(2, Some("still squeaks")),
        "2/5: still squeaks"
    );
    assert_eq!(satisfaction_note(5, None), "5/5");
}

#[test]
fn actors_and_texts_are_bounded() {
    assert_eq!(check_actor("  alice ").unwrap(), "alice");
    assert!(check_actor(" ").is_err());
    assert!(check_actor(&"a".repeat(201)).is_err());
    assert!(check_texts(Some(&"m".repeat(1_000)), None).is_ok());
    let err = check_texts(None, Some(&"r".repeat(1_001))).unwrap_err();
    assert!(err.to_string().starts_with("reason:"), "{err}");
}
