# The supervisor and the sandbox's init: isolation, exit codes, output cap,
# timeout, signals, and nothing left behind.

# A marker unique to this test, to find leftover processes by their argv.
marker() { echo "$((RANDOM % 900 + 100))$$"; }

no_process_left() { # $1 pattern, waits up to 3 s
	for _ in $(seq 30); do
		pgrep -f -- "$1" >/dev/null || return 0
		sleep 0.1
	done
	pgrep -af -- "$1" >&2
	fail "process '$1' left behind"
}

t_sees_only_its_own_processes_nonzero_uid() {
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" -- sh -c 'ls /proc; echo uid=$(id -u)'
	pids=$(grep -E '^[0-9]+$' "$OUT" | tr '\n' ' ')
	[ -n "$pids" ] || fail "no pids listed"
	for p in $pids; do [ "$p" -lt 10 ] || fail "host pid $p visible: $pids"; done
	grep -q '^uid=0$' "$OUT" && fail "command ran as uid 0"
	contains "$OUT" "uid="
}

t_exit_status_is_the_commands() {
	expect_exit 3 "$NSRUN" run --override "$DEGRADE" -- sh -c 'exit 3'
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" -- true
	expect_exit 143 "$NSRUN" run --override "$DEGRADE" -- sh -c 'kill -TERM $$'
}

# The run ends as the command's status arrives when nothing else is left in
# the sandbox (init does not have to exit first): every byte the command
# wrote before exiting must still arrive. A slow reader of nsrun's stdout
# stalls the supervisor (its stdout pipe full, one chunk in hand) while
# the command writes the rest into the sandbox's pipe and exits, so the
# status and unread output are pending together.
t_output_written_just_before_exit_arrives() {
	local n size
	for size in 100000 120000 140000; do
		n=$("$NSRUN" run --override "$DEGRADE" -- sh -c "head -c $size /dev/zero; exit 5" |
			(sleep 0.4; wc -c))
		[ "$n" = "$size" ] || fail "got $n of $size bytes"
	done
}

t_not_found_127_not_executable_126() {
	expect_exit 127 "$NSRUN" run --override "$DEGRADE" -- /no/such/program
	contains "$ERR" "nsrun: exec: /no/such/program: No such file or directory"
	expect_exit 127 "$NSRUN" run --override "$DEGRADE" -- no-such-program-xyz
	mkdir "$T_TMP/s" && printf 'echo hi\n' >"$T_TMP/s/noexec" && chmod 644 "$T_TMP/s/noexec"
	expect_exit 126 "$NSRUN" run --override "$DEGRADE" --scratch "$T_TMP/s" -- "$T_TMP/s/noexec"
	contains "$ERR" "Permission denied"
}

t_stdin_is_passed_through() {
	out=$(echo "hello-stdin" | "$NSRUN" run --override "$DEGRADE" -- cat) || fail "exit $?"
	[ "$out" = hello-stdin ] || fail "got '$out'"
}

# The supervisor narrows its own CPU mask while it waits (supervisor.c,
# stay_on_this_cpu): nothing it starts may inherit that, not even what the
# command starts once the wait began, and a caller's narrower mask stays.
t_command_gets_the_callers_cpus() {
	local want
	want=$(grep Cpus_allowed_list /proc/self/status | cut -f2)
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" -- sh -c \
		'grep Cpus_allowed_list /proc/self/status; sleep 0.2; sh -c "grep Cpus_allowed_list /proc/self/status"'
	[ "$(grep -c "Cpus_allowed_list:.$want\$" "$OUT")" = 2 ] || fail "want $want twice, got: $(cat "$OUT")"
	expect_exit 0 taskset -c 0 "$NSRUN" run --override "$DEGRADE" -- grep Cpus_allowed_list /proc/self/status
	contains "$OUT" "$(printf 'Cpus_allowed_list:\t0')"
}

t_daemon_leaves_nothing_behind() {
	m=$(marker)
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" -- sh -c "setsid sleep $m & echo started"
	contains "$OUT" started
	no_process_left "sleep $m"
}

# Killed once the command runs ("ready": a pgrep for its argv would match
# the supervisor's own and kill it mid-set-up, another case:
# t_fault_supervisor_killed_after_cgroup_mkdir).
t_supervisor_sigkill_leaves_nothing() {
	m=$(marker)
	"$NSRUN" run --override "$DEGRADE" -- sh -c "sleep $m & setsid sleep $m & echo ready; wait" >"$T_TMP/o" 2>&1 &
	sv=$!
	for _ in $(seq 50); do grep -q ready "$T_TMP/o" && break; sleep 0.1; done
	contains "$T_TMP/o" ready
	kill -KILL "$sv"
	wait "$sv" 2>/dev/null
	no_process_left "sleep $m"
}

t_supervisor_sigterm_reaches_command() {
	"$NSRUN" run --override "$DEGRADE" -- sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done' >"$T_TMP/o" 2>&1 &
	sv=$!
	for _ in $(seq 50); do grep -q ready "$T_TMP/o" && break; sleep 0.1; done
	kill -TERM "$sv"
	wait "$sv"
	rc=$?
	[ "$rc" = 7 ] || fail "exit $rc, output: $(cat "$T_TMP/o")"
	contains "$T_TMP/o" got-term
}

t_ignoring_sigterm_is_killed_after_grace() {
	m=$(marker)
	"$NSRUN" run --override "$DEGRADE" -- sh -c "trap '' TERM; echo ready; sleep $m" >"$T_TMP/o" 2>&1 &
	sv=$!
	for _ in $(seq 50); do grep -q ready "$T_TMP/o" && break; sleep 0.1; done
	kill -TERM "$sv"
	wait "$sv"
	rc=$?
	[ "$rc" = 137 ] || fail "exit $rc"
	no_process_left "sleep $m"
}

t_script_output_flood_is_truncated() {
	expect_exit 0 "$NSRUN" script --override "$DEGRADE" --script 'yes | head -c 100000000'
	[ "$(json_get "$OUT" outputTruncated)" = true ] || fail "not truncated"
	len=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["stdout"]))' "$OUT")
	[ "$len" = 5242880 ] || fail "captured $len bytes, want the 5 MiB cap"
	ms=$(json_get "$OUT" durationMs)
	[ "$ms" -lt 5000 ] || fail "took $ms ms (hang guard)"
}

t_run_output_cap_kills() {
	p=$(policy_file cap '{"onUnavailable":"degrade","resources":{"maxOutputBytes":1000}}')
	expect_exit 137 "$NSRUN" run --override "$p" -- sh -c 'yes'
}

t_run_output_cap_total_of_both_streams() {
	p=$(policy_file cap '{"onUnavailable":"degrade","resources":{"maxOutputBytes":1000}}')
	"$NSRUN" run --override "$p" -- sh -c 'head -c 600 /dev/zero; head -c 600 /dev/zero >&2; sleep 5' >"$T_TMP/o" 2>"$T_TMP/e"
	rc=$?
	[ "$rc" = 137 ] || fail "exit $rc"
	total=$(( $(tr -cd '\0' <"$T_TMP/o" | wc -c) + $(tr -cd '\0' <"$T_TMP/e" | wc -c) ))
	[ "$total" -le 1000 ] || fail "relayed $total bytes past the cap"
	contains "$T_TMP/e" "output exceeded maxOutputBytes (1000 bytes)"
}

t_script_timeout() {
	expect_exit 0 "$NSRUN" script --override "$DEGRADE" --timeout-ms 200 --script 'sleep 10'
	[ "$(json_get "$OUT" timedOut)" = true ] || fail "not timed out"
	[ "$(json_get "$OUT" exitCode)" = -1 ] || fail "exitCode not -1"
	ms=$(json_get "$OUT" durationMs)
	[ "$ms" -lt 3000 ] || fail "took $ms ms (hang guard)"
}

t_run_timeout_is_124_and_kills_tree() {
	m=$(marker)
	expect_exit 124 "$NSRUN" run --override "$DEGRADE" --timeout-ms 300 -- sh -c "setsid sleep $m & sleep $m"
	contains "$ERR" "nsrun: timed out after 300 ms"
	no_process_left "sleep $m"
}

t_script_result_shape() {
	expect_exit 0 "$NSRUN" script --override "$DEGRADE" --script 'echo out; echo err >&2; exit 4'
	[ "$(json_get "$OUT" exitCode)" = 4 ] || fail "exitCode"
	[ "$(json_get "$OUT" stdout)" = "out" ] || fail "stdout: $(json_get "$OUT" stdout)"
	[ "$(json_get "$OUT" signal)" = null ] || fail "signal"
	for k in timedOut outputTruncated durationMs sandbox.requested sandbox.enforced.network \
		sandbox.downgrades sandbox.notes sandbox.platform; do
		json_get "$OUT" "$k" >/dev/null || fail "missing $k"
	done
}

t_script_file_with_interpreter() {
	printf 'console.log("esm", typeof import.meta)\n' >"$T_TMP/check.mjs"
	printf 'echo from-file "$0"\n' >"$T_TMP/check.sh"
	expect_exit 0 "$NSRUN" script --override "$DEGRADE" --script-file "$T_TMP/check.sh"
	contains "$OUT" 'from-file /run/nsrun/script/check.sh'
	node=$(command -v node) || return 0
	expect_exit 0 "$NSRUN" script --override "$DEGRADE" --script-file "$T_TMP/check.mjs" --interpreter "$node"
	contains "$OUT" 'esm object'
}

t_script_refused_prints_result() {
	p=$(policy_file f '{"onUnavailable":"fail","network":{"allow":["10.9.9.9"]}}')
	expect_exit 0 env NSRUN_SLIRP4NETNS=/nonexistent "$NSRUN" script --policy "$p" --script 'echo should-not-run'
	[ "$(json_get "$OUT" exitCode)" = -1 ] || fail "exitCode"
	lacks "$OUT" "should-not-run\\n"
	contains "$OUT" "refused"
}

t_fail_closed_refuses_with_125() {
	p=$(policy_file f '{"network":{"allow":["10.9.9.9"]}}')
	m=$(marker)
	expect_exit 125 env NSRUN_SLIRP4NETNS=/nonexistent "$NSRUN" run --override "$p" --report "$T_TMP/r.json" -- sh -c "echo ran-$m"
	lacks "$OUT" "ran-$m"
	contains "$ERR" "nsrun: refused (onUnavailable: fail):"
	contains "$ERR" "network:"
	[ "$(json_get "$T_TMP/r.json" enforced.network)" = false ] || fail "report says enforced"
}

t_report_file_and_fd() {
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" --report "$T_TMP/r.json" -- true
	for k in requested enforced.resources enforced.filesystem enforced.network enforced.privilege downgrades notes platform; do
		json_get "$T_TMP/r.json" "$k" >/dev/null || fail "report lacks $k"
	done
	"$NSRUN" run --override "$DEGRADE" --report-fd 5 -- true 5>"$T_TMP/fd.json" || fail "exit $?"
	[ "$(json_get "$T_TMP/fd.json" platform)" = linux ] || fail "report-fd"
}

t_env_is_curated() {
	expect_exit 0 env DATABASE_URL=secret "$NSRUN" run --override "$DEGRADE" --report "$T_TMP/r.json" \
		--env GREETING=hi --env LD_PRELOAD=/x.so --env NODE_OPTIONS=--x -- env
	contains "$OUT" "GREETING=hi"
	lacks "$OUT" "DATABASE_URL"
	lacks "$OUT" "LD_PRELOAD"
	contains "$OUT" "HOME=/scratch"
	contains "$OUT" "TMPDIR=/tmp"
	[ "$(json_get "$T_TMP/r.json" droppedEnv)" = '["LD_PRELOAD", "NODE_OPTIONS"]' ] || fail "droppedEnv: $(json_get "$T_TMP/r.json" droppedEnv)"
}

t_disabled_policy_runs_directly() {
	p=$(policy_file off '{"enabled":false}')
	expect_exit 0 "$NSRUN" run --policy "$p" --report "$T_TMP/r.json" -- sh -c 'echo ok'
	contains "$OUT" ok
	[ "$(json_get "$T_TMP/r.json" enforced.privilege)" = false ] || fail "disabled must enforce nothing"
}

# The caller's ignored signals (nohup, a background job's SIGINT, a
# supervisor's SIGPIPE) do not reach the command: it starts with default
# dispositions, sandboxed or not, so it can be interrupted and its shell
# can trap what nsrun forwards.
t_inherited_ignored_signals_are_reset() {
	local p
	p=$(policy_file off '{"enabled":false}')
	for pol in "$DEGRADE" "$p"; do
		expect_exit 0 bash -c 'trap "" INT QUIT PIPE USR1; exec "$@"' _ "$NSRUN" run --policy "$pol" \
			-- sh -c 'grep "^SigIgn:" /proc/self/status'
		contains "$OUT" "$(printf 'SigIgn:\t0000000000000000')"
	done
	# and the check above can fail: without nsrun the set is inherited
	bash -c 'trap "" INT QUIT PIPE USR1; exec grep "^SigIgn:" /proc/self/status' >"$T_TMP/plain"
	lacks "$T_TMP/plain" "$(printf 'SigIgn:\t0000000000000000')"
}

t_probe_reports_capabilities() {
	"$NSRUN" probe >"$T_TMP/p.json"
	rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "probe exit $rc"
	for k in platform kernel supervisorEuidIsRoot userNamespaces.available netNamespaces nftables \
		rootlessEgress seccomp landlock cgroup.version policy.enforced enforceable guidance; do
		json_get "$T_TMP/p.json" "$k" >/dev/null || fail "probe lacks $k"
	done
	[ "$(json_get "$T_TMP/p.json" userNamespaces.available)" = true ] || fail "userns should work here"
	if [ "$(json_get "$T_TMP/p.json" enforceable)" = true ]; then [ "$rc" = 0 ] || fail "rc"; else [ "$rc" = 1 ] || fail "rc"; fi
}

t_script_file_without_new_root() {
	printf 'echo in-place "$0"\n' >"$T_TMP/s.sh"
	chmod 755 "$T_TMP"
	p=$(policy_file off '{"onUnavailable":"degrade","filesystem":{"mode":"off"}}')
	expect_exit 0 "$NSRUN" script --policy "$p" --script-file "$T_TMP/s.sh"
	contains "$OUT" "in-place $T_TMP/s.sh"
}

# Regression: a run's cgroup probe used to lose a race with another run
# removing the shared parent cgroup, and refused to start (exit 125).
t_concurrent_runs_never_refuse() {
	only_root
	seq 120 | xargs -P 8 -I{} sh -c '"$1" run -- true >/dev/null 2>&1 || echo "run failed: $?"' _ "$NSRUN" >"$T_TMP/fails"
	[ ! -s "$T_TMP/fails" ] || fail "$(sort "$T_TMP/fails" | uniq -c)"
}
