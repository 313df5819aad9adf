//! The loop after a resolution: the driver is asked on the policy's days
//! (5 and 7 by default) how satisfied they are, and their answer closes the
//! case or reopens it. A question goes out while the case is resolved
//! (`effectiveness_verified`, which becomes `follow_up` with the first one,
//! or `follow_up`); an answer is taken in the same two states.

use qloop_protocol::EventKind;
use serde_json::Map;

use super::{plan, CaseState, Effect, Rules, TransitionRequest, MAX_MESSAGE_CHARS};
use crate::domain::{kinds::CaseStatus, texts, Refusal};

const DAY_MS: i64 = 86_400_000;

/// The statuses in which a due follow-up question is sent.
pub const ASKS_FOLLOW_UPS: [CaseStatus; 2] =
    [CaseStatus::EffectivenessVerified, CaseStatus::FollowUp];

/// When the question of `day` is due for a case resolved at `resolved_at_ms`
/// (calendar days, not working days: the driver is asked on day N).
pub fn follow_up_due_ms(resolved_at_ms: i64, day: u32) -> i64 {
    resolved_at_ms + i64::from(day) * DAY_MS
}

/// Plans sending the due question of `day` (resolution cycle `cycle`) for
/// case `case_id` in `status`: the first one moves a resolved case into
/// `follow_up` (marked changed, by `sla`); every one is queued for the
/// case's cars and marked sent. `None` when the case no longer asks
/// (closed, reopened, cancelled before the day came).
pub fn plan_follow_up(
    case_id: i64,
    status: CaseStatus,
    cycle: i64,
    day: i64,
) -> Option<Vec<Effect>> {
    if !ASKS_FOLLOW_UPS.contains(&status) {
        return None;
    }
    let mut effects = Vec::new();
    if status == CaseStatus::EffectivenessVerified {
        let to = CaseStatus::FollowUp;
        effects.push(Effect::MarkChanged);
        effects.push(Effect::SetStatus {
            from: status,
            to,
            note: to.to_string(),
        });
    }
    effects.push(Effect::TellDrivers {
        kind: EventKind::FollowUp,
        message: texts::follow_up_question(day, case_id),
    });
    effects.push(Effect::MarkFollowUpSent { cycle, day });
    Some(effects)
}

/// Plans the driver's satisfaction answer (`score` and `comment` checked
/// with [`super::check_answer`]): it is recorded with the questions due by
/// now marked answered and a history entry, then the case closes when
/// `score` is at least `satisfied_at_least` and reopens otherwise (the
/// transition's own plan). Refused unless the case is resolved.
pub fn plan_satisfaction(
    case: &CaseState,
    score: i64,
    comment: Option<&str>,
    satisfied_at_least: u8,
    rules: &Rules<'_>,
) -> Result<Vec<Effect>, Refusal> {
    check_awaiting_satisfaction(case.status)?;
    let mut effects = vec![
        Effect::RecordSatisfaction {
            score,
            comment: comment.map(str::to_string),
        },
        Effect::AnswerFollowUps,
        Effect::History {
            field: "satisfaction",
            new: satisfaction_note(score, comment),
        },
    ];
    let mut answered = case.clone();
    answered.filled.insert("satisfaction");
    let (to, reason) = after_satisfaction(score, satisfied_at_least);
    let no_fields = Map::new();
    let request = TransitionRequest {
        to,
        message: None,
        reason: reason.as_deref(),
        fields: &no_fields,
    };
    effects.extend(plan(&answered, &request, rules)?);
    Ok(effects)
}

/// Checks a driver's satisfaction answer: a score of 1–5 and an optional
/// comment of bounded length.
pub fn check_answer(score: i64, comment: Option<&str>) -> Result<(), Refusal> {
    if !(1..=5).contains(&score) {
        return Err(Refusal::Invalid(format!(
            "score: must be 1 to 5, got {score}"
        )));
    }
    if comment.is_some_and(|c| c.chars().count() > MAX_MESSAGE_CHARS) {
        return Err(Refusal::Invalid(format!(
            "comment: longer than {MAX_MESSAGE_CHARS} characters"
        )));
    }
    Ok(())
}

/// Only a resolved case (`effectiveness_verified` or `follow_up`) awaits
/// the driver's satisfaction.
pub fn check_awaiting_satisfaction(status: CaseStatus) -> Result<(), Refusal> {
    if !matches!(
        status,
        CaseStatus::EffectivenessVerified | CaseStatus::FollowUp
    ) {
        return Err(Refusal::Invalid(format!(
            "score: a {status} case is not awaiting the driver's satisfaction"
        )));
    }
    Ok(())
}

/// Where a satisfaction answer takes the case: closed when the score is at
/// least `satisfied_at_least`, else reopened, with the reason.
pub fn after_satisfaction(score: i64, satisfied_at_least: u8) -> (CaseStatus, Option<String>) {
    if score >= i64::from(satisfied_at_least) {
        (CaseStatus::Closed, None)
    } else {
        (
            CaseStatus::Reopened,
            Some(format!("driver not satisfied ({score}/5)")),
        )
    }
}

/// The history text of a satisfaction answer.
pub fn satisfaction_note(score: i64, comment: Option<&str>) -> String {
    format!(
        "{score}/5{}",
        comment.map(|c| format!(": {c}")).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {

    use serde_json::json;

    use super::*;
    use crate::domain::{kinds::NotificationKind, sla_policy::SlaPolicy};

    fn answer(status: CaseStatus, score: i64) -> Result<Vec<Effect>, Refusal> {
        let (sla, taxonomy) = (
            SlaPolicy::default(),
            qloop_models::Taxonomy::default_taxonomy(),
        );
        let rules = Rules {
            sla: &sla,
            follow_up_days: &[5, 7],
            taxonomy: &taxonomy,
        };
        plan_satisfaction(
            &super::super::tests::case(status),
            score,
            Some("ok"),
            4,
            &rules,
        )
    }

    #[test]
    fn questions_are_due_on_calendar_days_after_the_resolution() {
        assert_eq!(follow_up_due_ms(1_000, 5), 1_000 + 5 * DAY_MS);
        assert_eq!(follow_up_due_ms(0, 0), 0);
    }

    #[test]
    fn the_first_question_moves_a_resolved_case_into_follow_up() {
        let effects = plan_follow_up(9, CaseStatus::EffectivenessVerified, 0, 5).unwrap();
        assert_eq!(
            effects,
            vec![
                Effect::MarkChanged,
                Effect::SetStatus {
                    from: CaseStatus::EffectivenessVerified,
                    to: CaseStatus::FollowUp,
                    note: "follow_up".into(),
                },
                Effect::TellDrivers {
                    kind: EventKind::FollowUp,
                    message: "Day 5 after the fix for case 9: how satisfied are you, from 1 to 5?"
                        .into(),
                },
                Effect::MarkFollowUpSent { cycle: 0, day: 5 },
            ]
        );
    }

    #[test]
    fn a_later_question_only_asks() {
        let effects = plan_follow_up(9, CaseStatus::FollowUp, 1, 7).unwrap();
        assert!(matches!(
            effects.as_slice(),
            [
                Effect::TellDrivers { .. },
                Effect::MarkFollowUpSent { cycle: 1, day: 7 }
            ]
        ));
    }

    #[test]
    fn a_case_that_left_the_loop_is_not_asked() {
        for status in [
            CaseStatus::Closed,
            CaseStatus::Reopened,
            CaseStatus::Cancelled,
            CaseStatus::Acknowledged,
        ] {
            assert_eq!(plan_follow_up(9, status, 0, 5), None, "{status}");
        }
    }

    #[test]
    fn a_satisfied_answer_is_recorded_then_closes_the_case() {
        let effects = answer(CaseStatus::FollowUp, 5).unwrap();
        assert_eq!(
            effects,
            vec![
                Effect::RecordSatisfaction {
                    score: 5,
                    comment: Some("ok".into())
                },
                Effect::AnswerFollowUps,
                Effect::History {
                    field: "satisfaction",
                    new: "5/5: ok".into()
                },
                Effect::SetStatus {
                    from: CaseStatus::FollowUp,
                    to: CaseStatus::Closed,
                    note: "closed".into()
                },
                Effect::MarkClosed,
            ]
        );
    }

    #[test]
    fn an_unsatisfied_answer_reopens_the_case_with_the_reason() {
        let effects = answer(CaseStatus::EffectivenessVerified, 2).unwrap();
        assert!(effects.contains(&Effect::SetStatus {
            from: CaseStatus::EffectivenessVerified,
            to: CaseStatus::Reopened,
            note: "reopened (driver not satisfied (2/5))".into(),
        }));
        assert!(effects.contains(&Effect::RestartResolution));
        assert!(effects.contains(&Effect::Notify {
            kind: NotificationKind::Reopened,
            payload: json!({"case_id": 7, "reason": "driver not satisfied (2/5)"}),
        }));
    }

    #[test]
    fn only_a_resolved_case_takes_an_answer() {
        let err = answer(CaseStatus::Contained, 5).unwrap_err();
        assert!(err.to_string().contains("not awaiting"), "{err}");
    }
}
