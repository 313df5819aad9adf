//! The case page's lifecycle actions, each through the use case its API
//! route calls: transitions (exactly the required fields; a refusal
//! inline, 422) and the 8D panel (only what changed; a stale form is a 409
//! inline; a suggested action accepted in one click).

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
    let suggested = recall().containment.unwrap();
    assert_eq!(
        page.texts("#eight-d details.edit-8d textarea[name=ica_action]"),
        [suggested.as_str()]
    );
    // The form as shown, one block edited.
    let fields = form_values(&page, "#eight-d details.edit-8d")
        .into_iter()
        .filter(|(n, _)| n != "csrf")
        .map(|(n, v)| match n.as_str() {
            "root_cause" => (n, "A cracked vacuum line".to_string()),
            _ => (n, v),
        })
        .collect::<Vec<_>>();
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
    let by_alice = after.history.iter().filter(|h| h.actor == "alice");
    assert_eq!(
        by_alice.map(|h| h.field.as_str()).collect::<Vec<_>>(),
        ["root_cause"]
    );

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
