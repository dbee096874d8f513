#!/usr/bin/env bash
# CLI start-up: one whole `mesh` command for two builds and bare node, alternating in one run.
# Usage: scripts/bench-cli-startup.sh HOME MAIN_A MAIN_B [RUNS] [-- COMMAND...]
#   HOME: a running daemon's home; COMMAND defaults to `peers --json` (`push -- true` runs a no-op
#   task on that daemon itself when it holds no tags, so the whole push path is timed)
set -euo pipefail
home=$1; a=$2; b=$3; runs=${4:-30}
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = "--" ] && shift
cmd=("$@"); [ ${#cmd[@]} -eq 0 ] && cmd=(peers --json)
node=$(dirname "$0")/../node_modules/node/bin/node
ms () { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
for i in $(seq "$runs"); do
  echo "bare $(ms "$node" -e 0)"
  echo "A $(ms "$node" "$a" "${cmd[0]}" --home "$home" "${cmd[@]:1}")"
  echo "B $(ms "$node" "$b" "${cmd[0]}" --home "$home" "${cmd[@]:1}")"
done
