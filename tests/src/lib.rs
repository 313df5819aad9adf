//! Helpers shared by qloop's end-to-end tests: where the shared data is,
//! whether optional services are reachable, and how to skip honestly.

use std::{
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    time::Duration,
};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared/data` beside the repository.
pub fn shared_data() -> PathBuf {
    repo_root().join("../shared/data")
}

/// True when `QLOOP_REQUIRE_SERVICES=1`: a missing service fails the test.
pub fn services_required() -> bool {
    std::env::var("QLOOP_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Whether something accepts TCP connections at `addr`.
pub fn reachable(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .ok()
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).ok())
        .is_some()
}

/// Returns true if the service at `addr` can be used; otherwise prints a
/// SKIP line and returns false, or panics when services are required.
pub fn service_or_skip(name: &str, addr: &str) -> bool {
    if reachable(addr) {
        return true;
    }
    if services_required() {
        panic!("{name} is not reachable at {addr} and QLOOP_REQUIRE_SERVICES=1");
    }
    eprintln!("SKIP: {name} not reachable at {addr}");
    false
}

/// Installs a test log subscriber once (RUST_LOG or QLOOP_LOG controls it).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("QLOOP_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}
