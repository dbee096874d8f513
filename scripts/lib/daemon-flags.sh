# Sourced by the shell benchmarks that start daemons of a given build themselves (needs $node).
# daemon_flags MAIN: the V8 flags that build's bin/mesh gives its daemon (src/cli/node-flags.ts;
# none for a build from before it existed), space-separated.
daemon_flags () {
  local f; f=$(dirname "$1")/node-flags.js
  [ -f "$f" ] && "$node" --input-type=module -e "const m = await import('$f'); console.log(m.DAEMON_NODE_FLAGS.join(' '))"
  return 0
}
