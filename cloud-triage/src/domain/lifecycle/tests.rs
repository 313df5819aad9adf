//! The lifecycle's rules, each without a database.

use std::collections::BTreeSet;

use qloop_protocol::EventKind;
use serde_json::{json, Map, Value};

use super::*;
use crate::domain::{
    kinds::{NotificationKind, Severity, SlaMetric},
    sla_policy::SlaPolicy,
    Refusal,
};

fn taxonomy() -> qloop_models::Taxonomy {
    qloop_models::Taxonomy::default_taxonomy()
}

/// A minor brakes case routed to Chassis, in `status`, with nothing filled.
pub(super) fn case(status: CaseStatus) -> CaseState {
    CaseState {
        id: 7,
        status,
        paused_from: None,
        reopen_count: 0,
        severity: Severity::Minor,
        category: "brakes".into(),
        department: Some("Chassis".into()),
        ica_suggested: false,
        pca_suggested: false,
        filled: BTreeSet::new(),
    }
}

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn run(
    case: &CaseState,
    to: CaseStatus,
    message: Option<&str>,
    reason: Option<&str>,
    set: Value,
) -> Result<Vec<Effect>, Refusal> {
    let (sla, t) = (SlaPolicy::default(), taxonomy());
    let set = fields(set);
    plan(
        case,
        &TransitionRequest {
            to,
            message,
            reason,
            fields: &set,
        },
        &Rules {
            sla: &sla,
            follow_up_days: &[5, 7],
            taxonomy: &t,
        },
    )
}

#[test]
fn the_8d_path_goes_forward_only_and_final_states_go_nowhere() {
    use CaseStatus as S;
    let path = [
        S::New,
        S::Acknowledged,
        S::Contained,
        S::RootCauseFound,
        S::CorrectiveActionImplemented,
        S::EffectivenessVerified,
        S::FollowUp,
        S::Closed,
    ];
    for pair in path.windows(2) {
        assert!(next_states(pair[0]).contains(&pair[1]), "{pair:?}");
        assert!(!next_states(pair[1]).contains(&pair[0]), "{pair:?} back");
    }
    for last in [S::Closed, S::Cancelled, S::Merged, S::WaitingCustomer] {
        assert!(next_states(last).is_empty(), "{last}");
    }
    assert!(next_states(S::EffectivenessVerified).contains(&S::Closed));
    assert!(!next_states(S::EffectivenessVerified).contains(&S::Cancelled));
    assert!(next_states(S::Reopened).contains(&S::RootCauseFound));
    for required in [
        required_fields(S::Contained),
        required_fields(S::RootCauseFound),
        required_fields(S::CorrectiveActionImplemented),
        required_fields(S::EffectivenessVerified),
        required_fields(S::Closed),
    ] {
        assert!(required.iter().all(|f| REQUIRED_FIELDS.contains(f)));
    }
}

#[test]
fn a_transition_the_lifecycle_does_not_allow_names_the_way_on() {
    let err = run(
        &case(CaseStatus::New),
        CaseStatus::Contained,
        None,
        None,
        json!({}),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "to: a new case cannot become contained; it can become acknowledged, waiting_customer, cancelled"
    );
    let err = run(
        &case(CaseStatus::Closed),
        CaseStatus::Reopened,
        None,
        Some("x"),
        json!({}),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.ends_with("it can become nothing (it is final)"),
        "{err}"
    );
}

#[test]
fn waiting_on_the_customer_returns_only_where_it_left_or_cancels() {
    let mut waiting = case(CaseStatus::WaitingCustomer);
    waiting.paused_from = Some(CaseStatus::Contained);
    waiting
        .filled
        .extend(required_fields(CaseStatus::Contained).iter().copied());
    let err = run(
        &waiting,
        CaseStatus::Acknowledged,
        Some("hi"),
        None,
        json!({}),
    )
    .unwrap_err()
    .to_string();
    assert!(err.ends_with("it can become contained, cancelled"), "{err}");
    // Back where it was: no new message needed, the clocks resume.
    let effects = run(&waiting, CaseStatus::Contained, None, None, json!({})).unwrap();
    assert_eq!(
        effects,
        vec![
            Effect::SetStatus {
                from: CaseStatus::WaitingCustomer,
                to: CaseStatus::Contained,
                note: "contained".into()
            },
            Effect::ResumeClocks,
        ]
    );
    let effects = run(
        &waiting,
        CaseStatus::Cancelled,
        None,
        Some("dup"),
        json!({}),
    )
    .unwrap();
    assert!(effects.contains(&Effect::CancelClocks));
    assert!(effects.contains(&Effect::ResumeClocks));
}

#[test]
fn required_fields_count_what_is_stored_and_what_comes_with_the_request() {
    let acked = case(CaseStatus::Acknowledged);
    let err = run(
        &acked,
        CaseStatus::Contained,
        None,
        None,
        json!({"ica_action": "x"}),
    )
    .unwrap_err();
    assert_eq!(
        err,
        Refusal::Missing {
            to: CaseStatus::Contained,
            missing: vec![
                "ica_owner".into(),
                "ica_implemented_at_ms".into(),
                "ica_verification".into()
            ],
        }
    );
    assert_eq!(
        err.to_string(),
        "missing for contained: ica_owner, ica_implemented_at_ms, ica_verification"
    );
    let mut stored = acked.clone();
    stored
        .filled
        .extend(["ica_owner", "ica_implemented_at_ms", "ica_verification"]);
    let effects = run(
        &stored,
        CaseStatus::Contained,
        None,
        None,
        json!({"ica_action": "x"}),
    )
    .unwrap();
    assert!(
        matches!(&effects[0], Effect::SetFields(c) if c.len() == 2),
        "{effects:?}"
    );
    // Clearing a stored field with the request counts too.
    stored.filled.insert("ica_action");
    let err = run(
        &stored,
        CaseStatus::Contained,
        None,
        None,
        json!({"ica_owner": null}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("ica_owner"), "{err}");
}

#[test]
fn a_suggested_action_must_be_accepted_or_replaced() {
    let mut c = case(CaseStatus::Acknowledged);
    c.filled
        .extend(required_fields(CaseStatus::Contained).iter().copied());
    c.ica_suggested = true;
    let err = run(&c, CaseStatus::Contained, None, None, json!({})).unwrap_err();
    assert!(err.to_string().contains("only suggested"), "{err}");
    assert!(run(
        &c,
        CaseStatus::Contained,
        None,
        None,
        json!({"ica_suggested": false})
    )
    .is_ok());
    assert!(run(
        &c,
        CaseStatus::Contained,
        None,
        None,
        json!({"ica_action": "mine"})
    )
    .is_ok());
    let mut p = case(CaseStatus::RootCauseFound);
    p.filled.extend(
        required_fields(CaseStatus::CorrectiveActionImplemented)
            .iter()
            .copied(),
    );
    p.pca_suggested = true;
    assert!(run(
        &p,
        CaseStatus::CorrectiveActionImplemented,
        None,
        None,
        json!({})
    )
    .is_err());
}

#[test]
fn answers_need_a_message_and_side_states_a_reason() {
    let new = case(CaseStatus::New);
    let err = run(&new, CaseStatus::Acknowledged, Some("  "), None, json!({})).unwrap_err();
    assert!(
        err.to_string()
            .contains("message (what the driver is told)"),
        "{err}"
    );
    for to in [CaseStatus::WaitingCustomer, CaseStatus::Cancelled] {
        let err = run(&new, to, None, None, json!({})).unwrap_err();
        assert_eq!(err.to_string(), format!("missing for {to}: reason"));
    }
    let mut verified = case(CaseStatus::CorrectiveActionImplemented);
    verified.filled.extend(
        required_fields(CaseStatus::EffectivenessVerified)
            .iter()
            .copied(),
    );
    assert!(run(
        &verified,
        CaseStatus::EffectivenessVerified,
        None,
        None,
        json!({})
    )
    .is_err());
}

#[test]
fn what_a_transition_asks_for_is_what_the_plan_refuses_without() {
    let asks = transition_asks(CaseStatus::New, CaseStatus::Acknowledged);
    assert_eq!(
        asks,
        TransitionAsks {
            fields: &[],
            message: true,
            reason: false
        }
    );
    let asks = transition_asks(CaseStatus::Acknowledged, CaseStatus::Contained);
    assert_eq!(asks.fields, required_fields(CaseStatus::Contained));
    assert!(!asks.message && !asks.reason);
    assert!(transition_asks(CaseStatus::FollowUp, CaseStatus::Reopened).reason);
    // Back from waiting on the customer: no new answer, so no message.
    let back = transition_asks(CaseStatus::WaitingCustomer, CaseStatus::Acknowledged);
    assert!(!back.message);
    // The plan's refusal names exactly what the asks list, for every
    // transition of every status.
    for from in CaseStatus::ALL.iter().copied() {
        for to in allowed_targets(&case(from)) {
            let asks = transition_asks(from, to);
            let mut expected: Vec<String> = asks.fields.iter().map(|f| f.to_string()).collect();
            if asks.message {
                expected.push("message (what the driver is told)".into());
            }
            if asks.reason {
                expected.push("reason".into());
            }
            match run(&case(from), to, None, None, json!({})) {
                Err(Refusal::Missing { missing, .. }) => assert_eq!(missing, expected),
                Ok(_) => assert!(expected.is_empty(), "{from} -> {to}"),
                Err(other) => panic!("{from} -> {to}: {other}"),
            }
        }
    }
}

#[test]
fn the_allowed_targets_are_the_graph_except_while_waiting_on_the_customer() {
    assert_eq!(
        allowed_targets(&case(CaseStatus::New)),
        next_states(CaseStatus::New).to_vec()
    );
    let mut waiting = case(CaseStatus::WaitingCustomer);
    assert_eq!(allowed_targets(&waiting), vec![CaseStatus::Cancelled]);
    waiting.paused_from = Some(CaseStatus::RootCauseFound);
    assert_eq!(
        allowed_targets(&waiting),
        vec![CaseStatus::RootCauseFound, CaseStatus::Cancelled]
    );
    assert!(allowed_targets(&case(CaseStatus::Closed)).is_empty());
}

#[test]
fn a_bad_field_with_a_transition_is_refused_before_anything_is_planned() {
    let err = run(
        &case(CaseStatus::New),
        CaseStatus::Acknowledged,
        Some("hi"),
        None,
        json!({"severity": "Major"}),
    )
    .unwrap_err();
    assert!(matches!(err, Refusal::Unknown(_)), "{err}");
}

mod effects;
