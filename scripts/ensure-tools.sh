#!/usr/bin/env bash
# Installs the Debian packages the tests use for real (not mocks) when they are missing:
# numactl for NUMA binding. Best effort: without root or apt, the tests that need a tool skip
# with a message saying so.
set -u
missing=()
for pkg in "$@"; do
  command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (Debian packages) for the tests..."
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/dev/null 2>&1 \
    || echo "could not install ${missing[*]}; tests that need them will skip"
else
  echo "${missing[*]} not installed and cannot install (need root + apt-get); tests that need them will skip"
fi
exit 0
