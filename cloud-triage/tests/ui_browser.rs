//! The web UI in a real browser: Debian's headless Chromium driven over
//! WebDriver (fantoccini), against a real service (embedded broker, SQLite,
//! the triage model and the knowledge index), with a car on MQTT.
//!
//! - The journey: an engineer signs in through the form, searches for the
//!   driver's words, opens the case, sees a chart per telemetry signal and
//!   a playable clip, acknowledges with a message the car then receives,
//!   contains the case with an ICA, and finds it in the dashboard's backlog.
//! - A transcript holding a script shows as text and runs nothing.
//! - The one-time link the demo prints signs in with one click.
//!
//! Every page is shot at 1280 and 390 px under `target/ui-screens/`.
//! Without chromium and chromedriver (Debian's, in /usr/bin; the
//! `QLOOP_CHROMIUM` and `QLOOP_CHROMEDRIVER` variables name others) the
//! tests print `SKIP: …` and pass, unless `QLOOP_REQUIRE_SERVICES=1`.

mod common_env;
mod ui_browser_support;
mod ui_support;

use cloud_triage::{cmd::login_link::link_url, store::access::Role};
use qloop_protocol::EventKind;
use ui_browser_support::{
    car::{spoken_feedback, Car, SIGNALS},
    journey,
    screens::shoot,
    service::service_with_known_issues,
    Chromium,
};

/// The car in the journey.
const VIN: &str = "5YJ3E1EA7KF317555";
/// What its driver said.
const WORDS: &str = "the brakes grind loudly every time I slow down for a red light";
/// What the engineer searches for: a few of the driver's words.
const QUERY: &str = "brakes grind";
/// The recall about it, imported before the service starts.
const KNOWN_ISSUE: &str = "KI-BRAKE-12";
/// The first response the car must receive.
const FIRST_RESPONSE: &str = "Thanks, we are looking at your brakes; please book a check.";
/// Who works the case.
const ENGINEER: &str = "Erin Engineer";
/// The interim containment action.
const ICA: &str = "Inspect the brake pads at the next service visit";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engineer_finds_the_drivers_words_and_works_the_case_in_a_browser() {
    let Some(browser) = Chromium::start_or_skip().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let service = service_with_known_issues(dir.path()).await;
    let base = format!("http://{}", service.http_addr);
    let mut car = Car::connect(&service, VIN).await;
    let case = car.report(&service, spoken_feedback(VIN, WORDS)).await;
    car.next_event(EventKind::Received).await;

    let token = service
        .store
        .create_token(Role::Engineer, ENGINEER, cloud_triage::now_ms())
        .await
        .unwrap();
    browser.sign_in(&base, &token).await;
    journey::the_case_list_shows(&browser, case).await;
    journey::search_finds_the_case(&browser, &base, QUERY, case, KNOWN_ISSUE).await;
    journey::the_case_shows_charts_and_audio(&browser, case, SIGNALS.len()).await;
    journey::acknowledge(&browser, FIRST_RESPONSE).await;
    let heard = car.next_event(EventKind::FirstResponse).await;
    assert_eq!(heard.message, FIRST_RESPONSE, "the car hears the engineer");
    assert_eq!(heard.case_number, Some(case));
    journey::contain(&browser, ICA, ENGINEER).await;
    shoot(&browser, "case").await;
    journey::the_dashboard_backlog_lists(&browser, &base, case).await;

    browser.quit().await;
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcript_holding_a_script_shows_as_text_and_runs_nothing() {
    const SCRIPT: &str = "<script>alert(1)</script>";
    let Some(browser) = Chromium::start_or_skip().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let service = common_env::embedded_service(dir.path()).await;
    let base = format!("http://{}", service.http_addr);
    let car = Car::connect(&service, "KNAFX4A61F5300777").await;
    let case = car
        .report(&service, common_env::envelope(&car.vin, SCRIPT))
        .await;
    let token = service
        .store
        .create_token(Role::Engineer, "Erin Engineer", cloud_triage::now_ms())
        .await
        .unwrap();
    browser.sign_in(&base, &token).await;

    browser.open(&format!("{base}/ui/cases/{case}")).await;
    browser.wait_for("main h1").await;
    browser.assert_no_dialog().await;
    assert!(
        browser.text().await.contains(SCRIPT),
        "the transcript is shown as the driver's text"
    );
    let scripts_with_it = browser
        .client
        .execute(
            "return Array.from(document.scripts).filter(s => s.textContent.includes('alert(1)')).length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(scripts_with_it, 0, "no script element holds the transcript");
    browser.assert_no_dialog().await;

    browser.quit().await;
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demos_one_time_link_signs_in_with_one_click() {
    let Some(browser) = Chromium::start_or_skip().await else {
        return;
    };
    let ui = ui_support::serve_ui().await;
    let code = ui
        .store
        .create_login_link(Role::Engineer, "demo engineer", cloud_triage::now_ms())
        .await
        .unwrap();
    browser.open(&link_url(&ui.base, &code)).await;
    let button = browser
        .wait_for("form[action='/ui/login/link'] button[type='submit']")
        .await;
    shoot(&browser, "login-link").await;
    button.click().await.unwrap();
    browser.wait_for_path("/ui/cases").await;
    assert!(
        browser.text().await.contains("demo engineer"),
        "signed in as the link's person"
    );

    // The link works once.
    browser.client.delete_all_cookies().await.unwrap();
    browser.open(&link_url(&ui.base, &code)).await;
    browser
        .wait_for("form[action='/ui/login/link'] button[type='submit']")
        .await
        .click()
        .await
        .unwrap();
    browser.wait_for("main").await;
    assert_ne!(
        browser.path().await.as_deref(),
        Some("/ui/cases"),
        "a used link signs nobody in"
    );
    browser.quit().await;
}
