#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang and runs each
# one for SECONDS (default 60), seeded from tests/fuzz/corpus/<name>/ when it
# exists. Prints the executions of every target; exits non-zero on a crash, a
# leak, a sanitizer report, a timeout or an out-of-memory of any target.
#   scripts/fuzz.sh [SECONDS]
#   FUZZ_BUILD_DIR (default build-fuzz/), FUZZ_TARGETS="fuzz_policy ..."
#
# The build flags, and why:
#   -DNSRUN_SANITIZE=ON   ASan+UBSan on the whole core (and no _FORTIFY_SOURCE,
#                         which hides overflows from ASan), so a bug in
#                         policy.c or cidr.c is caught where it happens;
#   -fsanitize=fuzzer-no-link on every object: without it only the fuzzer's
#                         own file carries coverage counters and libFuzzer is
#                         blind inside nsrun_core (measured: cov 61 vs 215 on
#                         fuzz_policy). The fuzz targets add -fsanitize=fuzzer;
#   -Wno-unknown-warning-option: clang 14 does not know the GCC-only
#                         -Wno-format-truncation that -Werror would turn fatal.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}

case $seconds in
'' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac
command -v clang >/dev/null || { echo "fuzz: clang is missing (scripts/setup.sh --test)" >&2; exit 1; }

if [ -n "${FUZZ_TARGETS:-}" ]; then
	read -r -a targets <<<"$FUZZ_TARGETS"
else
	targets=()
	for f in "$root"/tests/fuzz/fuzz_*.c; do
		[ -e "$f" ] && targets+=("$(basename "$f" .c)")
	done
fi
((${#targets[@]})) || { echo "fuzz: no tests/fuzz/fuzz_*.c" >&2; exit 1; }

echo "== fuzz: building ${targets[*]} in $build"
mkdir -p "$build" || exit 1
if ! CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DNSRUN_FUZZ=ON -DNSRUN_TESTS=OFF -DNSRUN_SANITIZE=ON \
	-DCMAKE_C_FLAGS="-Wno-unknown-warning-option -fsanitize=fuzzer-no-link" >"$build/fuzz-cmake.log" 2>&1; then
	tail -30 "$build/fuzz-cmake.log" >&2
	echo "fuzz: cmake failed" >&2
	exit 1
fi
if ! cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1; then
	grep -E 'error|undefined' "$build/fuzz-build.log" | head -30 >&2
	echo "fuzz: build failed (full log: $build/fuzz-build.log)" >&2
	exit 1
fi

# Every report ends the run and fails it; leaks count (detect_leaks).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

status=0 total=0
summary=()
for t in "${targets[@]}"; do
	name=${t#fuzz_}
	work=$build/corpus/$name
	art=$build/artifacts/$name/
	mkdir -p "$work" "$art"
	seeds=()
	[ -d "$root/tests/fuzz/corpus/$name" ] && seeds=("$root/tests/fuzz/corpus/$name")
	log=$build/$t.log
	echo "== fuzz: $t for ${seconds}s"
	# New inputs go to the scratch corpus in the build dir, never into the repo.
	"$build/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art" "$work" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
	corp=$(find "$work" -type f | wc -l)
	execs=${execs:-0}
	total=$((total + execs))
	if [ "$rc" -ne 0 ]; then
		status=1
		echo "FAIL $t (rc $rc) after $execs executions; artifacts in $art"
		grep -E 'ERROR|SUMMARY|invariant|runtime error|Test unit written|printed policy' "$log" | head -20
		summary+=("FAIL $t: $execs executions")
	else
		echo "PASS $t: $execs executions, ${cov:-cov: ?}, corpus $corp inputs"
		summary+=("PASS $t: $execs executions, ${cov:-cov: ?}")
	fi
done

printf '\nfuzz: %s executions in total over %d target(s), %ss each\n' "$total" "${#targets[@]}" "$seconds"
printf '  %s\n' "${summary[@]}"
exit $status
