#!/usr/bin/env bash
# The spec suite (mocha, as `npm run spec`) on other Node majors than the machine's, e.g. 22 and 24.
# The official binaries come from the npm registry as packages (node-linux-<arch>@<major>, the newest
# release of that major; CI reaches no other download site), installed outside the repo's node_modules.
# node_modules holds no native addon (*.node), so the one `npm ci` serves every Node version.
#
# Usage: scripts/node-versions.sh [--parallel] [major...]       (default: 22 24)
#   --parallel  runs the majors at the same time (each with its own log, printed when all are done).
# NODE_VERSIONS_DIR=dir reuses the binaries installed there before (default: a new temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."

parallel=false
if [ "${1:-}" = --parallel ]; then parallel=true; shift; fi
if [ "$#" -eq 0 ]; then set -- 22 24; fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node-versions: no node-linux-* package for $(uname -m)" >&2; exit 1 ;;
esac
if [ -n "${NODE_VERSIONS_DIR:-}" ]; then
  dir="$NODE_VERSIONS_DIR"
  mkdir -p "$dir"
else
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
fi

node_of() { echo "$dir/node$1/node_modules/node-linux-$arch/bin/node"; }

# Installed one after another: a few seconds each, and npm's output stays readable.
for major in "$@"; do
  if [ ! -x "$(node_of "$major")" ]; then
    npm install --prefix "$dir/node$major" --no-audit --no-fund --no-package-lock --loglevel=error "node-linux-$arch@$major" >/dev/null
  fi
  version="$("$(node_of "$major")" --version)"
  case "$version" in
    "v$major".*) ;;
    *) echo "node-versions: node-linux-$arch@$major gave $version" >&2; exit 1 ;;
  esac
done

# `npm run spec` (its globs stay in package.json) with $node first on PATH: npm, mocha (`#!/usr/bin/env
# node`) and mocha's re-execution for .mocharc's node-option all run on $node.
run() {
  local node
  node="$(node_of "$1")"
  echo "== spec suite on Node $("$node" --version)"
  PATH="$(dirname "$node"):$PATH" npm run --silent spec -- --reporter dot
}

majors=("$@")
status=0
if [ "$parallel" = true ]; then
  pids=()
  for major in "${majors[@]}"; do
    run "$major" >"$dir/spec-node$major.log" 2>&1 &
    pids+=("$!")
  done
  failed=()
  for i in "${!majors[@]}"; do
    wait "${pids[$i]}" || failed+=("${majors[$i]}")
  done
  for major in "${majors[@]}"; do cat "$dir/spec-node$major.log"; done
  for major in "${failed[@]}"; do
    echo "node-versions: the spec suite failed on Node $major" >&2
    status=1
  done
else
  for major in "${majors[@]}"; do
    if ! run "$major"; then
      echo "node-versions: the spec suite failed on Node $major" >&2
      status=1
    fi
  done
fi
exit "$status"
