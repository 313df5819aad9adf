//! Helpers shared by qloop's end-to-end tests: where the shared data is,
//! whether optional services are reachable, and how to skip honestly.

#![forbid(unsafe_code)]

pub mod fleet;

use std::{
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    time::Duration,
};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shared data (see [`qloop_protocol::shared_data`]).
pub fn shared_data() -> PathBuf {
    qloop_protocol::shared_data()
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

/// Mosquitto on these machines.
pub const MOSQUITTO: &str = "127.0.0.1:1883";

/// A path to one of the workspace's binaries (`edge-agent`,
/// `cloud-triage`), built on demand: integration tests of this crate do not
/// get `CARGO_BIN_EXE_*` for other packages' binaries.
pub fn workspace_bin(package: &str, name: &str) -> PathBuf {
    // target/<profile>/deps/<test-binary> → target/<profile>/<name>
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in target/<profile>/deps");
    let path = profile_dir.join(name);
    if !path.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", package, "--bin", name])
            .current_dir(repo_root())
            .status()
            .expect("running cargo build");
        assert!(
            status.success(),
            "cargo build -p {package} --bin {name} failed"
        );
    }
    path
}

/// A free TCP port on 127.0.0.1 (released before return; good enough for
/// tests that bind it immediately).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A VIN with a random serial (last six digits), so tests that share a
/// broker never share topics or client ids.
pub fn unique_vin(vin: &str) -> String {
    let serial = uuid::Uuid::new_v4().as_u128() % 1_000_000;
    format!("{}{serial:06}", &vin[..11])
}

/// Makes the broker forget a persistent session: connect once with
/// `clean_session = true` under the same client id.
pub async fn forget_session(host: &str, port: u16, client_id: &str) {
    let mut options = rumqttc::MqttOptions::new(client_id, host, port);
    options.set_clean_session(true);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
    let connected = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    if connected {
        let _ = client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
    }
}
