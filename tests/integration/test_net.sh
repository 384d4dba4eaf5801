# Network layer, end to end through the real nsrun (SPEC §6 Network, §7).
#
# Every test builds its own "world": a network namespace with NO default
# route, linked by veth pairs to test-host namespaces that run a python3
# TCP/UDP echo server. nsrun (and so slirp4netns) runs inside the world via
# nsenter, so a broken set-up cannot leak a packet off the machine and the
# machine's own routes and addresses are never touched.
#
# The namespaces are held by `unshare --net sleep` processes and entered by
# /proc/PID/ns/net, not by name: other suites on the same machine run
# `ip -all netns delete`, which would pull a named world from under us.
# Setting them up needs root, so every test is only_root; the rootless path
# is covered by t_net_rootless_in_world, which runs nsrun as the rootless
# user (nsrun-test) inside a root-made world.

# ---- helpers ---------------------------------------------------------------

# client MODE HOST PORT [TIMEOUT_S]: "ok REPLY MS" (exit 0) or "err ERRNO MS".
NET_CLIENT='import socket, sys, time, errno
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
to = float(sys.argv[4]) if len(sys.argv) > 4 else 3
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
t = time.monotonic()
try:
    if mode == "tcp":
        s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(to)
        s.connect((host, port)); s.sendall(b"ping"); r = s.recv(100)
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(to)
        s.sendto(b"ping", (host, port)); r = s.recvfrom(100)[0]
    print("ok", r.decode(), int((time.monotonic() - t) * 1000))
except OSError as e:
    print("err", errno.errorcode.get(e.errno, "timeout"), int((time.monotonic() - t) * 1000))
    sys.exit(1)'

# server NAME ADDR...: echoes "pong-NAME-<data>" on TCP 7000 and UDP 7001.
NET_SERVER='import socket, sys, threading
name = sys.argv[1]
def tcp(a, fam):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((a, 7000)); s.listen(64)
    while True:
        c, _ = s.accept()
        def h(c=c):
            try:
                c.sendall(("pong-%s-" % name).encode() + c.recv(100))
            finally:
                c.close()
        threading.Thread(target=h, daemon=True).start()
def udp(a, fam):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((a, 7001))
    while True:
        d, p = s.recvfrom(100); s.sendto(("pong-%s-" % name).encode() + d, p)
for a in sys.argv[2:]:
    fam = socket.AF_INET6 if ":" in a else socket.AF_INET
    for f in (tcp, udp):
        threading.Thread(target=f, args=(a, fam), daemon=True).start()
threading.Event().wait()'

NET_PY=/usr/bin/python3 # inside the sandbox: the distribution's, under /usr
NET_KEEP=() # pids we started: namespace holders, servers, nsrun runs

net_down() {
	local p
	for p in "${NET_KEEP[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for p in "${NET_KEEP[@]}"; do
		wait "$p" 2>/dev/null
	done
	NET_KEEP=()
}

# inns PID CMD...: CMD in the network namespace held by PID.
inns() {
	local p=$1
	shift
	nsenter --net="/proc/$p/ns/net" -- "$@"
}

# net_ns: prints the pid of a new process holding a fresh network namespace.
net_ns() {
	local self p i
	self=$(readlink /proc/self/ns/net)
	unshare --net sleep 100000 </dev/null >/dev/null 2>&1 &
	p=$!
	for i in $(seq 100); do
		[ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" != "$self" ] && break
		sleep 0.02
	done
	[ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" != "$self" ] || { kill -9 "$p"; return 1; }
	echo "$p"
}

# net_link HOSTPID N V4NET V6NET: veth world<->host, world .1, host .2.
net_link() {
	local h=$1 n=$2 v4=$3 v6=$4
	inns "$W" ip link add "vw$n" type veth peer name vh netns "$h" || fail "veth $n"
	inns "$W" ip addr add "$v4.1/${5:-24}" dev "vw$n"
	inns "$h" ip addr add "$v4.2/${5:-24}" dev vh
	if [ -n "$v6" ]; then
		inns "$W" ip -6 addr add "${v6}1/64" dev "vw$n" nodad
		inns "$h" ip -6 addr add "${v6}2/64" dev vh nodad
	fi
	inns "$W" ip link set "vw$n" up
	inns "$h" ip link set lo up
	inns "$h" ip link set vh up
}

# net_serve HOSTPID NAME ADDR...: starts an echo server, waits until it answers.
net_serve() {
	local h=$1 name=$2 first=$3 i
	shift
	# nsenter itself, not the inns function: a function in the background
	# is a subshell, and killing that subshell orphaned the server
	nsenter --net="/proc/$h/ns/net" -- python3 -c "$NET_SERVER" "$@" >/dev/null 2>&1 &
	NET_KEEP+=($!)
	for i in $(seq 100); do
		inns "$h" python3 -c "$NET_CLIENT" tcp "$first" 7000 1 >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "test host $name did not come up"
}

# net_up: the world W and its hosts:
#   H1 10.200.1.2 / 2001:db8:1::2  (allowlisted in most tests)
#   H2 10.200.2.2 / 2001:db8:2::2  (never allowlisted unless said)
#   HM 169.254.169.254 / fd00:ec2::254  (a fake metadata service)
#   the world's own loopback service on 127.0.0.1 (must stay unreachable)
net_up() {
	only_root
	command -v python3 >/dev/null || skip "python3 missing"
	[ -x "$NET_PY" ] || skip "$NET_PY missing"
	command -v slirp4netns >/dev/null || skip "slirp4netns missing"
	command -v unshare nsenter >/dev/null || skip "util-linux missing"
	trap net_down EXIT
	trap 'exit 1' TERM INT HUP
	W=$(net_ns) && NET_KEEP+=("$W") || skip "cannot make a network namespace"
	H1=$(net_ns) && NET_KEEP+=("$H1") || fail "netns"
	H2=$(net_ns) && NET_KEEP+=("$H2") || fail "netns"
	HM=$(net_ns) && NET_KEEP+=("$HM") || fail "netns"
	inns "$W" ip link set lo up
	net_link "$H1" 1 10.200.1 2001:db8:1::
	net_link "$H2" 2 10.200.2 2001:db8:2::
	net_link "$HM" 3 169.254.169 fd00:ec2:: 16
	# The metadata host sits at .254, not .2.
	inns "$HM" ip addr add 169.254.169.254/16 dev vh
	inns "$HM" ip -6 addr add fd00:ec2::254/64 dev vh nodad
	# SPEC §7: nothing is sent until the world is proven routeless.
	[ -z "$(inns "$W" ip -4 route show default)" ] || fail "the world has an IPv4 default route"
	[ -z "$(inns "$W" ip -6 route show default)" ] || fail "the world has an IPv6 default route"
	net_serve "$H1" h1 10.200.1.2 2001:db8:1::2
	net_serve "$H2" h2 10.200.2.2 2001:db8:2::2
	net_serve "$HM" meta 169.254.169.254 fd00:ec2::254
	net_serve "$W" worldlo 127.0.0.1
}

# policy with network settings merged over the default profile.
net_policy() { # NAME MODE ALLOW_JSON_ARRAY [DENY_LL=true]
	policy_file "$1" "{\"network\":{\"mode\":\"$2\",\"allow\":$3,\"denyLinkLocalAndMetadata\":${4:-true}}}"
}

# nsrun inside the world.
wrun() { inns "$W" "$NSRUN" "$@"; }

# in_sandbox POLICY CLIENT-ARGS...: runs the client in the sandbox.
in_sandbox() {
	local pol=$1
	shift
	wrun run --override "$pol" -- "$NET_PY" -c "$NET_CLIENT" "$@"
}

# expect_reach POLICY MODE HOST PORT NAME
expect_reach() {
	expect_exit 0 in_sandbox "$1" "$2" "$3" "$4"
	contains "$OUT" "ok pong-$5-ping"
}

# expect_refused_fast POLICY MODE HOST PORT: fails, and within 1 s.
expect_refused_fast() {
	local ms
	expect_exit 1 in_sandbox "$1" "$2" "$3" "$4" 5
	contains "$OUT" "err "
	ms=$(awk '/^err/ {print $3}' "$OUT")
	[ -n "$ms" ] && [ "$ms" -lt 1000 ] || fail "$3: blocked after ${ms:-?} ms, not at once: $(cat "$OUT")"
}

# ---- tests -------------------------------------------------------------------

t_net_allowlist_reaches_listed_host_tcp_udp() {
	net_up
	local pol
	pol=$(net_policy allow allowlist '["10.200.1.2"]')
	expect_reach "$pol" tcp 10.200.1.2 7000 h1
	expect_reach "$pol" udp 10.200.1.2 7001 h1
	expect_exit 0 wrun run --override "$pol" --report "$T_TMP/report.json" -- /bin/true
	[ "$(json_get "$T_TMP/report.json" egress)" = slirp4netns ] || fail "egress is not slirp4netns"
	[ "$(json_get "$T_TMP/report.json" enforced.network)" = true ] || fail "network not enforced"
}

t_net_blocked_host_fails_within_a_second() {
	net_up
	local pol
	pol=$(net_policy allow allowlist '["10.200.1.2"]')
	expect_refused_fast "$pol" tcp 10.200.2.2 7000
	contains "$OUT" ECONNREFUSED
	# UDP: the send itself is refused (EPERM), nothing waits for a reply.
	expect_refused_fast "$pol" udp 10.200.2.2 7001
	contains "$OUT" EPERM
	# Control: the same host answers once listed, so the refusal was the filter.
	pol=$(net_policy allow2 allowlist '["10.200.1.2","10.200.2.0/24"]')
	expect_reach "$pol" tcp 10.200.2.2 7000 h2
}

t_net_metadata_blocked_even_when_listed() {
	net_up
	local pol
	pol=$(net_policy meta allowlist '["10.200.1.2","169.254.169.254","169.254.0.0/16","fd00:ec2::254"]')
	expect_refused_fast "$pol" tcp 169.254.169.254 7000
	expect_refused_fast "$pol" udp 169.254.169.254 7001
	expect_refused_fast "$pol" tcp fd00:ec2::254 7000
	expect_exit 0 wrun run --override "$pol" --report "$T_TMP/report.json" -- /bin/true
	contains "$T_TMP/report.json" "stay blocked"
	# Control: without denyLinkLocalAndMetadata the fake metadata host answers.
	pol=$(net_policy meta-open allowlist '["169.254.169.254"]' false)
	expect_reach "$pol" tcp 169.254.169.254 7000 meta
}

t_net_world_loopback_unreachable() {
	net_up
	local pol
	# 10.0.2.2 is slirp4netns's alias for the world's 127.0.0.1.
	pol=$(net_policy lo allowlist '["10.0.2.2","127.0.0.1","10.200.1.2"]')
	expect_exit 1 in_sandbox "$pol" tcp 10.0.2.2 7000 3
	lacks "$OUT" "pong-worldlo"
	expect_exit 1 in_sandbox "$pol" tcp 127.0.0.1 7000 3
	lacks "$OUT" "pong-worldlo"
	expect_reach "$pol" tcp 10.200.1.2 7000 h1
}

t_net_ipv6_allowed_and_blocked() {
	net_up
	local pol
	pol=$(net_policy v6 allowlist '["2001:db8:1::2"]')
	expect_reach "$pol" tcp 2001:db8:1::2 7000 h1
	expect_reach "$pol" udp 2001:db8:1::2 7001 h1
	expect_refused_fast "$pol" tcp 2001:db8:2::2 7000
	expect_refused_fast "$pol" tcp 10.200.1.2 7000
}

t_net_ten_thousand_entries() {
	net_up
	local pol
	# 9,998 filler CIDRs (v4 and v6, none covering H2), plus H1 both ways.
	python3 - "$T_TMP/many.json" <<'EOF'
import json, sys
allow = ["10.%d.%d.0/25" % (100 + i // 256, i % 256) for i in range(5000)]
allow += ["2001:db8:%x::/48" % (0x100 + 2 * i) for i in range(4998)]
allow += ["10.200.1.2", "2001:db8:1::2"]
json.dump({"network": {"mode": "allowlist", "allow": allow}}, open(sys.argv[1], "w"))
EOF
	pol=$T_TMP/many.json
	expect_reach "$pol" tcp 10.200.1.2 7000 h1
	expect_reach "$pol" tcp 2001:db8:1::2 7000 h1
	expect_refused_fast "$pol" tcp 10.200.2.2 7000
	expect_refused_fast "$pol" tcp 2001:db8:2::2 7000
	pol=$(net_policy one allowlist '["10.200.1.2"]')
	expect_reach "$pol" tcp 10.200.1.2 7000 h1
}

t_net_deny_has_only_lo() {
	net_up
	local pol
	pol=$(net_policy deny deny '[]')
	expect_exit 0 wrun run --override "$pol" --report "$T_TMP/report.json" -- /bin/cat /proc/net/dev
	[ "$(grep -c ':' "$OUT")" = 1 ] || fail "interfaces besides lo: $(cat "$OUT")"
	contains "$OUT" "lo:"
	[ "$(json_get "$T_TMP/report.json" egress)" = none ] || fail "egress is not none"
	expect_refused_fast "$pol" tcp 10.200.1.2 7000
	contains "$OUT" ENETUNREACH
	# An empty allowlist is deny.
	pol=$(net_policy empty allowlist '[]')
	expect_exit 0 wrun run --override "$pol" -- /bin/cat /proc/net/dev
	[ "$(grep -c ':' "$OUT")" = 1 ] || fail "empty allowlist: $(cat "$OUT")"
}

t_net_unrestricted_blocks_only_metadata() {
	net_up
	local pol
	pol=$(net_policy unres unrestricted '[]')
	expect_reach "$pol" tcp 10.200.1.2 7000 h1
	expect_reach "$pol" tcp 10.200.2.2 7000 h2
	expect_reach "$pol" tcp 2001:db8:2::2 7000 h2
	expect_refused_fast "$pol" tcp 169.254.169.254 7000
	expect_refused_fast "$pol" tcp fd00:ec2::254 7000
	# Without the block: the world's network as is (no netns of its own).
	pol=$(net_policy host unrestricted '[]' false)
	expect_exit 0 wrun run --override "$pol" --report "$T_TMP/report.json" -- /bin/cat /proc/net/dev
	contains "$OUT" "vw1:"
	[ "$(json_get "$T_TMP/report.json" egress)" = host ] || fail "egress is not host"
}

# A stand-in slirp4netns (NSRUN_SLIRP4NETNS) records, at the moment it is
# started, what the sandbox's netns holds, then execs the real one.
t_net_filter_loaded_before_tap0() {
	net_up
	local pol real wrap
	real=$(command -v slirp4netns)
	wrap=$T_TMP/slirp-wrap
	cat >"$wrap" <<EOF
#!/bin/sh
for a; do pid=\$a; [ "\$a" = tap0 ] && break; last=\$a; done
pid=\$last
/usr/bin/nsenter --net=/proc/\$pid/ns/net /usr/sbin/nft list table inet nsrun >"$T_TMP/nft-at-start" 2>&1
/usr/bin/nsenter --net=/proc/\$pid/ns/net /usr/sbin/ip -o link >"$T_TMP/links-at-start" 2>&1
exec "$real" "\$@"
EOF
	chmod 755 "$wrap"
	command -v nft >/dev/null || skip "nft (the test oracle) missing"
	pol=$(net_policy allow allowlist '["10.200.1.2"]')
	expect_exit 0 env NSRUN_SLIRP4NETNS="$wrap" nsenter --net="/proc/$W/ns/net" -- \
		"$NSRUN" run --override "$pol" -- "$NET_PY" -c "$NET_CLIENT" tcp 10.200.1.2 7000
	contains "$OUT" "ok pong-h1"
	contains "$T_TMP/nft-at-start" "policy drop"
	contains "$T_TMP/nft-at-start" "@allow4"
	contains "$T_TMP/nft-at-start" "169.254.0.0/16"
	lacks "$T_TMP/links-at-start" "tap0"
	contains "$T_TMP/links-at-start" "lo:"
	# The supervisor's own netns (the world) never got a ruleset.
	[ -z "$(inns "$W" nft list ruleset)" ] || fail "a ruleset landed in the world"
}

t_net_slirp_killed_mid_run() {
	net_up
	local pol run slirp i t0
	pol=$(net_policy allow allowlist '["10.200.1.2"]')
	# First connect works; then wait for the test to kill slirp4netns; then
	# a second connect must fail (no egress) without hanging the run.
	cat >"$T_TMP/two.py" <<EOF
import socket, time, sys
def once():
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect(("10.200.1.2", 7000)); s.sendall(b"x"); return s.recv(100).decode() or "eof"
    except OSError as e:
        return "err %s" % e
print("first", once(), flush=True)
time.sleep(3)
print("second", once(), flush=True)
EOF
	t0=$(date +%s)
	# nsenter (no --fork) execs nsrun in place: $! is the supervisor.
	nsenter --net="/proc/$W/ns/net" -- "$NSRUN" run --override "$pol" -- "$NET_PY" -c "$(cat "$T_TMP/two.py")" \
		>"$T_TMP/out" 2>"$T_TMP/err" </dev/null &
	run=$!
	NET_KEEP+=("$run")
	for i in $(seq 100); do
		grep -q '^first' "$T_TMP/out" 2>/dev/null && break
		sleep 0.1
	done
	contains "$T_TMP/out" "first pong-h1"
	slirp=$(pgrep -P "$run" -x slirp4netns)
	[ -n "$slirp" ] || fail "no slirp4netns under nsrun $run"
	kill -9 "$slirp"
	wait "$run"
	[ $(($(date +%s) - t0)) -lt 30 ] || fail "the run hung after slirp4netns died"
	contains "$T_TMP/out" "second err"
	! kill -0 "$slirp" 2>/dev/null || fail "slirp4netns $slirp survived"
}

t_net_supervisor_killed_takes_slirp_along() {
	net_up
	local pol run slirp i
	pol=$(net_policy allow allowlist '["10.200.1.2"]')
	nsenter --net="/proc/$W/ns/net" -- "$NSRUN" run --override "$pol" -- /bin/sleep 60 \
		>/dev/null 2>&1 </dev/null &
	run=$!
	NET_KEEP+=("$run")
	for i in $(seq 100); do
		slirp=$(pgrep -P "$run" -x slirp4netns) && break
		sleep 0.1
	done
	[ -n "$slirp" ] || fail "no slirp4netns under nsrun $run"
	kill -9 "$run"
	for i in $(seq 50); do
		kill -0 "$slirp" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "$slirp" 2>/dev/null || fail "slirp4netns $slirp outlived a SIGKILLed supervisor"
}

t_net_rootless_in_world() {
	net_up
	local pol user=nsrun-test
	id "$user" >/dev/null 2>&1 || skip "no rootless user $user"
	[ "$(stat -c %a /dev/net/tun 2>/dev/null)" = 666 ] ||
		skip "/dev/net/tun is not mode 0666 (the test set-up makes it so)"
	# degrade: a rootless user may lack a memory cgroup; the network layer
	# itself must still be enforced, which the report is checked for.
	pol=$(policy_file rl '{"onUnavailable":"degrade","network":{"mode":"allowlist",
		"allow":["10.200.1.2","2001:db8:1::2"],"denyLinkLocalAndMetadata":true}}')
	chmod 755 "$T_TMP"
	chmod 644 "$pol"
	rl() { inns "$W" runuser -u "$user" -- "$NSRUN" "$@"; }
	expect_exit 0 rl run --override "$pol" --report-fd 3 -- "$NET_PY" -c "$NET_CLIENT" tcp 10.200.1.2 7000 3>"$T_TMP/report.json"
	contains "$OUT" "ok pong-h1-ping"
	[ "$(json_get "$T_TMP/report.json" enforced.network)" = true ] || fail "network not enforced"
	[ "$(json_get "$T_TMP/report.json" egress)" = slirp4netns ] || fail "egress is not slirp4netns"
	contains "$T_TMP/report.json" "--enable-sandbox"
	expect_exit 0 rl run --override "$pol" -- "$NET_PY" -c "$NET_CLIENT" udp 10.200.1.2 7001
	contains "$OUT" "ok pong-h1-ping"
	expect_exit 0 rl run --override "$pol" -- "$NET_PY" -c "$NET_CLIENT" tcp 2001:db8:1::2 7000
	contains "$OUT" "ok pong-h1-ping"
	expect_exit 1 rl run --override "$pol" -- "$NET_PY" -c "$NET_CLIENT" tcp 10.200.2.2 7000 5
	contains "$OUT" ECONNREFUSED
	expect_exit 1 rl run --override "$pol" -- "$NET_PY" -c "$NET_CLIENT" tcp 169.254.169.254 7000 5
	contains "$OUT" ECONNREFUSED
	# slirp4netns is SIGKILLed when the sandbox ends; its exit (closing
	# tap0) may take some ms after nsrun returns.
	for _ in $(seq 20); do pgrep -u "$user" -x slirp4netns >/dev/null || break; sleep 0.1; done
	pgrep -u "$user" -x slirp4netns >/dev/null && fail "a rootless slirp4netns was left behind"
	return 0
}

t_net_missing_slirp_is_reported_not_silent() {
	net_up
	local pol
	pol=$(net_policy allow allowlist '["10.200.1.2"]')
	# fail-closed (the default): refused, and the reason says what to do.
	expect_exit 125 env NSRUN_SLIRP4NETNS=/nonexistent/slirp4netns \
		nsenter --net="/proc/$W/ns/net" -- "$NSRUN" run --override "$pol" -- /bin/true
	contains "$ERR" "slirp4netns"
	# degrade: it runs, loopback only (never an open door), and says so.
	printf '{"onUnavailable":"degrade","network":{"mode":"allowlist","allow":["10.200.1.2"]}}\n' \
		>"$T_TMP/degrade.json"
	expect_exit 1 env NSRUN_SLIRP4NETNS=/nonexistent/slirp4netns \
		nsenter --net="/proc/$W/ns/net" -- "$NSRUN" run --override "$T_TMP/degrade.json" \
		--report "$T_TMP/report.json" -- "$NET_PY" -c "$NET_CLIENT" tcp 10.200.1.2 7000 3
	lacks "$OUT" "ok pong"
	[ "$(json_get "$T_TMP/report.json" enforced.network)" = false ] || fail "network marked enforced"
	contains "$T_TMP/report.json" "loopback only"
}

t_net_leaves_no_trace() {
	net_up
	local pol before after wbefore wafter p
	pol=$(net_policy allow allowlist '["10.200.1.2"]')
	before=$(nft list ruleset 2>&1; ip route; ip -6 route)
	wbefore=$(inns "$W" sh -c 'nft list ruleset; ip -o link; ip route; ip -6 route' 2>&1)
	expect_reach "$pol" tcp 10.200.1.2 7000 h1
	pol=$(net_policy unres unrestricted '[]')
	expect_reach "$pol" tcp 10.200.1.2 7000 h1
	after=$(nft list ruleset 2>&1; ip route; ip -6 route)
	wafter=$(inns "$W" sh -c 'nft list ruleset; ip -o link; ip route; ip -6 route' 2>&1)
	[ "$before" = "$after" ] || fail "the machine's ruleset or routes changed"
	[ "$wbefore" = "$wafter" ] || fail "the world's ruleset, links or routes changed"
	for p in $(pgrep -x slirp4netns); do
		[ "$(readlink "/proc/$p/ns/net")" != "$(readlink "/proc/$W/ns/net")" ] ||
			fail "slirp4netns $p left behind in the world"
	done
	return 0
}

# Regression: slirp4netns's own sandbox (root supervisor) used to detach the
# host's shared mounts, e.g. every /run/netns/<name>: its old-root umount
# propagated back. nsrun now starts it in a private mount namespace.
t_net_root_egress_leaves_host_mounts_alone() {
	only_root
	local w=nsrun-mnt-$$ before after
	ip netns add "$w" || fail "ip netns add"
	# expanded now: $w is local, gone by the time the EXIT trap runs
	# shellcheck disable=SC2064
	trap "ip netns del $w 2>/dev/null" EXIT
	ip -n "$w" route show default | grep -q . && fail "the world has a default route"
	before=$(awk '{print $5}' /proc/self/mountinfo | sort)
	p=$(policy_file al '{"network":{"allow":["10.200.9.9"]}}')
	expect_exit 0 nsenter --net="/run/netns/$w" "$NSRUN" run --override "$p" --report "$T_TMP/r.json" -- true
	[ "$(json_get "$T_TMP/r.json" egress)" = slirp4netns ] || fail "egress was not plumbed"
	after=$(awk '{print $5}' /proc/self/mountinfo | sort)
	[ "$before" = "$after" ] || fail "host mounts changed: $(diff <(echo "$before") <(echo "$after") | head -5)"
}
