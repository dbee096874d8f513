#!/usr/bin/env bash
# CPU and wall time of staging one big file to one runner, for two builds alternately in the same
# run (before/after an optimisation of the byte path: ciphers, framing, copies, GC).
# Usage: scripts/bench-push-cpu.sh MAIN_A MAIN_B [ROUNDS] [PUSHES] [MIB]
# MAIN_* are paths to dist/src/cli/main.js of each build; OPTS_A / OPTS_B (env) are extra
# NODE_OPTIONS for that build's daemons (to try V8 flags on one build). Per round and build: a
# 2-daemon loopback lab, PUSHES pushes of a MIB MiB file the runner does not hold (its cache is
# emptied between pushes). Prints per push: build, wall ms, dispatcher and runner CPU-seconds.
# Loopback only; every daemon is stopped and every file removed, also on failure.
set -euo pipefail
a=$1; b=$2; rounds=${3:-3}; pushes=${4:-3}; mib=${5:-256}
here=$(cd "$(dirname "$0")/.." && pwd)
node=$here/node_modules/node/bin/node
tick=$(getconf CLK_TCK)
work=$(mktemp -d /tmp/mesh-pushcpu-XXXX)
lab=$work/lab
cleanup () { MESH_MAIN=$a "$node" "$here/dist/scripts/lab.js" down --dir "$lab" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
head -c "${mib}M" /dev/urandom > "$work/input.bin"
printf '{"command":["true"],"files":[{"src":"input.bin","dest":"input.bin"}]}\n' > "$work/task.json"
cpu () { awk '{print $14+$15}' "/proc/$1/stat"; }
run () {  # build-label main node-options
  MESH_MAIN=$2 NODE_OPTIONS=$3 "$node" "$here/dist/scripts/lab.js" up --dir "$lab" --nodes 2 --tags ";t" >/dev/null
  local d r
  d=$("$node" -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).nodes[0].pid)' "$lab/lab.json")
  r=$("$node" -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).nodes[1].pid)' "$lab/lab.json")
  for _ in $(seq "$pushes"); do
    rm -rf "$lab/node2/cache"
    local d0 r0 t0 t1; d0=$(cpu "$d"); r0=$(cpu "$r"); t0=$(date +%s%N)
    MESH_HOME=$lab/node1 "$node" "$2" push --tag t "$work/task.json" >/dev/null
    t1=$(date +%s%N)
    awk -v l="$1" -v w=$(( (t1 - t0) / 1000000 )) -v dd=$(( $(cpu "$d") - d0 )) -v rr=$(( $(cpu "$r") - r0 )) -v t="$tick" \
      'BEGIN { printf "%s wall %d ms  dispatcher %.2f s  runner %.2f s\n", l, w, dd / t, rr / t }'
  done
  MESH_MAIN=$2 "$node" "$here/dist/scripts/lab.js" down --dir "$lab" >/dev/null
}
for _ in $(seq "$rounds"); do
  run A "$a" "${OPTS_A:-}"
  run B "$b" "${OPTS_B:-}"
done
