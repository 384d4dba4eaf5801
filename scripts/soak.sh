#!/usr/bin/env bash
# Soak test: many nsrun runs, sequential then concurrent, mixing every policy
# mode (filesystem off / scratch-only / scratch-plus-ro, network deny /
# allowlist with an entry / unrestricted with and without the link-local
# block, privilege drop / inherit, enabled:false), as root and as the rootless
# user, with timeouts, output floods, failing commands, signals, daemons and
# real egress to a test host. Every run's exit code is checked against SPEC §1.
#
# Before and after, it counts what a leak would leave behind: processes
# (nsrun, slirp4netns, sandboxed commands), zombies, mounts in the host mount
# namespace, network namespaces, run cgroups (nsrun-*; the empty "nsrun"
# parent stays by design), /tmp/nsrun* dirs; and it
# checks that no fd of the caller reaches the sandbox or slirp4netns. Exits
# non-zero if a run misbehaved or anything leaked.
#
#   scripts/soak.sh [--short]      (root; --short: ~100 + 40 runs, for CI)
#   NSRUN=path/to/nsrun (default: $BUILD_DIR/nsrun or build/nsrun, built if missing)
#   SOAK_SEQ=N SOAK_CONC=N SOAK_PAR=N override the run counts; SOAK_KEEP=1
#   keeps the work dir (per-run stdout/stderr of failed runs) for a post-mortem.
#
# Every run happens inside a "world" network namespace made here, without a
# default route (SPEC §7): slirp4netns lives there too, and the only host it
# can reach is this script's test host behind a veth pair. Nothing is loaded
# into, or changed in, the machine's own namespaces.
#
# The machine may be shared (other test runs): a leak is an item that appeared
# during the soak and is still there after a settle period, and it is printed
# so a human can tell it from a neighbour's.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

short=0
case "${1:-}" in
--short) short=1 ;;
'') ;;
*) echo "usage: scripts/soak.sh [--short]" >&2; exit 2 ;;
esac
if [ "$short" = 1 ]; then
	seq_n=${SOAK_SEQ:-100} conc_n=${SOAK_CONC:-40}
else
	seq_n=${SOAK_SEQ:-1000} conc_n=${SOAK_CONC:-200}
fi
par=${SOAK_PAR:-8}
rootless_user=${SOAK_USER:-nsrun-test}

[ "$(id -u)" -eq 0 ] || { echo "soak: must run as root (it makes network namespaces)" >&2; exit 2; }
src_bin=${NSRUN:-${BUILD_DIR:-$root/build}/nsrun}
if [ ! -x "$src_bin" ]; then
	"$root/scripts/build.sh" || { echo "soak: build failed" >&2; exit 1; }
fi
[ -x "$src_bin" ] || { echo "soak: no nsrun binary at $src_bin" >&2; exit 1; }
for t in ip nsenter lsns runuser python3; do
	command -v "$t" >/dev/null || { echo "soak: $t is missing" >&2; exit 1; }
done
id "$rootless_user" >/dev/null 2>&1 || rootless_user=""

start=$(date +%s)
# Not /tmp/nsrun*: that prefix is what the leak check looks for.
work=$(mktemp -d /tmp/soak.XXXXXX)
chmod 755 "$work"
cd "$work" || exit 1
# Our own copy: readable by the rootless user, and its path tells our
# supervisors from a neighbour's.
cp "$src_bin" "$work/nsrun" && chmod 755 "$work/nsrun"
NS=$work/nsrun
world=nsrun-soak-w.$$
thost=nsrun-soak-h.$$
# A sleep duration no one else uses marks every sandboxed process.
MARK=$((50000 + $$ % 40000))
TAG=soak-$MARK
listener="" holder=""

cleanup() {
	local pids
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	# Only what carries our marker: processes this script started.
	pids=$(pgrep -f -- "$TAG|sleep $MARK" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	ip netns del "$world" 2>/dev/null
	ip netns del "$thost" 2>/dev/null
	cd / || return
	if [ "${SOAK_KEEP:-0}" = 1 ]; then echo "soak: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- snapshots
snap() { # DIR: what a leak would leave, one item a line, sorted
	mkdir -p "$1"
	pgrep -x nsrun | sort >"$1/nsrun"
	pgrep -x slirp4netns | sort >"$1/slirp4netns"
	pgrep -f -- "$TAG|sleep $MARK" | sort >"$1/sandboxed"
	ps -eo pid=,stat=,comm= | awk '$2 ~ /^Z/ {print $1, $3}' | sort >"$1/zombies"
	awk '{print $5, $(NF-2), $(NF-1)}' /proc/self/mountinfo | sort >"$1/mounts"
	{
		ip netns list 2>/dev/null | awk '{print "named " $1}'
		lsns -t net -n -o NS 2>/dev/null | awk '{print "ns " $1}'
	} | sort >"$1/netns"
	find /sys/fs/cgroup -type d -name 'nsrun-*' 2>/dev/null | sort >"$1/cgroups"
	find /tmp -maxdepth 1 -name 'nsrun*' 2>/dev/null | sort >"$1/tmpdirs"
	# The machine's own network: links, routes, nftables ruleset (SPEC §6).
	{
		ip -o link show | awk -F': ' '{print "link " $2}'
		ip route show | sed 's/^/route4 /'
		ip -6 route show | sed 's/^/route6 /'
		command -v nft >/dev/null && nft list ruleset 2>/dev/null | sed 's/^/nft /'
	} | sort >"$1/hostnet"
}
categories=(nsrun slirp4netns sandboxed zombies mounts netns cgroups tmpdirs hostnet)

print_counts() { # BEFORE_DIR AFTER_DIR
	printf '  %-12s %8s %8s\n' what before after
	for c in "${categories[@]}"; do
		printf '  %-12s %8d %8d\n' "$c" "$(wc -l <"$1/$c")" "$(wc -l <"$2/$c")"
	done
}

# Items that appeared since BEFORE and are still there; waits up to 15 s for
# transient ones (a neighbour's run, a cgroup being removed) to go.
leaks() { # BEFORE_DIR AFTER_DIR -> prints "category item" lines
	local i c new
	for i in $(seq 30); do
		new=""
		snap "$2"
		for c in "${categories[@]}"; do
			new+=$(comm -13 "$1/$c" "$2/$c" | sed "s|^|$c |")
		done
		[ -z "$new" ] && return 0
		sleep 0.5
	done
	printf '%s\n' "$new"
}

# ---------------------------------------------------------------- the world
snap "$work/before"
ip netns add "$world" || exit 1
ip netns add "$thost" || exit 1
ip -n "$world" link set lo up
ip -n "$thost" link set lo up
ip -n "$world" link add veth0 type veth peer name veth1 netns "$thost" || exit 1
ip -n "$world" addr add 10.77.0.2/24 dev veth0
ip -n "$thost" addr add 10.77.0.1/24 dev veth1
ip -n "$world" link set veth0 up
ip -n "$thost" link set veth1 up
# Runs enter the world through a process that lives in it, not through its
# /run/netns mount: if a run unmounts that (a host mount change, reported
# below), the runs after it still test what they should.
(nsenter --net="/run/netns/$world" sleep infinity </dev/null >/dev/null 2>&1 &
	echo $! >"$work/holder.pid")
holder=$(cat "$work/holder.pid")
WNET=/proc/$holder/ns/net
world_ino=$(stat -L -c %i "$WNET")
# Processes in the world, but the holder: our supervisors and slirp4netns.
world_pids() {
	local d
	for d in /proc/[0-9]*; do
		[ "${d#/proc/}" = "$holder" ] && continue
		[ "$(stat -L -c %i "$d/ns/net" 2>/dev/null)" = "$world_ino" ] && echo "${d#/proc/}"
	done
}
if [ -n "$(ip -n "$world" route show default)" ] || [ -n "$(ip -n "$world" -6 route show default)" ]; then
	echo "soak: the world namespace has a default route; refusing to send anything" >&2
	exit 1
fi
# The test host: answers "hello" on 10.77.0.1:7777.
# In a subshell, so it is no job of ours: `wait`/`jobs` see only the runs.
(nsenter --net="/run/netns/$thost" python3 -c '
import socketserver
class H(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"hello\n")
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
S(("10.77.0.1", 7777), H).serve_forever()
' >/dev/null 2>&1 &
echo $! >"$work/listener.pid")
listener=$(cat "$work/listener.pid")
for _ in $(seq 50); do
	nsenter --net="$WNET" bash -c 'exec 3<>/dev/tcp/10.77.0.1/7777' 2>/dev/null && break
	sleep 0.1
done
nsenter --net="$WNET" bash -c 'exec 3<>/dev/tcp/10.77.0.1/7777' 2>/dev/null ||
	{ echo "soak: the test host does not answer" >&2; exit 1; }

# ---------------------------------------------------------------- policies
mkdir -p "$work/pol" "$work/ro" "$work/out"
echo ro-data >"$work/ro/file"
chmod -R a+rX "$work/ro" "$work/pol"
chmod 777 "$work/out"

variants=(off scratch ro allow unres_block unres_open inherit uid disabled)
# The root supervisor runs fail-closed wherever this host can enforce the
# layer (a spurious refusal is then a failure); privilege inherit under root
# is a downgrade by design, and the rootless user lacks cgroups here: both
# run with onUnavailable degrade.
for as in root rootless; do
	ou='"fail"'
	[ "$as" = rootless ] && ou='"degrade"'
	pol() { printf '%s\n' "$2" >"$work/pol/$as-$1.json"; }
	pol off "{\"onUnavailable\":$ou,\"filesystem\":{\"mode\":\"off\"},\"network\":{\"mode\":\"deny\"}}"
	pol scratch "{\"onUnavailable\":$ou,\"filesystem\":{\"mode\":\"scratch-only\"},\"network\":{\"mode\":\"deny\"}}"
	pol ro "{\"onUnavailable\":$ou,\"filesystem\":{\"mode\":\"scratch-plus-ro\"}}"
	pol allow "{\"onUnavailable\":$ou,\"network\":{\"mode\":\"allowlist\",\"allow\":[\"10.77.0.1\"]}}"
	pol unres_block "{\"onUnavailable\":$ou,\"network\":{\"mode\":\"unrestricted\",\"denyLinkLocalAndMetadata\":true}}"
	pol unres_open "{\"onUnavailable\":$ou,\"network\":{\"mode\":\"unrestricted\",\"denyLinkLocalAndMetadata\":false}}"
	pol inherit '{"onUnavailable":"degrade","privilege":{"mode":"inherit"}}'
	pol uid "{\"onUnavailable\":$ou,\"privilege\":{\"mode\":\"drop-to-uid\",\"uid\":12345,\"gid\":12345}}"
	pol disabled '{"enabled":false}'
done
printf '{"resources":{"maxOutputBytes":65536}}\n' >"$work/pol/flood.json"
chmod a+r "$work/pol"/*.json

cmds=(true fail stdin timeout flood script script_flood notfound signal daemon fork net)

# ---------------------------------------------------------------- one run
# run_one IDX AS VARIANT CMD: runs it, checks the exit code (and output where
# it says something), appends "ok|FAIL ..." to $work/results.
run_one() {
	local idx=$1 as=$2 v=$3 c=$4 want=0 rc out=$work/out/$1 extra=() argv=() stdin=/dev/null
	local pre=(nsenter --net="$WNET" --)
	local p=$work/pol/$as-$v.json
	[ "$as" = rootless ] && pre+=(runuser -u "$rootless_user" --)
	case $c in
	true) argv=(true) ;;
	fail) argv=(sh -c 'exit 3' "$TAG"); want=3 ;;
	stdin) argv=(sh -c 'cat; echo done' "$TAG"); stdin=$work/ro/file ;;
	timeout) extra=(--timeout-ms 300); argv=(sh -c "sleep $MARK" "$TAG"); want=124 ;;
	flood) extra=(--override "$work/pol/flood.json"); argv=(sh -c 'head -c 2000000 /dev/zero; sleep 5' "$TAG"); want=137 ;;
	notfound) argv=(/no/such/program-"$TAG"); want=127 ;;
	signal) argv=(sh -c 'kill -TERM $$' "$TAG"); want=143 ;;
	daemon) argv=(sh -c "setsid sleep $MARK </dev/null >/dev/null 2>&1 & echo started" "$TAG") ;;
	fork) argv=(sh -c 'i=0; while [ $i -lt 8 ]; do (sleep 0.01) & i=$((i+1)); done; wait; echo forked' "$TAG") ;;
	net) argv=(bash -c 'exec 3<>/dev/tcp/10.77.0.1/7777 && head -c 6 <&3' "$TAG")
		extra=(--timeout-ms 10000)
		case $v in allow | unres_block | unres_open | disabled) ;; *) want=1 ;; esac ;;
	esac
	# enabled:false has no pid namespace: a daemon would outlive it by design.
	[ "$v" = disabled ] && [ "$c" = daemon ] && argv=(sh -c 'echo started' "$TAG")
	if [ "$c" = script ] || [ "$c" = script_flood ]; then
		local text='echo hi; echo err >&2; exit 2'
		[ "$c" = script_flood ] && text='yes | head -c 20000000'
		"${pre[@]}" "$NS" script --policy "$p" --timeout-ms 20000 --script "$text" \
			</dev/null >"$out.o" 2>"$out.e"
	else
		[ "$v" = ro ] && extra+=(--ro-bind "$work/ro:/data")
		"${pre[@]}" "$NS" run --policy "$p" "${extra[@]}" -- "${argv[@]}" \
			<"$stdin" >"$out.o" 2>"$out.e"
	fi
	rc=$?
	local why=""
	[ "$rc" = "$want" ] || why="exit $rc, want $want"
	if [ -z "$why" ]; then
		case $c in
		stdin) grep -q '^ro-data$' "$out.o" && grep -q '^done$' "$out.o" || why="stdin not relayed" ;;
		script) grep -q '"exitCode": *2' "$out.o" && grep -q '"stdout": *"hi\\n"' "$out.o" || why="script result" ;;
		script_flood) grep -q '"outputTruncated": *true' "$out.o" || why="script flood not truncated" ;;
		net) [ "$want" = 0 ] && ! grep -q '^hello$' "$out.o" && why="no answer from the test host" ;;
		timeout) grep -q 'timed out' "$out.e" || why="no timeout reason" ;;
		esac
	fi
	if [ -z "$why" ]; then
		echo "ok $idx $as $v $c" >>"$work/results"
		rm -f "$out.o" "$out.e"
	else
		echo "FAIL $idx $as $v $c: $why" >>"$work/results"
	fi
}

# The plan: every (variant, command) pair in turn; about a third of the runs
# as the rootless user, chosen by a hash of the index (not by the variant or
# the command), so a failure replays with the same index.
plan_line() { # IDX
	local idx=$1 as=root
	local v=${variants[$((idx % ${#variants[@]}))]}
	local c=${cmds[$(((idx / ${#variants[@]}) % ${#cmds[@]}))]}
	[ -n "$rootless_user" ] && ((((idx * 2654435761) % 4294967296 >> 16) % 3 == 0)) && as=rootless
	echo "$idx $as $v $c"
}

echo "== soak: $seq_n sequential + $conc_n concurrent ($par at a time) runs of $src_bin"
echo "   world netns $world (no default route), test host 10.77.0.1 in $thost${rootless_user:+, rootless user $rootless_user}"
t0=$(date +%s)
for ((i = 0; i < seq_n; i++)); do
	# shellcheck disable=SC2046
	run_one $(plan_line "$i")
	((i % 100 == 99)) && echo "   $((i + 1)) sequential runs, $(grep -c '^FAIL' "$work/results" 2>/dev/null; true) failed"
done
t1=$(date +%s)
for ((i = seq_n; i < seq_n + conc_n; i++)); do
	while (($(jobs -rp | wc -l) >= par)); do wait -n; done
	# shellcheck disable=SC2046
	run_one $(plan_line "$i") &
done
wait
t2=$(date +%s)
echo "   sequential: ${seq_n} runs in $((t1 - t0)) s; concurrent: ${conc_n} runs in $((t2 - t1)) s"

# ---------------------------------------------------------------- fds
# No fd of the caller reaches the command (any mode) nor slirp4netns; the
# supervisor's own fds stay a small fixed set during a run.
fdfail=0
echo caller-secret >"$work/caller-secret"
exec 9<"$work/caller-secret"
for v in "${variants[@]}"; do
	nsenter --net="$WNET" -- "$NS" run --policy "$work/pol/root-$v.json" -- \
		sh -c 'ls -l /proc/self/fd/' "$TAG" >"$work/fd.out" 2>&1
	# ls's own fd 3 is the directory it reads.
	fd_extra=$(awk '/->/ {print $(NF-2), $NF}' "$work/fd.out" | grep -vE '^[012] |/proc/[0-9]+/fd/?$')
	if [ -n "$fd_extra" ] || grep -q caller-secret "$work/fd.out"; then
		echo "FAIL fd: $v: the command holds more than stdio: $fd_extra"
		fdfail=1
	fi
done
nsenter --net="$WNET" -- "$NS" run --policy "$work/pol/root-allow.json" -- \
	sh -c "echo ready; sleep 2" "$TAG" >"$work/fd2.out" 2>&1 &
sv=$!
for _ in $(seq 50); do grep -q ready "$work/fd2.out" 2>/dev/null && break; sleep 0.05; done
sv_fds=$(find "/proc/$sv/fd" -mindepth 1 2>/dev/null | wc -l)
for p in $(world_pids); do
	[ "$p" = "$sv" ] && continue
	if [ "$(readlink "/proc/$p/exe")" != "$NS" ] &&
		[ -n "$(find "/proc/$p/fd" -mindepth 1 -lname '*caller-secret*' 2>/dev/null)" ]; then
		echo "FAIL fd: $(cat "/proc/$p/comm") (pid $p) holds the caller's fd 9"
		fdfail=1
	fi
done
wait "$sv" || { echo "FAIL fd: the fd probe run exited $?"; fdfail=1; }
exec 9<&-
echo "   supervisor fds during an allowlist run: $sv_fds (stdio, the caller's fd 9 and its own)"
[ "$sv_fds" -le 24 ] || { echo "FAIL fd: the supervisor holds $sv_fds fds"; fdfail=1; }

# ---------------------------------------------------------------- verdict
kill "$listener" 2>/dev/null; listener=""
for _ in $(seq 50); do
	left_in_world=$(world_pids | tr '\n' ' ')
	[ -z "$left_in_world" ] && break
	sleep 0.1
done
[ -n "$left_in_world" ] && left_in_world=$(for p in $left_in_world; do printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; done)
kill "$holder" 2>/dev/null; holder=""
# A run must not change the host's mounts: not even unmount the nsfs mounts
# that keep named namespaces (ours here) alive. A helper that lazily unmounts
# a copy of a shared /run/netns in a mount namespace of its own, without
# making it private first, propagates that umount back to the host.
lost_mounts=""
for n in "$world" "$thost"; do
	awk -v m="/run/netns/$n" '$5 == m {f = 1} END {exit !f}' /proc/self/mountinfo ||
		lost_mounts+=" /run/netns/$n"
done
ip netns del "$world" 2>/dev/null
ip netns del "$thost" 2>/dev/null
total=$(wc -l <"$work/results")
nfail=$(grep -c '^FAIL' "$work/results")
leaked=$(leaks "$work/before" "$work/after")

echo "== soak: what a leak would leave (before the world was made / after it was deleted)"
print_counts "$work/before" "$work/after"
status=0
if [ -n "$left_in_world" ]; then
	echo "LEAK processes left in the world namespace: $left_in_world"
	status=1
fi
if [ -n "$lost_mounts" ]; then
	echo "HOST MOUNTS CHANGED: unmounted during the soak:$lost_mounts"
	status=1
fi
if [ -n "$leaked" ]; then
	echo "LEAK (still there after 15 s):"
	printf '%s\n' "$leaked" | sed 's/^/  /' | head -40
	status=1
fi
if [ "$nfail" -gt 0 ]; then
	echo "FAILED runs ($nfail of $total):"
	grep '^FAIL' "$work/results" | head -30 | while read -r line; do
		idx=$(echo "$line" | awk '{print $2}')
		echo "  $line"
		sed 's/^/      | /' "$work/out/$idx.e" 2>/dev/null | head -4
	done
	status=1
fi
[ "$fdfail" = 0 ] || status=1
echo "== soak: $total runs (by mode:$(awk '{print $4}' "$work/results" | sort | uniq -c | awk '{printf " %s=%s", $2, $1}')),"
echo "   $((total - nfail)) as expected, $nfail failed; $(grep -c ' rootless ' "$work/results") as $rootless_user; fd checks $([ "$fdfail" = 0 ] && echo clean || echo FAILED); leaks: $([ -z "$leaked$left_in_world$lost_mounts" ] && echo none || echo FOUND); $(($(date +%s) - start)) s"
exit $status
