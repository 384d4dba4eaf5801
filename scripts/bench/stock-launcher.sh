#!/bin/sh
# The stock-tools egress pipeline nsrun replaces, rebuilt for the benchmark
# (BACKGROUND.md): prlimit + bubblewrap for the rlimits, namespaces and binds,
# `nft -f` for the egress filter inside the sandbox's network namespace,
# slirp4netns --configure for the egress link, and FIFOs for the handshakes.
#
#   stock-launcher.sh RULESET.nft prlimit ... bwrap ... --info-fd 3 --block-fd 4 ... -- CMD [ARG...]
#   (run as root; STOCK_ROOTLESS=1 for the rootless route, see below)
#
# The bwrap command line must carry `--info-fd 3 --block-fd 4`: bwrap writes
# {"child-pid": N, ...} on fd 3 once the namespaces exist, and its child
# waits on fd 4 for one byte before it execs CMD.
#
# Order, as nsrun does it: the sandbox blocks before exec while its netns
# holds only lo; the ruleset is loaded there (refused if that netns is ours);
# only then does slirp4netns create tap0; then the sandbox is let go.
#
# The two classic hangs of the original launcher are avoided:
#  1. every FIFO is opened read-write (<>): a read-only open of a FIFO blocks
#     until a writer exists (and a write-only one until a reader does);
#  2. nothing waits with `read` for a line that may never come: slirp4netns
#     --ready-fd writes one byte and no newline, so one byte is read with
#     `head -c1`, under a timeout since slirp4netns may die first; and if
#     bwrap dies before its info, the subshell writes the line itself.
# Exit status: the command's (via bwrap); 125 when the set-up failed.
set -u
rules=$1
shift

d=$(mktemp -d "${TMPDIR:-/tmp}/nsrun-bench-stock.XXXXXX") || exit 125
mkfifo "$d/info" "$d/go" "$d/ready" || exit 125
exec 3<>"$d/info" 4<>"$d/go" 5<>"$d/ready"
rm -rf "$d" # open FIFOs outlive their names: nothing to clean up later

(
	"$@" 5>&-
	rc=$?
	printf '"child-pid": 0\n' >&3
	exit $rc
) &
bw=$!

fail() {
	echo "stock-launcher: $*" >&2
	kill "$bw" 2>/dev/null
	[ -n "${sl:-}" ] && kill "$sl" 2>/dev/null
	wait
	exit 125
}

# The info JSON is one write, so sed sees it whole; it stops at child-pid.
pid=$(sed -n '/"child-pid"/{s/[^0-9]//g;p;q;}' <&3)
[ -n "$pid" ] && [ "$pid" -gt 0 ] || fail "bwrap did not start"

# Never load rules into our own namespace (SPEC §6): compare the inodes
# (-ef: dash and busybox sh have it, and it costs no fork).
# shellcheck disable=SC3013
[ /proc/"$pid"/ns/net -ef /proc/self/ns/net ] && fail "sandbox shares our network namespace"
[ -e /proc/"$pid"/ns/net ] || fail "no sandbox netns"
# As root (the default): root already owns the sandbox's netns, and joining
# bwrap's user namespace would not help (with --uid, bwrap nests a second
# userns, whose caps do not reach the netns). Rootless (STOCK_ROOTLESS=1):
# through the sandbox's userns, where bwrap must map the caller to uid 0.
if [ "${STOCK_ROOTLESS:-0}" = 0 ]; then
	nsenter -t "$pid" -n nft -f "$rules" || fail "nft -f failed"
	slirp4netns --configure --mtu=65520 --disable-host-loopback --ready-fd 5 \
		--netns-type=path /proc/"$pid"/ns/net tap0 3>&- 4>&- >/dev/null 2>&1 &
else
	nsenter -t "$pid" -U -n --preserve-credentials nft -f "$rules" || fail "nft -f failed"
	slirp4netns --configure --mtu=65520 --disable-host-loopback --ready-fd 5 \
		"$pid" tap0 3>&- 4>&- >/dev/null 2>&1 &
fi
sl=$!
ready=$(timeout 5 head -c1 <&5) || true
[ "$ready" = 1 ] || fail "slirp4netns not ready"

printf g >&4 # the one byte bwrap's --block-fd waits for
wait "$bw"
rc=$?
kill "$sl" 2>/dev/null
wait "$sl" 2>/dev/null
exit $rc
