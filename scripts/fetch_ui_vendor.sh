#!/usr/bin/env bash
# Refreshes the two front-end libraries the web UI embeds (htmx and uPlot),
# committed under cloud-triage/static/vendor/ with their licences. It takes
# each package from the npm registry npm is configured with (`npm pack`),
# copies the built file and the licence, and checks every file's sha256
# against the list below. To move to a new version: change the version,
# run with --print-sums, review the diff of the library, paste the sums.
#
#   scripts/fetch_ui_vendor.sh              fetch, copy, verify (fails on a mismatch)
#   scripts/fetch_ui_vendor.sh --verify     only verify the committed copy
#   scripts/fetch_ui_vendor.sh --print-sums fetch and print the sums, change nothing
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX=2.0.11
UPLOT=1.6.32
DEST=cloud-triage/static/vendor

# file in $DEST, sha256
SUMS="
htmx-$HTMX.min.js d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717
htmx-$HTMX.LICENSE d3d2456f76414f2456104660ebd65aff1c04cd7966b942bdabd63f3cdb316a38
uplot-$UPLOT.iife.min.js 19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f
uplot-$UPLOT.min.css df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04
uplot-$UPLOT.LICENSE 8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd
"

verify() {
    local dir=$1 bad=0
    while read -r file sum; do
        [ -n "$file" ] || continue
        got=$(sha256sum "$dir/$file" | cut -d' ' -f1)
        if [ "$got" != "$sum" ]; then
            echo "fetch_ui_vendor: $file: sha256 $got, expected $sum" >&2
            bad=1
        fi
    done <<<"$SUMS"
    return $bad
}

if [ "${1:-}" = "--verify" ]; then
    verify "$DEST" && echo "fetch_ui_vendor: the committed copy matches the pinned sums" >&2
    exit
fi

command -v npm >/dev/null || { echo "fetch_ui_vendor: npm is needed to fetch the packages" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@$HTMX" "uplot@$UPLOT" >/dev/null)
mkdir -p "$work/htmx" "$work/uplot" "$work/out"
tar xzf "$work/htmx.org-$HTMX.tgz" -C "$work/htmx"
tar xzf "$work/uplot-$UPLOT.tgz" -C "$work/uplot"
cp "$work/htmx/package/dist/htmx.min.js" "$work/out/htmx-$HTMX.min.js"
cp "$work/htmx/package/LICENSE" "$work/out/htmx-$HTMX.LICENSE"
cp "$work/uplot/package/dist/uPlot.iife.min.js" "$work/out/uplot-$UPLOT.iife.min.js"
cp "$work/uplot/package/dist/uPlot.min.css" "$work/out/uplot-$UPLOT.min.css"
cp "$work/uplot/package/LICENSE" "$work/out/uplot-$UPLOT.LICENSE"

if [ "${1:-}" = "--print-sums" ]; then
    (cd "$work/out" && sha256sum ./*)
    exit
fi
verify "$work/out"
mkdir -p "$DEST"
cp "$work/out/"* "$DEST/"
echo "fetch_ui_vendor: htmx $HTMX and uPlot $UPLOT copied to $DEST, sums checked" >&2
