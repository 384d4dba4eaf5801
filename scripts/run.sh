#!/usr/bin/env bash
# Installs what is missing, builds, and runs a command in the sandbox with the
# built-in default policy:   scripts/run.sh -- sh -c 'id; ls /; echo hello'
# Any `nsrun run` option may come before the "--".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
exec "${BUILD_DIR:-$root/build}/nsrun" run "$@"
