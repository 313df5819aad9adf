//! The case page names a major case's hazard in words beside its severity
//! (issue 13), and a case that is not major shows none.

use cloud_triage::store::access::Role;
use reqwest::StatusCode;

use super::ui_support::{serve_ui, sign_in, triaged_case};

#[tokio::test]
async fn a_major_case_shows_its_hazard_in_words_beside_the_severity() {
    let ui = serve_ui().await;
    let major = triaged_case(&ui.store, 0, "major", Some("door_hood_latch_opening")).await;
    let minor = triaged_case(&ui.store, 1, "minor", None).await;
    let engineer = sign_in(&ui, Role::Engineer, "alice").await;

    let page = engineer.get(&format!("/ui/cases/{major}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts(".case-facts dd .sev-major"), ["major"]);
    assert_eq!(
        page.texts(".case-facts dd .hazard"),
        ["hazard: door, hood or latch opening"]
    );
    // The history records the escalation in the same words.
    assert!(page
        .texts("#history td")
        .iter()
        .any(|t| t.contains("major on arrival: hazard door, hood or latch opening")));

    let page = engineer.get(&format!("/ui/cases/{minor}")).await;
    assert_eq!(page.texts(".case-facts dd .sev-moderate"), ["minor"]);
    assert_eq!(page.count(".hazard"), 0);
}
