#!/usr/bin/env bash
# Idle CPU and memory of a whole mesh of N daemons on loopback, for two builds alternately in the
# same run (before/after an optimisation). Each daemon runs its build's default config.
#   Usage: scripts/bench-idle-mesh.sh N MAIN_A MAIN_B [REPS] [SECONDS]
# MAIN_* are paths to dist/src/cli/main.js of each build. Per rep and build: start N daemons
# (node2… bootstrap to node1), let them settle 15 s, then sum utime+stime of all of them over
# SECONDS (default 30) and print "A|B total-%-of-a-core per-daemon-% median-RSS-MiB online-seen-by-last".
# Every daemon is stopped (process groups killed) on exit, also on failure.
set -euo pipefail
n=$1; a=$2; b=$3; reps=${4:-3}; secs=${5:-30}
node=$(dirname "$0")/../node_modules/node/bin/node
tick=$(getconf CLK_TCK)
# shellcheck source=lib/daemon-flags.sh
. "$(dirname "$0")/lib/daemon-flags.sh"
exec 9>/tmp/mesh-bench.lock; flock 9
# measure runs in a subshell ($(…)), so its labs are listed in a file the exit trap can read
registry=$(mktemp /tmp/mesh-idle-mesh-labs-XXXX)
cleanup () {
  local d f
  while read -r d; do
    for f in "$d"/n*/pgid; do [ -f "$f" ] && kill -9 -"$(cat "$f")" 2>/dev/null || true; done
    rm -rf "$d"
  done < "$registry"
  : > "$registry"
}
trap 'cleanup; rm -f "$registry"' EXIT
measure () {  # main -> one result line
  local main=$1 d boot="" pids=() flags
  read -ra flags <<< "$(daemon_flags "$main")"
  d=$(mktemp -d /tmp/mesh-idle-mesh-XXXX); echo "$d" >> "$registry"
  "$node" "$main" swarm-key > "$d/swarm.key"
  for i in $(seq "$n"); do
    local h=$d/n$i; mkdir -p "$h"; echo '{"version":1}' > "$h/config.json"
    local args=(start --home "$h" --listen /ip4/127.0.0.1/tcp/0 --no-mdns --swarm-key "$d/swarm.key")
    [ -n "$boot" ] && args+=(--bootstrap "$boot")
    setsid "$node" "${flags[@]}" "$main" "${args[@]}" > "$h/daemon.log" 2>&1 &
    echo $! > "$h/pgid"; pids+=($!)
    for _ in $(seq 200); do [ -S "$h/mesh.sock" ] && break; sleep 0.1; done
    [ -z "$boot" ] && boot=$("$node" "$main" id --json --home "$h" | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).addresses[0]))')
  done
  sleep 15
  local t0=0 t1=0 p
  for p in "${pids[@]}"; do t0=$((t0 + $(awk '{print $14+$15}' /proc/$p/stat))); done
  sleep "$secs"
  for p in "${pids[@]}"; do t1=$((t1 + $(awk '{print $14+$15}' /proc/$p/stat))); done
  local rss; rss=$(for p in "${pids[@]}"; do awk '/VmRSS/ {print $2}' /proc/$p/status; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  local seen; seen=$("$node" "$main" peers --json --home "$d/n$n" | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).filter(p=>p.state==="online").length))')
  for i in $(seq "$n"); do "$node" "$main" stop --home "$d/n$i" >/dev/null 2>&1 & done; wait || true
  cleanup
  awk -v d=$((t1 - t0)) -v t="$tick" -v s="$secs" -v n="$n" -v r="$rss" -v seen="$seen" \
    'BEGIN { printf "%.1f %.2f %.1f %d/%d\n", 100*d/t/s, 100*d/t/s/n, r/1024, seen, n }'
}
echo "# N=$n, ${secs} s windows; columns: build, all daemons % of one core, per daemon %, median RSS MiB, rows online in node$n's peers (itself included)"
for _ in $(seq "$reps"); do
  echo "A $(measure "$a")"
  echo "B $(measure "$b")"
done
