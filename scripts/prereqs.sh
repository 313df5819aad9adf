#!/usr/bin/env bash
# Makes sure what qloop's tests use is installed and running, installing it
# where this machine allows (Debian/Ubuntu as root). Safe to run repeatedly.
#
#   Rust toolchain  pinned in rust-toolchain.toml; rustup installs it on first cargo use
#   Mosquitto       MQTT broker at 127.0.0.1:1883 (tests skip it when absent,
#                   unless QLOOP_REQUIRE_SERVICES=1)
#   PostgreSQL      at 127.0.0.1:5432, trust auth, database `test` (same rule)
#   python3 + venv  for scripts/schemathesis.sh (the API against its OpenAPI
#                   document); the step says SKIP without it (same rule)
#   chromium +      Debian's `chromium` and `chromium-driver` packages
#   chromedriver    (/usr/bin/chromium, /usr/bin/chromedriver), for the web
#                   UI's browser tests (cloud-triage/tests/ui_browser.rs),
#                   driven over WebDriver; they skip without them (same rule)
#
# Everything else (embedded broker, SQLite) is built into the binaries.
# cargo-deny (pinned) is installed by scripts/deny.sh, which scripts/test.sh
# runs, not here: the demo does not need it. It checks against the advisory
# snapshot in ../shared/advisory-db (see README, "Supply chain").
set -uo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
say() { echo "prereqs: $*" >&2; }

if ! have cargo; then
    say "cargo not found: install Rust with rustup (the toolchain in rust-toolchain.toml is used)"
    exit 1
fi

can_install=0
if [ "$(id -u)" = 0 ] && have apt-get; then can_install=1; fi
apt_updated=0
install_pkg() {
    [ "$can_install" = 1 ] || { say "$1 missing and cannot be installed here (need root and apt-get)"; return 1; }
    if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null 2>&1 || true; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# Mosquitto
if ! port_open 1883; then
    have mosquitto || install_pkg mosquitto || true
    if have mosquitto; then
        say "starting mosquitto"
        if [ -f /etc/mosquitto/mosquitto.conf ]; then mosquitto -d -c /etc/mosquitto/mosquitto.conf; else mosquitto -d; fi
        sleep 1
    fi
fi
port_open 1883 && say "mosquitto: up at 127.0.0.1:1883" || say "mosquitto: not reachable (tests that need it will skip)"

# PostgreSQL
if ! port_open 5432; then
    have pg_ctlcluster || install_pkg postgresql || true
    if have pg_ctlcluster && [ -d /etc/postgresql ]; then
        say "starting postgresql"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
        sleep 2
    fi
fi
if port_open 5432; then
    if have psql && ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
        psql -h 127.0.0.1 -U postgres -c 'create database test' >/dev/null 2>&1 \
            || su postgres -c "psql -c 'create database test'" >/dev/null 2>&1 || true
    fi
    say "postgresql: up at 127.0.0.1:5432"
else
    say "postgresql: not reachable (tests that need it will skip)"
fi

# Python with venv, for schemathesis (installed by scripts/schemathesis.sh)
if ! { have python3 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; }; then
    install_pkg python3 python3-venv || true
fi
if have python3 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    say "python3 with venv: present"
else
    say "python3 with venv: missing (the schemathesis step will skip)"
fi
# Chromium and its WebDriver, for the web UI's browser tests
if ! { have chromium && have chromedriver; }; then
    install_pkg chromium chromium-driver || true
fi
for bin in chromium chromedriver; do
    if have "$bin"; then
        say "$bin: present ($(command -v "$bin"))"
    else
        say "$bin: missing (the browser tests will skip)"
    fi
done
exit 0
