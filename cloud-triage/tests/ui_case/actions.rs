//! The case page's actions, each through the use case its API route calls:
//! transitions (exactly the required fields; a refusal inline, 422), the
//! 8D panel (only what changed; a stale form is a 409 inline; a suggested
//! action accepted in one click), the message to the cars, the driver's
//! satisfaction, merge and split, and the roles that may not.

use cloud_triage::{domain::CaseStatus, store::access::Role};
use reqwest::StatusCode;
use serde_json::json;

use super::{move_case, recall, ui_support, Fleet};

/// The `(name, value)` of every input and text area in `css`, in order.
fn form_values(page: &ui_support::Page, css: &str) -> Vec<(String, String)> {
    let html = page.html();
    let selector = scraper::Selector::parse(&format!("{css} [name]")).unwrap();
    html.select(&selector)
        .map(|e| {
            let name = e.value().attr("name").unwrap_or_default().to_string();
            let value = match e.value().name() {
                "textarea" => e.text().collect(),
                _ => e.value().attr("value").unwrap_or_default().to_string(),
            };
            (name, value)
        })
        .collect()
}

/// The names of the inputs and text areas of `css`'s forms, in order.
fn field_names(page: &ui_support::Page, css: &str) -> Vec<String> {
    page.attrs(
        &format!("{css} textarea, {css} input:not([type=hidden])"),
        "name",
    )
}

#[tokio::test]
async fn each_allowed_transition_opens_a_form_with_exactly_what_it_asks_for() {
    let ui = ui_support::serve_ui().await;
    let case = Fleet::new(&ui.store, vec![]).reports(1).await;
    let engineer = ui_support::sign_in(&ui, Role::Engineer, "alice").await;
    let path = format!("/ui/cases/{case}");

    let page = engineer.get(&path).await;
    assert_eq!(
        page.attrs("details.transition summary", "data-to"),
        ["acknowledged", "waiting_customer", "cancelled"]
    );
    assert_eq!(field_names(&page, "#transition-acknowledged"), ["message"]);
    assert_eq!(field_names(&page, "#transition-cancelled"), ["reason"]);

    move_case(
        &ui.store,
        case,
        "acknowledged",
        Some("We are on it."),
        json!({}),
    )
    .await;
    let page = engineer.get(&path).await;
    assert_eq!(
        page.attrs("details.transition summary", "data-to"),
        ["contained", "waiting_customer", "cancelled"]
    );
    assert_eq!(
        field_names(&page, "#transition-contained"),
        [
            "ica_action",
            "ica_owner",
            "ica_implemented_at_ms",
            "ica_verification"
        ]
    );
    assert_eq!(
        page.attrs(
            "#transition-contained input[name=ica_implemented_at_ms]",
            "type"
        ),
        ["datetime-local"]
    );

    // The same form on its own, for htmx; a status not reachable is a 422 page.
    let form = engineer
        .get_htmx(&format!("{path}/transition-form?to=contained"))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(
        field_names(&form, "#transition-contained"),
        [
            "ica_action",
            "ica_owner",
            "ica_implemented_at_ms",
            "ica_verification"
        ]
    );
    let closed = engineer
        .get(&format!("{path}/transition-form?to=closed"))
        .await;
    assert_eq!(closed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        closed.texts(".error"),
        ["to: a acknowledged case cannot become closed; it can become contained, waiting_customer, cancelled"]
    );
}

#[tokio::test]
async fn a_refused_transition_shows_the_lifecycles_message_in_its_own_form() {
    let ui = ui_support::serve_ui().await;
    let case = Fleet::new(&ui.store, vec![]).reports(1).await;
    move_case(&ui.store, case, "acknowledged", Some("On it."), json!({})).await;
    let engineer = ui_support::sign_in(&ui, Role::Engineer, "alice").await;
    let post = format!("/ui/cases/{case}/transition");

    let fields = [
        ("to", "contained"),
        ("ica_action", "Check the line"),
        ("ica_owner", ""),
    ];
    let refused = engineer.post_htmx(&post, &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.texts("#transition-contained .error"),
        ["missing for contained: ica_owner, ica_implemented_at_ms, ica_verification"]
    );
    assert_eq!(
        refused.texts("#transition-contained textarea[name=ica_action]"),
        ["Check the line"],
        "what was typed stays"
    );
    assert_eq!(refused.count("#case"), 0, "only the form is swapped");

    // Without htmx: the whole page, the form open with the message.
    let page = engineer.post(&post, &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.count("details.transition[open] #transition-contained .error"),
        1
    );

    let bad_time = [("to", "contained"), ("ica_implemented_at_ms", "yesterday")];
    let refused = engineer.post_htmx(&post, &bad_time).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.texts(".error")[0].starts_with("Implemented (UTC): write a date"));
    let status = ui
        .store
        .get_case(case)
        .await
        .unwrap()
        .unwrap()
        .summary
        .status;
    assert_eq!(status, CaseStatus::Acknowledged, "nothing changed");
}

#[tokio::test]
async fn acknowledging_with_a_message_then_containing_with_an_ica_moves_the_case() {
    let ui = ui_support::serve_ui().await;
    let case = Fleet::new(&ui.store, vec![]).reports(1).await;
    let engineer = ui_support::sign_in(&ui, Role::Engineer, "alice").await;
    let post = format!("/ui/cases/{case}/transition");

    let page = engineer
        .post_htmx(
            &post,
            &[
                ("to", "acknowledged"),
                ("message", "We are looking into it."),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("hx-retarget").as_deref(), Some("#case"));
    assert_eq!(
        page.texts("#case .case-head .badge.status"),
        ["Acknowledged"]
    );
    let after = ui.store.get_case(case).await.unwrap().unwrap();
    assert_eq!(after.summary.status, CaseStatus::Acknowledged);
    assert!(
        after.first_response_at_ms.is_some(),
        "the first response is recorded"
    );
    let status = after.history.iter().rfind(|h| h.field == "status").unwrap();
    assert_eq!(
        (status.actor.as_str(), status.new_value.as_deref()),
        ("alice", Some("acknowledged"))
    );

    let page = engineer
        .post(
            &post,
            &[
                ("to", "contained"),
                ("ica_action", "Inspect the booster line"),
                ("ica_owner", "Ana"),
                ("ica_implemented_at_ms", "2026-12-07T10:30"),
                ("ica_verification", "No new reports in a week"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "a plain form goes back to the page"
    );
    let after = ui.store.get_case(case).await.unwrap().unwrap();
    assert_eq!(after.summary.status, CaseStatus::Contained);
    assert_eq!(after.ica.owner.as_deref(), Some("Ana"));
    assert_eq!(
        after.ica.implemented_at_ms,
        Some(1_796_639_400_000),
        "2026-12-07 10:30 UTC"
    );
}

#[tokio::test]
async fn the_8d_form_changes_only_what_was_edited_and_a_stale_form_is_a_409_in_the_panel() {
    let ui = ui_support::serve_ui().await;
    let case = Fleet::new(&ui.store, vec![recall()]).reports(1).await;
    let engineer = ui_support::sign_in(&ui, Role::Engineer, "alice").await;
    let path = format!("/ui/cases/{case}");
    let page = engineer.get(&path).await;
    let seen = page.attrs(
        "#eight-d details.edit-8d input[name=expected_updated_at_ms]",
        "value",
    )[0]
    .clone();
    let suggested = recall().containment.unwrap();
    assert_eq!(
        page.texts("#eight-d details.edit-8d textarea[name=ica_action]"),
        [suggested.as_str()]
    );

    let mut fields = form_values(&page, "#eight-d details.edit-8d");
    for (name, value) in &mut fields {
        match name.as_str() {
            "expected_updated_at_ms" => value.clone_from(&seen),
            "root_cause" => *value = "A cracked vacuum line".into(),
            "ica_action" => value.clone_from(&suggested),
            _ => {}
        }
    }
    fields.retain(|(n, _)| n != "csrf");
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let saved = engineer.post_htmx(&path, &form).await;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.texts(".error"));
    let after = ui.store.get_case(case).await.unwrap().unwrap();
    assert_eq!(
        after.root_cause.cause.as_deref(),
        Some("A cracked vacuum line")
    );
    assert!(
        after.ica.suggested,
        "saving another block does not accept the suggested ICA"
    );
    let changed: Vec<&str> = after
        .history
        .iter()
        .filter(|h| h.actor == "alice")
        .map(|h| h.field.as_str())
        .collect();
    assert_eq!(changed, ["root_cause"]);

    // A second change from the same (now stale) form: the case changed
    // since it was read.
    let stale_form: Vec<(&str, &str)> = form
        .iter()
        .map(|&(n, v)| {
            if n == "root_cause_owner" {
                (n, "Bo")
            } else {
                (n, v)
            }
        })
        .collect();
    let stale = engineer.post_htmx(&path, &stale_form).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(
        stale.texts("#eight-d > .error"),
        [format!(
            "case {case} changed since it was read; reload and retry"
        )]
    );
    assert_eq!(stale.count("#eight-d details.edit-8d[open]"), 1);
    assert_eq!(
        stale
            .texts("#eight-d details.edit-8d input[name=root_cause_owner]")
            .len(),
        1
    );
    assert_eq!(
        stale.attrs(
            "#eight-d details.edit-8d input[name=root_cause_owner]",
            "value"
        ),
        ["Bo"],
        "what was typed stays"
    );
    let after = ui.store.get_case(case).await.unwrap().unwrap();
    assert_eq!(after.root_cause.owner, None, "nothing changed");
}

#[tokio::test]
async fn a_suggested_action_is_accepted_or_taken_over_in_one_click() {
    let ui = ui_support::serve_ui().await;
    let case = Fleet::new(&ui.store, vec![recall()]).reports(1).await;
    let engineer = ui_support::sign_in(&ui, Role::Engineer, "alice").await;
    let path = format!("/ui/cases/{case}");
    let before = ui.store.get_case(case).await.unwrap().unwrap();
    assert!(before.ica.suggested && before.pca.suggested);
    let page = engineer.get(&path).await;
    let seen = before.summary.updated_at_ms.to_string();
    assert_eq!(page.count("#block-ica form.accept"), 1);

    let accepted = engineer
        .post_htmx(
            &path,
            &[
                ("expected_updated_at_ms", &seen),
                ("ica_suggested", "false"),
            ],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK);
    assert_eq!(accepted.count("#block-ica form.accept"), 0);
    let after = ui.store.get_case(case).await.unwrap().unwrap();
    assert!(!after.ica.suggested);
    assert_eq!(after.ica.action, before.ica.action);

    let remedy = recall().remedy.unwrap();
    let page = engineer.get(&path).await;
    let names = page.attrs("#eight-d .suggestion form input[type=hidden]", "name");
    assert!(names.contains(&"pca_action".to_string()), "{names:?}");
    let seen = after.summary.updated_at_ms.to_string();
    let taken = engineer
        .post_htmx(
            &path,
            &[
                ("expected_updated_at_ms", &seen),
                ("pca_action", &remedy),
                ("pca_suggested", "false"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::OK);
    let after = ui.store.get_case(case).await.unwrap().unwrap();
    assert_eq!(
        (after.pca.action.as_deref(), after.pca.suggested),
        (Some(remedy.as_str()), false)
    );
}

#[tokio::test]
async fn a_message_goes_to_the_cars_only_when_the_status_takes_one() {
    let ui = ui_support::serve_ui().await;
    let case = Fleet::new(&ui.store, vec![]).reports(1).await;
    let engineer = ui_support::sign_in(&ui, Role::Engineer, "alice").await;
    let post = format!("/ui/cases/{case}/message");

    let refused = engineer.post_htmx(&post, &[("message", "Hello")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.texts("#message-form .error")[0].contains("takes no updates"));

    move_case(&ui.store, case, "acknowledged", Some("On it."), json!({})).await;
    let sent = engineer
        .post_htmx(&post, &[("message", "A fix is coming")])
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    let after = ui.store.get_case(case).await.unwrap().unwrap();
    let update = after.history.iter().rfind(|h| h.field == "update").unwrap();
    assert_eq!(
        (update.actor.as_str(), update.new_value.as_deref()),
        ("alice", Some("A fix is coming"))
    );
    let blank = engineer.post_htmx(&post, &[("message", "   ")]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(blank.texts("#message-form textarea"), [""]);
}

/// Case `case` moved to `effectiveness_verified` through the use cases.
async fn resolve(store: &cloud_triage::store::Store, case: i64) {
    move_case(store, case, "acknowledged", Some("On it."), json!({})).await;
    let ica = json!({"ica_action": "a", "ica_owner": "b", "ica_implemented_at_ms": 1, "ica_verification": "c"});
    move_case(store, case, "contained", None, ica).await;
    let rc = json!({"root_cause": "a", "root_cause_occurrence": "b", "root_cause_escape_point": "c", "root_cause_evidence": "d"});
    move_case(store, case, "root_cause_found", None, rc).await;
    let pca = json!({"pca_action": "a", "pca_owner": "b", "pca_implemented_at_ms": 1, "pca_validation": "c"});
    move_case(store, case, "corrective_action_implemented", None, pca).await;
    let v = json!({"verification": "a", "verification_owner": "b"});
    move_case(store, case, "effectiveness_verified", Some("Fixed."), v).await;
}

#[tokio::test]
async fn an_operator_records_the_drivers_answer_which_closes_the_case() {
    let ui = ui_support::serve_ui().await;
    let case = Fleet::new(&ui.store, vec![]).reports(1).await;
    let operator = ui_support::sign_in(&ui, Role::Operator, "olga").await;
    let path = format!("/ui/cases/{case}");
    let post = format!("{path}/satisfaction");

    assert_eq!(
        operator.get(&path).await.count("#satisfaction-form"),
        0,
        "not awaited yet"
    );
    let refused = operator
        .post_htmx(&post, &[("score", "5"), ("comment", "")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.texts("#satisfaction-form .error"),
        ["score: a new case is not awaiting the driver's satisfaction"]
    );

    resolve(&ui.store, case).await;
    assert_eq!(
        operator
            .get(&path)
            .await
            .count("#satisfaction-form select[name=score]"),
        1
    );
    let answered = operator
        .post_htmx(&post, &[("score", "5"), ("comment", "Brakes are fine now")])
        .await;
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(
        answered.texts(".answers .answer"),
        ["5/5: Brakes are fine now"]
    );
    assert_eq!(answered.texts(".case-head .badge.status"), ["Closed"]);
    let after = ui.store.get_case(case).await.unwrap().unwrap();
    assert_eq!(
        (after.summary.status, after.satisfaction),
        (CaseStatus::Closed, Some(5))
    );
}

#[tokio::test]
async fn merge_and_split_follow_the_apis_use_cases_and_refusals() {
    let ui = ui_support::serve_ui().await;
    let fleet = Fleet::new(&ui.store, vec![]);
    let two = fleet.reports(2).await;
    let other = ui.store.get_case(two).await.unwrap().unwrap();
    let engineer = ui_support::sign_in(&ui, Role::Engineer, "alice").await;

    // Split one of the two reports off.
    let first = other.occurrences[0].feedback_id.to_string();
    let split = engineer
        .post_htmx(
            &format!("/ui/cases/{two}/split"),
            &[("feedback_ids", &first)],
        )
        .await;
    assert_eq!(split.status, StatusCode::OK);
    let new_case = ui
        .store
        .get_feedback(other.occurrences[0].feedback_id)
        .await
        .unwrap()
        .unwrap()
        .case_id
        .unwrap();
    assert_ne!(new_case, two);
    assert_eq!(
        split.attrs(".notice a", "href"),
        [format!("/ui/cases/{new_case}")]
    );
    assert_eq!(split.count("li.report"), 1);
    let none = engineer
        .post_htmx(&format!("/ui/cases/{two}/split"), &[])
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(none.count("#split-panel .error"), 1);

    // Merge it back: htmx is sent to the case that took the reports.
    let merge = format!("/ui/cases/{new_case}/merge");
    for (into, message) in [
        (
            "9999".to_string(),
            "into: there is no case 9999".to_string(),
        ),
        (
            "seven".to_string(),
            "into: a case number, got \"seven\"".to_string(),
        ),
    ] {
        let refused = engineer.post_htmx(&merge, &[("into", &into)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.texts("#merge-form .error"), [message]);
    }
    let itself = engineer
        .post_htmx(&merge, &[("into", &new_case.to_string())])
        .await;
    assert_eq!(itself.status, StatusCode::UNPROCESSABLE_ENTITY);
    let merged = engineer
        .post_htmx(&merge, &[("into", &two.to_string())])
        .await;
    assert_eq!(
        merged.header("hx-redirect"),
        Some(format!("/ui/cases/{two}"))
    );
    let gone = ui.store.get_case(new_case).await.unwrap().unwrap();
    assert_eq!(
        (gone.summary.status, gone.summary.merged_into),
        (CaseStatus::Merged, Some(two))
    );
}

#[tokio::test]
async fn an_operator_is_refused_engineers_actions_with_a_403_page() {
    let ui = ui_support::serve_ui().await;
    let case = Fleet::new(&ui.store, vec![]).reports(1).await;
    let operator = ui_support::sign_in(&ui, Role::Operator, "olga").await;
    let path = format!("/ui/cases/{case}");
    for (post, fields) in [
        (
            format!("{path}/transition"),
            vec![("to", "acknowledged"), ("message", "hi")],
        ),
        (path.clone(), vec![("root_cause", "x")]),
        (format!("{path}/message"), vec![("message", "hi")]),
        (format!("{path}/merge"), vec![("into", "1")]),
        (format!("{path}/split"), vec![]),
    ] {
        let page = operator.post(&post, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{post}");
        assert!(
            page.texts(".error")[0].starts_with("A operator may not do this"),
            "{post}"
        );
    }
    let form = operator
        .get(&format!("{path}/transition-form?to=acknowledged"))
        .await;
    assert_eq!(form.status, StatusCode::FORBIDDEN);
    let missing_csrf = ui_support::sign_in(&ui, Role::Engineer, "alice")
        .await
        .post_raw(&format!("{path}/transition"), &[("to", "acknowledged")])
        .await;
    assert_eq!(
        missing_csrf.status,
        StatusCode::FORBIDDEN,
        "a form without its CSRF token"
    );
    assert_eq!(
        ui.store
            .get_case(case)
            .await
            .unwrap()
            .unwrap()
            .summary
            .status,
        CaseStatus::New
    );
}
