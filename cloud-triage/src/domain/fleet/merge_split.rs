//! An engineer's merge and split of fleet cases, as plans: what is allowed,
//! which reports move, what each history records, and whether a case
//! becomes major by it (then [`crate::domain::escalation`] escalates it,
//! once, like any case that becomes major).

use uuid::Uuid;

use crate::domain::{CaseStatus, Refusal, Severity};

/// The longest actor name, in characters.
pub const ACTOR_CHARS: usize = 200;

/// The actor's name trimmed; refused when empty or too long.
pub fn check_actor(actor: &str) -> Result<&str, Refusal> {
    let actor = actor.trim();
    if actor.is_empty() || actor.chars().count() > ACTOR_CHARS {
        return Err(Refusal::Invalid(format!(
            "actor: must be 1 to {ACTOR_CHARS} characters"
        )));
    }
    Ok(actor)
}

/// A case taking part in a merge or split, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetCase {
    /// Case number.
    pub id: i64,
    /// Its status.
    pub status: CaseStatus,
    /// Its severity.
    pub severity: Severity,
}

/// What merging one case into another does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePlan {
    /// The merged-away case's history entry (`merged_into`).
    pub from_history: String,
    /// The surviving case's history entry (`merged_from`).
    pub into_history: String,
    /// The surviving case becomes major, for this reason: the merged-away
    /// case was major (a merge keeps the higher severity).
    pub raise_into: Option<String>,
}

/// Refuses a merge of a case into itself, before anything is read.
pub fn check_merge_pair(from: i64, into: i64) -> Result<(), Refusal> {
    if from == into {
        return Err(Refusal::Invalid(
            "into: a case cannot be merged into itself".into(),
        ));
    }
    Ok(())
}

/// The order two cases are locked in, so opposite merges cannot deadlock.
pub fn lock_order(a: i64, b: i64) -> [i64; 2] {
    [a.min(b), a.max(b)]
}

/// Refuses a closed case: only open cases are merged or split.
fn check_open(case: &FleetCase, verb: &str) -> Result<(), Refusal> {
    if case.status.is_closed() {
        return Err(Refusal::Invalid(format!(
            "case {} is {}; only open cases can be {verb}",
            case.id, case.status
        )));
    }
    Ok(())
}

/// Plans merging `from` (whose reports are `moved`) into `into`.
pub fn plan_merge(
    from: &FleetCase,
    into: &FleetCase,
    moved: &[String],
) -> Result<MergePlan, Refusal> {
    check_open(from, "merged")?;
    check_open(into, "merged")?;
    Ok(MergePlan {
        from_history: format!("case {} ({} occurrences moved)", into.id, moved.len()),
        into_history: format!(
            "case {} ({} occurrences: {})",
            from.id,
            moved.len(),
            moved.join(", ")
        ),
        raise_into: from
            .severity
            .is_major()
            .then(|| format!("merged from major case {}", from.id)),
    })
}

/// Refuses a split that names no report, before anything is read.
pub fn check_split_request(feedback_ids: &[Uuid]) -> Result<(), Refusal> {
    if feedback_ids.is_empty() {
        return Err(Refusal::Invalid(
            "feedback_ids: names no feedback to split out".into(),
        ));
    }
    Ok(())
}

/// Which reports a split moves, in order, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPlan {
    /// The case split.
    pub from: i64,
    /// The feedback ids that move to the new case, sorted.
    pub moving: Vec<String>,
}

/// Plans splitting `asked` out of `from`, which holds `held`: every one must
/// be held by it, and at least one report must stay.
pub fn plan_split(from: &FleetCase, held: &[String], asked: &[Uuid]) -> Result<SplitPlan, Refusal> {
    check_open(from, "split")?;
    let mut moving: Vec<String> = asked.iter().map(Uuid::to_string).collect();
    moving.sort();
    moving.dedup();
    if let Some(stranger) = moving.iter().find(|id| !held.contains(id)) {
        return Err(Refusal::Invalid(format!(
            "feedback_ids: {stranger} is not linked to case {}",
            from.id
        )));
    }
    if moving.len() == held.len() {
        return Err(Refusal::Invalid(
            "feedback_ids: at least one feedback must stay in the case".into(),
        ));
    }
    Ok(SplitPlan {
        from: from.id,
        moving,
    })
}

impl SplitPlan {
    /// The report whose words title the new case.
    pub fn first(&self) -> &str {
        &self.moving[0]
    }

    /// The new case's `opened` history entry.
    pub fn opened_history(&self, new_id: i64) -> String {
        format!(
            "case {new_id} split from case {}: {}",
            self.from,
            self.moving.join(", ")
        )
    }

    /// The split case's `split` history entry.
    pub fn split_history(&self, new_id: i64) -> String {
        format!(
            "{} occurrences moved to case {new_id}: {}",
            self.moving.len(),
            self.moving.join(", ")
        )
    }

    /// Why the new case is escalated when it is major (it inherits the
    /// split case's severity).
    pub fn escalation_reason(&self) -> String {
        format!("split from major case {}", self.from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: i64, status: CaseStatus, severity: Severity) -> FleetCase {
        FleetCase {
            id,
            status,
            severity,
        }
    }

    fn ids(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn the_actor_is_trimmed_and_bounded() {
        assert_eq!(check_actor("  alice "), Ok("alice"));
        assert!(check_actor("   ").is_err());
        assert!(check_actor(&"a".repeat(201)).is_err());
        assert!(check_actor(&"é".repeat(200)).is_ok());
    }

    #[test]
    fn a_case_is_not_merged_into_itself_and_locks_go_in_id_order() {
        assert!(check_merge_pair(3, 3).is_err());
        assert!(check_merge_pair(3, 4).is_ok());
        assert_eq!(lock_order(9, 2), [2, 9]);
        assert_eq!(lock_order(2, 9), [2, 9]);
    }

    #[test]
    fn only_open_cases_merge() {
        let open = case(1, CaseStatus::New, Severity::Minor);
        let closed = case(2, CaseStatus::Closed, Severity::Minor);
        let err = plan_merge(&open, &closed, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "case 2 is closed; only open cases can be merged"
        );
        assert!(plan_merge(&closed, &open, &[]).is_err());
        let merged = case(3, CaseStatus::Merged, Severity::Minor);
        assert!(plan_merge(&merged, &open, &[]).is_err());
    }

    #[test]
    fn a_merge_records_both_sides_and_keeps_the_higher_severity() {
        let from = case(1, CaseStatus::New, Severity::Major);
        let into = case(2, CaseStatus::New, Severity::Minor);
        let moved = vec!["a".to_string(), "b".to_string()];
        let plan = plan_merge(&from, &into, &moved).unwrap();
        assert_eq!(plan.from_history, "case 2 (2 occurrences moved)");
        assert_eq!(plan.into_history, "case 1 (2 occurrences: a, b)");
        assert_eq!(plan.raise_into.as_deref(), Some("merged from major case 1"));
        let minor = case(1, CaseStatus::New, Severity::Minor);
        assert_eq!(plan_merge(&minor, &into, &moved).unwrap().raise_into, None);
    }

    #[test]
    fn a_split_moves_named_reports_once_and_leaves_one() {
        assert!(check_split_request(&[]).is_err());
        let from = case(5, CaseStatus::Contained, Severity::Minor);
        let held: Vec<String> = ids(3).iter().map(Uuid::to_string).collect();
        let asked = vec![ids(2)[1], ids(1)[0], ids(2)[1]];
        let plan = plan_split(&from, &held, &asked).unwrap();
        assert_eq!(plan.moving, [held[0].clone(), held[1].clone()]);
        assert_eq!(plan.first(), held[0]);
        assert!(plan
            .opened_history(9)
            .starts_with("case 9 split from case 5: "));
        assert!(plan
            .split_history(9)
            .starts_with("2 occurrences moved to case 9: "));
        assert_eq!(plan.escalation_reason(), "split from major case 5");
    }

    #[test]
    fn a_split_refuses_strangers_emptying_the_case_and_closed_cases() {
        let from = case(5, CaseStatus::New, Severity::Minor);
        let held: Vec<String> = ids(2).iter().map(Uuid::to_string).collect();
        let stranger = Uuid::from_u128(77);
        let err = plan_split(&from, &held, &[stranger]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("feedback_ids: {stranger} is not linked to case 5")
        );
        let err = plan_split(&from, &held, &ids(2)).unwrap_err();
        assert!(err.to_string().contains("at least one feedback must stay"));
        let closed = case(5, CaseStatus::Cancelled, Severity::Minor);
        assert!(plan_split(&closed, &held, &ids(1)).is_err());
    }
}
