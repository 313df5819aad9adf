#!/usr/bin/env bash
# Peak resident memory (VmHWM) of the edge-agent daemon, release build:
#   idle       - running, no telemetry, nothing to send, for IDLE_S seconds;
#   replay-1x  - one trigger replaying the Model 3 drive log (1.4 MB) through
#                its DBC and VSS mapping at full speed;
#   replay-Nx  - the same with that log repeated N times (timestamps shifted):
#                bounded ring buffers should keep the peak near the 1x figure.
# The named baseline is the idle daemon; ratio = peak / idle peak.
# Prints one JSON line per measurement. Usage: scripts/bench-edge-rss.sh [N] [IDLE_S]
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=${1:-20}
idle_s=${2:-5}
data=../shared/data/can/tesla-model3
cargo build --release --locked -q -p edge-agent
bin=target/release/edge-agent
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# The log repeated, each copy shifted to follow the previous one.
awk -v n="$repeat" '
  { t = substr($1, 2, length($1) - 2) + 0; line[NR] = $0; ts[NR] = t; if (NR == 1) first = t; last = t }
  END {
    span = last - first + 0.01
    for (k = 0; k < n; k++)
      for (i = 1; i <= NR; i++) {
        rest = substr(line[i], index(line[i], ")") + 1)
        printf("(%.6f)%s\n", ts[i] + k * span, rest)
      }
  }' "$data/drive-normal.log" > "$work/drive-${repeat}x.log"

# One daemon: config, start, optional trigger, then VmHWM.
measure() {
  local name=$1 log=$2
  local dir="$work/$name"
  mkdir -p "$dir"
  {
    echo '[vehicle]'
    echo 'vin = "5YJ3E1EB5LF602318"'
    echo '[broker]'
    echo 'url = "mqtt://127.0.0.1:9"'   # nothing listens: captures stay in the outbox
    echo '[outbox]'
    echo "dir = \"$dir/outbox\""
    echo '[control]'
    echo "socket = \"$dir/edge.sock\""
    if [ -n "$log" ]; then
      echo '[telemetry]'
      echo "dbc = \"$data/Model3CAN.dbc\""
      echo 'mapping = "fixtures/vss/model3-vss4.0.toml"'
      echo "candump_replay = \"$log\""
      echo 'post_window_ms = 0'
    fi
  } > "$dir/config.toml"
  QLOOP_LOG=warn "$bin" run --config "$dir/config.toml" 2>"$dir/stderr" &
  local pid=$!
  for _ in $(seq 100); do [ -S "$dir/edge.sock" ] && break; sleep 0.05; done
  local frames=0 secs=0
  if [ -n "$log" ]; then
    frames=$(wc -l < "$log")
    local t0 t1
    t0=$(date +%s.%N)
    "$bin" trigger --socket "$dir/edge.sock" --transcript "benchmark trigger" --wait-stored >/dev/null
    t1=$(date +%s.%N)
    secs=$(echo "$t1 - $t0" | bc -l)
  else
    sleep "$idle_s"
  fi
  local hwm rss
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$name $hwm $rss $frames $secs"
}

read -r _ idle_hwm idle_rss _ _ < <(measure idle "")
printf '{"bench":"edge_rss","case":"idle","peak_rss_kib":%d,"rss_kib":%d,"baseline":"idle","ratio":1.0}\n' "$idle_hwm" "$idle_rss"
for case in "replay-1x:$data/drive-normal.log" "replay-${repeat}x:$work/drive-${repeat}x.log"; do
  read -r name hwm rss frames secs < <(measure "${case%%:*}" "${case#*:}")
  printf '{"bench":"edge_rss","case":"%s","frames":%d,"trigger_seconds":%.2f,"frames_per_s":%.0f,"peak_rss_kib":%d,"rss_kib":%d,"baseline":"idle","ratio":%.2f}\n' \
    "$name" "$frames" "$secs" "$(echo "$frames / $secs" | bc -l)" "$hwm" "$rss" "$(echo "$hwm / $idle_hwm" | bc -l)"
done
