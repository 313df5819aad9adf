//! Screenshots of each page at a desktop and a phone width, written as PNG
//! under the workspace's `target/ui-screens/` (`CARGO_TARGET_DIR` when set).

use std::{path::PathBuf, time::Duration};

use super::chromium::{Chromium, WINDOW};

/// The widths every page is shot at: a laptop and a phone.
pub const WIDTHS: [u32; 2] = [1280, 390];
/// The tallest shot: longer pages are cut here.
const MAX_HEIGHT: u32 = 8_000;

/// `target/ui-screens/` of this workspace, created.
pub fn screens_dir() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let dir = target.join("ui-screens");
    std::fs::create_dir_all(&dir).expect("target/ui-screens can be made");
    dir
}

/// Shoots the page now shown at each of [`WIDTHS`], the whole page high,
/// as `{name}-{width}.png`; then puts the window back to [`WINDOW`].
/// Returns the files written.
pub async fn shoot(browser: &Chromium, name: &str) -> Vec<PathBuf> {
    let mut written = Vec::new();
    for width in WIDTHS {
        browser.resize(width, WINDOW.1).await;
        let (inner_width, page_height, chrome_height) = measure(browser).await;
        assert!(
            inner_width <= width,
            "the viewport is {inner_width} px wide in a {width} px window"
        );
        let height = (page_height + chrome_height).clamp(WINDOW.1, MAX_HEIGHT);
        browser.resize(width, height).await;
        // Charts and layouts that follow the window's size redraw first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = browser.client.screenshot().await.expect("a screenshot");
        let path = screens_dir().join(format!("{name}-{width}.png"));
        std::fs::write(&path, png).expect("the screenshot is written");
        written.push(path);
    }
    browser.resize(WINDOW.0, WINDOW.1).await;
    written
}

/// The viewport's width, the page's full height, and how much of the
/// window's height is not viewport.
async fn measure(browser: &Chromium) -> (u32, u32, u32) {
    let sizes = browser
        .client
        .execute(
            "const d = document.documentElement;
             return [window.innerWidth,
                     Math.max(d.scrollHeight, document.body ? document.body.scrollHeight : 0),
                     Math.max(0, window.outerHeight - window.innerHeight)];",
            vec![],
        )
        .await
        .expect("the page measures itself");
    let number = |i: usize| sizes[i].as_f64().unwrap_or(0.0).ceil() as u32;
    (number(0), number(1), number(2))
}
