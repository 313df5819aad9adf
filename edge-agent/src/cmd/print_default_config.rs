//! `edge-agent print-default-config`: the embedded, documented defaults, to
//! start a config file from.

use crate::config::DEFAULT_CONFIG_TOML;

/// Prints the embedded default configuration to stdout.
pub fn run() {
    print!("{DEFAULT_CONFIG_TOML}");
}
