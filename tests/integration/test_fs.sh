# The filesystem layer (SPEC §6): a fresh tmpfs root, read-only binds that
# stay read-only, a minimal /etc, a fresh masked /proc, a minimal /dev, no
# /sys, size-capped /tmp -- and every way back to the host closed. Each
# escape attempt is its own test; the positive ones show real work runs.

# scratch-only / scratch-plus-ro with onUnavailable degrade (the other
# layers may be missing on a test host; the filesystem one is checked).
SO=$(policy_file so '{"onUnavailable":"degrade","filesystem":{"mode":"scratch-only"}}')
SPR=$(policy_file spr '{"onUnavailable":"degrade","filesystem":{"mode":"scratch-plus-ro"}}')
OFF=$(policy_file off '{"onUnavailable":"degrade","filesystem":{"mode":"off"}}')

# A file on the host that no bind covers.
plant_secret() {
	mkdir -p "$T_TMP/outside"
	echo "host-secret-$$" >"$T_TMP/outside/secret"
	chmod 755 "$T_TMP/outside"
	chmod 644 "$T_TMP/outside/secret"
}

# The filesystem layer must really be on for these tests to mean anything.
fs_enforced() { # $1 report file
	[ "$(json_get "$1" enforced.filesystem)" = true ] ||
		skip "filesystem layer not enforced here: $(json_get "$1" downgrades)"
}

# Under SCHED_FIFO the old root's detach is left to a helper (fsns/root.c);
# the command must still never see it: one "/" mount, the tmpfs, and no
# host path, in every run.
t_fs_old_root_gone_under_sched_fifo() {
	only_root # SCHED_FIFO needs CAP_SYS_NICE or an RLIMIT_RTPRIO
	plant_secret
	for i in $(seq 20); do
		expect_exit 0 chrt -f 1 "$NSRUN" run --override "$SO" --report "$T_TMP/r.json" -- sh -c \
			'awk '"'"'$5 == "/"'"'"' /proc/self/mountinfo | wc -l; stat -f -c %T /; cat "$1" 2>&1; chrt -p $$' \
			_ "$T_TMP/outside/secret"
		fs_enforced "$T_TMP/r.json"
		[ "$(sed -n 1p "$OUT")" = 1 ] || fail "run $i: $(sed -n 1p "$OUT") mounts on /: $(cat "$OUT")"
		[ "$(sed -n 2p "$OUT")" = tmpfs ] || fail "run $i: / is $(sed -n 2p "$OUT")"
		lacks "$OUT" "host-secret"
		contains "$OUT" SCHED_FIFO
	done
}

# Under SCHED_FIFO the old root's detach helper can outlive the command:
# its RCU grace period waits for a normal-priority kernel thread. The result
# must not wait for it (runtime/child.c, only_the_helper_besides_init). A
# shim on clone(2), which starts the helper (fsns/root.c), makes it sleep
# 2 s after its detach: each run ends long before that, and the helper is
# gone with the sandbox.
t_fs_slow_detach_helper_does_not_hold_up_the_result() {
	local m s ms
	only_root # SCHED_FIFO needs CAP_SYS_NICE or an RLIMIT_RTPRIO
	command -v cc >/dev/null || skip "no C compiler to build the shim"
	m=$((RANDOM % 900 + 100))$$
	cat >"$T_TMP/slowdetach.c" <<'SHIM'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sched.h>
#include <stdarg.h>
#include <unistd.h>
static int (*helper)(void *);
static int slow_helper(void *arg)
{
	static const char msg[] = "shim: detach helper delayed\n";
	int r = helper(arg);

	/* stderr still leads to the supervisor, which relays it */
	if (write(2, msg, sizeof(msg) - 1) < 0)
		return 1;
	usleep(2000000);
	return r;
}
int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	static int (*real)(int (*)(void *), void *, int, void *, ...);
	void *ptid, *tls, *ctid;
	va_list ap;

	va_start(ap, arg);
	ptid = va_arg(ap, void *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (int (*)(int (*)(void *), void *, int, void *, ...))dlsym(RTLD_NEXT, "clone");
	if ((flags & CLONE_VM) && !(flags & CLONE_THREAD)) {
		helper = fn;
		fn = slow_helper;
	}
	return real(fn, stack, flags, arg, ptid, tls, ctid);
}
SHIM
	cc -shared -fPIC -O2 -o "$T_TMP/slowdetach.so" "$T_TMP/slowdetach.c" -ldl || fail "building the shim"
	for i in 1 2 3; do
		s=$(date +%s%N)
		expect_exit 0 env LD_PRELOAD="$T_TMP/slowdetach.so" chrt -f 1 "$NSRUN" run --override "$SO" \
			-- sh -c "echo ran-$m; awk '\$5 == \"/\"' /proc/self/mountinfo | wc -l"
		ms=$((($(date +%s%N) - s) / 1000000))
		[ "$(cat "$OUT")" = "$(printf 'ran-%s\n1' "$m")" ] || fail "run $i: $(cat "$OUT")"
		contains "$ERR" "shim: detach helper delayed"
		[ "$ms" -lt 1500 ] || fail "run $i took $ms ms: the result waited for the detach helper"
	done
	for _ in $(seq 30); do
		pgrep -f -- "ran-$m" >/dev/null || return 0
		sleep 0.1
	done
	fail "a process of the run is left: $(pgrep -af -- "ran-$m")"
}

t_fs_root_is_a_fresh_tmpfs_with_only_the_base() {
	expect_exit 0 "$NSRUN" run --override "$SO" --report "$T_TMP/r.json" -- sh -c \
		'stat -f -c %T /; ls -A /; ls /etc'
	fs_enforced "$T_TMP/r.json"
	contains "$OUT" tmpfs
	for d in usr etc dev proc tmp scratch; do grep -qx "$d" "$OUT" || fail "/$d missing"; done
	for d in sys root home var work boot srv; do ! grep -qx "$d" "$OUT" || fail "/$d present"; done
	for f in passwd group hosts resolv.conf nsswitch.conf ld.so.cache; do
		grep -qx "$f" "$OUT" || fail "/etc/$f missing"
	done
	for f in shadow gshadow sudoers machine-id ssh; do
		! grep -qx "$f" "$OUT" || fail "/etc/$f present"
	done
}

t_fs_merged_usr_links_are_links() {
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c 'for d in /bin /sbin /lib /lib64; do
		[ -e "$d" ] || continue; if [ -L "$d" ]; then echo "$d link $(readlink $d)"; else echo "$d dir"; fi; done'
	for d in /bin /sbin /lib /lib64; do
		[ -e "$d" ] || continue
		if [ -L "$d" ]; then
			contains "$OUT" "$d link $(readlink "$d")"
		else
			contains "$OUT" "$d dir"
		fi
	done
}

t_fs_planted_host_file_is_unreachable() {
	plant_secret
	mkdir "$T_TMP/s"
	expect_exit 0 "$NSRUN" run --override "$SO" --scratch "$T_TMP/s" -- sh -c \
		"cat '$T_TMP/outside/secret'; ls '$T_TMP'; echo done"
	lacks "$OUT" "host-secret"
	lacks "$OUT" "outside"
	contains "$OUT" done
}

t_fs_write_under_usr_and_etc_fails() {
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c '
		for p in /usr/nsrun-x /usr/bin/nsrun-x /usr/lib/nsrun-x /etc/nsrun-x /nsrun-x /dev/nsrun-x; do
			if touch "$p" 2>/dev/null; then echo "WROTE $p"; fi
		done
		echo x >>/etc/passwd 2>/dev/null && echo "WROTE passwd"
		mkdir /usr/nsrun-d 2>/dev/null && echo "WROTE dir"
		touch /usr/x 2>&1; echo end'
	lacks "$OUT" WROTE
	contains "$OUT" "Read-only file system"
	[ ! -e /usr/nsrun-x ] && [ ! -e /usr/x ] || fail "a file appeared on the host's /usr"
}

t_fs_ro_bind_tree_is_read_only() {
	mkdir -p "$T_TMP/tree/d" && echo data >"$T_TMP/tree/d/f"
	expect_exit 0 "$NSRUN" run --override "$SPR" --ro-bind "$T_TMP/tree" \
		--ro-bind "$T_TMP/tree:/opt/alias" -- sh -c "
		cat '$T_TMP/tree/d/f' /opt/alias/d/f
		for p in '$T_TMP/tree/new' '$T_TMP/tree/d/f' /opt/alias/new; do
			if (echo x >\"\$p\") 2>/dev/null; then echo \"WROTE \$p\"; fi
		done; echo end"
	contains "$OUT" data
	[ "$(grep -c data "$OUT")" = 2 ] || fail "alias not readable"
	lacks "$OUT" WROTE
	contains "$OUT" end
	[ "$(cat "$T_TMP/tree/d/f")" = data ] && [ ! -e "$T_TMP/tree/new" ] || fail "host tree changed"
}

# The submount only exists in a private mount namespace made for this test:
# nsrun runs inside it, the host's mounts are untouched.
t_fs_ro_bind_submounts_are_read_only_too() {
	only_root
	mkdir -p "$T_TMP/tree/sub"
	expect_exit 0 unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=1m tmpfs "$1/tree/sub" || exit 99
		echo inner >"$1/tree/sub/f"
		exec "$2" run --override "$3" --ro-bind "$1/tree" -- sh -c "
			cat \"$1/tree/sub/f\"
			if touch \"$1/tree/sub/new\" 2>/dev/null; then echo WROTE-sub; fi
			if mount -o remount,rw \"$1/tree/sub\" 2>/dev/null; then echo REMOUNTED; fi
			grep \" $1/tree/sub \" /proc/self/mountinfo"' _ "$T_TMP" "$NSRUN" "$SPR"
	contains "$OUT" inner
	lacks "$OUT" WROTE-sub
	lacks "$OUT" REMOUNTED
	grep -q " $T_TMP/tree/sub ro," "$OUT" || fail "submount not ro: $(cat "$OUT")"
}

t_fs_ro_bind_is_left_out_under_scratch_only() {
	mkdir -p "$T_TMP/tree" && echo data >"$T_TMP/tree/f"
	expect_exit 0 "$NSRUN" run --override "$SO" --ro-bind "$T_TMP/tree:/opt/t" \
		--report "$T_TMP/r.json" -- sh -c 'cat /opt/t/f 2>&1; echo end'
	lacks "$OUT" data
	contains "$T_TMP/r.json" "scratch-only"
	contains "$T_TMP/r.json" "/opt/t"
}

t_fs_bind_rw_writes_reach_the_host() {
	mkdir -p "$T_TMP/rw"
	chmod 777 "$T_TMP/rw"
	expect_exit 0 "$NSRUN" run --override "$SO" --bind "$T_TMP/rw:/data" -- sh -c \
		'echo hello >/data/out && echo ok'
	contains "$OUT" ok
	[ "$(cat "$T_TMP/rw/out")" = hello ] || fail "write did not reach the bound dir"
}

t_fs_missing_bind_source_is_a_clear_error() {
	expect_exit 2 "$NSRUN" run --ro-bind /opt/nsrun-no-such-dir -- true
	contains "$ERR" "nsrun: fsns: bind /opt/nsrun-no-such-dir -> /opt/nsrun-no-such-dir: No such file or directory"
	[ "$(wc -l <"$ERR")" = 1 ] || fail "more than one line: $(cat "$ERR")"
}

t_fs_remount_usr_rw_fails() {
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c '
		mount -o remount,rw /usr 2>/dev/null && echo REMOUNTED
		mount -o remount,bind,rw /usr 2>/dev/null && echo REMOUNTED
		mount -o remount,rw / 2>/dev/null && echo REMOUNTED
		umount -l /usr 2>/dev/null && echo UNMOUNTED
		touch /usr/nsrun-x 2>/dev/null && echo WROTE; echo end'
	lacks "$OUT" REMOUNTED
	lacks "$OUT" UNMOUNTED
	lacks "$OUT" WROTE
	contains "$OUT" end
}

t_fs_proc_1_root_and_self_root_are_the_sandbox() {
	plant_secret
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c "
		ls /proc/1/root/ | tr '\n' ' '; echo
		ls /proc/self/root/../../ | tr '\n' ' '; echo
		ls / | tr '\n' ' '; echo
		cat /proc/1/root'$T_TMP/outside/secret' 2>/dev/null
		cat /proc/self/root/../..'$T_TMP/outside/secret' 2>/dev/null
		ls /proc/1/root/work /proc/1/cwd/../../work 2>/dev/null; echo end"
	# pid 1 is the sandbox's init: the capability-less command may not even
	# look (ptrace rules); if it may, it must see the sandbox's root.
	l1=$(sed -n 1p "$OUT")
	[ -z "$l1" ] || [ "$l1" = "$(sed -n 3p "$OUT")" ] || fail "/proc/1/root differs from /: $(cat "$OUT")"
	[ "$(sed -n 2p "$OUT")" = "$(sed -n 3p "$OUT")" ] || fail "/proc/self/root/.. escapes: $(cat "$OUT")"
	lacks "$OUT" host-secret
	contains "$OUT" end
}

t_fs_symlink_planted_in_scratch_stays_inside() {
	plant_secret
	mkdir "$T_TMP/s"
	ln -s "$T_TMP/outside/secret" "$T_TMP/s/to-secret"
	ln -s / "$T_TMP/s/to-root"
	ln -s ../../../../../../.. "$T_TMP/s/up"
	expect_exit 0 "$NSRUN" run --override "$SO" --scratch "$T_TMP/s" -- sh -c '
		cat to-secret 2>/dev/null; cat up'"$T_TMP"'/outside/secret 2>/dev/null
		ls to-root/ | tr "\n" " "; echo; ls / | tr "\n" " "; echo'
	lacks "$OUT" host-secret
	[ "$(sed -n 1p "$OUT")" = "$(sed -n 2p "$OUT")" ] || fail "to-root is not the sandbox root"
}

t_fs_dotdot_chains_end_at_the_sandbox_root() {
	plant_secret
	mkdir "$T_TMP/s"
	expect_exit 0 "$NSRUN" run --override "$SO" --scratch "$T_TMP/s" -- sh -c '
		cd ../../../../../../../..; pwd; ls | tr "\n" " "; echo
		cat ../../../..'"$T_TMP"'/outside/secret 2>/dev/null; echo end'
	[ "$(sed -n 1p "$OUT")" = / ] || fail "cd .. left /: $(cat "$OUT")"
	lacks "$OUT" host-secret
	lacks "$OUT" outside
}

t_fs_open_dir_fd_and_cwd_do_not_leak() {
	plant_secret
	# An fd on the host's root and a host cwd in the caller: neither may
	# lead anywhere from inside.
	cd "$T_TMP/outside" || fail "cd"
	exec 9</
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c '
		ls /proc/self/fd | tr "\n" " "; echo
		ls /proc/self/fd/9/ 2>/dev/null && echo FD9
		pwd; cd /proc/self/cwd && pwd -P; ls /proc/1/cwd/.. | tr "\n" " "; echo
		cat /proc/self/cwd/secret /proc/1/cwd/secret 2>/dev/null; echo end'
	exec 9<&-
	lacks "$OUT" FD9
	lacks "$OUT" host-secret
	sed -n 1p "$OUT" | grep -qw 9 && fail "fd 9 inherited: $(sed -n 1p "$OUT")"
	contains "$OUT" /scratch
	contains "$OUT" end
}

t_fs_mknod_fails() {
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c '
		mknod ./null2 c 1 3 2>/dev/null && echo MADE-char
		mknod /tmp/blk b 7 0 2>/dev/null && echo MADE-block
		mkfifo ./fifo && echo fifo-ok; echo end'
	lacks "$OUT" MADE-
	contains "$OUT" end
}

t_fs_setuid_file_in_scratch_does_not_elevate() {
	only_root
	mkdir "$T_TMP/s"
	cp /usr/bin/id "$T_TMP/s/id-suid"
	chmod 4755 "$T_TMP/s/id-suid"
	expect_exit 0 "$NSRUN" run --override "$SO" --scratch "$T_TMP/s" -- sh -c \
		'./id-suid -u; ./id-suid -ru; grep " '"$T_TMP"'/s " /proc/self/mountinfo'
	[ "$(sed -n 1p "$OUT")" != 0 ] || fail "setuid root took effect: $(cat "$OUT")"
	contains "$OUT" nosuid
}

t_fs_scratch_and_tmp_are_nosuid_nodev() {
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c \
		'grep -E " /(scratch|tmp|dev/shm) " /proc/self/mountinfo'
	[ "$(grep -c 'nosuid,nodev' "$OUT")" = 3 ] || fail "$(cat "$OUT")"
}

t_fs_no_sys() {
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c \
		'ls /sys 2>&1; cat /sys/kernel/uevent_helper 2>&1; grep -c sysfs /proc/self/mountinfo; true'
	contains "$OUT" "No such file or directory"
	[ "$(tail -1 "$OUT")" = 0 ] || fail "a sysfs is mounted"
}

t_fs_proc_sensitive_entries_are_masked_or_ro() {
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c '
		ls /proc | grep -cE "^[0-9]+$"; tr "\0" "\n" </proc/1/cmdline | head -1
		for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/interrupts; do
			[ -e "$f" ] || continue
			n=$(head -c 64 "$f" 2>/dev/null | wc -c); [ "$n" = 0 ] || echo "READ $f $n"
		done
		ls -A /proc/acpi 2>/dev/null | head -3
		echo h >/proc/sysrq-trigger 2>/dev/null && echo WROTE-sysrq
		echo 1 >/proc/sys/user/max_user_namespaces 2>/dev/null && echo WROTE-sysctl
		echo 100 >/proc/self/oom_score_adj 2>/dev/null && echo WROTE-self
		cat /proc/sys/user/max_user_namespaces'
	lacks "$OUT" READ
	lacks "$OUT" WROTE-
	[ "$(tail -1 "$OUT")" = 0 ] || fail "user.max_user_namespaces is not 0: $(cat "$OUT")"
	# Our own pid namespace: a handful of processes, pid 1 is nsrun's init.
	[ "$(sed -n 1p "$OUT")" -lt 8 ] || fail "too many pids: $(cat "$OUT")"
	sed -n 2p "$OUT" | grep -q nsrun || fail "pid 1 is not nsrun: $(sed -n 2p "$OUT")"
}

t_fs_no_nested_user_namespace() {
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c \
		'unshare -U true 2>/dev/null && echo NESTED; unshare -Ur true 2>/dev/null && echo NESTED; echo end'
	lacks "$OUT" NESTED
	contains "$OUT" end
}

t_fs_tmp_fills_up_at_its_cap_not_the_host_disk() {
	p=$(policy_file cap '{"onUnavailable":"degrade","filesystem":{"mode":"scratch-only"},"resources":{"maxFileSizeBytes":4194304}}')
	m="nsrun-fill-$$-$RANDOM"
	expect_exit 0 "$NSRUN" run --override "$p" -- sh -c "
		head -c 3000000 /dev/zero >/tmp/$m-a && echo first-ok
		{ head -c 3000000 /dev/zero >/tmp/$m-b; } 2>&1 || echo second-failed
		head -c 3000000 /dev/zero >/scratch/$m-c && head -c 3000000 /dev/zero >/scratch/$m-d 2>&1 || echo scratch-full
		df -k /tmp | tail -1"
	contains "$OUT" first-ok
	contains "$OUT" "No space left on device"
	contains "$OUT" second-failed
	contains "$OUT" scratch-full
	ls /tmp/"$m"* /scratch/"$m"* 2>/dev/null && fail "files reached the host"
	true
}

t_fs_dev_has_only_the_minimal_set() {
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c '
		ls -A /dev | tr "\n" " "; echo
		echo x >/dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c
		echo x >/dev/full 2>/dev/null || echo full-ok
		readlink /dev/fd /dev/stdin /dev/ptmx | tr "\n" " "; echo
		python3 -c "import os; m, s = os.openpty(); print(\"pty\", os.ttyname(s))" 2>/dev/null'
	line=$(sed -n 1p "$OUT")
	for d in $line; do
		case $d in null | zero | full | random | urandom | tty | pts | ptmx | shm | fd | stdin | stdout | stderr) ;;
		*) fail "unexpected /dev/$d" ;;
		esac
	done
	contains "$OUT" full-ok
	contains "$OUT" "/proc/self/fd /proc/self/fd/0 pts/ptmx"
	if command -v python3 >/dev/null; then contains "$OUT" "pty /dev/pts/0"; fi
}

t_fs_real_work_runs_inside() {
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c '
		echo sh-ok; ls / >/dev/null && echo ls-ok; printf "b\na\n" | sort | head -1
		awk "BEGIN{print \"awk-\" 6*7}"
		getent hosts localhost | head -1
		getent passwd root | cut -d: -f1
		echo "$HOME $TMPDIR"; pwd'
	contains "$OUT" sh-ok
	contains "$OUT" ls-ok
	contains "$OUT" awk-42
	contains "$OUT" localhost
	contains "$OUT" "/scratch /tmp"
}

t_fs_python_and_node_run_inside() {
	py=$(command -v python3.11 || command -v python3) || skip "no python3"
	case $py in /usr/*) ;; *) py=/usr/bin/python3 ;; esac
	[ -x "$py" ] || skip "no python3 under /usr"
	expect_exit 0 "$NSRUN" run --override "$SO" -- "$py" -c 'import ssl, json; print("py", 6*7)'
	contains "$OUT" "py 42"
	node=$(command -v node) || return 0
	expect_exit 0 "$NSRUN" run --override "$SO" -- "$node" -e 'console.log("node", 6*7)'
	contains "$OUT" "node 42"
}

# An interpreter outside the bound base trees (a node under /opt or
# ~/.nvm): bound read-only at its own path, even under scratch-only.
t_fs_interpreter_outside_the_base_is_bound() {
	mkdir -p "$T_TMP/tools/bin"
	cp "$(readlink -f /bin/sh)" "$T_TMP/tools/bin/mysh"
	chmod 755 "$T_TMP/tools" "$T_TMP/tools/bin"
	printf 'echo interp-ok "$0"\ntouch "%s/tools/bin/mysh" 2>/dev/null && echo WROTE\necho end\n' "$T_TMP" >"$T_TMP/s.sh"
	expect_exit 0 "$NSRUN" script --override "$SO" --script-file "$T_TMP/s.sh" --interpreter "$T_TMP/tools/bin/mysh"
	[ "$(json_get "$OUT" exitCode)" = 0 ] || fail "exitCode: $(cat "$OUT")"
	contains "$OUT" "interp-ok /run/nsrun/script/s.sh"
	lacks "$OUT" WROTE
}

# Under scratch-only every mount is read-only except the writable ones.
t_fs_mountinfo_is_read_only_except_scratch_tmp_shm_and_binds() {
	mkdir -p "$T_TMP/rw" && chmod 777 "$T_TMP/rw"
	expect_exit 0 "$NSRUN" run --override "$SO" --bind "$T_TMP/rw:/data" --report "$T_TMP/r.json" -- cat /proc/self/mountinfo
	fs_enforced "$T_TMP/r.json"
	python3 - "$OUT" <<'EOF' || fail "mountinfo: $(cat "$OUT")"
import sys
rw_ok = {"/scratch", "/tmp", "/dev/shm", "/data"}
bad = []
for line in open(sys.argv[1]):
    f = line.split()
    mp, opts = f[4], f[5].split(",")
    fstype = f[f.index("-") + 1]
    if "rw" in opts and mp not in rw_ok:
        bad.append("writable: " + line)
    if "nosuid" not in opts:
        bad.append("suid: " + line)
    # device nodes (ours in /dev, /dev/null over masked /proc files) and
    # devpts need dev; everything else is nodev
    if "nodev" not in opts and fstype not in ("devtmpfs", "devpts") and not mp.startswith("/dev/"):
        bad.append("dev: " + line)
    if mp.startswith("/sys") or fstype == "sysfs":
        bad.append("sys: " + line)
sys.stderr.write("".join(bad))
sys.exit(1 if bad else 0)
EOF
}

t_fs_host_mounts_unchanged_after_runs() {
	# /run/netns entries come and go with network tests running meanwhile
	# (ip netns add); nsrun never makes one.
	before=$(grep -v ' /run/netns/' /proc/self/mountinfo)
	mkdir -p "$T_TMP/s" "$T_TMP/tree"
	"$NSRUN" run --override "$SO" -- true
	"$NSRUN" run --override "$SPR" --scratch "$T_TMP/s" --ro-bind "$T_TMP/tree:/opt/t" -- true
	"$NSRUN" run --override "$OFF" -- true
	"$NSRUN" run --override "$SO" --timeout-ms 100 -- sleep 5
	after=$(grep -v ' /run/netns/' /proc/self/mountinfo)
	[ "$before" = "$after" ] || fail "host mounts changed: $(diff <(echo "$before") <(echo "$after"))"
}

t_fs_off_mode_has_a_fresh_proc_and_the_host_tree() {
	expect_exit 0 "$NSRUN" run --override "$OFF" --report "$T_TMP/r.json" -- sh -c '
		readlink /proc/self; ls /proc | grep -E "^[0-9]+$" | tr "\n" " "; echo
		stat -f -c %T / ; test -d /usr/bin && echo host-tree
		echo 1 >/proc/sys/user/max_user_namespaces 2>/dev/null && echo WROTE
		cat /proc/sys/user/max_user_namespaces; head -c 16 /proc/keys | wc -c'
	for p in $(sed -n 2p "$OUT"); do [ "$p" -lt 10 ] || fail "host pid $p in /proc"; done
	contains "$OUT" host-tree
	lacks "$OUT" WROTE
	lacks "$OUT" tmpfs
	grep -qx 0 "$OUT" || fail "$(cat "$OUT")"
	contains "$T_TMP/r.json" "filesystem.mode off"
}

t_fs_scratch_dir_is_the_cwd_and_writable() {
	mkdir "$T_TMP/s"
	chmod 777 "$T_TMP/s" # root pass: the sandbox uid is not the owner
	expect_exit 0 "$NSRUN" run --override "$SO" --scratch "$T_TMP/s" -- sh -c 'pwd; echo $HOME; echo made >here'
	[ "$(sed -n 1p "$OUT")" = "$T_TMP/s" ] || fail "cwd: $(cat "$OUT")"
	[ "$(cat "$T_TMP/s/here")" = made ] || fail "write did not reach the scratch dir"
}

t_fs_default_scratch_is_fresh_each_run() {
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c 'echo x >/scratch/left; stat -c "%a %u" /scratch; id -u'
	[ "$(sed -n 1p "$OUT" | cut -d' ' -f1)" = 700 ] || fail "mode: $(cat "$OUT")"
	[ "$(sed -n 1p "$OUT" | cut -d' ' -f2)" = "$(sed -n 2p "$OUT")" ] || fail "owner: $(cat "$OUT")"
	expect_exit 0 "$NSRUN" run --override "$SO" -- sh -c 'ls -A /scratch; echo end'
	lacks "$OUT" left
}

# A mount point is never reached through a symlink: not one we made
# (/bin -> usr/bin), not one inside a bound tree pointing at the host.
t_fs_bind_destination_through_a_symlink_is_refused() {
	mkdir -p "$T_TMP/tree" "$T_TMP/victim" "$T_TMP/other"
	chmod 777 "$T_TMP/victim"
	ln -s "$T_TMP/victim" "$T_TMP/tree/link"
	expect_exit 125 "$NSRUN" run --override "$SPR" --ro-bind "$T_TMP/tree:/opt/t" \
		--bind "$T_TMP/other:/opt/t/link/x" -- true
	contains "$ERR" "nsrun: fsns: bind $T_TMP/other -> /opt/t/link/x: Too many levels of symbolic links"
	[ -z "$(ls -A "$T_TMP/victim")" ] || fail "a mount point was made on the host: $(ls -A "$T_TMP/victim")"
	expect_exit 125 "$NSRUN" run --override "$SPR" --ro-bind "$T_TMP/other:/bin/nsrun-fs-x" -- true
	contains "$ERR" "Too many levels of symbolic links"
	[ ! -e /usr/bin/nsrun-fs-x ] || fail "/usr/bin/nsrun-fs-x appeared on the host"
}

# Whatever the order on the command line, a parent tree does not hide the
# scratch dir or bind below it.
t_fs_scratch_below_a_ro_bind_stays_visible_and_writable() {
	mkdir -p "$T_TMP/p/s" && echo top >"$T_TMP/p/f"
	chmod 777 "$T_TMP/p/s"
	expect_exit 0 "$NSRUN" run --override "$SPR" --scratch "$T_TMP/p/s" --ro-bind "$T_TMP/p" -- sh -c \
		'cat ../f; echo inner >here && echo wrote; touch ../g 2>/dev/null && echo WROTE-parent; true'
	contains "$OUT" top
	contains "$OUT" wrote
	lacks "$OUT" WROTE-parent
	[ "$(cat "$T_TMP/p/s/here")" = inner ] || fail "scratch write lost"
}
