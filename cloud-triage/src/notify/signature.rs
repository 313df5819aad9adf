//! The webhook signature: `X-Qloop-Signature: sha256=HEX(HMAC-SHA256(secret,
//! timestamp + "." + body))`, made by [`sign`] and checked by
//! [`verify_signature`] in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `sha256=HEX` of HMAC-SHA256 over `timestamp + "." + body`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Whether `header` (`sha256=HEX`) is the signature of `timestamp` and
/// `body` under `secret`; compared in constant time. Receivers should also
/// refuse timestamps too far from their clock.
pub fn verify_signature(secret: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_mac) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_mac) else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&expected).is_ok()
}

/// The HMAC state after `timestamp + "." + body`.
fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}
