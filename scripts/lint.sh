#!/usr/bin/env bash
# Static analysis gate: cppcheck and clang-tidy over the product code
# (runtime/ fsns/ netns/ seccomp/). Exits non-zero on any finding.
#   scripts/lint.sh
#   LINT_BUILD_DIR (default build-lint/): a clang-configured tree, for its
#   compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS is on).
#
# clang-tidy: the checks and why are in .clang-tidy (every warning an error).
# cppcheck: warning, performance, portability and style, with
#   - variableScope off: DESIGN §4 is kernel-ish C, declarations at the top
#     of a block on purpose;
#   - the true false positives listed, with reasons, in .cppcheck-suppressions.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LINT_BUILD_DIR:-$root/build-lint}
jobs=$(nproc)
status=0

for t in clang cppcheck clang-tidy; do
	command -v "$t" >/dev/null || { echo "lint: $t is missing (scripts/setup.sh --test)" >&2; exit 1; }
done

# A clang compile database: clang-tidy must see the flags clang understands
# (the GCC-only -Wno-format-truncation is tolerated by -Wno-unknown-warning-option).
mkdir -p "$build" || exit 1
if ! CC=clang cmake -S "$root" -B "$build" -DNSRUN_TESTS=OFF \
	-DCMAKE_C_FLAGS="-Wno-unknown-warning-option" >"$build/lint-cmake.log" 2>&1; then
	tail -20 "$build/lint-cmake.log" >&2
	exit 1
fi
# seccomp/prebuilt.c includes the filter compiled at build time.
if ! cmake --build "$build" --target nsrun_seccomp_gen -j"$jobs" >"$build/lint-gen.log" 2>&1; then
	tail -20 "$build/lint-gen.log" >&2
	exit 1
fi
mkdir -p "$build/generated"
"$build/nsrun_seccomp_gen" "$build/generated/seccomp_bpf.inc" || exit 1

mapfile -t files < <(cd "$root" && find runtime fsns netns seccomp -name '*.c' | sort)
echo "== lint: ${#files[@]} files"

echo "== cppcheck $(cppcheck --version | awk '{print $2}')"
cppcheck_out=$build/cppcheck.txt
filters=()
for d in runtime fsns netns seccomp; do filters+=("--file-filter=$root/$d/*"); done
cppcheck --quiet --std=c11 --enable=warning,performance,portability,style \
	--suppress=variableScope --suppressions-list="$root/.cppcheck-suppressions" \
	--inline-suppr --error-exitcode=1 -j"$jobs" \
	--project="$build/compile_commands.json" "${filters[@]}" \
	--template='{file}:{line}: {severity}: {message} [{id}]' 2>"$cppcheck_out" >/dev/null
rc=$?
sed "s|^$root/||" "$cppcheck_out" | sort -u
n=$(grep -c ': ' "$cppcheck_out")
if [ "$rc" -ne 0 ] || [ "$n" -gt 0 ]; then
	echo "FAIL cppcheck: $n finding(s)"
	status=1
else
	echo "PASS cppcheck: no finding"
fi

echo "== clang-tidy $(clang-tidy --version | awk '/version/ {print $NF; exit}')"
tidy_out=$build/clang-tidy.txt
(cd "$root" && printf '%s\0' "${files[@]}" |
	xargs -0 -P"$jobs" -n2 clang-tidy -p "$build" --quiet 2>/dev/null) >"$tidy_out"
# One line per finding, deduplicated (a header's finding repeats per file).
findings=$(grep -E '^/.*: (warning|error): ' "$tidy_out" | sed "s|^$root/||" | sort -u)
if [ -n "$findings" ]; then
	printf '%s\n' "$findings"
	echo "FAIL clang-tidy: $(printf '%s\n' "$findings" | wc -l) finding(s) (details: $tidy_out)"
	status=1
else
	echo "PASS clang-tidy: no finding"
fi
exit $status
