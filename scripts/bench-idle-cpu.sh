#!/usr/bin/env bash
# Idle CPU of one daemon joining an existing lab, for two builds alternately in the same run
# (before/after an optimisation). Usage: scripts/bench-idle-cpu.sh LAB_DIR MAIN_A MAIN_B [REPS] [SECONDS]
# MAIN_* are paths to dist/src/cli/main.js of each build. Loopback only; every daemon is stopped.
set -euo pipefail
lab=$1; a=$2; b=$3; reps=${4:-3}; secs=${5:-30}
node=$(dirname "$0")/../node_modules/node/bin/node
boot=$("$node" "$a" id --json --home "$lab/node1" | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).addresses[0]))')
tick=$(getconf CLK_TCK)
# shellcheck source=lib/daemon-flags.sh
. "$(dirname "$0")/lib/daemon-flags.sh"
measure () {  # main -> CPU % of one core over $secs, after 10 s to settle
  local home flags; home=$(mktemp -d /tmp/mesh-idle-XXXX)
  read -ra flags <<< "$(daemon_flags "$1")"
  setsid "$node" "${flags[@]}" "$1" start --home "$home" --no-mdns --listen /ip4/127.0.0.1/tcp/0 --bootstrap "$boot" --swarm-key "$lab/swarm.key" >/dev/null 2>&1 &
  local pid=$!
  trap 'kill -9 -$pid 2>/dev/null || true' RETURN
  sleep 10
  local t0; t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  sleep "$secs"
  local t1; t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  rm -rf "$home"
  awk -v d=$((t1 - t0)) -v t="$tick" -v s="$secs" 'BEGIN { printf "%.2f\n", 100 * d / t / s }'
}
for i in $(seq "$reps"); do
  echo "A $(measure "$a")"
  echo "B $(measure "$b")"
done
