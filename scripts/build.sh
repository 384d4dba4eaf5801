#!/usr/bin/env bash
# Configures and builds nsrun into BUILD_DIR (default: build/).
#   NSRUN_BUILD_TYPE (default RelWithDebInfo), extra args go to cmake.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${NSRUN_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
