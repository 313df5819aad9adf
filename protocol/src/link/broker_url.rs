//! Broker URLs: `mqtt://host[:port]` (port 1883 by default) or
//! `mqtts://host[:port]` (TLS, 8883). IPv6 hosts go in brackets. A path
//! (other than one trailing `/`), a query, a fragment, credentials and
//! port 0 are refused: credentials belong in their own config keys, where
//! they are redacted, not in a URL that gets logged.

use thiserror::Error;

/// Port of `mqtt://` when the URL names none.
pub const DEFAULT_PORT: u16 = 1883;
/// Port of `mqtts://` when the URL names none.
pub const DEFAULT_TLS_PORT: u16 = 8883;

/// Where a broker is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Host name or address (IPv6 without its brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `mqtts://`: TLS.
    pub tls: bool,
}

/// A broker URL that is not one qloop speaks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("broker url {url:?}: {reason}")]
pub struct BrokerUrlError {
    /// The URL (at most 200 characters of it).
    pub url: String,
    /// What is wrong, and what is accepted.
    pub reason: &'static str,
}

impl BrokerUrl {
    /// Parses `mqtt://host[:port]` or `mqtts://host[:port]`; anything else
    /// is an error that says what is accepted.
    pub fn parse(url: &str) -> Result<Self, BrokerUrlError> {
        let bad = |reason| BrokerUrlError {
            url: url.chars().take(200).collect(),
            reason,
        };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, rest)
        } else {
            return Err(bad("expected mqtt://host:port or mqtts://host:port"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(bad("paths, queries and credentials are not accepted"));
        }
        let default_port = if tls { DEFAULT_TLS_PORT } else { DEFAULT_PORT };
        let port_number = |port: &str| {
            port.parse::<u16>()
                .map_err(|_| bad("port is not a number from 1 to 65535"))
        };
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 host needs its closing ]"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, port_number(port)?),
                None if after.is_empty() => (host, default_port),
                None => return Err(bad("expected :port after an IPv6 host")),
            }
        } else {
            let (host, port) = match rest.rsplit_once(':') {
                Some((host, port)) => (host, port_number(port)?),
                None => (rest, default_port),
            };
            if host.contains([':', '[', ']']) {
                return Err(bad("IPv6 hosts go in brackets, e.g. mqtt://[::1]:1883"));
            }
            (host, port)
        };
        if host.is_empty() {
            return Err(bad("host is empty"));
        }
        if port == 0 {
            return Err(bad("port 0 is not a broker port"));
        }
        Ok(Self {
            host: host.to_string(),
            port,
            tls,
        })
    }
}

impl std::fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> (String, u16, bool) {
        let u = BrokerUrl::parse(url).unwrap();
        (u.host, u.port, u.tls)
    }

    #[test]
    fn mqtt_and_mqtts_urls_parse_with_default_ports() {
        assert_eq!(
            parsed("mqtt://127.0.0.1:1884"),
            ("127.0.0.1".into(), 1884, false)
        );
        assert_eq!(
            parsed("mqtt://broker.local"),
            ("broker.local".into(), 1883, false)
        );
        assert_eq!(
            parsed("mqtts://broker.example"),
            ("broker.example".into(), 8883, true)
        );
        assert_eq!(parsed("mqtts://h:9000/"), ("h".into(), 9000, true));
    }

    #[test]
    fn ipv6_hosts_lose_their_brackets_and_keep_their_colons() {
        assert_eq!(parsed("mqtt://[::1]:1884"), ("::1".into(), 1884, false));
        assert_eq!(parsed("mqtts://[fe80::1]"), ("fe80::1".into(), 8883, true));
    }

    #[test]
    fn a_parsed_url_prints_back_to_itself() {
        for url in [
            "mqtt://127.0.0.1:1883",
            "mqtts://b.example:8883",
            "mqtt://[::1]:1884",
        ] {
            let u = BrokerUrl::parse(url).unwrap();
            assert_eq!(u.to_string(), url);
            assert_eq!(BrokerUrl::parse(&u.to_string()).unwrap(), u);
        }
    }

    #[test]
    fn other_schemes_paths_credentials_and_bad_ports_are_refused_with_a_reason() {
        for (bad, reason) in [
            ("http://h:1", "expected mqtt://"),
            ("tcp://h:1883", "expected mqtt://"),
            ("h:1883", "expected mqtt://"),
            ("MQTT://h", "expected mqtt://"),
            ("", "expected mqtt://"),
            ("mqtt://", "host is empty"),
            ("mqtt://:1883", "host is empty"),
            ("mqtt://[]:1883", "host is empty"),
            ("mqtt://h:99999", "port is not a number"),
            ("mqtt://h:", "port is not a number"),
            ("mqtt://h:-1", "port is not a number"),
            ("mqtt://h:0", "port 0"),
            ("mqtt://h:1883/x", "paths"),
            ("mqtt://h/path", "paths"),
            ("mqtt://h//", "paths"),
            ("mqtt://h?x=1", "queries"),
            ("mqtt://h#frag", "paths, queries"),
            ("mqtt://u:p@h:1883", "credentials"),
            ("mqtt://::1", "brackets"),
            ("mqtt://::1:1883", "brackets"),
            ("mqtt://h]:1883", "brackets"),
            ("mqtt://[::1", "closing ]"),
            ("mqtt://[::1]1883", "expected :port"),
            ("mqtt://[::1]:x", "port is not a number"),
        ] {
            let err = BrokerUrl::parse(bad).unwrap_err();
            assert!(err.reason.contains(reason), "{bad}: {err}");
            assert!(err.to_string().contains(reason), "{bad}: {err}");
        }
    }

    #[test]
    fn an_error_quotes_at_most_200_characters_of_a_hostile_url() {
        let long = format!("http://{}", "x".repeat(10_000));
        let err = BrokerUrl::parse(&long).unwrap_err();
        assert_eq!(err.url.chars().count(), 200);
        // Multi-byte characters are cut on a character boundary, not a byte.
        let err = BrokerUrl::parse(&"é".repeat(300)).unwrap_err();
        assert_eq!(err.url.chars().count(), 200);
    }
}
