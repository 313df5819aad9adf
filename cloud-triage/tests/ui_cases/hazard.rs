//! The case list shows a major case's hazard in words where it shows the
//! severity, and filters on it (issue 13).

use cloud_triage::store::access::Role;
use reqwest::StatusCode;

use super::row_ids;
use crate::ui_support::{serve_ui, sign_in, triaged_case};

#[tokio::test]
async fn a_row_shows_a_major_cases_hazard_beside_its_severity_and_the_list_filters_on_it() {
    let ui = serve_ui().await;
    let fire = triaged_case(&ui.store, 0, "major", Some("fire_or_smoke")).await;
    let minor = triaged_case(&ui.store, 1, "minor", None).await;
    let engineer = sign_in(&ui, Role::Engineer, "alice").await;

    let page = engineer.get("/ui/cases").await;
    assert_eq!(page.status, StatusCode::OK);
    let severity = |id: i64| format!("#case-{id} td[data-label=Severity]");
    assert_eq!(
        page.texts(&format!("{} .hazard", severity(fire))),
        ["fire or smoke"]
    );
    assert_eq!(
        page.texts(&format!("{} .sev-major", severity(fire))),
        ["major"]
    );
    assert_eq!(page.count(&format!("{} .hazard", severity(minor))), 0);
    // The filter offers each hazard in words, and "none named".
    let offered = page.texts("#f-hazard option");
    assert_eq!(offered.first().map(String::as_str), Some("Any"));
    assert!(
        offered.contains(&"fire or smoke".to_string()),
        "{offered:?}"
    );
    assert_eq!(offered.last().map(String::as_str), Some("none named"));

    let filtered = engineer.get("/ui/cases?hazard=fire_or_smoke").await;
    assert_eq!(row_ids(&filtered), [fire]);
    assert_eq!(
        filtered.attrs("#f-hazard option[selected]", "value"),
        ["fire_or_smoke"]
    );
    assert_eq!(
        row_ids(&engineer.get("/ui/cases?hazard=none").await),
        [minor]
    );
    let refused = engineer.get("/ui/cases?hazard=fire").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let message = refused.texts("p.error").join(" ");
    assert!(
        message.contains("hazard: \"fire\" is not one of loss_of_braking, "),
        "{message}"
    );
}
