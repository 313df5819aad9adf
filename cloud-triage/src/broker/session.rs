//! Ingest's persistent session, registered with the router before any
//! listener opens (see the module doc of [`crate::broker`]).

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use rumqttd::protocol::{
    Disconnect, DisconnectReasonCode, Filter, Packet, QoS, RetainForwardRule, Subscribe,
    SubscribeReasonCode,
};

use super::{IngestSession, Linker};

/// Registers ingest's persistent session with the router: subscribe at QoS
/// 1, wait for the SUBACK, disconnect, and wait until the router has dropped
/// the connection (its session is then saved for the client id).
pub(super) fn register_session(link: &Linker, session: IngestSession<'_>) -> anyhow::Result<()> {
    let (mut tx, mut rx) =
        link(session.client_id, false).context("registering ingest's session with the broker")?;
    let subscribe = Subscribe {
        pkid: 1,
        filters: vec![Filter {
            path: session.filter.to_string(),
            qos: QoS::AtLeastOnce,
            nolocal: false,
            preserve_retain: false,
            retain_forward_rule: RetainForwardRule::Never,
        }],
    };
    futures::executor::block_on(tx.send(Packet::Subscribe(subscribe, None)))
        .map_err(|e| anyhow!("subscribing ingest's session: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let notification = rx
            .recv_deadline(deadline)
            .map_err(|e| anyhow!("no SUBACK for ingest's session: {e}"))?;
        match notification.and_then(Option::<Packet>::from) {
            Some(Packet::SubAck(ack, _)) => {
                if ack.return_codes != [SubscribeReasonCode::QoS1] {
                    bail!(
                        "ingest's session subscribed with {:?}, not QoS 1",
                        ack.return_codes
                    );
                }
                break;
            }
            Some(other) => tracing::debug!(packet = ?other, "while registering ingest's session"),
            None => {}
        }
    }
    futures::executor::block_on(tx.send(disconnect()))
        .map_err(|e| anyhow!("disconnecting ingest's session: {e}"))?;
    // The router drops the connection's channel once the session is saved.
    loop {
        match rx.recv_deadline(deadline) {
            Ok(_) => {}
            Err(_) if Instant::now() < deadline => return Ok(()),
            Err(e) => bail!("the broker did not close ingest's registering connection: {e}"),
        }
    }
}

pub(super) fn disconnect() -> Packet {
    Packet::Disconnect(
        Disconnect {
            reason_code: DisconnectReasonCode::NormalDisconnection,
        },
        None,
    )
}
