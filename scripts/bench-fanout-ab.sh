#!/usr/bin/env bash
# A 1+N host fan-out (`mesh push --all`) for two builds alternately in the same run (before/after
# an optimisation of per-task or gossip cost). Root: builds network namespaces (npm run netlab).
# Usage: scripts/bench-fanout-ab.sh MAIN_A MAIN_B [ROUNDS] [HOSTS]
# Per round and build: a fresh netlab of 1 + HOSTS hosts (host1 untagged, the others tagged fan),
# 60 s to settle, one unmeasured fan-out, then 5 `mesh push --all --tag fan -- hostname -I` from
# host1. Prints the wall ms of each (and how many hosts answered) and the CPU ticks of all daemons
# over the 5. The lab is taken down after each build, also on failure.
set -euo pipefail
a=$1; b=$2; rounds=${3:-3}; hosts=${4:-25}
here=$(cd "$(dirname "$0")/.." && pwd)
node=$here/node_modules/node/bin/node
lab=$(mktemp -d /tmp/mesh-fanout-XXXX)
rmdir "$lab"
cleanup () { "$node" "$here/dist/scripts/netlab.js" down --dir "$lab" >/dev/null 2>&1 || true; }
trap cleanup EXIT
tags=";$(for _ in $(seq "$hosts"); do printf 'fan;'; done)"
field () { "$node" -e "const s=JSON.parse(require('fs').readFileSync('$lab/netlab.json'));console.log($1)"; }
one () {  # label main
  MESH_MAIN=$2 "$node" "$here/dist/scripts/netlab.js" up --dir "$lab" --hosts $((hosts + 1)) --tags "$tags" >/dev/null
  sleep 60
  local ns pids a0 b0 walls="" s e n
  ns=$(field 's.hosts[0].ns'); pids=$(field 's.hosts.map(h=>h.pid).join(" ")')
  cpu () { local t=0 v; for p in $pids; do v=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0); t=$((t + v)); done; echo $t; }
  ip netns exec "$ns" env MESH_HOME="$lab/host1" "$node" "$2" push --all --tag fan -- true >/dev/null
  a0=$(cpu)
  for _ in 1 2 3 4 5; do
    s=$(date +%s%N)
    n=$(ip netns exec "$ns" env MESH_HOME="$lab/host1" "$node" "$2" push --all --tag fan -- hostname -I | wc -l)
    e=$(date +%s%N)
    walls="$walls $(( (e - s) / 1000000 ))($n)"
  done
  b0=$(cpu)
  echo "$1 ms (hosts answered):$walls  daemons $((b0 - a0)) ticks ($(getconf CLK_TCK)/s)"
  cleanup
}
for _ in $(seq "$rounds"); do
  one A "$a"
  one B "$b"
done
