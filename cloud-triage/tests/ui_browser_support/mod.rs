//! What the browser tests share (included with `mod ui_browser_support;`).
//!
//! # Layout
//! - [`chromium`]: a headless Chromium over chromedriver, and the skip rule
//!   (`SKIP: …` without it, a failure under `QLOOP_REQUIRE_SERVICES=1`).
//! - [`screens`]: full-page screenshots at 1280 and 390 px under
//!   `target/ui-screens/`.
//! - [`car`]: a car that reports over MQTT (words, clip, telemetry) and
//!   hears the cloud's answers.
//! - [`journey`]: the engineer's steps through the pages.
//! - [`service`]: the real service, with known issues imported.
//! - here: what a person does in the browser, step by step (sign in, wait
//!   for an element, read the page).
#![allow(dead_code)]

pub mod car;
pub mod chromium;
pub mod journey;
pub mod screens;
pub mod service;

use std::time::Duration;

use fantoccini::{elements::Element, Locator};

pub use chromium::Chromium;

/// How long a step waits for the page to show what it expects.
pub const PATIENCE: Duration = Duration::from_secs(20);

impl Chromium {
    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("{url} opens: {e}"));
    }

    /// The first element matching `css`, waiting for it up to [`PATIENCE`].
    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css:?} within {PATIENCE:?}: {e}"))
    }

    /// How many elements match `css` now.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map_or(0, |found| found.len())
    }

    /// Waits up to [`PATIENCE`] until the address's path is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        let start = std::time::Instant::now();
        loop {
            let now = self.path().await;
            if now.as_deref() == Some(path) {
                return;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "still at {now:?}, not {path}, after {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The path of the page shown (no query), if it can be read.
    pub async fn path(&self) -> Option<String> {
        let url = self.client.current_url().await.ok()?;
        Some(url.path().to_string())
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.wait_for("body")
            .await
            .text()
            .await
            .expect("the page's text")
    }

    /// Signs in at `base` through the sign-in form with `token`; shoots
    /// the form as `login` on the way. Ends on the case list.
    pub async fn sign_in(&self, base: &str, token: &str) {
        self.open(&format!("{base}/ui/login")).await;
        self.wait_for("form[action='/ui/login'] input[name='token']")
            .await;
        screens::shoot(self, "login").await;
        self.wait_for("input[name='token']")
            .await
            .send_keys(token)
            .await
            .unwrap();
        self.wait_for("form[action='/ui/login'] button[type='submit']")
            .await
            .click()
            .await
            .unwrap();
        self.wait_for_path("/ui/cases").await;
    }

    /// Asserts that no JavaScript dialog (alert, confirm, prompt) is open.
    pub async fn assert_no_dialog(&self) {
        if let Ok(text) = self.client.get_alert_text().await {
            panic!("a dialog is open on the page, saying {text:?}");
        }
    }
}
