# Fault injection: a broken or hostile environment around the sandbox. Each
# test asserts a clear result (a one-line reason), the documented exit code
# (SPEC §1) and that nothing is left behind: no process, no cgroup, no change
# to the host's mounts.
#
# Not repeated here (see the other files): a missing slirp4netns and the
# degrade path (test_net.sh, test_run.sh), slirp4netns killed mid-run and a
# SIGKILLed supervisor taking slirp4netns along (test_net.sh), SIGTERM
# forwarded / ignored and SIGKILL leaving no process (test_run.sh), a missing,
# directory, EACCES, 1 GB or deeply nested policy (test_cli.sh), /dev/net/tun
# absent in a container (test_container.sh).
#
# As root, runs that plan egress happen in a fresh network namespace made by
# `unshare --net` (only a down loopback: no route anywhere, SPEC §7). The
# stand-in slirp4netns helpers used here never create an interface.

# ---- helpers ---------------------------------------------------------------

f_mark() { echo "$((RANDOM % 9000 + 1000))$$"; }

# The host's mounts, minus /run/netns (other suites add and remove named
# namespaces there while we run).
f_mounts() { awk '$5 !~ "^/run/netns/" {print $5, $(NF-2), $(NF-1)}' /proc/self/mountinfo | sort; }

# f_sv PIDFILE CMD...: runs CMD (which must exec nsrun in place: env,
# unshare without --fork and nsenter without --fork all do) after writing its
# pid, so the test knows which supervisor it was.
f_sv() {
	local pidfile=$1
	shift
	bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@"
}

# Root: a fresh network namespace with nothing routed, for runs that plan
# egress (a prefix that execs in place, so f_sv still sees nsrun's pid).
# Rootless users cannot make one; their stand-in helpers have no way out.
f_world=()
[ "$NSRUN_AS" = root ] && f_world=(unshare --net --)

f_no_process() { # PATTERN [SECONDS=5]
	local i
	for i in $(seq $((${2:-5} * 10))); do
		pgrep -f -- "$1" >/dev/null || return 0
		sleep 0.1
	done
	pgrep -af -- "$1" >&2
	fail "process '$1' left behind"
}

f_no_cgroup_of() { # SUPERVISOR_PID: its nsrun-<pid>-* cgroups are gone
	local i left
	for i in $(seq 30); do
		left=$(new_cgroups_of "$1")
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	fail "cgroups of supervisor $1 left behind: $left"
}

# The host's mounts are as before (another suite's transient mount may come
# and go meanwhile: it gets 3 s to).
f_same_mounts() { # MOUNTS_BEFORE
	local i
	for i in $(seq 30); do
		[ "$1" = "$(f_mounts)" ] && return 0
		sleep 0.1
	done
	fail "the host's mounts changed: $(diff <(echo "$1") <(f_mounts))"
}

# f_nothing_left MARK PIDFILE MOUNTS_BEFORE
f_nothing_left() {
	f_no_process "$1"
	[ -s "$2" ] && f_no_cgroup_of "$(cat "$2")"
	f_same_mounts "$3"
}

# The run is refused or failed with ONE reason line on stderr.
f_one_reason() { # ERRFILE TEXT
	contains "$1" "$2"
	[ "$(grep -c '^nsrun: ' "$1")" = 1 ] || { cat "$1" >&2; fail "more than one reason line"; }
}

f_egress_policy() { # NAME [onUnavailable]: an allowlist with one entry
	policy_file "$1" "{\"onUnavailable\":\"${2:-degrade}\",\"network\":{\"mode\":\"allowlist\",\"allow\":[\"10.9.9.9\"]}}"
}

f_pid() { # PIDFILE: the supervisor's pid, once f_sv has written it
	local i
	for i in $(seq 100); do
		[ -s "$1" ] && { cat "$1"; return 0; }
		sleep 0.05
	done
	fail "no pid in $1"
}

f_wait_for() { # FILE TEXT [SECONDS=5]
	local i
	for i in $(seq $((${3:-5} * 20))); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "'$2' never appeared in $1: $(head -c 500 "$1")"
}

# ---- slirp4netns failing -----------------------------------------------------

# The helper starts and exits 1 at once: 125, its own words in the reason,
# the command never ran, nothing left. degrade does not help: the host said
# egress was possible, so this is a set-up failure, not a downgrade.
t_fault_slirp_exits_at_start() {
	local m pol before
	m=$(f_mark)
	printf '#!/bin/sh\necho "fake slirp4netns: cannot start" >&2\nexit 1\n' >"$T_TMP/slirp-exit"
	chmod 755 "$T_TMP/slirp-exit"
	pol=$(f_egress_policy egress)
	before=$(f_mounts)
	expect_exit 125 f_sv "$T_TMP/sv.pid" env NSRUN_SLIRP4NETNS="$T_TMP/slirp-exit" \
		"${f_world[@]}" "$NSRUN" run --policy "$pol" -- sh -c "echo ran-$m"
	lacks "$OUT" "ran-$m"
	f_one_reason "$ERR" "nsrun: slirp4netns: exited with status 1 before attaching tap0"
	contains "$ERR" "fake slirp4netns: cannot start"
	lacks "$ERR" "during the run"
	f_nothing_left "$m" "$T_TMP/sv.pid" "$before"
	# script: the refusal is a result, printed as one JSON object.
	expect_exit 0 env NSRUN_SLIRP4NETNS="$T_TMP/slirp-exit" \
		"${f_world[@]}" "$NSRUN" script --policy "$pol" --script "echo ran-$m"
	[ "$(json_get "$OUT" exitCode)" = -1 ] || fail "exitCode: $(cat "$OUT")"
	lacks "$OUT" "ran-$m\\n"
	contains "$OUT" "slirp4netns"
}

# The same, with the sandbox's init already dead when the supervisor next
# looks (a loaded machine): the reaped helper's pid must not be waited for
# again, since waitpid(0) would reap init behind its pidfd and the run would
# spin forever (CI hung once in 30 under ASan). An LD_PRELOAD shim pauses
# 300 ms after each SIGKILL sent through a pidfd, which makes it every time.
t_fault_slirp_exits_and_init_dies_first() {
	local m pol
	command -v cc >/dev/null || skip "no C compiler to build the shim"
	m=$(f_mark)
	printf '#!/bin/sh\nexit 1\n' >"$T_TMP/slirp-exit"
	chmod 755 "$T_TMP/slirp-exit"
	cat >"$T_TMP/slowkill.c" <<'SHIM'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>
long syscall(long n, ...)
{
	static long (*real)(long, ...);
	long a[6], r;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	r = real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (n == SYS_pidfd_send_signal && a[1] == SIGKILL)
		usleep(300000);
	return r;
}
SHIM
	cc -shared -fPIC -O2 -o "$T_TMP/slowkill.so" "$T_TMP/slowkill.c" -ldl || fail "building the shim"
	chmod 755 "$T_TMP/slowkill.so"
	pol=$(f_egress_policy egress)
	for _ in 1 2 3; do
		expect_exit 125 timeout -k 2 20 env LD_PRELOAD="$T_TMP/slowkill.so" \
			NSRUN_SLIRP4NETNS="$T_TMP/slirp-exit" "${f_world[@]}" "$NSRUN" run --policy "$pol" \
			-- sh -c "echo ran-$m"
		f_one_reason "$ERR" "nsrun: slirp4netns: exited with status 1 before attaching tap0"
		expect_exit 0 timeout -k 2 20 env LD_PRELOAD="$T_TMP/slowkill.so" \
			NSRUN_SLIRP4NETNS="$T_TMP/slirp-exit" "${f_world[@]}" "$NSRUN" script --policy "$pol" \
			--script "echo ran-$m"
		[ "$(json_get "$OUT" exitCode)" = -1 ] || fail "exitCode: $(cat "$OUT")"
	done
}

# The helper starts and never says "ready", ignoring SIGTERM: the wait for
# tap0 times out, the helper is killed, 125, and it takes seconds, not forever.
t_fault_slirp_hangs_before_ready() {
	local m pol before t0 el
	m=$(f_mark)
	cat >"$T_TMP/slirp-hang" <<EOF
#!/bin/sh
exec python3 -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep($m)' hang-$m
EOF
	chmod 755 "$T_TMP/slirp-hang"
	pol=$(f_egress_policy egress)
	before=$(f_mounts)
	t0=$(date +%s%N)
	expect_exit 125 f_sv "$T_TMP/sv.pid" env NSRUN_SLIRP4NETNS="$T_TMP/slirp-hang" \
		"${f_world[@]}" "$NSRUN" run --policy "$pol" -- sh -c "echo ran-$m"
	el=$((($(date +%s%N) - t0) / 1000000))
	[ "$el" -lt 15000 ] || fail "took $el ms to give up on a silent slirp4netns"
	lacks "$OUT" "ran-$m"
	f_one_reason "$ERR" "nsrun: slirp4netns: tap0 not attached within"
	f_no_process "hang-$m"
	f_nothing_left "$m" "$T_TMP/sv.pid" "$before"
}

# ---- /dev/net/tun absent ------------------------------------------------------

# In a private mount namespace (never on the host), /dev/net is an empty
# tmpfs: fail-closed refuses with 125 and names the device; degrade runs
# without egress and the report says so.
t_fault_tun_absent() {
	only_root
	local m pol before
	m=$(f_mark)
	[ -c /dev/net/tun ] || skip "this host has no /dev/net/tun to hide"
	pol=$(f_egress_policy fail fail)
	before=$(f_mounts)
	# unshare -m makes the new mount tree private (util-linux's default), so
	# the tmpfs cannot propagate back to the host.
	notun() { unshare --mount --propagation private --net -- sh -c \
		'mount -t tmpfs -o size=4k,mode=755 none /dev/net && exec "$@"' notun "$@"; }
	expect_exit 125 notun "$NSRUN" run --policy "$pol" -- sh -c "echo ran-$m"
	lacks "$OUT" "ran-$m"
	f_one_reason "$ERR" "/dev/net/tun"
	pol=$(f_egress_policy degrade degrade)
	expect_exit 0 notun "$NSRUN" run --policy "$pol" --report "$T_TMP/r.json" -- sh -c "echo ran-$m"
	contains "$OUT" "ran-$m"
	[ "$(json_get "$T_TMP/r.json" enforced.network)" = false ] || fail "network marked enforced"
	contains "$T_TMP/r.json" "/dev/net/tun"
	expect_exit 1 notun "$NSRUN" probe --policy "$pol"
	[ "$(json_get "$OUT" rootlessEgress.tun.available)" = false ] || fail "probe: tun available"
	[ -c /dev/net/tun ] || fail "the host's /dev/net/tun is gone"
	f_nothing_left "$m" /dev/null "$before"
}

# ---- libmnl not loadable ------------------------------------------------------

# Where libmnl is loaded on first use (netns/lazy/mnl_lazy.c), a host where it
# cannot be: fail refuses (125) naming it, degrade runs with the network layer
# reported down, probe says nftables is unavailable and why. A shim makes
# dlopen of libmnl fail as a missing file does. A build that links libmnl
# (the ASan build) has no such path; there the test checks what image
# builders rely on instead: ldd lists it and --version names nothing loaded
# later (scripts/container/mkrootfs.sh copies the union of the two).
t_fault_libmnl_unloadable() {
	local m pol before
	case $(ldd "$NSRUN" 2>/dev/null) in
	*libmnl*)
		if "$NSRUN" --version | grep -q "loads on first use"; then
			fail "links libmnl, yet --version says it loads a library on first use"
		fi
		return 0
		;;
	esac
	"$NSRUN" --version | grep -qx "loads on first use: libmnl.so.0" ||
		fail "--version does not name the library loaded on first use"
	command -v cc >/dev/null || skip "no C compiler to build the shim"
	m=$(f_mark)
	cat >"$T_TMP/nomnl.c" <<'SHIM'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
void *dlopen(const char *file, int mode)
{
	static void *(*real)(const char *, int);

	if (!real)
		real = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
	return real(file && strstr(file, "libmnl") ? "/nonexistent/libmnl.so.0" : file, mode);
}
SHIM
	cc -shared -fPIC -O2 -o "$T_TMP/nomnl.so" "$T_TMP/nomnl.c" -ldl || fail "building the shim"
	chmod 755 "$T_TMP/nomnl.so"
	nomnl() { env LD_PRELOAD="$T_TMP/nomnl.so" "$@"; }
	before=$(f_mounts)
	pol=$(f_egress_policy fail fail)
	expect_exit 125 nomnl "${f_world[@]}" "$NSRUN" run --policy "$pol" -- sh -c "echo ran-$m"
	lacks "$OUT" "ran-$m"
	f_one_reason "$ERR" "cannot load libmnl"
	pol=$(f_egress_policy degrade degrade)
	expect_exit 0 nomnl "${f_world[@]}" "$NSRUN" run --policy "$pol" --report "$T_TMP/r.json" \
		-- sh -c "echo ran-$m"
	contains "$OUT" "ran-$m"
	[ "$(json_get "$T_TMP/r.json" enforced.network)" = false ] || fail "network marked enforced"
	contains "$T_TMP/r.json" "cannot load libmnl"
	expect_exit 1 nomnl "${f_world[@]}" "$NSRUN" probe --policy "$pol"
	[ "$(json_get "$OUT" nftables.available)" = false ] || fail "probe: nftables available"
	contains "$OUT" "cannot load libmnl"
	# and without the shim, the same policy enforces the network
	expect_exit 0 "${f_world[@]}" "$NSRUN" run --policy "$pol" --report "$T_TMP/r.json" -- true
	[ "$(json_get "$T_TMP/r.json" enforced.network)" = true ] || fail "network not enforced"
	f_nothing_left "$m" /dev/null "$before"
}

# ---- the scratch dir deleted mid-run -------------------------------------------

# The host removes --scratch while the command runs in it: the command sees
# its cwd vanish, nsrun returns the command's own status, and no mount of the
# scratch dir is left anywhere on the host.
t_fault_scratch_deleted_mid_run() {
	local m before rc
	m=$(f_mark)
	mkdir "$T_TMP/scratch"
	chmod 777 "$T_TMP/scratch" # a root supervisor's command runs as another uid
	before=$(f_mounts)
	f_sv "$T_TMP/sv.pid" "$NSRUN" run --override "$DEGRADE" --scratch "$T_TMP/scratch" -- \
		sh -c "echo data >file; echo ready; while [ -e file ]; do sleep 0.05; done; echo gone; ls -a . ; echo x >new || exit 9; exit 8" \
		"run-$m" >"$T_TMP/o" 2>"$T_TMP/e" </dev/null &
	f_wait_for "$T_TMP/o" ready
	[ -f "$T_TMP/scratch/file" ] || fail "the scratch file is not on the host"
	rm -rf "$T_TMP/scratch"
	wait $!
	rc=$?
	contains "$T_TMP/o" gone
	# Writing into a deleted directory fails (ENOENT): the command says 9.
	[ "$rc" = 9 ] || fail "exit $rc, want the command's 9: $(cat "$T_TMP/o" "$T_TMP/e")"
	[ ! -e "$T_TMP/scratch" ] || fail "the scratch dir came back"
	f_nothing_left "run-$m" "$T_TMP/sv.pid" "$before"
}

# ---- unreadable policy ---------------------------------------------------------

# Read errors other than open errors (EIO), a closed stdin for "-", and an
# unreadable --override: exit 2, one line naming the file, nothing spawned.
t_fault_policy_read_errors() {
	local m
	m=$(f_mark)
	# /proc/self/mem opens but every read at offset 0 fails with EIO.
	expect_exit 2 "$NSRUN" run --policy /proc/self/mem -- sh -c "echo ran-$m"
	f_one_reason "$ERR" "nsrun: policy: /proc/self/mem: Input/output error"
	expect_exit 2 "$NSRUN" run --override /proc/self/mem -- sh -c "echo ran-$m"
	f_one_reason "$ERR" "nsrun: policy: /proc/self/mem: Input/output error"
	expect_exit 2 "$NSRUN" script --override /proc/self/mem --script "echo ran-$m"
	contains "$ERR" "/proc/self/mem"
	# "-" with stdin closed, and with stdin at EOF.
	expect_exit 2 bash -c 'exec "$@" <&-' _ "$NSRUN" run --policy - -- sh -c "echo ran-$m"
	contains "$ERR" "nsrun: policy: "
	expect_exit 2 "$NSRUN" run --policy - -- sh -c "echo ran-$m"
	contains "$ERR" "nsrun: policy: "
	lacks "$OUT" "ran-$m"
	# A FIFO whose writer is slow is still read whole (process substitution
	# hands nsrun exactly that).
	mkfifo "$T_TMP/fifo"
	(sleep 0.5; printf '{"onUnavailable":'; sleep 0.3; printf '"degrade"}\n') >"$T_TMP/fifo" &
	expect_exit 0 "$NSRUN" run --policy "$T_TMP/fifo" -- sh -c "echo ran-$m"
	contains "$OUT" "ran-$m"
	wait
}

# A FIFO nobody ever writes to, and one whose writer never closes it: a
# clear error within the policy read deadline (5 s), never a hang; nothing
# runs.
t_fault_policy_fifo_without_writer_times_out() {
	local m t0 el w
	m=$(f_mark)
	mkfifo "$T_TMP/fifo"
	t0=$(date +%s%N)
	expect_exit 2 timeout -k 2 30 "$NSRUN" run --policy "$T_TMP/fifo" -- sh -c "echo ran-$m"
	el=$((($(date +%s%N) - t0) / 1000000))
	f_one_reason "$ERR" "nsrun: policy: $T_TMP/fifo: no complete policy within 5000 ms"
	lacks "$OUT" "ran-$m"
	[ "$el" -lt 15000 ] || fail "took $el ms"
	# the writer opens it, writes half a policy and stalls
	(printf '{"onUnavailable":'; exec sleep 20) >"$T_TMP/fifo" &
	w=$!
	expect_exit 2 timeout -k 2 30 "$NSRUN" run --override "$T_TMP/fifo" -- sh -c "echo ran-$m"
	f_one_reason "$ERR" "no complete policy within 5000 ms"
	lacks "$OUT" "ran-$m"
	kill "$w" 2>/dev/null
	wait
}

t_fault_override_unreadable_permission() {
	only_rootless
	printf '{"onUnavailable":"degrade"}\n' >"$T_TMP/o.json"
	chmod 000 "$T_TMP/o.json"
	expect_exit 2 "$NSRUN" run --override "$T_TMP/o.json" -- true
	f_one_reason "$ERR" "nsrun: policy: $T_TMP/o.json: Permission denied"
}

# ---- signals to the supervisor ------------------------------------------------

# SIGINT, SIGHUP and SIGQUIT reach the command like SIGTERM does (test_run.sh);
# a command that dies of them gives 128+N; its cgroup goes with it.
t_fault_supervisor_int_hup_quit() {
	local sig num m before rc
	before=$(f_mounts)
	for sig in INT HUP QUIT; do
		num=$(kill -l "$sig")
		m=$(f_mark)
		rm -f "$T_TMP/o" "$T_TMP/sv.pid" # no stale "ready" or pid from the last round
		f_sv "$T_TMP/sv.pid" "$NSRUN" run --override "$DEGRADE" -- \
			sh -c "trap 'echo got-$sig; exit 40' $sig; echo ready; while :; do sleep 0.05; done" \
			"run-$m" >"$T_TMP/o" 2>&1 </dev/null &
		f_wait_for "$T_TMP/o" ready
		kill -s "$sig" "$(f_pid "$T_TMP/sv.pid")"
		wait $!
		rc=$?
		[ "$rc" = 40 ] || fail "$sig: exit $rc: $(cat "$T_TMP/o")"
		contains "$T_TMP/o" "got-$sig"
		f_nothing_left "run-$m" "$T_TMP/sv.pid" "$before"
		# Not trapped: the command dies of it, 128+N.
		m=$(f_mark)
		rm -f "$T_TMP/o" "$T_TMP/sv.pid"
		f_sv "$T_TMP/sv.pid" "$NSRUN" run --override "$DEGRADE" -- \
			sh -c "echo ready; exec sleep $m" >"$T_TMP/o" 2>&1 </dev/null &
		f_wait_for "$T_TMP/o" ready
		sleep 0.1
		kill -s "$sig" "$(f_pid "$T_TMP/sv.pid")"
		wait $!
		rc=$?
		[ "$rc" = $((128 + num)) ] || fail "$sig untrapped: exit $rc, want $((128 + num)): $(cat "$T_TMP/o")"
		f_nothing_left "sleep $m" "$T_TMP/sv.pid" "$before"
	done
}

# SIGKILL of the supervisor AND its guard (a whole service's cgroup killed)
# leaves the run cgroup behind: the next run sweeps it. Root: the cgroup
# must exist for the test to mean anything.
t_fault_supervisor_and_guard_killed_cgroup_swept() {
	only_root
	local m sv guard before
	m=$(f_mark)
	before=$(f_mounts)
	f_sv "$T_TMP/sv.pid" "$NSRUN" run --override "$DEGRADE" -- \
		sh -c "echo ready; sleep $m & setsid sleep $m & wait" >"$T_TMP/o" 2>&1 </dev/null &
	f_wait_for "$T_TMP/o" ready
	sv=$(f_pid "$T_TMP/sv.pid")
	[ -n "$(new_cgroups_of "$sv")" ] || fail "the run has no cgroup"
	# named once its first job (the netns) is done: give it a moment
	for _ in $(seq 20); do
		guard=$(pgrep -P "$sv" -x nsrun-guard) && break
		sleep 0.1
	done
	[ -n "$guard" ] || fail "no guard under supervisor $sv"
	kill -KILL "$guard" "$sv"
	wait "$sv" 2>/dev/null
	f_no_process "sleep $m"
	[ -n "$(new_cgroups_of "$sv")" ] || fail "the cgroup went with no one to remove it"
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" -- true
	f_no_cgroup_of "$sv"
	f_same_mounts "$before"
}

# SIGKILL right after the run cgroup's mkdir, before any process is in it:
# the guard, forked before the mkdir, still removes it. (A cgroup made
# before its guard was left to the next run's sweep, which skips it while
# another process has the dead supervisor's pid: CI found one from a run
# hours earlier.) An LD_PRELOAD shim kills the supervisor after the mkdir.
t_fault_supervisor_killed_after_cgroup_mkdir() {
	local m sv rc
	command -v cc >/dev/null || skip "no C compiler to build the shim"
	m=$(f_mark)
	cat >"$T_TMP/mkdirkill.c" <<'SHIM'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int mkdir(const char *path, mode_t mode)
{
	static int (*real)(const char *, mode_t);
	const char *base = strrchr(path, '/'), *mark = getenv("SHIM_MARK");
	int r;

	if (!real)
		real = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
	r = real(path, mode);
	base = base ? base + 1 : path;
	if (r == 0 && strncmp(base, "nsrun-", 6) == 0 && !strstr(base, "probe")) {
		if (mark)
			close(open(mark, O_WRONLY | O_CREAT, 0644));
		kill(getpid(), SIGKILL);
	}
	return r;
}
SHIM
	cc -shared -fPIC -O2 -o "$T_TMP/mkdirkill.so" "$T_TMP/mkdirkill.c" -ldl || fail "building the shim"
	chmod 755 "$T_TMP/mkdirkill.so"
	for _ in 1 2 3; do
		rm -f "$T_TMP/made"
		f_sv "$T_TMP/sv.pid" env LD_PRELOAD="$T_TMP/mkdirkill.so" SHIM_MARK="$T_TMP/made" \
			"$NSRUN" run --override "$DEGRADE" -- sh -c "echo ran-$m" >"$T_TMP/o" 2>&1 </dev/null
		rc=$?
		if [ ! -e "$T_TMP/made" ]; then
			[ "$NSRUN_AS" = root ] && fail "a root run made no cgroup: exit $rc"
			exit 78 # this user gets no cgroup here: nothing to leave
		fi
		[ "$rc" = 137 ] || fail "the supervisor was not killed: exit $rc: $(head -c 500 "$T_TMP/o")"
		sv=$(f_pid "$T_TMP/sv.pid")
		lacks "$T_TMP/o" "ran-$m"
		f_no_cgroup_of "$sv"
	done
}

# ---- the command's own output ----------------------------------------------

# The command closes its stdout and stderr early: no hang, its status comes
# through, in run and in script.
t_fault_command_closes_stdout() {
	local t0 el
	t0=$(date +%s%N)
	expect_exit 5 "$NSRUN" run --override "$DEGRADE" -- sh -c 'echo before; exec >&- 2>&-; sleep 0.3; exit 5'
	contains "$OUT" before
	expect_exit 0 "$NSRUN" script --override "$DEGRADE" --script 'echo before; exec >&- 2>&-; sleep 0.3; exit 5'
	[ "$(json_get "$OUT" exitCode)" = 5 ] || fail "exitCode: $(cat "$OUT")"
	[ "$(json_get "$OUT" stdout)" = before ] || fail "stdout: $(json_get "$OUT" stdout)"
	# A daemon keeps a copy of stdout open after the command exits: nsrun
	# returns when the command does (its sandbox dies with it), not when the
	# daemon would have closed the pipe.
	expect_exit 0 "$NSRUN" run --override "$DEGRADE" -- sh -c 'sleep 30 & echo started'
	el=$((($(date +%s%N) - t0) / 1000000))
	[ "$el" -lt 10000 ] || fail "took $el ms"
}

# The caller's end goes away (`| head`): the command still runs to its end,
# its output is discarded, its status comes through, nothing hangs.
t_fault_caller_closes_stdout() {
	local m rc t0 el
	m=$(f_mark)
	t0=$(date +%s%N)
	"$NSRUN" run --override "$DEGRADE" -- sh -c "head -c 3000000 /dev/zero; echo done-$m >&2; exit 6" \
		2>"$T_TMP/e" </dev/null | head -c 10 >/dev/null
	rc=${PIPESTATUS[0]}
	el=$((($(date +%s%N) - t0) / 1000000))
	[ "$rc" = 6 ] || fail "exit $rc, want the command's 6: $(cat "$T_TMP/e")"
	contains "$T_TMP/e" "done-$m"
	[ "$el" -lt 10000 ] || fail "took $el ms"
}

# The caller stops reading without closing (a stalled consumer): the
# wall-clock limit still holds, the sandbox dies on time.
t_fault_stalled_reader_does_not_stop_the_timeout() {
	local m i alive_at_3s=0
	m=$(f_mark)
	mkfifo "$T_TMP/pipe"
	# The reader opens the pipe and does not read for 6 s.
	(exec 3<"$T_TMP/pipe"; sleep 6; cat <&3 >/dev/null) &
	f_sv "$T_TMP/sv.pid" "$NSRUN" run --override "$DEGRADE" --timeout-ms 1000 -- \
		sh -c "head -c 300000 /dev/zero; exec sleep $m" >"$T_TMP/pipe" 2>"$T_TMP/e" </dev/null &
	sleep 3
	pgrep -f "sleep $m" >/dev/null && alive_at_3s=1
	wait
	[ "$alive_at_3s" = 0 ] || fail "the command outlived --timeout-ms 1000 by 2 s while stdout was stalled"
	contains "$T_TMP/e" "timed out after 1000 ms"
	f_no_process "sleep $m"
}

# ---- timeout against a command that ignores SIGTERM ---------------------------

# The whole tree ignores SIGTERM, a grandchild in a session of its own:
# --timeout-ms still ends everything (SIGKILL after the grace), 124.
t_fault_timeout_ignoring_sigterm() {
	local m before t0 el
	m=$(f_mark)
	before=$(f_mounts)
	t0=$(date +%s%N)
	expect_exit 124 f_sv "$T_TMP/sv.pid" "$NSRUN" run --override "$DEGRADE" --timeout-ms 300 -- \
		sh -c "trap '' TERM INT HUP; setsid sh -c \"trap '' TERM; sleep $m\" & sleep $m; sleep $m" "run-$m"
	el=$((($(date +%s%N) - t0) / 1000000))
	f_one_reason "$ERR" "nsrun: timed out after 300 ms"
	[ "$el" -lt 6000 ] || fail "took $el ms to end a 300 ms run"
	f_nothing_left "sleep $m" "$T_TMP/sv.pid" "$before"
	f_no_process "run-$m"
}

# ---- the sandbox's init killed from outside ------------------------------------

t_fault_sandbox_init_killed_from_host() {
	local m sv init rc before
	m=$(f_mark)
	before=$(f_mounts)
	f_sv "$T_TMP/sv.pid" "$NSRUN" run --override "$DEGRADE" -- \
		sh -c "echo ready; sleep $m & exec sleep $m" >"$T_TMP/o" 2>"$T_TMP/e" </dev/null &
	f_wait_for "$T_TMP/o" ready
	sv=$(f_pid "$T_TMP/sv.pid")
	init=$(pgrep -P "$sv" | head -1)
	[ -n "$init" ] || fail "no child of supervisor $sv"
	kill -KILL "$init"
	wait $!
	rc=$?
	# The command died with its pid namespace (SIGKILL): 137, as SPEC §1
	# says for a command killed by a signal; a 125 must say why.
	case $rc in
	137) ;;
	125) f_one_reason "$T_TMP/e" "nsrun: " ;;
	*) fail "exit $rc, want 137 (or 125 with a reason): $(cat "$T_TMP/e")" ;;
	esac
	f_nothing_left "sleep $m" "$T_TMP/sv.pid" "$before"
}

# ---- a hostile caller environment ---------------------------------------------

# stdin, stdout or stderr closed when nsrun starts: its own descriptors land
# on 0-2, which must not be mistaken for stdio (nor relayed to the command).
t_fault_caller_stdio_closed() {
	expect_exit 0 bash -c 'exec "$@" <&-' _ "$NSRUN" run --override "$DEGRADE" -- sh -c 'cat; echo out'
	[ "$(cat "$OUT")" = out ] || fail "stdout: $(cat "$OUT")"
	expect_exit 4 bash -c 'exec "$@" >&-' _ "$NSRUN" run --override "$DEGRADE" -- sh -c 'echo out; echo err >&2; exit 4'
	[ "$(cat "$ERR")" = err ] || fail "stderr: $(cat "$ERR")"
	expect_exit 4 bash -c 'exec "$@" 2>&-' _ "$NSRUN" run --override "$DEGRADE" -- sh -c 'echo out; echo err >&2; exit 4'
	[ "$(cat "$OUT")" = out ] || fail "stdout: $(cat "$OUT")"
	expect_exit 4 bash -c 'exec "$@" <&- >&- 2>&-' _ "$NSRUN" run --override "$DEGRADE" -- sh -c 'echo out; exit 4'
	expect_exit 0 bash -c 'exec "$@" <&- 2>&-' _ "$NSRUN" script --override "$DEGRADE" --script 'echo hi'
	[ "$(json_get "$OUT" stdout)" = hi ] || fail "script stdout: $(cat "$OUT")"
}

# Out of descriptors: a clear 125, never a crash or a hang.
t_fault_few_file_descriptors() {
	local n rc
	for n in 6 9 12; do
		bash -c "ulimit -n $n && exec \"\$@\"" _ "$NSRUN" run --override "$DEGRADE" -- true \
			>"$T_TMP/o" 2>"$T_TMP/e" </dev/null
		rc=$?
		case $rc in
		0) ;;
		125) f_one_reason "$T_TMP/e" "nsrun: " ;;
		*) fail "ulimit -n $n: exit $rc: $(cat "$T_TMP/e")" ;;
		esac
	done
	expect_exit 0 bash -c 'ulimit -n 64 && exec "$@"' _ "$NSRUN" run --override "$DEGRADE" -- true
}

# ---- many at once ---------------------------------------------------------

# 64 runs released at the same instant (a FIFO barrier): every one exits 0
# with its own output, nothing is left.
t_fault_64_runs_at_once() {
	local m i rc before bad=0
	m=$(f_mark)
	before=$(f_mounts)
	mkfifo "$T_TMP/gate"
	mkdir "$T_TMP/r"
	for i in $(seq 64); do
		(
			exec 3<"$T_TMP/gate" # blocks until the gate opens
			f_sv "$T_TMP/r/$i.pid" "$NSRUN" run --override "$DEGRADE" -- sh -c "echo run-$i" "run-$m" \
				>"$T_TMP/r/$i.out" 2>"$T_TMP/r/$i.err" </dev/null
			echo $? >"$T_TMP/r/$i.rc"
		) &
	done
	sleep 0.5
	exec 4>"$T_TMP/gate" # every reader's open returns now
	exec 4>&-
	wait
	for i in $(seq 64); do
		rc=$(cat "$T_TMP/r/$i.rc" 2>/dev/null)
		if [ "$rc" != 0 ] || [ "$(cat "$T_TMP/r/$i.out")" != "run-$i" ]; then
			bad=$((bad + 1))
			echo "run $i: exit ${rc:-?}: $(head -c 300 "$T_TMP/r/$i.err")" >&2
		fi
	done
	[ "$bad" = 0 ] || fail "$bad of 64 simultaneous runs failed"
	f_no_process "run-$m"
	for i in $(seq 64); do f_no_cgroup_of "$(cat "$T_TMP/r/$i.pid")"; done
	f_same_mounts "$before"
}

# ---- a kernel without clone3 / pidfd_open --------------------------------------

# Kernels before 5.3, valgrind, and container seccomp profiles that answer
# ENOSYS leave nsrun without a pidfd for the sandbox's init: the fallback
# (SIGCHLD + waitid) must still see the command exit, forward signals and
# enforce the timeout. An LD_PRELOAD shim makes syscall(2) answer ENOSYS for
# both calls; the command never sees it (LD_PRELOAD is not passed in).
t_fault_no_pidfd_kernel() {
	local m rc
	command -v cc >/dev/null || skip "no C compiler to build the shim"
	m=$(f_mark)
	cat >"$T_TMP/nopidfd.c" <<'SHIM'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
long syscall(long n, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_clone3 || n == SYS_pidfd_open) {
		errno = ENOSYS;
		return -1;
	}
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
SHIM
	cc -shared -fPIC -O2 -o "$T_TMP/nopidfd.so" "$T_TMP/nopidfd.c" -ldl || fail "building the shim"
	chmod 755 "$T_TMP/nopidfd.so"
	np() { timeout -k 2 20 env LD_PRELOAD="$T_TMP/nopidfd.so" "$NSRUN" "$@"; }
	expect_exit 3 np run --override "$DEGRADE" -- sh -c "echo hi-$m; exit 3"
	contains "$OUT" "hi-$m"
	expect_exit 124 np run --override "$DEGRADE" --timeout-ms 300 -- sh -c "sleep $m"
	contains "$ERR" "timed out after 300 ms"
	expect_exit 0 np script --override "$DEGRADE" --script 'echo hi'
	[ "$(json_get "$OUT" stdout)" = hi ] || fail "script stdout: $(cat "$OUT")"
	LD_PRELOAD="$T_TMP/nopidfd.so" "$NSRUN" run --override "$DEGRADE" -- \
		sh -c "trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done" >"$T_TMP/o" 2>&1 </dev/null &
	f_wait_for "$T_TMP/o" ready
	kill -TERM $!
	for _ in $(seq 100); do kill -0 $! 2>/dev/null || break; sleep 0.1; done
	kill -0 $! 2>/dev/null && { kill -KILL $!; fail "SIGTERM was not forwarded (supervisor still up after 10 s)"; }
	wait $!
	rc=$?
	[ "$rc" = 7 ] || fail "SIGTERM: exit $rc, want the command's 7"
	f_no_process "sleep $m"
}

# ---- a set-up error is never lost --------------------------------------------

# The child fails while building the root and exits at once, maybe before it
# has read the supervisor's last sync message. Its reason must still arrive,
# every time: a peer that exits with unread data leaves ECONNRESET on the
# socket, reported once before the messages it sent (40 tries caught a 1-in-10
# loss).
t_fault_setup_error_reason_never_lost() {
	local i rc p lost=0
	mkdir -p "$T_TMP/tree" "$T_TMP/victim" "$T_TMP/other"
	ln -s "$T_TMP/victim" "$T_TMP/tree/link"
	p=$(policy_file spr '{"onUnavailable":"degrade","filesystem":{"mode":"scratch-plus-ro"}}')
	for i in $(seq 40); do
		"$NSRUN" run --override "$p" --ro-bind "$T_TMP/tree:/opt/t" \
			--bind "$T_TMP/other:/opt/t/link/x" -- true >/dev/null 2>"$T_TMP/e" </dev/null
		rc=$?
		[ "$rc" = 125 ] || fail "try $i: exit $rc: $(cat "$T_TMP/e")"
		if ! grep -q "nsrun: fsns: bind $T_TMP/other -> /opt/t/link/x: Too many levels of symbolic links" "$T_TMP/e"; then
			lost=$((lost + 1))
			echo "try $i: $(cat "$T_TMP/e")" >&2
		fi
	done
	[ "$lost" = 0 ] || fail "the set-up error's reason was lost in $lost of 40 runs"
}
