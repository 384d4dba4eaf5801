#!/usr/bin/env bash
# Sanitizer gate: builds nsrun with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DNSRUN_SANITIZE=ON), runs the unit tests and the integration tests (root
# and rootless) under it, then runs the plain build's supervisor under
# valgrind memcheck. Any sanitizer or valgrind report fails the gate, even one
# in a process whose exit code a test did not look at.
#   scripts/asan.sh                 (root: both integration passes)
#   ASAN_BUILD_DIR (default build-asan/), BUILD_DIR (plain build, default build/)
#   ASAN_SKIP_INTEGRATION=1 / ASAN_SKIP_VALGRIND=1 to run a part only;
#   TEST_FILTER=faults: only integration files whose name contains it.
#
# How a report cannot slip by:
#   - ASan/UBSan/LSan write every report to $logs/<kind>.<pid> (log_path), so
#     a report in the supervisor after the command's status was printed, or
#     in a sandbox process whose status a test ignores, still fails the gate;
#     the sanitizers also exit with 86 (exitcode) and stop at the first error
#     (halt_on_error, and the build has -fno-sanitize-recover=undefined).
#   - The sandbox's processes are nsrun's own code up to execve: fsns, netns,
#     privilege set-up run instrumented. A report there, inside the sandbox's
#     mount namespace, cannot reach $logs; it goes to the command's stderr
#     and the non-zero exit fails the test that ran it.
#   - LeakSanitizer runs at exit of every process that exits normally: the
#     supervisor, the CLI paths and the unit tests. Children that end in
#     _exit() (the cloned child, slirp4netns's fork) are not leak-checked,
#     which is right: their heap is the parent's copy.
#   - valgrind: --error-exitcode, definite leaks are errors, --track-fds
#     lists every descriptor still open at exit that nsrun opened itself.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
abuild=${ASAN_BUILD_DIR:-$root/build-asan}
pbuild=${BUILD_DIR:-$root/build}
rootless_user=nsrun-test
status=0
start=$(date +%s)

logs=$(mktemp -d /tmp/asan-logs.XXXXXX)
chmod 1777 "$logs"
stage=$(mktemp -d /tmp/asan-stage.XXXXXX)
chmod 755 "$stage"
trap 'rm -rf "$stage" "$logs"' EXIT

echo "== asan: building $abuild (ASan+UBSan)"
if ! cmake -S "$root" -B "$abuild" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNSRUN_SANITIZE=ON \
	-DNSRUN_TESTS=ON >"$logs/cmake.txt" 2>&1 ||
	! cmake --build "$abuild" -j"$(nproc)" >"$logs/build.txt" 2>&1; then
	grep -E 'error|Error' "$logs/build.txt" "$logs/cmake.txt" | head -30 >&2
	echo "asan: build failed" >&2
	exit 1
fi

# verify_asan_link_order=0: test_faults.sh preloads a syscall(2) shim.
export ASAN_OPTIONS="verify_asan_link_order=0:halt_on_error=1:exitcode=86:detect_leaks=1:log_path=$logs/asan:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1:detect_invalid_pointer_pairs=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86:log_path=$logs/ubsan"
export LSAN_OPTIONS="exitcode=86:log_path=$logs/lsan"
# For tests that measure the supervisor's memory: ASan's shadow and its
# quarantine of freed blocks put megabytes on top of nsrun's own RSS.
export NSRUN_SANITIZED=1

reports() { # lists sanitizer report files (ignores empty ones)
	find "$logs" -maxdepth 1 -type f \( -name 'asan.*' -o -name 'ubsan.*' -o -name 'lsan.*' \) -size +0 2>/dev/null
}

echo "== asan: unit tests"
for t in "$abuild"/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	if "$t" --jobs 2 >"$logs/$n.log" 2>&1; then
		echo "PASS $n $(grep -o 'Tested: [0-9]*' "$logs/$n.log")"
	else
		echo "FAIL $n"
		tail -30 "$logs/$n.log"
		status=1
	fi
done

if [ "${ASAN_SKIP_INTEGRATION:-0}" != 1 ]; then
	echo "== asan: integration tests"
	user_arg=""
	if [ "$(id -u)" -eq 0 ]; then
		id "$rootless_user" >/dev/null 2>&1 || useradd -M -s /bin/sh "$rootless_user"
		[ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
		user_arg=$rootless_user
	fi
	# nsrun from the sanitized build; the programs the tests run INSIDE the
	# sandbox (probe, memhog) from the plain one: they stand for the user's
	# code, and an instrumented one would die there (LeakSanitizer needs
	# ptrace, which the seccomp filter denies).
	if [ ! -x "$pbuild/nsrun" ] || [ ! -x "$pbuild/probe" ]; then
		BUILD_DIR=$pbuild "$root/scripts/build.sh" || { echo "asan: plain build failed" >&2; exit 1; }
	fi
	find "$pbuild" -maxdepth 1 -type f -perm -u+x ! -name 'test_*' ! -name nsrun -exec cp {} "$stage/" \;
	cp "$abuild/nsrun" "$stage/nsrun"
	"$root/tests/integration/run.sh" "$stage" "$user_arg" "${TEST_FILTER:-}" || status=1
fi

n_reports=$(reports | wc -l)
if [ "$n_reports" -gt 0 ]; then
	echo "== asan: $n_reports sanitizer report(s)"
	for f in $(reports | head -10); do
		echo "--- $f"
		head -60 "$f"
	done
	status=1
else
	echo "== asan: no sanitizer report"
fi

# ---------------------------------------------------------------- valgrind
# valgrind 3.19 (Debian 12) implements neither seccomp(2) nor landlock nor
# pidfd_open/clone3 (all ENOSYS), and it owns RLIMIT_NOFILE: the run is
# planned with onUnavailable degrade and no maxOpenFiles, so the seccomp layer
# is reported down instead of refusing, and the supervisor takes its no-pidfd
# path (the one kernels before 5.3 take).
if [ "${ASAN_SKIP_VALGRIND:-0}" != 1 ]; then
	echo "== valgrind: the supervisor of a representative run"
	if ! command -v valgrind >/dev/null; then
		echo "FAIL valgrind is missing (scripts/setup.sh --test)"
		status=1
	else
		if [ ! -x "$pbuild/nsrun" ]; then
			BUILD_DIR=$pbuild "$root/scripts/build.sh" || { echo "asan: plain build failed" >&2; exit 1; }
		fi
		vdir=$logs/valgrind
		mkdir -p "$vdir" || exit 1
		cat >"$vdir/nsrun.supp" <<'EOF'
# The namespace probe's mount(2) calls pass NULL as the filesystem type, as
# MS_PRIVATE and bind remounts allow; memcheck reads it as a string.
{
   mount-type-may-be-null
   Memcheck:Param
   mount(type)
   fun:mount
   ...
}
# The cgroup guard retitles itself by writing over its argv at the addresses
# /proc/self/stat gives, which under valgrind are valgrind's own, not the
# client's (valgrind virtualizes /proc/self/cmdline, not stat).
{
   guard-title-1
   Memcheck:Addr1
   ...
   fun:guard_title
}
{
   guard-title-2
   Memcheck:Addr2
   ...
   fun:guard_title
}
{
   guard-title-4
   Memcheck:Addr4
   ...
   fun:guard_title
}
{
   guard-title-8
   Memcheck:Addr8
   ...
   fun:guard_title
}
{
   guard-title-16
   Memcheck:Addr16
   ...
   fun:guard_title
}
{
   guard-title-32
   Memcheck:Addr32
   ...
   fun:guard_title
}
EOF
		printf '{"onUnavailable":"degrade","resources":{"maxOpenFiles":null}}\n' >"$vdir/vg.json"
		vg_case() { # NAME ARGS...: one run under valgrind, judged from its log
			local name=$1 rc sv errs fds leaks log
			log=$vdir/$name.log
			shift
			# One log for every process (--log-fd): the sandbox's processes
			# cannot create files of their own under the host's /tmp. Lines
			# carry ==PID==; the supervisor's pid is written before exec.
			if [ "$vg_hung" = 1 ]; then
				echo "FAIL valgrind $name: not run, an earlier case hung"
				return
			fi
			timeout -k 5 60 bash -c 'echo $$ >"$0"; exec "$@"' "$vdir/$name.pid" \
				valgrind -q --error-exitcode=99 --leak-check=full \
				--errors-for-leak-kinds=definite --show-leak-kinds=definite --track-fds=yes \
				--suppressions="$vdir/nsrun.supp" --trace-children=no --log-fd=9 \
				"$pbuild/nsrun" "$@" >"$vdir/$name.out" 2>"$vdir/$name.err" </dev/null 9>"$log"
			rc=$?
			sv=$(cat "$vdir/$name.pid")
			if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
				# A run takes seconds under valgrind: this is a hang.
				echo "FAIL valgrind $name: no exit within 60 s (rc $rc)"
				grep -vE '^==[0-9]+== *$|^--[0-9]+--' "$log" | tail -20
				status=1 vg_hung=1
				return
			fi
			# Errors and definite leaks in any process (the supervisor, the
			# namespace probe, the sandbox's init and command before execve,
			# the cgroup guard); descriptors only for the supervisor, whose
			# exit is the end of the run (fd 9 is valgrind's log).
			errs=$(grep -cE '^==[0-9]+== (Invalid|Conditional jump|Syscall param|Mismatched|Source and destination|Use of uninitialised|Argument .* of function|Process terminating)' "$log")
			leaks=$(grep -cE 'definitely lost in loss record' "$log")
			fds=$(awk -v p="==$sv==" '$1 == p && /Open (file descriptor|AF_[A-Z0-9]+ socket)/ {fd = $0; getline; if ($0 !~ /inherited from parent/) print fd}' "$log" | wc -l)
			if [ "$rc" = 99 ] || [ "$errs" -gt 0 ] || [ "$leaks" -gt 0 ] || [ "$fds" -gt 0 ]; then
				echo "FAIL valgrind $name: exit $rc, $errs error(s), $leaks definite leak(s), $fds supervisor fd(s) open at exit"
				grep -vE '^==[0-9]+== *$|^--[0-9]+--' "$log" | head -80
				sed 's/^/    stderr | /' "$vdir/$name.err" | head -5
				status=1
			else
				echo "PASS valgrind $name: exit $rc; no error, no definite leak in $(grep -oE '^==[0-9]+==' "$log" | sort -u | wc -l) process(es); no supervisor fd left open"
			fi
		}
		vg_hung=0
		vg_case run_true run --override "$vdir/vg.json" -- true
		vg_case script_echo script --override "$vdir/vg.json" --script 'echo hi'
		vg_case policy policy --override "$vdir/vg.json"
		vg_case refused run --override /nonexistent.json -- true
	fi
fi

echo "asan: exit $status after $(($(date +%s) - start)) s"
exit $status
