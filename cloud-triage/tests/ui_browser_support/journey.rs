//! The journey's steps as an engineer takes them, one function per page:
//! each finds what a person would look for, acts, and shoots the page.

use std::time::{Duration, Instant};

use fantoccini::{key::Key, Locator};

use super::{screens::shoot, Chromium, PATIENCE};

/// A link to `case` (or to a place on its page).
fn link_to_case(case: i64) -> String {
    format!("main a[href='/ui/cases/{case}'], main a[href^='/ui/cases/{case}#']")
}

/// The case list links to `case`.
pub async fn the_case_list_shows(browser: &Chromium, case: i64) {
    browser
        .wait_for(&format!("main a[href='/ui/cases/{case}']"))
        .await;
    shoot(browser, "cases").await;
}

/// Searches for `query` through the search form, finds the case and the
/// known issue `known_issue` among the hits, shoots the results and the
/// known issue's page, and opens the case.
pub async fn search_finds_the_case(
    browser: &Chromium,
    base: &str,
    query: &str,
    case: i64,
    known_issue: &str,
) {
    browser.open(&format!("{base}/ui/search")).await;
    let field = browser.wait_for("main form input[name='q']").await;
    field.send_keys(query).await.unwrap();
    field.send_keys(&Key::Enter.to_string()).await.unwrap();
    let hit = link_to_case(case);
    let issue = format!("main a[href^='/ui/known-issues/'][href*='{known_issue}']");
    let mut asked = Instant::now();
    wait_until("the case and the known issue among the hits", || {
        let (hit, issue) = (&hit, &issue);
        let again = asked.elapsed() > Duration::from_secs(3);
        if again {
            asked = Instant::now();
        }
        async move {
            if browser.count(hit).await > 0 && browser.count(issue).await > 0 {
                return true;
            }
            // The index takes the report in the background: ask again.
            if again {
                let url = format!("{base}/ui/search?q={}", query.replace(' ', "+"));
                browser.open(&url).await;
            }
            false
        }
    })
    .await;
    shoot(browser, "search").await;

    let href = browser.wait_for(&issue).await.attr("href").await.unwrap();
    browser
        .open(&format!("{base}{}", href.unwrap_or_default()))
        .await;
    assert!(
        browser
            .wait_for("main h1")
            .await
            .text()
            .await
            .unwrap()
            .contains(known_issue),
        "the known issue's page is {known_issue}'s"
    );
    shoot(browser, "known-issue").await;
    browser.client.back().await.unwrap();
    browser.wait_for(&hit).await.click().await.unwrap();
    browser.wait_for_path(&format!("/ui/cases/{case}")).await;
}

/// The case page draws one chart (a canvas in a `figure.chart`) per
/// telemetry signal, and its audio element loads a clip with a positive
/// duration.
pub async fn the_case_shows_charts_and_audio(browser: &Chromium, case: i64, signals: usize) {
    browser.wait_for("figure.chart canvas").await;
    wait_until(
        &format!("{signals} charts drawn on case {case}"),
        || async {
            browser.count("figure.chart").await == signals
                && browser.count("figure.chart canvas").await >= signals
        },
    )
    .await;
    let mut drawn = 0;
    for figure in browser
        .client
        .find_all(Locator::Css("figure.chart"))
        .await
        .unwrap()
    {
        if figure.find(Locator::Css("canvas")).await.is_ok() {
            drawn += 1;
        }
    }
    assert_eq!(drawn, signals, "every chart figure holds a canvas");

    let duration = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const audio = document.querySelector('audio');
             if (!audio) { done(-1); return; }
             if (audio.readyState >= 1) { done(audio.duration); return; }
             audio.addEventListener('loadedmetadata', () => done(audio.duration));
             audio.addEventListener('error', () => done(-2));
             audio.load();",
            vec![],
        )
        .await
        .expect("the audio element reports its duration");
    let seconds = duration.as_f64().unwrap_or(-3.0);
    assert!(
        seconds > 0.0,
        "the clip plays for {seconds} s (-1: no <audio>, -2: it failed to load)"
    );
}

/// Acknowledges the case shown, with `message` to the car.
pub async fn acknowledge(browser: &Chromium, message: &str) {
    let form = open_transition(browser, "acknowledged").await;
    fill_required(browser, &form, &[("message", message)]).await;
    submit(browser, &form).await;
    wait_for_status(browser, "acknowledged").await;
}

/// Contains the case shown with `ica` as the interim containment action,
/// owned by `owner`.
pub async fn contain(browser: &Chromium, ica: &str, owner: &str) {
    let form = open_transition(browser, "contained").await;
    let fields = [
        ("ica_action", ica),
        ("ica_owner", owner),
        (
            "ica_verification",
            "No grinding reported by the car after the inspection",
        ),
    ];
    fill_required(browser, &form, &fields).await;
    submit(browser, &form).await;
    wait_for_status(browser, "contained").await;
    assert!(
        browser.text().await.contains(ica),
        "the 8D panel shows the ICA"
    );
}

/// The dashboard's backlog links to `case`.
pub async fn the_dashboard_backlog_lists(browser: &Chromium, base: &str, case: i64) {
    browser.open(&format!("{base}/ui/dashboard")).await;
    browser
        .wait_for(&format!(
            "table.dash-backlog-cases a[href='/ui/cases/{case}']"
        ))
        .await;
    shoot(browser, "dashboard").await;
}

/// Opens the form of the transition to `to` (its button is a `<summary>`)
/// and returns the form's CSS selector.
async fn open_transition(browser: &Chromium, to: &str) -> String {
    browser
        .wait_for(&format!("details.transition summary[data-to='{to}']"))
        .await
        .click()
        .await
        .unwrap();
    let form = format!("#transition-{to} form");
    browser
        .wait_for(&format!("{form} button[type='submit']"))
        .await;
    form
}

/// Fills every required field of `form`: those named in `values` with
/// their value, the others with a plausible one for their type.
async fn fill_required(browser: &Chromium, form: &str, values: &[(&str, &str)]) {
    let fields = browser
        .client
        .find_all(Locator::Css(&format!(
            "{form} input[required], {form} textarea[required]"
        )))
        .await
        .unwrap();
    for field in fields {
        let name = field.attr("name").await.unwrap().unwrap_or_default();
        let kind = field.attr("type").await.unwrap().unwrap_or_default();
        let given = values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        if kind == "datetime-local" {
            // Typed, a date field follows the browser's locale; set, it does not.
            let value = given.unwrap_or("2026-01-02T10:30");
            browser
                .client
                .execute(
                    "arguments[0].value = arguments[1];",
                    vec![serde_json::to_value(&field).unwrap(), value.into()],
                )
                .await
                .unwrap();
            continue;
        }
        let value = given.map_or_else(|| format!("{name} from the browser test"), str::to_string);
        field.clear().await.unwrap();
        field.send_keys(&value).await.unwrap();
    }
}

/// Submits `form` with its submit button.
async fn submit(browser: &Chromium, form: &str) {
    browser
        .wait_for(&format!("{form} button[type='submit']"))
        .await
        .click()
        .await
        .unwrap();
}

/// Waits until the case's status badge reads `status`.
async fn wait_for_status(browser: &Chromium, status: &str) {
    let badge = format!(".case-head .badge.status[data-status='{status}']");
    wait_until(&format!("the case is {status}"), || async {
        browser.count(&badge).await == 1
    })
    .await;
}

/// Polls `ready` every 200 ms until it holds; fails after [`PATIENCE`].
pub async fn wait_until<F, Fut>(what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !ready().await {
        assert!(
            start.elapsed() < PATIENCE,
            "{what}: not within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
