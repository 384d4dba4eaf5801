# The privilege layer (SPEC §6 "Privilege") attacked from inside a real
# sandbox: one test per probe attack (tests/helpers/probe.c), plus the caller's
# fds, a real pty, a setuid-root binary, ids and groups, and ordinary
# programs that must keep working under the seccomp filter.

PROBE=$NSRUN_BUILD/probe

# probe_run ATTACK [NSRUN-OPTION...]: runs `/probe ATTACK` in a sandbox; the
# probe exits 0 only when the attack failed. Also checks the report claims
# the privilege layer, so a pass never comes from a silently degraded run.
probe_run() {
	local attack=$1
	shift
	[ -x "$PROBE" ] || fail "probe not built: $PROBE"
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" --report "$T_TMP/report.json" \
		--ro-bind "$PROBE:/probe" "$@" -- /probe "$attack"
	contains "$OUT" "$attack: "
	[ "$(json_get "$T_TMP/report.json" enforced.privilege)" = true ] ||
		fail "report: privilege not enforced: $(cat "$T_TMP/report.json")"
}

# The seccomp filter answers EPERM before the kernel looks at arguments;
# any other errno means something else stopped the attack.
probe_eperm() {
	probe_run "$1"
	contains "$OUT" "$1: blocked errno=EPERM"
}

t_unshare_user() { probe_eperm unshare-user; }
t_clone_with_namespace_flags() { probe_eperm clone-ns; }
t_mount() { probe_eperm mount; }
t_ptrace_traceme() { probe_eperm ptrace-traceme; }
t_ptrace_attach_parent() { probe_eperm ptrace-parent; }
t_keyctl() { probe_eperm keyctl; }
t_bpf() { probe_eperm bpf; }
t_perf_event_open() { probe_eperm perf; }
t_userfaultfd() { probe_eperm userfaultfd; }
t_io_uring() { probe_eperm io-uring; }
t_open_by_handle_at() { probe_eperm open-by-handle; }
t_kernel_modules() { probe_eperm init-module; }
t_kexec() { probe_eperm kexec; }
t_clock_settime() { probe_eperm clock-settime; }
t_swapon() { probe_eperm swapon; }
t_capset_cannot_raise() { probe_eperm capset; }

t_netfilter_netlink_denied_route_netlink_allowed() {
	probe_eperm nfnetlink
	contains "$OUT" "route=ok"
}

# Twice over: the sysctl reads 0 and cannot be raised, and unshare is denied.
t_userns_sysctl_is_zero_and_stays() {
	probe_run userns-sysctl
	contains "$OUT" "value=0 "
	contains "$OUT" "unshare=EPERM"
}

t_tiocsti() {
	probe_eperm tiocsti
	contains "$OUT" "hi=EPERM"
}

# Under a real pty the command's fd 0 is the caller's terminal: TIOCSTI on
# it must still fail (seccomp, and no controlling tty after setsid).
t_tiocsti_under_a_real_pty() {
	[ -x "$PROBE" ] || fail "probe not built: $PROBE"
	command -v script >/dev/null || skip "script(1) from util-linux not installed"
	local cmd
	cmd=$(printf '%q ' "$NSRUN" run --override "$DEGRADE" --ro-bind "$PROBE:/probe" -- /probe tiocsti)
	OUT=$T_TMP/out
	script -qec "$cmd" /dev/null </dev/null >"$OUT" 2>&1
	rc=$?
	[ "$rc" = 0 ] || { cat "$OUT" >&2; fail "probe tiocsti under a pty: exit $rc"; }
	contains "$OUT" "tiocsti: blocked errno=EPERM"
	contains "$OUT" "fd0=EPERM(tty)"
}

# Foreign syscall ABIs kill the process: 128 + SIGSYS (31).
foreign_abi() {
	[ "$(uname -m)" = x86_64 ] || skip "x86_64 only"
	[ -x "$PROBE" ] || fail "probe not built: $PROBE"
	expect_exit 159 "$NSRUN" run --override "$DEGRADE" --ro-bind "$PROBE:/probe" -- /probe "$1"
	lacks "$OUT" "survived"
}

t_int80_i386_syscall_is_killed() {
	# Without ia32 emulation int 0x80 dies by SIGSEGV before seccomp.
	"$PROBE" int80 >/dev/null 2>&1
	[ $? = 139 ] && skip "kernel without ia32 emulation"
	foreign_abi int80
}

t_x32_syscall_is_killed() { foreign_abi x32; }

t_setuid0_fails() { probe_run setuid0; }

t_status_no_caps_nnp_seccomp() {
	probe_run status
	contains "$OUT" "status: ok caps=0 NoNewPrivs=1 Seccomp=2"
}

t_only_fds_0_to_2() { probe_run fds; }

# fds the caller leaves open (not CLOEXEC) must not reach the command.
t_callers_open_fds_are_not_inherited() {
	exec 7</etc/hostname 9>"$T_TMP/leak"
	probe_run fds
	contains "$OUT" "fds: ok"
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" -- \
		sh -c 'if cat <&7; then echo READ7; fi; if echo x >&9; then echo WROTE9; fi; exit 0'
	lacks "$OUT" "READ7"
	lacks "$OUT" "WROTE9"
	[ ! -s "$T_TMP/leak" ] || fail "the sandbox wrote to the caller's fd 9"
	exec 7<&- 9>&-
}

t_no_supplementary_groups() { probe_run groups; }

# A root caller with supplementary groups: none of them reach the command.
t_root_callers_groups_are_cleared() {
	only_root
	command -v setpriv >/dev/null || skip "setpriv(1) not installed"
	[ -x "$PROBE" ] || fail "probe not built: $PROBE"
	expect_exit 0 setpriv --groups 4,20,27 "$NSRUN" run --override "$DEGRADE" \
		--ro-bind "$PROBE:/probe" -- /probe groups
	contains "$OUT" "groups: ok"
}

t_uid_is_not_zero() {
	probe_run uid
	contains "$OUT" "uid: ok"
	if [ "$NSRUN_AS" = rootless ]; then
		contains "$OUT" "uid=$(id -u) "
	fi
}

t_id_shows_nonzero_uid_and_no_groups() {
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" -- \
		sh -c 'echo "u=$(id -u) g=$(id -g) G=$(id -G)"'
	read -r u g G <"$OUT"
	[ "${u#u=}" != 0 ] || fail "uid 0: $(cat "$OUT")"
	[ "${G#G=}" = "${g#g=}" ] || fail "supplementary groups: $(cat "$OUT")"
}

# A setuid-root binary bound in confers nothing (nosuid mounts, no_new_privs,
# SECBIT_NOROOT): its effective uid stays the sandbox's.
t_setuid_root_binary_gains_nothing() {
	only_root
	cp /usr/bin/id "$T_TMP/suid-id"
	chown root:root "$T_TMP/suid-id"
	chmod 4755 "$T_TMP/suid-id"
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" --ro-bind "$T_TMP/suid-id:/suid-id" -- \
		/suid-id -u
	[ "$(cat "$OUT")" != 0 ] || fail "the setuid binary ran with euid 0"
	grep -qE '^[0-9]+$' "$OUT" || fail "unexpected output: $(cat "$OUT")"
}

# personality: the query and harmless personas work, disabling ASLR does not.
t_setarch_cannot_disable_aslr() {
	command -v setarch >/dev/null || skip "setarch(1) not installed"
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" -- setarch "$(uname -m)" true
	"$NSRUN" run --override "$DEGRADE" -- setarch "$(uname -m)" -R true >"$T_TMP/o" 2>&1 &&
		fail "setarch -R (ADDR_NO_RANDOMIZE) succeeded"
	grep -q "Operation not permitted" "$T_TMP/o" || fail "unexpected: $(cat "$T_TMP/o")"
}

# The filter must not break ordinary work: shells, coreutils, fork, threads
# (glibc's clone3 falls back to clone on ENOSYS), python.
t_ordinary_programs_work() {
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" -- sh -c \
		'echo hello; ls / >/dev/null && echo ls-ok; sh -c "echo nested"; cat /etc/passwd >/dev/null && echo cat-ok'
	contains "$OUT" hello
	contains "$OUT" ls-ok
	contains "$OUT" nested
	contains "$OUT" cat-ok
	[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" -- /usr/bin/python3 -c '
import os, subprocess, threading
out = []
t = threading.Thread(target=lambda: out.append("thread-ok")); t.start(); t.join()
print(out[0], 6 * 7)
print(subprocess.run(["echo", "subprocess-ok"], capture_output=True, text=True).stdout.strip())
print("time-ok" if os.times() else "")'
	contains "$OUT" "thread-ok 42"
	contains "$OUT" "subprocess-ok"
	contains "$OUT" "time-ok"
}
