# nsrun inside a container (issue 9): a FROM-scratch-like OCI bundle built
# by scripts/container/mkrootfs.sh from the build output, run by runc as root
# with the container's process a non-root uid and no capabilities, as a
# hardened Kubernetes pod would run it. runc's default spec gives the
# container its own network namespace (loopback only): nothing here touches
# the host's network. Root-only: runc needs root.

CTR_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts/container" 2>/dev/null && pwd)
CTR_UID=65532
CTR_IDS=()

ctr_cleanup() {
	local id
	for id in "${CTR_IDS[@]}"; do
		runc --root "$T_TMP/runc-state" delete -f "$id" >/dev/null 2>&1
	done
}

ctr_require() {
	only_root
	command -v runc >/dev/null || skip "runc is not installed (scripts/setup.sh --test)"
	command -v busybox >/dev/null || skip "busybox is not installed (scripts/setup.sh --test)"
	[ -x "$CTR_DIR/mkrootfs.sh" ] || fail "scripts/container/mkrootfs.sh missing"
	trap ctr_cleanup EXIT
	ctr_rootfs
}

# One rootfs per test, shared by its bundles: nsrun and its libraries,
# slirp4netns, busybox, the policy overrides and the in-sandbox check script.
ctr_rootfs() {
	local r=$T_TMP/rootfs
	"$CTR_DIR/mkrootfs.sh" "$r" --nsrun "$NSRUN" --uid "$CTR_UID" >"$T_TMP/mkrootfs.log" 2>&1 ||
		{ cat "$T_TMP/mkrootfs.log" >&2; fail "mkrootfs.sh failed"; }
	mkdir -p "$r/etc/nsrun" "$r/usr/share/nsrun-test"
	echo '{"resources":{"memoryBytes":null}}' >"$r/etc/nsrun/nomem.json"
	echo '{"onUnavailable":"degrade"}' >"$r/etc/nsrun/degrade.json"
	# 192.0.2.0/24 is TEST-NET-1: never routed; and nothing here sends to it.
	echo '{"resources":{"memoryBytes":null},"network":{"mode":"allowlist","allow":["192.0.2.1/32"]}}' \
		>"$r/etc/nsrun/egress.json"
	# Runs inside the sandbox (/usr is bound into it, /etc is not): every
	# layer of SPEC §6 that the default policy promises, as observed facts.
	cat >"$r/usr/share/nsrun-test/check.sh" <<'EOF'
st() { awk -v k="$1:" '$1 == k { print $2 }' /proc/self/status; }
echo "CHECK uid=$(id -u) groups=$(id -G)"
echo "CHECK capeff=$(st CapEff) capprm=$(st CapPrm) capbnd=$(st CapBnd) capamb=$(st CapAmb)"
echo "CHECK nnp=$(st NoNewPrivs) seccomp=$(st Seccomp)"
echo "CHECK mypid=$$ procs=$(ls -d /proc/[0-9]* | wc -l)"
echo "CHECK links=$(tail -n +3 /proc/net/dev | awk -F: '{ gsub(/ /, "", $1); printf "%s,", $1 }')"
echo "CHECK out=$(test -e /out && echo visible || echo hidden) sys=$(test -e /sys/kernel && echo visible || echo hidden)"
echo "CHECK usrwrite=$(touch /usr/nsrun-x 2>/dev/null && echo yes || echo no)"
echo "CHECK cwd=$(pwd) cwdwrite=$(touch ./f 2>/dev/null && echo yes || echo no)"
echo "CHECK userns=$(unshare -U true 2>/dev/null && echo yes || echo no)"
echo "CHECK nofile=$(ulimit -n) nproc=$(ulimit -u)"
echo "CHECK kcore=$(cat /proc/kcore >/dev/null 2>&1 && echo readable || echo blocked)"
EOF
}

# ctr_bundle NAME SECCOMP PROC [tun] -- ARGS... : SECCOMP none|nsrun|docker
# (the shipped seccomp-nsrun.json, or it without its nsrun rule = the
# runtime default); PROC unmasked|masked (runc's default maskedPaths and
# readonlyPaths); tun: give the container /dev/net/tun, as `docker run
# --device /dev/net/tun` does. /out inside is $T_TMP/NAME/out, writable by
# the container's uid.
ctr_bundle() {
	local seccomp=$2 proc=$3 b=$T_TMP/$1 tun=no
	shift 3
	[ "$1" = tun ] && { tun=yes; shift; }
	[ "$1" = -- ] || fail "ctr_bundle: expected --"
	shift
	mkdir -p "$b/out"
	chown "$CTR_UID:$CTR_UID" "$b/out"
	case $seccomp in
	none) : >"$b/seccomp.json" ;;
	nsrun) python3 "$CTR_DIR/seccomp-oci.py" "$CTR_DIR/seccomp-nsrun.json" >"$b/seccomp.json" ;;
	docker) python3 "$CTR_DIR/seccomp-oci.py" --without-nsrun-rule "$CTR_DIR/seccomp-nsrun.json" >"$b/seccomp.json" ;;
	esac || fail "seccomp-oci.py failed"
	(cd "$b" && runc spec) || fail "runc spec failed"
	python3 - "$b" "$T_TMP/rootfs" "$CTR_UID" "$proc" "$tun" "$@" <<'EOF' || fail "writing config.json failed"
import json, os, sys
b, rootfs, uid, proc, tun, args = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6:]
c = json.load(open(b + "/config.json"))
p = c["process"]
p["terminal"] = False
p["args"] = args
p["cwd"] = "/"
p["env"] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/out"]
# A hardened pod: non-root, no capabilities at all, no_new_privs.
p["user"] = {"uid": uid, "gid": uid}
p["capabilities"] = {k: [] for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
p["noNewPrivileges"] = True
c["root"] = {"path": rootfs, "readonly": True}
c["hostname"] = "nsrun-ctr"
c["mounts"].append({"destination": "/out", "type": "bind", "source": b + "/out",
                    "options": ["rbind", "rw", "nosuid", "nodev"]})
lx = c["linux"]
if proc == "unmasked":
    lx["maskedPaths"] = []
    lx["readonlyPaths"] = []
if tun == "yes":
    lx["devices"] = [{"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200,
                      "fileMode": 0o666, "uid": 0, "gid": 0}]
    lx["resources"]["devices"].append({"allow": True, "type": "c", "major": 10, "minor": 200,
                                       "access": "rwm"})
if os.path.getsize(b + "/seccomp.json"):
    lx["seccomp"] = json.load(open(b + "/seccomp.json"))
json.dump(c, open(b + "/config.json", "w"), indent=1)
EOF
}

# ctr_run NAME: runs the bundle in the foreground; exit code = the
# container's pid 1's (nsrun's).
ctr_run() {
	local id="nsrun-it-$$-$1"
	CTR_IDS+=("$id")
	timeout -k 5 90 runc --root "$T_TMP/runc-state" run --bundle "$T_TMP/$1" "$id"
}

# ctr_start NAME: runs the bundle in the background (CTR_PID = runc run's
# pid, whose exit code is the container's) until its command prints "ready".
ctr_start() {
	local id="nsrun-it-$$-$1"
	CTR_IDS+=("$id")
	timeout -k 5 90 runc --root "$T_TMP/runc-state" run --bundle "$T_TMP/$1" "$id" \
		>"$T_TMP/$1.out" 2>"$T_TMP/$1.err" </dev/null &
	CTR_PID=$!
	for _ in $(seq 100); do
		grep -q ready "$T_TMP/$1.out" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$T_TMP/$1.err" >&2
	fail "the command in $1 never started"
}

ctr_report() { json_get "$T_TMP/$1/out/report.json" "$2"; }

# Every layer as the check script sees it, and the report's word for it.
ctr_assert_enforced() {
	local name=$1 l
	contains "$OUT" "CHECK uid=$CTR_UID groups=$CTR_UID"
	contains "$OUT" "capeff=0000000000000000 capprm=0000000000000000 capbnd=0000000000000000 capamb=0000000000000000"
	contains "$OUT" "CHECK nnp=1 seccomp=2"
	grep -Eq '^CHECK mypid=[0-9] procs=[0-9]$' "$OUT" || { cat "$OUT" >&2; fail "not a fresh pid namespace / procfs"; }
	grep -qx 'CHECK links=lo,' "$OUT" || { cat "$OUT" >&2; fail "interfaces other than lo in the sandbox"; }
	contains "$OUT" "CHECK out=hidden sys=hidden"
	contains "$OUT" "CHECK usrwrite=no"
	contains "$OUT" "cwdwrite=yes"
	contains "$OUT" "CHECK userns=no"
	contains "$OUT" "CHECK nofile=1024 nproc=256"
	contains "$OUT" "CHECK kcore=blocked"
	for l in resources filesystem network privilege; do
		[ "$(ctr_report "$name" enforced.$l)" = true ] ||
			{ cat "$T_TMP/$name/out/report.json" >&2; fail "report: $l not enforced"; }
	done
	[ "$(ctr_report "$name" downgrades)" = "[]" ] || fail "report has downgrades: $(ctr_report "$name" downgrades)"
}

# ctr_default_policy_enforced SECCOMP: the default policy, or when the container
# offers no delegated cgroup (the only downgrade is memoryBytes), the
# default without memoryBytes; either way every layer enforced.
ctr_default_policy_enforced() {
	local seccomp=$1 n
	ctr_bundle dflt "$seccomp" unmasked -- nsrun run --report /out/report.json -- sh /usr/share/nsrun-test/check.sh
	OUT=$T_TMP/out ERR=$T_TMP/err
	ctr_run dflt >"$OUT" 2>"$ERR" </dev/null
	case $? in
	0) ctr_assert_enforced dflt; return ;;
	125) ;;
	*) cat "$OUT" "$ERR" >&2; fail "nsrun run with the default policy: unexpected exit" ;;
	esac
	n=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))["downgrades"]
print(len(d) == 1 and d[0]["layer"] == "resources" and d[0]["reason"].startswith("memoryBytes"))' "$T_TMP/dflt/out/report.json")
	[ "$n" = True ] || { cat "$ERR" >&2; fail "refused for more than the missing memory cgroup: $(ctr_report dflt downgrades)"; }
	contains "$ERR" "nsrun: "
	lacks "$OUT" "CHECK"
	ctr_bundle nomem "$seccomp" unmasked -- nsrun run --override /etc/nsrun/nomem.json --report /out/report.json -- sh /usr/share/nsrun-test/check.sh
	expect_exit 0 ctr_run nomem
	ctr_assert_enforced nomem
}

# 1. Unconfined seccomp, unmasked /proc, non-root: the default policy holds.
t_container_unmasked_default_policy() {
	ctr_require
	ctr_default_policy_enforced none
}

# 1b. The same under the shipped profile (scripts/container/seccomp-nsrun.json):
# the deployment the README recommends.
t_container_nsrun_seccomp_profile() {
	ctr_require
	ctr_default_policy_enforced nsrun
	ctr_bundle probe nsrun unmasked -- nsrun probe
	ctr_run probe >"$T_TMP/probe.json" 2>"$T_TMP/probe.err" </dev/null
	[ "$(json_get "$T_TMP/probe.json" userNamespaces.available)" = true ] || fail "probe: no user namespaces under seccomp-nsrun.json"
	[ "$(json_get "$T_TMP/probe.json" procfs.available)" = true ] || fail "probe: no procfs under seccomp-nsrun.json"
}

# 1c. runc's default masked /proc: the default policy is refused (125) with
# guidance that names /proc and what to change (also when memoryBytes is a
# gap too: SPEC §2, the refusal names every gap); probe agrees; degrade runs.
t_container_masked_proc_refused() {
	local name
	ctr_require
	ctr_bundle masked none masked -- nsrun run -- sh -c 'echo ran'
	ctr_bundle masked-nomem none masked -- nsrun run --override /etc/nsrun/nomem.json -- sh -c 'echo ran'
	for name in masked masked-nomem; do
		expect_exit 125 ctr_run $name
		lacks "$OUT" "ran"
		contains "$ERR" "nsrun: "
		contains "$ERR" "/proc"
		grep -Eq 'maskedPaths|procMount|systempaths=unconfined' "$ERR" ||
			{ cat "$ERR" >&2; fail "$name: the refusal does not say which setting unmasks /proc"; }
	done
	ctr_bundle mprobe none masked -- nsrun probe --override /etc/nsrun/nomem.json
	expect_exit 1 ctr_run mprobe
	[ "$(json_get "$OUT" procfs.available)" = false ] || fail "probe: procfs available under masked /proc"
	[ "$(json_get "$OUT" enforceable)" = false ] || fail "probe: enforceable under masked /proc"
	contains "$OUT" "maskedPaths"
	# Under degrade it runs, and the report names the filesystem gap.
	ctr_bundle mdeg none masked -- nsrun run --override /etc/nsrun/degrade.json --report /out/report.json -- sh -c 'echo ran; test -e /out || echo out-hidden'
	expect_exit 0 ctr_run mdeg
	contains "$OUT" "ran"
	[ "$(ctr_report mdeg enforced.filesystem)" = false ] || fail "report: filesystem enforced without a fresh /proc"
	contains "$T_TMP/mdeg/out/report.json" "/proc"
}

# 2. A Docker/containerd-default-like seccomp profile (no CLONE_NEWUSER, no
# mount, unshare or setns without CAP_SYS_ADMIN): fail-closed refuses with
# guidance, probe says why, degrade runs and reports the gaps.
t_container_default_seccomp_refused() {
	ctr_require
	ctr_bundle dsec docker unmasked -- nsrun run --override /etc/nsrun/nomem.json -- sh -c 'echo ran'
	expect_exit 125 ctr_run dsec
	lacks "$OUT" "ran"
	contains "$ERR" "nsrun: "
	contains "$ERR" "seccomp"
	contains "$ERR" "CLONE_NEWUSER"
	ctr_bundle dprobe docker unmasked -- nsrun probe
	expect_exit 1 ctr_run dprobe
	[ "$(json_get "$OUT" userNamespaces.available)" = false ] || fail "probe: user namespaces available under the default profile"
	json_get "$OUT" userNamespaces.reason | grep -q seccomp || fail "probe: reason does not name seccomp: $(json_get "$OUT" userNamespaces.reason)"
	json_get "$OUT" guidance | grep -q seccomp || fail "probe: guidance does not name seccomp"
	ctr_bundle ddeg docker unmasked -- nsrun run --override /etc/nsrun/degrade.json --report /out/report.json -- sh -c 'echo ran'
	expect_exit 0 ctr_run ddeg
	contains "$OUT" "ran"
	[ "$(ctr_report ddeg enforced.filesystem)" = false ] || fail "report: filesystem enforced without user namespaces"
	[ "$(ctr_report ddeg enforced.network)" = false ] || fail "report: network enforced without user namespaces"
	[ "$(ctr_report ddeg downgrades)" != "[]" ] || fail "report: no downgrades"
	contains "$T_TMP/ddeg/out/report.json" "seccomp"
}

# 3. nsrun as the container's pid 1 (tini's job): orphans are reaped, both
# those the command makes inside the sandbox and those a `runc exec` (kubectl
# exec, a probe) leaves behind; SIGTERM reaches the command, whose exit code
# becomes the container's.
t_container_pid1_reaps_and_forwards() {
	local id="nsrun-it-$$-pid1" rs=(runc --root "$T_TMP/runc-state") rpid rc orphan zombies again z zscan
	ctr_require
	ctr_bundle pid1 none unmasked -- nsrun run --override /etc/nsrun/nomem.json -- sh -c '
		trap "echo got-term; exit 42" TERM
		(sh -c "sleep 0.2 &")
		echo ready
		while :; do sleep 0.1; done'
	ctr_start pid1
	rpid=$CTR_PID
	[ "$("${rs[@]}" exec --user "$CTR_UID:$CTR_UID" "$id" cat /proc/1/comm)" = nsrun ] || fail "nsrun is not the container's pid 1"
	# An orphan of an exec'd process: its parent exits at once, so it is
	# reparented to the container's pid 1 and exits a second later.
	orphan=$("${rs[@]}" exec --user "$CTR_UID:$CTR_UID" "$id" sh -c 'sleep 1 >/dev/null 2>&1 & echo $!')
	[ -n "$orphan" ] || fail "no orphan pid"
	# shellcheck disable=SC2016 # awk's fields, not the shell's
	"${rs[@]}" exec --user "$CTR_UID:$CTR_UID" "$id" awk '$1 == "PPid:" { print $2 }' "/proc/$orphan/status" >"$T_TMP/ppid" 2>&1
	[ "$(cat "$T_TMP/ppid")" = 1 ] || fail "the orphan's parent is $(cat "$T_TMP/ppid"), not pid 1"
	sleep 1.5
	# Zombies pid 1 (nsrun) has not reaped, seen in two scans 0.5 s apart:
	# the sandboxed shell's own `sleep 0.1` children are zombies for a
	# moment before that shell reaps them, which is not pid 1's business.
	# shellcheck disable=SC2016 # awk's fields, not the shell's
	zscan='for f in /proc/[0-9]*/status; do awk '"'"'$1 == "State:" { z = ($2 == "Z") } $1 == "PPid:" { p = $2 } END { if (z && p == 1) print FILENAME }'"'"' "$f" 2>/dev/null; done | sed "s,/proc/,,;s,/status,," | sort | tr "\n" " "'
	zombies=$("${rs[@]}" exec --user "$CTR_UID:$CTR_UID" "$id" sh -c "$zscan")
	if [ -n "$zombies" ]; then
		sleep 0.5
		again=$("${rs[@]}" exec --user "$CTR_UID:$CTR_UID" "$id" sh -c "$zscan")
		for z in $zombies; do
			[[ " $again " == *" $z "* ]] && fail "zombies of pid 1 in the container: pid $z (orphan was $orphan)"
		done
	fi
	"${rs[@]}" kill "$id" TERM || fail "runc kill TERM failed"
	wait "$rpid"
	rc=$?
	[ "$rc" = 42 ] || { cat "$T_TMP/pid1.out" "$T_TMP/pid1.err" >&2; fail "expected exit 42 after TERM, got $rc"; }
	contains "$T_TMP/pid1.out" "got-term"
}

# 4. Allowlist egress in a container: slirp4netns needs /dev/net/tun, which
# container runtimes do not create by default. With the device the network
# layer is enforced (tap0 in the sandbox; nothing is sent anywhere: the
# container's own network namespace has only lo); without it the run is
# refused with guidance naming the device, and probe says the same.
t_container_egress_needs_tun() {
	ctr_require
	ctr_bundle tun none unmasked tun -- nsrun run --override /etc/nsrun/egress.json --report /out/report.json -- sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
	expect_exit 0 ctr_run tun
	grep -qx tap0 "$OUT" || { cat "$OUT" >&2; fail "no tap0 in the sandbox"; }
	[ "$(ctr_report tun enforced.network)" = true ] || fail "report: network not enforced with /dev/net/tun"
	ctr_bundle notun none unmasked -- nsrun run --override /etc/nsrun/egress.json -- sh -c 'echo ran'
	expect_exit 125 ctr_run notun
	lacks "$OUT" "ran"
	contains "$ERR" "/dev/net/tun"
	ctr_bundle tprobe none unmasked -- nsrun probe --override /etc/nsrun/egress.json
	expect_exit 1 ctr_run tprobe
	[ "$(json_get "$OUT" rootlessEgress.tun.available)" = false ] || fail "probe: tun available without the device"
	json_get "$OUT" guidance | grep -q -- "--device" ||
		{ json_get "$OUT" guidance >&2; fail "probe guidance does not say how to give the container /dev/net/tun"; }
}

# 3b. SIGINT and SIGHUP are forwarded the same way.
t_container_pid1_forwards_int_hup() {
	local sig code rc
	ctr_require
	for sig in INT HUP; do
		code=$([ $sig = INT ] && echo 43 || echo 44)
		ctr_bundle "sig$sig" none unmasked -- nsrun run --override /etc/nsrun/nomem.json -- sh -c "
			trap 'echo got-$sig; exit $code' $sig
			echo ready
			while :; do sleep 0.1; done"
		ctr_start "sig$sig"
		runc --root "$T_TMP/runc-state" kill "nsrun-it-$$-sig$sig" "$sig" || fail "runc kill $sig failed"
		wait "$CTR_PID"
		rc=$?
		[ "$rc" = "$code" ] || { cat "$T_TMP/sig$sig.out" "$T_TMP/sig$sig.err" >&2; fail "expected exit $code after $sig, got $rc"; }
		contains "$T_TMP/sig$sig.out" "got-$sig"
	done
}
