//! `POST /ui/cases/{id}`: the 8D panel's changes (the edit form, a known
//! issue's action taken over, a suggested action accepted) through the use
//! case `PATCH /api/cases/{id}` calls ([`Store::update_case`]), with the
//! `expected_updated_at_ms` the page was read at, so a change made since is
//! a 409 shown in the panel.
//!
//! [`Store::update_case`]: crate::store::Store::update_case

use axum::{
    extract::{Form, Path, State},
    http::StatusCode,
    response::Response,
    Extension,
};
use serde_json::{Map, Value};

use super::{
    answer, case_id,
    fields::{current_values, panel_columns, to_value},
    no_case, refused, CaseView, Panel,
};
use crate::{
    api::ApiState,
    app::patch::CaseUpdate,
    now_ms,
    store::ui_sessions::UiSession,
    ui::{page::UiError, Htmx},
};

/// `POST /ui/cases/{id}`: sets the 8D fields that differ from the case as
/// it is (a field left as it was is not sent, so saving one block neither
/// rewrites nor accepts another), plus any `…_suggested` flag posted.
pub(super) async fn update(
    State(state): State<ApiState>,
    Extension(session): Extension<UiSession>,
    Htmx(htmx): Htmx,
    Path(raw): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let id = case_id(&raw)?;
    let case = state.store.get_case(id).await?.ok_or_else(|| no_case(id))?;
    let current = current_values(&case);
    let mut expected = None;
    let mut fields = Vec::new();
    for (name, text) in pairs {
        match name.as_str() {
            "csrf" => {}
            "expected_updated_at_ms" => expected = Some(text),
            _ => fields.push((name, text)),
        }
    }
    let fill = |view: &mut CaseView, message: String| {
        for block in &mut view.eight_d.blocks {
            for input in &mut block.inputs {
                if let Some((_, text)) = fields.iter().find(|(n, _)| *n == input.name) {
                    input.value = text.clone();
                }
            }
        }
        view.eight_d.error = Some(message);
        view.eight_d.open = true;
    };
    let set = changed_fields(&fields, &current);
    let expected = expected.filter(|t| !t.is_empty()).map(|t| t.parse::<i64>());
    let (set, expected) = match (set, expected.transpose()) {
        (Ok(set), Ok(expected)) => (set, expected),
        (Err(message), _) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return refused(
                &state,
                &session,
                htmx,
                id,
                Panel::EightD,
                status,
                message,
                fill,
            )
            .await;
        }
        (_, Err(_)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let message = "expected_updated_at_ms: must be Unix milliseconds".to_string();
            return refused(
                &state,
                &session,
                htmx,
                id,
                Panel::EightD,
                status,
                message,
                fill,
            )
            .await;
        }
    };
    let update = CaseUpdate {
        actor: session.caller.name.clone(),
        expected_updated_at_ms: expected,
        set,
    };
    let result = state.store.update_case(id, &update, now_ms()).await;
    answer(&state, &session, htmx, id, Panel::EightD, result, fill).await
}

/// The posted fields to set: a panel field only when it differs from the
/// case's current value (a cleared one as `null`), anything else (the
/// `…_suggested` flags, a column the use case will refuse) as posted.
fn changed_fields(
    posted: &[(String, String)],
    current: &std::collections::BTreeMap<&'static str, String>,
) -> Result<Map<String, Value>, String> {
    let mut set = Map::new();
    for (name, text) in posted {
        let on_panel = panel_columns().any(|c| c == name);
        if on_panel {
            let before = current.get(name.as_str()).map_or("", |v| v.trim());
            if before == text.trim() {
                continue;
            }
        }
        match to_value(name, text)? {
            Some(value) => {
                set.insert(name.clone(), value);
            }
            None if on_panel => {
                set.insert(name.clone(), Value::Null);
            }
            None => {}
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn only_changed_panel_fields_and_posted_flags_are_sent() {
        let current = BTreeMap::from([
            ("ica_action", "check fluid".to_string()),
            ("ica_owner", "Ana".to_string()),
            ("root_cause", String::new()),
        ]);
        let posted = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        let set = changed_fields(
            &posted(&[
                ("ica_action", "check fluid"),
                ("ica_owner", ""),
                ("root_cause", "worn seal"),
                ("ica_suggested", "false"),
            ]),
            &current,
        )
        .unwrap();
        assert_eq!(
            Value::Object(set),
            serde_json::json!({
                "ica_owner": null,
                "root_cause": "worn seal",
                "ica_suggested": false,
            })
        );
        assert!(changed_fields(&posted(&[("ica_due_ms", "later")]), &current).is_err());
    }
}
