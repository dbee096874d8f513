#!/usr/bin/env bash
# CLI start-up of `mesh peers --json` for two builds and bare node, alternating in one run.
# Usage: scripts/bench-cli-startup.sh HOME MAIN_A MAIN_B [RUNS]   (HOME: a running daemon's home)
set -euo pipefail
home=$1; a=$2; b=$3; runs=${4:-30}
node=$(dirname "$0")/../node_modules/node/bin/node
ms () { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
for i in $(seq "$runs"); do
  echo "bare $(ms "$node" -e 0)"
  echo "A $(ms "$node" "$a" peers --json --home "$home")"
  echo "B $(ms "$node" "$b" peers --json --home "$home")"
done
