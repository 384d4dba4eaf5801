#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the Criterion unit
# tests, then the integration tests as root and as an unprivileged user.
#   NSRUN_MUST_WORK=1 (CI): a test that would skip for a missing primitive fails.
#   TEST_FILTER=fs: only integration files whose name contains it.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
rootless_user=nsrun-test

"$root/scripts/setup.sh" --test || exit 1
"$root/scripts/build.sh" || { echo "test: build failed" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
	# The rootless pass runs as a plain user with no supplementary groups.
	id "$rootless_user" >/dev/null 2>&1 || useradd -M -s /bin/sh "$rootless_user"
	# What a normal distribution ships, so rootless egress can make tap0.
	[ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
fi

status=0
echo "== unit tests"
for t in "$build"/test_*; do
	[ -x "$t" ] || continue
	if ! "$t" --jobs 2 >"$build/$(basename "$t").log" 2>&1; then
		echo "FAIL $(basename "$t")"; tail -30 "$build/$(basename "$t").log"; status=1
	else
		echo "PASS $(basename "$t") $(grep -o 'Tested: [0-9]*' "$build/$(basename "$t").log")"
	fi
done

# The rootless user must be able to read the binaries wherever the clone is.
stage=$(mktemp -d /tmp/nsrun-stage.XXXXXX)
chmod 755 "$stage"
find "$build" -maxdepth 1 -type f -perm -u+x ! -name 'test_*' -exec cp {} "$stage/" \;
trap 'rm -rf "$stage"' EXIT

echo "== integration tests"
user_arg=""
[ "$(id -u)" -eq 0 ] && user_arg=$rootless_user
"$root/tests/integration/run.sh" "$stage" "$user_arg" "${TEST_FILTER:-}" || status=1
exit $status
