//! A headless Debian Chromium driven over WebDriver: `chromedriver` runs as
//! a child process on a free port (in its own process group, so the browser
//! it starts goes with it on drop), and a fantoccini session connects to it.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use std::os::unix::process::CommandExt;

/// Debian's `chromium` package; `QLOOP_CHROMIUM` names another.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's `chromium-driver` package; `QLOOP_CHROMEDRIVER` names another.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The browser and the driver to use: `(chromium, chromedriver)`.
fn binaries() -> (String, String) {
    let pick = |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.into());
    (
        pick("QLOOP_CHROMIUM", CHROMIUM),
        pick("QLOOP_CHROMEDRIVER", CHROMEDRIVER),
    )
}
/// The window every page is first shown in.
pub const WINDOW: (u32, u32) = (1280, 900);

/// A browser session; the driver and the browser end when it is dropped.
pub struct Chromium {
    /// The WebDriver session.
    pub client: fantoccini::Client,
    /// Killed on drop, the browser with it.
    _driver: Driver,
    /// The browser's profile, removed on drop.
    _profile: tempfile::TempDir,
}

/// The chromedriver process, leading its own process group.
struct Driver(Child);

/// Why the browser tests cannot run here, or `None` when they can.
fn missing_browser() -> Option<String> {
    let (chromium, chromedriver) = binaries();
    let missing: Vec<String> = [chromium, chromedriver]
        .into_iter()
        .filter(|bin| !Path::new(bin).is_file())
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{} not installed (Debian's chromium and chromium-driver; scripts/prereqs.sh installs them)",
            missing.join(" and ")
        )
    })
}

/// The shared skip rule: print why and skip, unless `QLOOP_REQUIRE_SERVICES=1`.
fn skip(reason: &str) {
    if std::env::var("QLOOP_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("the browser tests are required (QLOOP_REQUIRE_SERVICES=1): {reason}");
    }
    println!("SKIP: browser test: {reason}");
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Chromium {
    /// Starts chromedriver and a headless Chromium session, or prints
    /// `SKIP: …` and returns `None` when they are not installed (a failure
    /// instead under `QLOOP_REQUIRE_SERVICES=1`).
    pub async fn start_or_skip() -> Option<Chromium> {
        if let Some(reason) = missing_browser() {
            skip(&reason);
            return None;
        }
        let (chromium, chromedriver) = binaries();
        let port = free_port();
        // Dropped, and so killed, if no session can be made.
        let driver = Driver(
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("chromedriver starts"),
        );
        let profile = tempfile::tempdir().unwrap();
        let client = connect_when_listening(port, &chromium, &profile).await;
        let chromium = Chromium {
            client,
            _driver: driver,
            _profile: profile,
        };
        chromium.resize(WINDOW.0, WINDOW.1).await;
        Some(chromium)
    }

    /// Sets the window's size (the page's viewport, in headless mode).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("the window resizes");
    }

    /// Ends the session (the browser closes) and the driver.
    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
        // Drop kills whatever is left.
    }
}

/// Waits up to 20 s for chromedriver on `port`, then opens a session with
/// the headless capabilities.
async fn connect_when_listening(
    port: u16,
    chromium: &str,
    profile: &tempfile::TempDir,
) -> fantoccini::Client {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not listen on {addr} within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut capabilities = fantoccini::wd::Capabilities::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                // Audio elements load their metadata without a sound card.
                "--autoplay-policy=no-user-gesture-required",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    // fantoccini's connector is rustls's; the workspace builds it with ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    fantoccini::ClientBuilder::rustls()
        .expect("a rustls connector")
        .capabilities(capabilities)
        .connect(&format!("http://{addr}"))
        .await
        .expect("chromedriver opens a headless chromium session")
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The browser the driver started is in the driver's process group.
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
