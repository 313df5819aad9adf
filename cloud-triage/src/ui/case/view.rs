//! What the case page shows, built from the API's read models
//! ([`Store::get_case`], the batch feedback read) and the lifecycle's rules
//! (which transitions are allowed from here and what each asks for). Every
//! form is here with its values and its inline error, so a refused action
//! re-renders its own form as the person left it.

use crate::{
    domain::{
        fields::FieldKind,
        lifecycle::{allowed_targets, check_awaiting_satisfaction, transition_asks, TAKES_UPDATES},
        CaseStatus, MatchKind, Severity,
    },
    store::{Store, StoreError},
    ui::format::{hazard_words, sla_badges, when, when_opt, SlaBadge},
    views::CaseDetail,
};

use super::{
    fields::{current_values, kind_of, label_of, FormField, BLOCKS},
    listing::{match_view, HistoryView, MatchView},
    reports::ReportsPage,
};

/// A status as people read it: `root_cause_found` → `Root cause found`.
pub fn status_label(status: &str) -> String {
    let text = status.replace('_', " ");
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The form that moves the case to one allowed status, with exactly what
/// that transition asks for.
#[derive(Debug, Clone)]
pub struct TransitionForm {
    /// The case.
    pub case_id: i64,
    /// The status to move to, e.g. `contained`.
    pub to: String,
    /// The button's words, e.g. `Contained`.
    pub label: String,
    /// The required case fields, filled with their current values.
    pub fields: Vec<FormField>,
    /// Required values this form cannot set (the driver's satisfaction),
    /// still missing.
    pub elsewhere: Vec<String>,
    /// The driver's message, when one is required.
    pub message: Option<String>,
    /// The reason, when one is required.
    pub reason: Option<String>,
    /// What submitting also does (accepting a suggested action).
    pub hint: Option<&'static str>,
    /// The refusal, when the last try was refused.
    pub error: Option<String>,
}

/// One block of the 8D panel.
#[derive(Debug, Clone)]
pub struct BlockView {
    /// The anchor, e.g. `ica`.
    pub id: &'static str,
    /// The title, e.g. `D3 Interim containment (ICA)`.
    pub title: &'static str,
    /// Its fields as shown: `(label, value or —)`.
    pub shown: Vec<(String, String)>,
    /// Its fields as the edit form holds them.
    pub inputs: Vec<FormField>,
}

/// A known issue's containment or remedy offered as the case's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// `ica_action` or `pca_action`.
    pub column: &'static str,
    /// `ica_suggested` or `pca_suggested`.
    pub flag: &'static str,
    /// `Use as ICA` or `Use as PCA`.
    pub button: &'static str,
    /// The action's text.
    pub text: String,
    /// The known issue it comes from.
    pub from: String,
}

/// The 8D panel: ICA, root cause, PCA, verification, their edit form and
/// the suggested actions.
#[derive(Debug, Clone)]
pub struct EightDPanel {
    /// The case.
    pub case_id: i64,
    /// The case's `updated_at_ms` as read: a change since is a conflict.
    pub expected_updated_at_ms: i64,
    /// The blocks.
    pub blocks: Vec<BlockView>,
    /// The ICA in place is only a suggestion, not yet accepted.
    pub ica_suggested: bool,
    /// The PCA in place is only a suggestion, not yet accepted.
    pub pca_suggested: bool,
    /// Known issues' actions to take over in one click.
    pub suggestions: Vec<Suggestion>,
    /// The refusal, when the last change was refused.
    pub error: Option<String>,
    /// Whether the edit form is open (after a refusal).
    pub open: bool,
}

/// A small form's values and its refusal.
#[derive(Debug, Clone, Default)]
pub struct SmallForm {
    /// The case.
    pub case_id: i64,
    /// The main value (the message, the target case, the score).
    pub value: String,
    /// A second value (the satisfaction comment).
    pub comment: String,
    /// The refusal, when the last try was refused.
    pub error: Option<String>,
}

/// Everything the case page shows.
#[derive(Debug, Clone)]
pub struct CaseView {
    /// The case as the API reads it.
    pub case: CaseDetail,
    /// `Acknowledged`.
    pub status: String,
    /// `sev-major`, `sev-moderate` or empty.
    pub severity_class: &'static str,
    /// A major case's hazard in words, e.g. `loss of braking`.
    pub hazard: Option<&'static str>,
    /// The department, or `—`.
    pub department: String,
    /// When it became emerging, if it did.
    pub emerging: Option<String>,
    /// When it was opened, first and last reported, last changed.
    pub opened: String,
    /// First report.
    pub first_seen: String,
    /// Latest report.
    pub last_seen: String,
    /// Latest change.
    pub updated: String,
    /// The first response, or `—`.
    pub first_response: String,
    /// One badge per SLA metric.
    pub badges: Vec<SlaBadge>,
    /// One form per allowed transition.
    pub transitions: Vec<TransitionForm>,
    /// The 8D panel.
    pub eight_d: EightDPanel,
    /// Known issues and similar cases.
    pub matches: Vec<MatchView>,
    /// The first page of reports.
    pub reports: ReportsPage,
    /// The history, oldest first.
    pub history: Vec<HistoryView>,
    /// The drivers' satisfaction answers, oldest first.
    pub answers: Vec<HistoryView>,
    /// Whether the case takes a message to the cars in its status.
    pub takes_updates: bool,
    /// Whether the case awaits the driver's satisfaction.
    pub awaiting_satisfaction: bool,
    /// The message form.
    pub message: SmallForm,
    /// The satisfaction form.
    pub satisfaction: SmallForm,
    /// The merge form.
    pub merge: SmallForm,
    /// The split form.
    pub split: SmallForm,
    /// What the last action did.
    pub notice: Option<String>,
    /// The case the last action made (a split), to link to.
    pub created: Option<i64>,
}

impl CaseView {
    /// The page of case `id`, or `None` when there is no such case.
    pub async fn load(store: &Store, id: i64) -> Result<Option<Self>, StoreError> {
        let Some(case) = store.get_case(id).await? else {
            return Ok(None);
        };
        let Some(state) = store.lifecycle_state(id).await? else {
            return Ok(None);
        };
        let reports = ReportsPage::load(store, &case, 0).await?;
        let status = case.summary.status;
        let transitions = allowed_targets(&state)
            .into_iter()
            .map(|to| transition_form(&case, &state, to))
            .collect();
        let s = &case.summary;
        let form = SmallForm {
            case_id: id,
            ..SmallForm::default()
        };
        Ok(Some(Self {
            status: status_label(status.as_str()),
            severity_class: match s.severity {
                Severity::Major => "sev-major",
                Severity::Minor => "sev-moderate",
                _ => "",
            },
            hazard: hazard_words(s.severity, s.hazard),
            department: s.department.clone().unwrap_or_else(|| "—".into()),
            emerging: s.emerging_at_ms.map(when),
            opened: when(s.opened_at_ms),
            first_seen: when(s.first_seen_ms),
            last_seen: when(s.last_seen_ms),
            updated: when(s.updated_at_ms),
            first_response: when_opt(case.first_response_at_ms),
            badges: sla_badges(&case.sla),
            transitions,
            eight_d: eight_d_panel(&case),
            matches: case.matches.iter().map(match_view).collect(),
            reports,
            history: case.history.iter().map(HistoryView::of).collect(),
            answers: case
                .history
                .iter()
                .filter(|h| h.field == "satisfaction")
                .map(HistoryView::of)
                .collect(),
            takes_updates: TAKES_UPDATES.contains(&status),
            awaiting_satisfaction: check_awaiting_satisfaction(status).is_ok(),
            message: form.clone(),
            satisfaction: form.clone(),
            merge: form.clone(),
            split: form,
            notice: None,
            created: None,
            case,
        }))
    }
}

/// The form for moving `case` to `to`: exactly what the lifecycle asks.
fn transition_form(
    case: &CaseDetail,
    state: &crate::domain::lifecycle::CaseState,
    to: CaseStatus,
) -> TransitionForm {
    let asks = transition_asks(state.status, to);
    let current = current_values(case);
    let (fields, elsewhere): (Vec<&str>, Vec<&str>) =
        asks.fields.iter().partition(|f| kind_of(f).is_some());
    let hint = match to {
        CaseStatus::Contained if case.ica.suggested => Some(
            "The action is a suggestion from a known issue: submitting this form accepts it as written.",
        ),
        CaseStatus::CorrectiveActionImplemented if case.pca.suggested => Some(
            "The action is a suggestion from a known issue: submitting this form accepts it as written.",
        ),
        _ => None,
    };
    TransitionForm {
        case_id: case.summary.id,
        to: to.as_str().to_string(),
        label: status_label(to.as_str()),
        fields: fields
            .into_iter()
            .map(|f| FormField::new(f, current.get(f).cloned().unwrap_or_default()))
            .collect(),
        elsewhere: elsewhere
            .into_iter()
            .filter(|f| !state.filled.contains(f))
            .map(label_of)
            .collect(),
        message: asks.message.then(String::new),
        reason: asks.reason.then(String::new),
        hint,
        error: None,
    }
}

/// The 8D panel of `case`.
pub fn eight_d_panel(case: &CaseDetail) -> EightDPanel {
    let current = current_values(case);
    let blocks = BLOCKS
        .iter()
        .map(|(id, title, fields)| BlockView {
            id,
            title,
            shown: fields
                .iter()
                .map(|(column, label)| {
                    let value = current.get(column).cloned().unwrap_or_default();
                    let shown = match (kind_of(column), value.is_empty()) {
                        (_, true) => "—".to_string(),
                        (Some(FieldKind::Millis), false) => {
                            format!("{} UTC", value.replace('T', " "))
                        }
                        _ => value,
                    };
                    (label.to_string(), shown)
                })
                .collect(),
            inputs: fields
                .iter()
                .map(|(column, _)| {
                    FormField::new(column, current.get(column).cloned().unwrap_or_default())
                })
                .collect(),
        })
        .collect();
    let mut suggestions = Vec::new();
    for m in case
        .matches
        .iter()
        .filter(|m| m.kind == MatchKind::KnownIssue)
    {
        if let Some(text) = m.containment.as_ref().filter(|t| !t.trim().is_empty()) {
            suggestions.push(Suggestion {
                column: "ica_action",
                flag: "ica_suggested",
                button: "Use as ICA",
                text: text.clone(),
                from: m.title.clone(),
            });
        }
        if let Some(text) = m.remedy.as_ref().filter(|t| !t.trim().is_empty()) {
            suggestions.push(Suggestion {
                column: "pca_action",
                flag: "pca_suggested",
                button: "Use as PCA",
                text: text.clone(),
                from: m.title.clone(),
            });
        }
    }
    EightDPanel {
        case_id: case.summary.id,
        expected_updated_at_ms: case.summary.updated_at_ms,
        blocks,
        ica_suggested: case.ica.suggested && case.ica.action.is_some(),
        pca_suggested: case.pca.suggested && case.pca.action.is_some(),
        suggestions,
        error: None,
        open: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_words() {
        assert_eq!(status_label("root_cause_found"), "Root cause found");
        assert_eq!(status_label("new"), "New");
    }
}
