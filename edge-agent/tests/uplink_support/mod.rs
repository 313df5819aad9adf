//! Brokers for the uplink tests: an embedded rumqttd on a free port, and a
//! minimal MQTT 3.1.1 server that accepts publishes but sends each PUBACK
//! only when the test says so (to prove deletion waits for the PUBACK).

#![allow(dead_code)]

use std::{net::TcpListener as StdListener, time::Duration};

use edge_agent::Config;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts rumqttd (MQTT 3.1.1) on `port` in a background thread. It lives
/// until the test process ends; payloads up to 256 KiB are accepted.
pub fn start_rumqttd(port: u16) {
    let toml = format!(
        r#"
id = 0
[router]
id = 0
max_connections = 64
max_outgoing_packet_count = 200
max_segment_size = 10485760
max_segment_count = 10
[v4.1]
name = "v4-1"
listen = "127.0.0.1:{port}"
next_connection_delay_ms = 1
[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = 262144
max_inflight_count = 100
dynamic_filters = true
"#
    );
    let config: rumqttd::Config = toml::from_str(&toml).expect("rumqttd config");
    std::thread::spawn(move || {
        let mut broker = rumqttd::Broker::new(config);
        if let Err(e) = broker.start() {
            eprintln!("rumqttd stopped: {e}");
        }
    });
    wait_for_port(port);
}

/// Blocks until something listens on `port` (at most 10 s).
pub fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on port {port}");
}

/// An agent config for `port` with its outbox in `dir`, fast reconnects.
pub fn config(port: u16, dir: &std::path::Path) -> Config {
    let mut config = Config::embedded_default().unwrap();
    config.broker.url = format!("mqtt://127.0.0.1:{port}");
    config.broker.reconnect_min_ms = 50;
    config.broker.reconnect_max_ms = 200;
    config.broker.client_id = format!("qloop-test-{port}");
    config.outbox.dir = dir.to_path_buf();
    config
}

/// A PUBLISH the withholding server received.
#[derive(Debug, Clone)]
pub struct ReceivedPublish {
    /// Its packet id.
    pub pkid: u16,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// One accepted client connection of the withholding server.
pub struct WithholdingSession {
    stream: TcpStream,
}

/// Accepts one client: reads CONNECT, answers CONNACK.
pub async fn accept_withholding(listener: &TcpListener) -> WithholdingSession {
    loop {
        let (mut stream, _) = listener.accept().await.unwrap();
        // Tests in other processes pick "free" ports and reconnect to them
        // after their broker went away; the OS may hand such a port to this
        // listener. A stray connection that closes before CONNECT is skipped.
        let Ok(kind) = stream.read_u8().await else {
            continue;
        };
        assert_eq!(kind >> 4, 1, "expected CONNECT");
        read_body(&mut stream).await;
        stream.write_all(&[0x20, 0x02, 0x00, 0x00]).await.unwrap();
        return WithholdingSession { stream };
    }
}

impl WithholdingSession {
    /// Reads until a PUBLISH arrives (answering SUBSCRIBE with SUBACK).
    pub async fn next_publish(&mut self) -> ReceivedPublish {
        loop {
            let (kind, body) = read_packet(&mut self.stream).await;
            match kind >> 4 {
                3 => {
                    let topic_len = u16::from_be_bytes([body[0], body[1]]) as usize;
                    let at = 2 + topic_len;
                    let pkid = u16::from_be_bytes([body[at], body[at + 1]]);
                    return ReceivedPublish {
                        pkid,
                        payload: body[at + 2..].to_vec(),
                    };
                }
                8 => {
                    let (hi, lo) = (body[0], body[1]);
                    self.stream
                        .write_all(&[0x90, 0x03, hi, lo, 0x01])
                        .await
                        .unwrap();
                }
                12 => self.stream.write_all(&[0xd0, 0x00]).await.unwrap(),
                _ => {}
            }
        }
    }

    /// Sends the PUBACK for `pkid`.
    pub async fn puback(&mut self, pkid: u16) {
        let [hi, lo] = pkid.to_be_bytes();
        self.stream.write_all(&[0x40, 0x02, hi, lo]).await.unwrap();
    }
}

async fn read_packet(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let kind = stream.read_u8().await.unwrap();
    (kind, read_body(stream).await)
}

async fn read_body(stream: &mut TcpStream) -> Vec<u8> {
    let mut len = 0usize;
    for shift in 0..4 {
        let b = stream.read_u8().await.unwrap();
        len |= ((b & 0x7f) as usize) << (7 * shift);
        if b & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await.unwrap();
    body
}

/// Waits until a Unix socket accepts connections (at most 10 s).
pub async fn wait_for_socket(path: &std::path::Path) {
    for _ in 0..200 {
        if tokio::net::UnixStream::connect(path).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {}", path.display());
}
