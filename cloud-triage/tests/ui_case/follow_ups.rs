//! The case page's follow-ups and corrections, each through the use case
//! its API route calls: the message to the cars, the driver's satisfaction
//! recorded by an operator, merge and split, and the 403 pages of the
//! engineers' actions for an operator.

use cloud_triage::{domain::CaseStatus, store::access::Role};
use reqwest::StatusCode;
use serde_json::json;

use super::{move_case, ui_support, Fleet};

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
