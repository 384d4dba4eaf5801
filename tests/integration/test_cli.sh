# Bad input: one clear line on stderr, exit 2, nothing spawned.

t_missing_command() {
	expect_exit 2 "$NSRUN" run --
	contains "$ERR" "nsrun: run: missing COMMAND"
	expect_exit 2 "$NSRUN" run
	contains "$ERR" "missing COMMAND"
}

t_no_subcommand_and_unknown_ones() {
	expect_exit 2 "$NSRUN"
	contains "$ERR" "nsrun: missing command"
	expect_exit 2 "$NSRUN" frobnicate
	contains "$ERR" "unknown command 'frobnicate'"
	expect_exit 2 "$NSRUN" run --frob -- true
	contains "$ERR" "--frob: unknown option"
}

t_missing_scratch_dir() {
	expect_exit 2 "$NSRUN" run --scratch /nonexistent/nsrun-x -- true
	contains "$ERR" "nsrun: --scratch: /nonexistent/nsrun-x: No such file or directory"
	expect_exit 2 "$NSRUN" run --scratch /etc/hostname -- true
	contains "$ERR" "Not a directory"
}

t_unreadable_policy() {
	expect_exit 2 "$NSRUN" run --policy /nonexistent.json -- true
	contains "$ERR" "nsrun: policy: /nonexistent.json: No such file or directory"
	expect_exit 2 "$NSRUN" run --policy "$T_TMP" -- true
	contains "$ERR" "nsrun: policy: $T_TMP: Is a directory"
}

t_unreadable_policy_permission() {
	only_rootless
	# /etc/shadow is root-only on Debian: the rootless user cannot read it.
	expect_exit 2 "$NSRUN" run --policy /etc/shadow -- true
	contains "$ERR" "nsrun: policy: /etc/shadow: Permission denied"
}

t_malformed_env() {
	expect_exit 2 "$NSRUN" run --env NOVALUE -- true
	contains "$ERR" "--env 'NOVALUE': expected KEY=VALUE"
	expect_exit 2 "$NSRUN" run --env =x -- true
	contains "$ERR" "empty KEY"
}

t_conflicting_options() {
	expect_exit 2 "$NSRUN" script --script 'true' --script-file /etc/hostname
	contains "$ERR" "exactly one of --script TEXT or --script-file FILE"
	expect_exit 2 "$NSRUN" script
	contains "$ERR" "exactly one of"
	expect_exit 2 "$NSRUN" run --report "$T_TMP/r" --report-fd 1 -- true
	contains "$ERR" "--report and --report-fd are exclusive"
	expect_exit 2 "$NSRUN" script --report "$T_TMP/r" --script true
	contains "$ERR" "--report: unknown option for this command"
	expect_exit 2 "$NSRUN" run --report-fd 99 -- true
	contains "$ERR" "--report-fd: '99' is not an open file descriptor"
	expect_exit 2 "$NSRUN" run --timeout-ms abc -- true
	contains "$ERR" "--timeout-ms: must be an integer"
	expect_exit 2 "$NSRUN" policy --scratch /tmp
	contains "$ERR" "--scratch: unknown option for this command"
}

t_policy_of_one_gigabyte() {
	truncate -s 1G "$T_TMP/huge.json"
	expect_exit 2 "$NSRUN" run --policy "$T_TMP/huge.json" -- true
	contains "$ERR" "nsrun: policy: $T_TMP/huge.json: larger than"
}

t_policy_deeply_nested() {
	python3 -c 'print("{\"network\":{\"allow\":" + "["*200000 + "]"*200000 + "}}")' >"$T_TMP/deep.json"
	expect_exit 2 "$NSRUN" policy --policy "$T_TMP/deep.json"
	contains "$ERR" "nsrun: policy: --policy: invalid JSON"
}

t_invalid_policy_field_named() {
	p=$(policy_file bad '{"resources":{"maxProcesses":0}}')
	expect_exit 2 "$NSRUN" run --policy "$p" -- true
	contains "$ERR" "nsrun: policy: resources.maxProcesses: must be an integer in 1..65536"
	p=$(policy_file bad2 '{"network":{"allow":["10.0.0.0/33"]}}')
	expect_exit 2 "$NSRUN" run --override "$p" -- true
	contains "$ERR" 'network.allow[0]: "10.0.0.0/33"'
	[ "$(wc -l <"$ERR")" -eq 1 ] || fail "more than one line on stderr"
}

t_policy_command_prints_resolved() {
	p=$(policy_file o '{"network":{"mode":"deny"}}')
	expect_exit 0 "$NSRUN" policy --override "$p"
	[ "$(json_get "$OUT" network.mode)" = deny ] || fail "override not applied"
	[ "$(json_get "$OUT" resources.maxProcesses)" = 256 ] || fail "default lost"
	[ "$(json_get "$OUT" onUnavailable)" = fail ] || fail "default lost"
}

t_help_and_version() {
	expect_exit 0 "$NSRUN" --help
	contains "$OUT" "nsrun run    [OPTIONS] -- COMMAND"
	contains "$OUT" "exit status of run"
	expect_exit 0 "$NSRUN" --version
	contains "$OUT" "nsrun 0."
}

t_bad_sandbox_uid_env() {
	expect_exit 2 env NSRUN_SANDBOX_UID=abc "$NSRUN" run -- true
	contains "$ERR" "NSRUN_SANDBOX_UID: must be an integer"
}
