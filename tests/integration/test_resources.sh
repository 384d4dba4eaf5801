# Resource caps (SPEC §6 Resources), end to end through the built binary.
# Each test runs something hostile while a well-behaved sibling run starts
# at the same time, and asserts: the cap acted, the hostile run's supervisor
# still produced its result, the sibling was unaffected, and nothing of the
# run is left (no process, no cgroup).

# ---- helpers ---------------------------------------------------------------

r_mark() { echo "res$((RANDOM % 9000 + 1000))$$"; }

# r_policy NAME RESOURCES_JSON [onUnavailable=degrade]: an override file.
# degrade by default so that a rootless pass is not refused for the memory
# cgroup it cannot have; the memory tests choose for themselves.
r_policy() {
	policy_file "$1" "{\"onUnavailable\":\"${3:-degrade}\",\"resources\":$2}"
}

# r_bg PIDFILE OUT ERR CMD...: CMD in the background, stdin /dev/null, with
# its pid written first (CMD execs in place, so the pid is nsrun's).
r_bg() {
	local pidfile=$1 out=$2 err=$3
	shift 3
	bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >"$out" 2>"$err" </dev/null &
	R_BG=$!
}

# A well-behaved run at the same time as the hostile one: it forks 8
# children and allocates 16 MiB, which a leaked cap (a process count or a
# memory charge landing on the caller's uid or cgroup) would break.
r_sibling_start() {
	local hog=
	[ -x "$NSRUN_BUILD/memhog" ] && hog="--ro-bind $NSRUN_BUILD/memhog:/opt/memhog"
	# shellcheck disable=SC2086
	"$NSRUN" run --override "$DEGRADE" $hog -- sh -c '
		i=0; while [ $i -lt 8 ]; do (sleep 0.3; echo child) & i=$((i + 1)); done
		[ ! -x /opt/memhog ] || /opt/memhog 16 >/dev/null || echo memhog-failed
		wait; echo sibling-ok' >"$T_TMP/sib.out" 2>"$T_TMP/sib.err" </dev/null &
	R_SIB=$!
}

r_sibling_check() {
	local rc
	wait "$R_SIB"
	rc=$?
	[ "$rc" = 0 ] || fail "the sibling run failed: exit $rc: $(head -c 1000 "$T_TMP/sib.err")"
	contains "$T_TMP/sib.out" sibling-ok
	lacks "$T_TMP/sib.out" memhog-failed
	[ "$(grep -c '^child$' "$T_TMP/sib.out")" = 8 ] || fail "the sibling could not fork 8 children"
}

# Nothing of the run is left: no process whose argv holds MARK (the script
# text carries it, in the sandbox and in nsrun's own argv), and no cgroup of
# supervisor PID (waits up to 3 s: a killed tree takes a moment to go).
r_nothing_left() { # MARK SUPERVISOR_PID
	local i left
	for i in $(seq 30); do
		left=$(pgrep -f -- "$1"; new_cgroups_of "$2")
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	pgrep -af -- "$1" >&2
	fail "left behind by the run: $left"
}

# r_script_wait MARK: waits for the hostile script run started with r_bg,
# checks it printed a result (exit 0), and leaves nothing behind.
r_script_wait() {
	local rc
	wait "$R_BG"
	rc=$?
	[ "$rc" = 0 ] || fail "nsrun script exited $rc: $(head -c 1000 "$T_TMP/err")"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T_TMP/out" ||
		fail "no script result: $(head -c 1000 "$T_TMP/out")"
	r_nothing_left "$1" "$(cat "$T_TMP/sv.pid")"
}

r_need_memhog() {
	[ -x "$NSRUN_BUILD/memhog" ] || fail "$NSRUN_BUILD/memhog missing (tests/helpers/memhog.c)"
}

# ---- maxProcesses ------------------------------------------------------------

# The classic bomb, under maxProcesses 64: forks fail inside, the bomb is
# contained to this run (RLIMIT_NPROC counts in the run's own user
# namespace; the pids cgroup backs it as root), the script itself goes on to
# finish, and the sibling can still fork.
t_res_fork_bomb_contained() {
	local m p n
	m=$(r_mark)
	p=$(r_policy bomb '{"maxProcesses":64}')
	r_bg "$T_TMP/sv.pid" "$T_TMP/out" "$T_TMP/err" "$NSRUN" script --override "$p" --timeout-ms 20000 \
		--script ": $m; f() { f | f & }; f; sleep 1.5; set -- /proc/[0-9]*; echo procs=\$#; echo bomb-done"
	sleep 0.3
	r_sibling_start
	# the caller's own uid still forks on the host
	sh -c 'true & wait' || fail "the host cannot fork"
	r_sibling_check
	r_script_wait "$m"
	[ "$(json_get "$T_TMP/out" timedOut)" = false ] || fail "the bomb ran into the timeout"
	json_get "$T_TMP/out" stdout >"$T_TMP/stdout"
	json_get "$T_TMP/out" stderr >"$T_TMP/stderr"
	contains "$T_TMP/stderr" "Cannot fork"
	# 0, or 2 when the script's own shell lost a fork of its `sleep` to its
	# bomb (dash gives up): the cap held either way. Slow machines (ASan) see 2.
	case "$(json_get "$T_TMP/out" exitCode)" in
	0)
		contains "$T_TMP/stdout" bomb-done
		n=$(sed -n 's/^procs=//p' "$T_TMP/stdout")
		[ -n "$n" ] && [ "$n" -le $((64 + 8)) ] || fail "$n processes in a sandbox capped at 64"
		;;
	2) ;;
	*) fail "exitCode $(json_get "$T_TMP/out" exitCode)" ;;
	esac
	ms=$(json_get "$T_TMP/out" durationMs)
	[ "$ms" -lt 10000 ] || fail "the bomb took $ms ms to end"
}

# ---- memoryBytes ---------------------------------------------------------------

# Root: a 64 MiB cgroup cap; 200 MiB of touched memory is OOM-killed, the
# script result says oom, the sibling (which allocates too) is untouched.
t_res_memory_hog_oom_killed() {
	only_root
	r_need_memhog
	local m p last
	# the hog's own argv is the marker: exec'd, it is the command itself
	m="memhog $((200 + RANDOM % 800))"
	p=$(r_policy mem '{"memoryBytes":67108864}' fail)
	r_bg "$T_TMP/sv.pid" "$T_TMP/out" "$T_TMP/err" "$NSRUN" script --override "$p" \
		--ro-bind "$NSRUN_BUILD/memhog:/opt/memhog" --script "exec /opt/$m"
	r_sibling_start
	r_sibling_check
	r_script_wait "$m"
	[ "$(json_get "$T_TMP/out" oom)" = true ] || fail "not reported as oom: $(head -c 1500 "$T_TMP/out")"
	[ "$(json_get "$T_TMP/out" exitCode)" = 137 ] || fail "exitCode $(json_get "$T_TMP/out" exitCode)"
	[ "$(json_get "$T_TMP/out" signal)" = SIGKILL ] || fail "signal $(json_get "$T_TMP/out" signal)"
	[ "$(json_get "$T_TMP/out" sandbox.enforced.resources)" = true ] || fail "resources not enforced"
	json_get "$T_TMP/out" stdout >"$T_TMP/stdout"
	last=$(sed -n 's/^memhog\[[0-9]*\]: \([0-9]*\) MiB$/\1/p' "$T_TMP/stdout" | tail -1)
	[ "${last:-0}" -lt 64 ] || fail "the hog reached $last MiB under a 64 MiB cap"
}

# The cap is on the whole sandbox, not per process: 4 x 40 MiB under 64 MiB.
t_res_memory_cap_is_whole_sandbox() {
	only_root
	r_need_memhog
	local m p
	m=$(r_mark)
	p=$(r_policy mem '{"memoryBytes":67108864}' fail)
	expect_exit 0 "$NSRUN" script --override "$p" --ro-bind "$NSRUN_BUILD/memhog:/opt/memhog" \
		--script "/opt/memhog 40 --forks 4 --hold & sleep 3; echo survived-$m"
	[ "$(json_get "$OUT" oom)" = true ] || fail "4 x 40 MiB fit under 64 MiB: $(head -c 1500 "$OUT")"
}

# Rootless on a host without a delegated memory cgroup: fail-closed refuses
# with a reason that says what to change; degrade runs and says it is not
# enforced. Where a delegated cgroup exists, the root expectations hold.
t_res_memory_rootless_downgrade() {
	only_rootless
	local p
	p=$(r_policy mem '{"memoryBytes":67108864}' fail)
	expect_exit 0 "$NSRUN" script --override "$p" --script 'echo ran'
	if [ "$(json_get "$OUT" sandbox.enforced.resources)" = true ]; then
		skip "this user has a delegated memory cgroup: covered by the root tests"
	fi
	[ "$(json_get "$OUT" exitCode)" = -1 ] || fail "ran although refused: $(head -c 1500 "$OUT")"
	contains "$OUT" "memoryBytes: no writable memory cgroup"
	contains "$OUT" "Delegate=yes"
	p=$(r_policy memd '{"memoryBytes":67108864}' degrade)
	expect_exit 0 "$NSRUN" script --override "$p" --script 'echo ran'
	[ "$(json_get "$OUT" exitCode)" = 0 ] || fail "degrade did not run: $(head -c 1500 "$OUT")"
	[ "$(json_get "$OUT" sandbox.enforced.resources)" = false ] || fail "claims resources enforced"
	contains "$OUT" "memoryBytes: no writable memory cgroup"
}

# Node: its heap grows until the cgroup stops it (OOM kill, or V8's own
# heap-limit abort when it sees the cap first). RLIMIT_AS would have killed
# node at start instead: the run must get far enough to print.
t_res_node_heap_hog() {
	only_root
	command -v node >/dev/null || skip "node is not installed"
	case "$(command -v node)" in /usr/*) ;; *) skip "node is not under /usr (not visible in the sandbox)" ;; esac
	local m p
	m=$(r_mark)
	p=$(r_policy node '{"memoryBytes":134217728}' fail)
	r_bg "$T_TMP/sv.pid" "$T_TMP/out" "$T_TMP/err" "$NSRUN" script --override "$p" --timeout-ms 60000 \
		--script "node -e 'console.log(\"node-started\"); const a = []; for (;;) a.push(new Array(1 << 20).fill(1))' # $m"
	r_sibling_start
	r_sibling_check
	r_script_wait "$m"
	json_get "$T_TMP/out" stdout >"$T_TMP/stdout"
	contains "$T_TMP/stdout" node-started
	[ "$(json_get "$T_TMP/out" timedOut)" = false ] || fail "node was not stopped by the cap"
	if [ "$(json_get "$T_TMP/out" oom)" != true ]; then
		json_get "$T_TMP/out" stderr >"$T_TMP/stderr"
		contains "$T_TMP/stderr" "heap out of memory"
	fi
	[ "$(json_get "$T_TMP/out" exitCode)" != 0 ] || fail "node survived a 128 MiB cap"
}

# ---- cpuSeconds ----------------------------------------------------------------

# A spinning shell under cpuSeconds 1: SIGXCPU at 1 s of CPU (exit 152), or
# SIGKILL a second later if it ignores it (137). Never the timeout.
t_res_cpu_spin_killed() {
	local m p rc
	m=$(r_mark)
	p=$(r_policy cpu '{"cpuSeconds":1}')
	r_bg "$T_TMP/sv.pid" "$T_TMP/o" "$T_TMP/e" "$NSRUN" run --override "$p" --timeout-ms 30000 -- \
		sh -c ": $m; while :; do :; done"
	r_sibling_start
	r_sibling_check
	wait "$R_BG"
	rc=$?
	[ "$rc" = 152 ] || [ "$rc" = 137 ] || fail "exit $rc, want 152 (SIGXCPU) or 137: $(cat "$T_TMP/e")"
	r_nothing_left "$m" "$(cat "$T_TMP/sv.pid")"
	# ignoring SIGXCPU only buys the grace second
	p=$(r_policy cpu2 '{"cpuSeconds":1}')
	expect_exit 137 "$NSRUN" run --override "$p" --timeout-ms 30000 -- sh -c "trap '' XCPU; while :; do :; done"
}

# ---- disk ----------------------------------------------------------------------

# /tmp and the default /scratch are tmpfs capped at maxFileSizeBytes: files
# that each stay under the per-file cap fill them up to ENOSPC.
t_res_dd_fills_tmp_and_scratch() {
	local m p d
	m=$(r_mark)
	p=$(r_policy disk '{"maxFileSizeBytes":16777216}')
	r_bg "$T_TMP/sv.pid" "$T_TMP/out" "$T_TMP/err" "$NSRUN" script --override "$p" --script "
		: $m
		for d in /tmp /scratch; do
			i=0
			while e=\$(dd if=/dev/zero of=\$d/fill\$i bs=1M count=6 2>&1); do i=\$((i + 1)); done
			echo \"\$d: \$i files; \$(echo \"\$e\" | head -1)\"
		done"
	r_sibling_start
	r_sibling_check
	r_script_wait "$m"
	json_get "$T_TMP/out" stdout >"$T_TMP/stdout"
	for d in /tmp /scratch; do
		grep -q "^$d: 2 files; .*No space left on device" "$T_TMP/stdout" ||
			fail "$d not full at 16 MiB: $(cat "$T_TMP/stdout")"
	done
}

# maxFileSizeBytes 1 MiB against a 2 GB write: SIGXFSZ (exit 153), or EFBIG
# when the signal is ignored; the file stops at exactly 1 MiB. The scratch
# dir is a host dir here, so no tmpfs size stops the write first.
t_res_file_size_cap() {
	local m p
	m=$(r_mark)
	p=$(r_policy fsize '{"maxFileSizeBytes":1048576}')
	mkdir "$T_TMP/scr" && chmod 777 "$T_TMP/scr"
	r_bg "$T_TMP/sv.pid" "$T_TMP/out" "$T_TMP/err" "$NSRUN" script --override "$p" --scratch "$T_TMP/scr" \
		--script "
		: $m
		dd if=/dev/zero of=big bs=1M count=2048 2>/dev/null; echo rc=\$? size=\$(wc -c <big)
		(trap '' XFSZ; dd if=/dev/zero of=big2 bs=1M count=2048 2>&1 | head -1); echo size2=\$(wc -c <big2)"
	r_sibling_start
	r_sibling_check
	r_script_wait "$m"
	json_get "$T_TMP/out" stdout >"$T_TMP/stdout"
	contains "$T_TMP/stdout" "rc=153 size=1048576"
	contains "$T_TMP/stdout" "File too large"
	contains "$T_TMP/stdout" "size2=1048576"
}

# ---- maxOutputBytes --------------------------------------------------------------

# 500 MB of output against maxOutputBytes 1 MiB: truncated and killed, read
# while it streams (the supervisor's peak RSS stays near its baseline: it
# never buffers what it drops). /usr/bin/time's %M is the peak RSS of nsrun
# and of its reaped descendants (the sandbox's small shell and yes/head).
t_res_output_flood_bounded() {
	[ -x /usr/bin/time ] || skip "/usr/bin/time is not installed (apt-get install time)"
	local m p base run script
	m=$(r_mark)
	p=$(r_policy out '{"maxOutputBytes":1048576}')
	/usr/bin/time -f %M -o "$T_TMP/base.rss" "$NSRUN" run --override "$p" -- true || fail "baseline run failed"
	base=$(tail -1 "$T_TMP/base.rss")
	r_sibling_start
	/usr/bin/time -f %M -o "$T_TMP/run.rss" "$NSRUN" run --override "$p" -- \
		sh -c ": $m; yes | head -c 500000000" >"$T_TMP/run.out" 2>"$T_TMP/run.err"
	[ "$?" = 137 ] || fail "run: the flood was not killed: $(cat "$T_TMP/run.err")"
	[ "$(wc -c <"$T_TMP/run.out")" -le 1048576 ] || fail "run: relayed more than the cap"
	contains "$T_TMP/run.err" "output exceeded maxOutputBytes (1048576 bytes)"
	expect_exit 0 /usr/bin/time -f %M -o "$T_TMP/script.rss" "$NSRUN" script --override "$p" \
		--script ": $m; yes | head -c 500000000"
	r_sibling_check
	[ "$(json_get "$OUT" outputTruncated)" = true ] || fail "script: not truncated"
	len=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["stdout"]))' "$OUT")
	[ "$len" = 1048576 ] || fail "script: captured $len bytes, want the 1 MiB cap"
	run=$(tail -1 "$T_TMP/run.rss")
	script=$(tail -1 "$T_TMP/script.rss")
	echo "peak RSS KiB: baseline $base, run flood $run, script flood $script" >&2
	# run relays and drops: its baseline plus pipe buffers
	[ "$run" -le $((base + 2048)) ] || fail "run: peak RSS $run KiB vs baseline $base KiB"
	# script keeps the 1 MiB it captured, plus its JSON text
	[ "$script" -le $((base + 8192)) ] || fail "script: peak RSS $script KiB vs baseline $base KiB"
	r_nothing_left "$m" 0
}

# ---- maxOpenFiles ----------------------------------------------------------------

# Opening 10,000 files under maxOpenFiles 64: EMFILE long before.
t_res_open_files_cap() {
	local m p n
	m=$(r_mark)
	p=$(r_policy nofile '{"maxOpenFiles":64}')
	r_bg "$T_TMP/sv.pid" "$T_TMP/out" "$T_TMP/err" "$NSRUN" script --override "$p" --script "
		: $m
		echo limits=\$(ulimit -Sn)/\$(ulimit -Hn)
		exec bash -c 'n=0; while [ \$n -lt 10000 ] && exec {fd}</dev/null; do n=\$((n + 1)); done; echo opened=\$n'"
	r_sibling_start
	r_sibling_check
	r_script_wait "$m"
	json_get "$T_TMP/out" stdout >"$T_TMP/stdout"
	json_get "$T_TMP/out" stderr >"$T_TMP/stderr"
	contains "$T_TMP/stdout" "limits=64/64"
	contains "$T_TMP/stderr" "Too many open files"
	n=$(sed -n 's/^opened=//p' "$T_TMP/stdout")
	[ -n "$n" ] && [ "$n" -lt 64 ] || fail "opened $n files under a cap of 64"
}

# ---- the run cgroup, seen from inside ------------------------------------------

# The command is in the run cgroup (its limits are read back from inside the
# cgroup it sees as "/") and learns nothing of the host's cgroup tree: every
# line of /proc/self/cgroup says "/", although on cgroup v1 the child joins
# the run cgroup only after its clone.
t_res_cgroup_namespace_is_the_run_cgroup() {
	only_root
	local p
	p=$(r_policy cg '{"memoryBytes":67108864,"maxProcesses":50}' fail)
	expect_exit 0 "$NSRUN" run --override "$p" -- cat /proc/self/cgroup
	[ -s "$OUT" ] || fail "no /proc/self/cgroup output"
	if grep -v ':/$' "$OUT"; then
		fail "the sandbox sees a cgroup path other than its own root (above)"
	fi
	grep -q 'memory:/$\|^0::/$' "$OUT" || fail "no memory or v2 line: $(cat "$OUT")"
}
