#!/usr/bin/env bash
# The dependency policy (deny.toml): advisories, bans, licences, sources, with
# a pinned cargo-deny, against the RustSec advisory snapshot kept beside the
# repository. Fails when any check fails, and when it cannot run at all.
# scripts/test.sh (and so .ci/run) calls it; it can be run on its own.
#
# The advisory database cannot be fetched on these machines. The snapshot is
# ../shared/advisory-db beside the repository, or beside the repository this
# one was cloned from, or wherever QLOOP_ADVISORY_DB points; its file SNAPSHOT
# names the upstream commit and date. It is copied into a temporary folder as
# a one-commit git repository, in the folder name cargo-deny derives from the
# default database URL, and cargo-deny runs --offline with db-path pointing
# there (a temporary copy of deny.toml). Nothing is written to the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.20.2
# cargo-deny 0.20 keeps the default database (github.com/rustsec/advisory-db)
# in <db-path>/advisory-db-<hash of that URL>.
DB_DIR_NAME=advisory-db-3157b0e258782691
STALE_DAYS=90

say() { echo "deny.sh: $*" >&2; }
fail() { say "$*"; exit 1; }

# 1. cargo-deny, pinned. `cargo install` puts it in ~/.cargo/bin, so it is
#    built once per machine and reused by every later run.
installed=$(cargo deny --version 2>/dev/null | awk '{print $2}' || true)
if [ "$installed" != "$CARGO_DENY_VERSION" ]; then
    say "installing cargo-deny $CARGO_DENY_VERSION (found: ${installed:-none}); takes a few minutes, once per machine"
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION" \
        || fail "cargo install cargo-deny --locked --version $CARGO_DENY_VERSION failed (see above); the dependency policy cannot be checked"
    installed=$(cargo deny --version 2>/dev/null | awk '{print $2}' || true)
    [ "$installed" = "$CARGO_DENY_VERSION" ] \
        || fail "cargo-deny $CARGO_DENY_VERSION was installed but \`cargo deny --version\` reports '${installed:-nothing}' (is ~/.cargo/bin on PATH?)"
fi

# 2. The advisory snapshot.
if [ -z "${QLOOP_ADVISORY_DB:-}" ]; then
    for candidate in "../shared/advisory-db" \
        "$(git remote get-url origin 2>/dev/null || true)/../shared/advisory-db" \
        "${QLOOP_SHARED_DATA:+$QLOOP_SHARED_DATA/../advisory-db}"; do
        if [ -n "$candidate" ] && [ -f "$candidate/SNAPSHOT" ] && [ -d "$candidate/crates" ]; then
            QLOOP_ADVISORY_DB="$candidate"
            break
        fi
    done
fi
[ -f "${QLOOP_ADVISORY_DB:-}/SNAPSHOT" ] && [ -d "${QLOOP_ADVISORY_DB:-}/crates" ] \
    || fail "the advisory snapshot is not at ../shared/advisory-db (a folder with SNAPSHOT and crates/); set QLOOP_ADVISORY_DB to its folder"
QLOOP_ADVISORY_DB="$(cd "$QLOOP_ADVISORY_DB" && pwd)"
read -r snap_commit snap_date _ < "$QLOOP_ADVISORY_DB/SNAPSHOT" || true
say "advisory snapshot: $QLOOP_ADVISORY_DB (commit ${snap_commit:-?}, ${snap_date:-?})"
if snap_epoch=$(date -d "${snap_date:-}" +%s 2>/dev/null); then
    age_days=$(( ($(date +%s) - snap_epoch) / 86400 ))
    if [ "$age_days" -gt "$STALE_DAYS" ]; then
        say "WARNING: the advisory snapshot is $age_days days old (over $STALE_DAYS): advisories published since ${snap_date} are not checked; refresh it (README, 'Supply chain')"
    fi
else
    say "WARNING: SNAPSHOT has no readable date ('${snap_date:-}')"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qloop-deny.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
db="$tmp/db/$DB_DIR_NAME"
mkdir -p "$db"
cp -R "$QLOOP_ADVISORY_DB/." "$db"
chmod -R u+w "$db"   # the CI copy of shared/ has no write bits
rm -rf "$db/.git"
git -C "$db" init -q
git -C "$db" add -A
git -C "$db" -c user.name=qloop-ci -c user.email=ci@localhost -c commit.gpgsign=false \
    commit -q -m "advisory-db snapshot ${snap_commit:-} ${snap_date:-}"

# 3. The config: deny.toml with db-path on its placeholder line, so the line
#    numbers in cargo-deny's messages are those of deny.toml.
placeholder='^# db-path: scripts/deny.sh puts'
[ "$(grep -c "$placeholder" deny.toml)" = 1 ] \
    || fail "deny.toml must have exactly one line starting '# db-path: scripts/deny.sh puts' in [advisories]"
! grep -q '^[[:space:]]*db-path[[:space:]]*=' deny.toml \
    || fail "deny.toml sets db-path itself; leave that to this script"
sed "s|$placeholder.*|db-path = \"$tmp/db\"|" deny.toml > "$tmp/deny.toml"

# 4. The crate graph, resolved against the committed Cargo.lock for every
#    target (this may download crates of other platforms once; the registry
#    is reachable), then cargo-deny offline on it.
cargo metadata --format-version 1 --locked > "$tmp/metadata.json" \
    || fail "cargo metadata --locked failed (is Cargo.lock up to date?)"
say "cargo-deny $installed: advisories, bans, licenses, sources (messages name $tmp/deny.toml: read deny.toml, same lines)"
cargo deny --offline --metadata-path "$tmp/metadata.json" --config "$tmp/deny.toml" \
    check advisories bans licenses sources
