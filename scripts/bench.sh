#!/usr/bin/env bash
# Benchmarks nsrun against bubblewrap, the stock-tools egress pipeline
# (prlimit + bwrap + nft + slirp4netns, scripts/bench/stock-launcher.sh) and
# the kernel floor (scripts/bench/floor.c), and prints ONE markdown table of
# medians (min-max) with the ratios nsrun/peer and PASS/MISS per target.
#
#   scripts/bench.sh [--runs N] [--rt] [--no-docs] [--profile]
#
#   --runs N     timed runs per command (default 100: the medians of 30 moved
#                by ±0.02 in the config 1 ratio from run to run; 3 warm-up
#                runs excluded)
#   --rt         time under SCHED_FIFO (chrt -f 10), nsrun and peers alike: cuts
#                the scheduler noise of a shared, busy machine (said in the table)
#   --no-docs    do not rewrite docs/bench.md and docs/bench.svg
#   --profile    afterwards: nsrun's set-up timeline (medians of its
#                NSRUN_DEBUG_TIMINGS marks), strace -c -f and perf stat of
#                nsrun (configs 1, 3)
#   NSRUN=PATH   the binary to measure (default: $BUILD_DIR/nsrun, (re)built first)
#
# Needs root (network namespaces). Every command runs inside a throw-away
# "world" netns without a default route (SPEC §7), deleted on exit; nothing
# sends a packet (/bin/true, head > pipe). A miss never fails the script: it
# exits 0 when the benchmark ran, 1 when it could not. Takes ~2-4 minutes.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
runs=100
warm=3
docs=1
profile=0
rt=0
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--no-docs) docs=0; shift ;;
	--rt) rt=1; shift ;;
	--profile) profile=1; shift ;;
	-h | --help) sed -n "2,21p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench: unknown option $1" >&2; exit 2 ;;
	esac
done

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (it makes network namespaces)"
for t in bwrap nft slirp4netns prlimit nsenter ip timeout cc; do
	command -v "$t" >/dev/null || die "missing $t (scripts/setup.sh --test installs it)"
done
if [ -z "${NSRUN:-}" ]; then
	# Always (incremental): a stale binary measured under this commit's
	# name is how a 09:44 build once made a 5.5 ms table.
	NSRUN=$build/nsrun
	BUILD_DIR=$build "$root/scripts/build.sh" || die "build failed"
fi
[ -x "$NSRUN" ] || die "no nsrun binary at $NSRUN"
NSRUN=$(realpath "$NSRUN")
BWRAP=$(command -v bwrap)
PRLIMIT=$(command -v prlimit)

work=$(mktemp -d /tmp/nsrun-bench.XXXXXX)
chmod 755 "$work"
world=nsrun-bench-w.$$
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	ip netns delete "$world" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers ------------------------------------------------------------------
for h in runbench floor; do
	cc -O2 -Wall -Wextra -D_GNU_SOURCE -o "$work/$h" "$root/scripts/bench/$h.c" -lpthread ||
		die "cannot compile scripts/bench/$h.c"
done
RB=$work/runbench
sched="normal scheduling"
if [ "$rt" = 1 ]; then # children inherit SCHED_FIFO
	RB_PRE=(chrt -f 10)
	sched="SCHED_FIFO (--rt)"
else
	RB_PRE=()
fi
LAUNCHER=$root/scripts/bench/stock-launcher.sh

# ---- safety: the world, and a snapshot of the machine's own network -------
host_nft() { nft list ruleset 2>&1 | md5sum; }
host_net() { { ip -br link; ip -br addr; ip route; ip -6 route; } 2>&1 | md5sum; }
nft_before=$(host_nft)
net_before=$(host_net)
ip netns add "$world" || die "ip netns add failed"
ip -n "$world" link set lo up || die "world: lo up failed"
# A process holds the world too, and commands enter it through that process:
# a concurrent `ip -all netns delete` (other test runs on the machine) must
# not pull it away mid-run.
nsenter --net="/run/netns/$world" sleep 100000 </dev/null >/dev/null 2>&1 &
holder=$!
world_ns=/proc/$holder/ns/net
W() { nsenter --net="$world_ns" "$@"; }
host_ino=$(stat -Lc %i /proc/self/ns/net)
for _ in $(seq 50); do # until the holder has entered the world
	[ "$(stat -Lc %i "$world_ns" 2>/dev/null)" = "$(stat -Lc %i "/run/netns/$world")" ] && break
	sleep 0.02
done
[ "$(stat -Lc %i "$world_ns")" != "$host_ino" ] || die "world netns not entered"
[ -z "$(W ip route show default; W ip -6 route show default)" ] || die "world has a default route"

# ---- configurations ---------------------------------------------------------
cd "$work" || die "cd $work"
ALLOW1=192.0.2.1/32 # TEST-NET-1: a rule only, nothing is ever sent to it
awk 'BEGIN { for (i = 0; i < 10000; i++)
	printf "198.%d.%d.%d/31\n", 18 + int(i / 16384), int(i / 64) % 256, (i % 64) * 4 }' >cidrs10k
override() { # FILE NETWORK_JSON [RESOURCES_JSON]
	printf '{"filesystem":{"mode":"scratch-only"},"network":%s%s}\n' "$2" "${3:+,\"resources\":$3}" >"$1"
}
override c1.json '{"mode":"deny"}'
override c2.json '{"mode":"unrestricted","denyLinkLocalAndMetadata":false}'
override c3.json "{\"mode\":\"allowlist\",\"allow\":[\"$ALLOW1\"]}"
override c4.json "{\"mode\":\"allowlist\",\"allow\":[$(sed 's/.*/"&"/' cidrs10k | paste -sd,)]}"
override c7.json '{"mode":"deny"}' '{"maxOutputBytes":209715200}'
# Config 1 without the two caps that need a cgroup (memoryBytes and
# maxProcesses; null unsets), as bwrap + prlimit has none: what the cgroup costs.
override c1-nocg.json '{"mode":"deny"}' '{"memoryBytes":null,"maxProcesses":null}'

# The same ruleset as netns/nft.c, in nft syntax, for the stock pipeline.
ruleset() { # ELEMENTS
	cat <<EOF
table inet nsrun {
	set allow4 { type ipv4_addr; flags interval; elements = { $1 } }
	chain refuse {
		meta l4proto tcp reject with tcp reset
		reject with icmpx admin-prohibited
	}
	chain output {
		type filter hook output priority 0; policy drop;
		oif "lo" accept
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
		ip daddr 169.254.0.0/16 jump refuse
		ip6 daddr fe80::/10 jump refuse
		ip6 daddr fc00::/7 jump refuse
		ip daddr @allow4 accept
		jump refuse
	}
}
EOF
}
ruleset "$ALLOW1" >rules1.nft
ruleset "$(paste -sd, cidrs10k)" >rules10k.nft

# bwrap with nsrun's scratch-only layout: tmpfs root, /usr and the merged-usr
# links, a minimal read-only /etc, fresh /proc and /dev, size-capped /tmp
# and /scratch, no capabilities, uid 65534, own session, curated env; prlimit
# in front for the default policy's rlimits. (No seccomp filter and no
# memory cgroup: the stock design had neither.)
bw_args=(--die-with-parent --new-session --cap-drop ALL --uid 65534 --gid 65534 --hostname nsrun
	--clearenv --setenv PATH /usr/local/bin:/usr/bin:/bin --setenv HOME /scratch
	--setenv TMPDIR /tmp --setenv LANG C.UTF-8 --setenv USER nobody)
for d in usr bin sbin lib lib32 lib64; do
	if [ -L "/$d" ]; then
		bw_args+=(--symlink "$(readlink "/$d")" "/$d")
	elif [ -d "/$d" ]; then
		bw_args+=(--ro-bind "/$d" "/$d")
	fi
done
for e in passwd group nsswitch.conf host.conf gai.conf services protocols ld.so.cache ld.so.conf \
	ld.so.conf.d localtime ssl ca-certificates ca-certificates.conf pki alternatives hosts resolv.conf; do
	[ -e "/etc/$e" ] && bw_args+=(--ro-bind "/etc/$e" "/etc/$e")
done
bw_args+=(--proc /proc --dev /dev --size 268435456 --tmpfs /tmp --size 268435456 --tmpfs /scratch
	--chdir /scratch --remount-ro /)
prl=("$PRLIMIT" --cpu=60 --nofile=1024 --nproc=256 --fsize=268435456 --core=0)
bw_deny=("${prl[@]}" "$BWRAP" --unshare-all "${bw_args[@]}" --)
bw_net=("${prl[@]}" "$BWRAP" --unshare-all --share-net "${bw_args[@]}" --)
stock1=("$LAUNCHER" "$work/rules1.nft" "${prl[@]}" "$BWRAP" --unshare-all --info-fd 3 --block-fd 4 "${bw_args[@]}" --)
stock10k=("$LAUNCHER" "$work/rules10k.nft" "${stock1[@]:2}")
ns1=("$NSRUN" run --override "$work/c1.json" --)
ns2=("$NSRUN" run --override "$work/c2.json" --)
ns3=("$NSRUN" run --override "$work/c3.json" --)
ns4=("$NSRUN" run --override "$work/c4.json" --)
ns7=("$NSRUN" run --override "$work/c7.json" --)
ns1n=("$NSRUN" run --override "$work/c1-nocg.json" --)

# ---- measuring ----------------------------------------------------------------
declare -A med lo hi fail nfail raw
# smoke LABEL CMD...: one run first; a command that fails is left out of the
# timed group and its reason goes into the table.
smoke() {
	local label=$1
	shift
	local rc=0
	W timeout 30 "$@" </dev/null >/dev/null 2>"$work/err.$label" || rc=$?
	if [ "$rc" != 0 ]; then
		fail[$label]=$(grep -v '^$' "$work/err.$label" | tail -1 | cut -c1-80)
		[ -n "${fail[$label]}" ] || fail[$label]="exit status $rc"
		echo "bench: $label does not run: ${fail[$label]}" >&2
		return 1
	fi
}
# group LABEL CMD... [::: LABEL CMD...]: smoke-test each, time the rest in
# alternation; results into med/lo/hi (ms).
group() {
	local cur=() ok=()
	for a in "$@" ":::"; do
		if [ "$a" = ":::" ]; then
			if smoke "${cur[@]}"; then
				[ ${#ok[@]} -gt 0 ] && ok+=(":::")
				ok+=("${cur[@]}")
			fi
			cur=()
		else
			cur+=("$a")
		fi
	done
	[ ${#ok[@]} -gt 0 ] || return
	[ -e "$world_ns" ] || die "the world netns vanished"
	W timeout -k 5 240 "${RB_PRE[@]}" "$RB" -n "$runs" -w "$warm" -- "${ok[@]}" >"$work/out" 2>"$work/rb.err"
	parse_out ms
}
# parse_out ms|raw: runbench's lines into med/lo/hi (+ nfail). Its cpu column
# is not used: see machine_cpu.
parse_out() {
	local l m a b cpu nf
	cat "$work/rb.err" >&2
	while IFS=$'\t' read -r l m a b _ cpu nf; do
		if [ "$1" = raw ]; then # throughput: no cpu column
			nf=$cpu
			med[$l]=$m lo[$l]=$a hi[$l]=$b
		elif [ "$m" = - ]; then
			fail[$l]="every run failed: $(grep -F "$l:" "$work/rb.err" | tail -1 | cut -d: -f3-)"
			continue
		else
			med[$l]=$(awk -v x="$m" 'BEGIN{printf "%.2f", x/1000}')
			raw[$l]=$m
			lo[$l]=$(awk -v x="$a" 'BEGIN{printf "%.2f", x/1000}')
			hi[$l]=$(awk -v x="$b" 'BEGIN{printf "%.2f", x/1000}')
		fi
		[ "${nf:-0}" = 0 ] || nfail[$l]=$nf
	done <"$work/out"
}

t_start=$(date +%s)
load0=$(cut -d' ' -f1 /proc/loadavg)
echo "bench: $runs runs per command (+$warm warm-up), alternating; nsrun = $NSRUN" >&2
echo "bench: configs 1 and 5 (deny vs bwrap vs kernel floor)" >&2
group n1 "${ns1[@]}" /bin/true ::: b1 "${bw_deny[@]}" /bin/true ::: \
	floor "$work/floor" ::: true /bin/true ::: n1n "${ns1n[@]}" /bin/true
echo "bench: config 2 (unrestricted vs bwrap --share-net)" >&2
group n2 "${ns2[@]}" /bin/true ::: b2 "${bw_net[@]}" /bin/true
echo "bench: configs 3 and 4 (allowlist vs the stock pipeline)" >&2
group n3 "${ns3[@]}" /bin/true ::: s3 "${stock1[@]}" /bin/true ::: \
	n4 "${ns4[@]}" /bin/true ::: s4 "${stock10k[@]}" /bin/true

# Machine CPU per run: every task's time, kernel threads included (the
# cgroup guard that outlives nsrun, RCU grace periods, network namespace
# clean-up), from /proc/stat around 100 back-to-back runs of one command.
# runbench's own cpu column (getrusage of reaped children) misses whatever
# outlives a run, so it flattered nsrun (its guard makes the netns).
busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
machine_cpu() { # LABEL CMD...
	local label=$1 b0 b1 n=100
	shift
	[ -z "${fail[$label]:-}" ] || return 0
	b0=$(busy_ticks)
	W timeout -k 5 240 "${RB_PRE[@]}" "$RB" -n "$n" -w 0 -- "$label" "$@" >/dev/null 2>&1 || return 0
	b1=$(busy_ticks)
	med[mcpu_$label]=$(awk -v a="$b0" -v b="$b1" -v n="$n" -v hz="$(getconf CLK_TCK)" \
		'BEGIN{printf "%.2f", (b - a) * 1000 / hz / n}')
}
echo "bench: machine CPU per run (100 back-to-back runs each)" >&2
machine_cpu n1 "${ns1[@]}" /bin/true
machine_cpu b1 "${bw_deny[@]}" /bin/true
machine_cpu floor "$work/floor"
machine_cpu true /bin/true
machine_cpu n3 "${ns3[@]}" /bin/true
machine_cpu s3 "${stock1[@]}" /bin/true

echo "bench: config 6 (throughput, 200 runs at 1, 2, 8 at a time)" >&2
for j in 1 2 8; do
	[ -z "${fail[n1]:-}${fail[b1]:-}" ] || break
	W timeout -k 5 240 "${RB_PRE[@]}" "$RB" -t 200 -j "$j" -n 3 -- "t${j}n" "${ns1[@]}" /bin/true ::: \
		"t${j}b" "${bw_deny[@]}" /bin/true >"$work/out" 2>"$work/rb.err"
	parse_out raw
done

echo "bench: config 7 (supervisor peak RSS while relaying 100 MB)" >&2
rss() { # LABEL CMD...: median (min-max) VmHWM (KiB) of 3 runs
	local label=$1 v=()
	shift
	for _ in 1 2 3; do
		v+=("$(W timeout -k 5 120 "${RB_PRE[@]}" "$RB" -m -b 100000000 -- "$@" /usr/bin/head -c 100000000 /dev/zero |
			cut -f1)") || true
	done
	mapfile -t v < <(printf '%s\n' "${v[@]}" | grep -E '^[0-9]+$' | sort -n)
	if [ ${#v[@]} -eq 3 ]; then
		med[$label]=${v[1]} lo[$label]=${v[0]} hi[$label]=${v[2]}
	else
		fail[$label]="no measurement (see stderr)"
	fi
}
rss m7n "${ns7[@]}"
rss m7b "${bw_deny[@]}"
deps_kib() { # BINARY: own size + shared libraries (KiB)
	local f total libs
	total=$(stat -Lc %s "$1")
	libs=$(ldd "$1" 2>/dev/null | awk '/=>/ && $3 ~ /^\// {print $3} /^\t\// {print $1}' | sort -u)
	for f in $libs; do total=$((total + $(stat -Lc %s "$f"))); done
	echo "$((total / 1024)) $(($(stat -Lc %s "$1") / 1024)) $(echo "$libs" | grep -c .)"
}
read -r sz_n bin_n libs_n <<<"$(deps_kib "$NSRUN")"
read -r sz_b bin_b libs_b <<<"$(deps_kib "$BWRAP")"
t_total=$(($(date +%s) - t_start))

# ---- safety check ---------------------------------------------------------------
[ "$nft_before" = "$(host_nft)" ] || echo "bench: WARNING: the machine's nftables ruleset changed during the run" >&2
[ "$net_before" = "$(host_net)" ] ||
	echo "bench: WARNING: the machine's links or routes changed during the run (other jobs on the machine?)" >&2
[ -z "$(W nft list ruleset 2>/dev/null)" ] || echo "bench: WARNING: a ruleset was loaded into the world netns" >&2

# ---- the table ----------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || b == 0) print ""; else printf "%.2f", a/b }'; }
# A target's ratio: from the unrounded medians (us), shown with 3 decimals,
# so that 0.503 is not rounded into a PASS at 0.50.
tratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || b == 0) print ""; else printf "%.3f", a/b }'; }
mraw() { [ -z "${fail[$1]:-}" ] && echo "${raw[$1]:-}"; }
verdict() { # RATIO LIMIT [higher]
	[ -n "$1" ] || { echo "n/a"; return; }
	awk -v r="$1" -v t="$2" 'BEGIN{ print (r <= t ? "PASS" : "MISS") }'
}
cell() { # LABEL: "median (min–max)" or the failure
	if [ -n "${fail[$1]:-}" ]; then
		echo "fails: ${fail[$1]//|/\\|}"
	elif [ -n "${med[$1]:-}" ]; then
		echo "${med[$1]} (${lo[$1]}–${hi[$1]})${nfail[$1]:+, failed runs: ${nfail[$1]}}"
	else
		echo "—"
	fi
}
m() { [ -z "${fail[$1]:-}" ] && echo "${med[$1]:-}"; }
r1b=$(tratio "$(mraw n1)" "$(mraw b1)")
r1f=$(tratio "$(mraw n1)" "$(mraw floor)")
r2=$(ratio "$(m n2)" "$(m b2)")
r3=$(tratio "$(mraw n3)" "$(mraw s3)")
r4s=$(ratio "$(m n4)" "$(m s4)")
r4=$(tratio "$(mraw n4)" "$(mraw n3)")
r5=$(ratio "$(m floor)" "$(m true)")
rss_mib=$(awk -v k="$(m m7n)" 'BEGIN{ if (k != "") printf "%.2f", k/1024 }')
v1b=$(verdict "$r1b" 0.5)
v1f=$(verdict "$r1f" 1.5)
v3=$(verdict "$r3" 0.33)
v4=$(verdict "$r4" 1.5)
v7=$(verdict "$rss_mib" 4)

table() {
	echo "| # | configuration | nsrun | peer | peer's result | nsrun/peer | target | |"
	echo "|---|---|---|---|---|---|---|---|"
	echo "| 1 | \`deny\`, \`scratch-only\`, default resources | $(cell n1) | bwrap --unshare-all + prlimit | $(cell b1) | $r1b | ≤ 0.50 | $v1b |"
	echo "| 1 | (same run) | $(cell n1) | kernel floor (floor.c) | $(cell floor) | $r1f | ≤ 1.50 | $v1f |"
	echo "| 1 | (same run) without memoryBytes, maxProcesses: no cgroup, as the peer | $(cell n1n) | bwrap --unshare-all + prlimit | $(cell b1) | $(ratio "$(m n1n)" "$(m b1)") | | |"
	echo "| 2 | \`unrestricted\` (no link-local block), \`scratch-only\` | $(cell n2) | bwrap --share-net + prlimit | $(cell b2) | $r2 | | |"
	echo "| 3 | \`allowlist\`, 1 entry | $(cell n3) | stock pipeline: bwrap + nft + slirp4netns | $(cell s3) | $r3 | ≤ 0.33 | $v3 |"
	echo "| 4 | \`allowlist\`, 10,000 CIDRs | $(cell n4) | stock pipeline, 10,000 CIDRs | $(cell s4) | $r4s | | |"
	echo "| 4 | (same run) | $(cell n4) | nsrun, config 3 | $(cell n3) | $r4 | ≤ 1.50 | $v4 |"
	echo "| 5 | kernel floor: clone 7 namespaces + maps + exec | $(cell floor) | \`/bin/true\` alone | $(cell true) | $r5 | | |"
	for j in 1 2 8; do
		echo "| 6 | throughput, $j at a time (runs/s, higher is better) | $(cell "t${j}n") | bwrap + prlimit | $(cell "t${j}b") | $(ratio "$(m "t${j}n")" "$(m "t${j}b")") | | |"
	done
	echo "| 7 | supervisor peak RSS relaying 100 MB (KiB) | $(cell m7n) | bwrap (relays nothing) | $(cell m7b) | $(ratio "$(m m7n)" "$(m m7b)") | ≤ 4 MiB ($rss_mib MiB) | $v7 |"
	echo "| 7 | binary + shared libraries (KiB) | $sz_n ($bin_n + $libs_n libs) | bwrap | $sz_b ($bin_b + $libs_b libs) | $(ratio "$sz_n" "$sz_b") | | |"
}
machine="$(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
commit=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
{
	echo "Times in ms, median (min–max) of $runs alternating runs each after $warm warm-up runs,"
	echo "whole process from exec to exit of \`/bin/true\`; throughput: median of 3 rounds of 200 runs."
	echo "$(date -u +%Y-%m-%d), $machine, nsrun $commit, run as root, $sched, load average before $load0, ${t_total}s."
	echo
	table
} >"$work/table.md"
cat "$work/table.md"
echo
summary="targets: config 1 vs bwrap $v1b ($r1b ≤ 0.50), config 1 vs floor $v1f ($r1f ≤ 1.50), config 3 $v3 ($r3 ≤ 0.33), config 4 $v4 ($r4 ≤ 1.50), config 7 $v7 ($rss_mib MiB ≤ 4)"
echo "$summary"
cpu="machine CPU per run (ms; every task, kernel threads included; 100 back-to-back runs): nsrun c1 ${med[mcpu_n1]:-?}, bwrap c1 ${med[mcpu_b1]:-?}, kernel floor ${med[mcpu_floor]:-?}, /bin/true alone ${med[mcpu_true]:-?}, nsrun c3 ${med[mcpu_n3]:-?}, stock pipeline c3 ${med[mcpu_s3]:-?}"
echo "$cpu"

# ---- docs ---------------------------------------------------------------------------
if [ "$docs" = 1 ]; then
	mkdir -p "$root/docs"
	{
		echo "# nsrun benchmarks"
		echo
		echo "Produced by \`scripts/bench.sh\` (do not edit by hand)."
		echo
		cat "$work/table.md"
		echo
		echo "$summary."
		echo
		echo "${cpu^}."
		echo
		echo "![latency and throughput](bench.svg)"
		echo
		echo "Peers: bubblewrap $(bwrap --version | cut -d' ' -f2), $(nft --version | cut -d' ' -f1-2),"
		echo "slirp4netns $(slirp4netns --version | sed -n '1s/.* //p'). The bwrap peers get nsrun's scratch-only"
		echo "layout (tmpfs root, /usr, minimal read-only /etc, /proc, /dev, size-capped /tmp and /scratch,"
		echo "uid 65534, no capabilities, own session) and \`prlimit\` for the rlimits, but neither a seccomp"
		echo "filter nor a memory cgroup, which nsrun sets up in every run. The stock pipeline is"
		echo "\`scripts/bench/stock-launcher.sh\`. Every command runs inside a network namespace without a"
		echo "default route; nothing sends a packet."
		if [ "$rt" = 1 ]; then
			echo
			echo "Timed with \`--rt\`: runbench and everything it starts (nsrun and the peers alike) ran"
			echo "under SCHED_FIFO, because the machine was shared with other jobs; kernel threads (RCU"
			echo "grace periods, network namespace clean-up) still ran at normal priority."
		fi
	} >"$root/docs/bench.md"
	if command -v gnuplot >/dev/null; then
		nan() { local v; v=$(m "$1"); echo "${v:-NaN}"; }
		{
			echo "\"1 deny\" $(nan n1) $(nan b1) $(nan floor)"
			echo "\"2 unrestricted\" $(nan n2) $(nan b2) NaN"
			echo "\"3 allowlist 1\" $(nan n3) $(nan s3) NaN"
			echo "\"4 allowlist 10k\" $(nan n4) $(nan s4) NaN"
		} >lat.dat
		for j in 1 2 8; do echo "\"$j at a time\" $(nan "t${j}n") $(nan "t${j}b")"; done >thr.dat
		gnuplot <<EOF || echo "bench: gnuplot failed" >&2
set terminal svg size 900,420 font "sans,11" background rgb "white"
set output "$root/docs/bench.svg"
set multiplot layout 1,2 title "nsrun vs peers — /bin/true, $(date -u +%Y-%m-%d), $(nproc) CPUs"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -20 font ",10"
set title "latency per run, median (ms, log scale)"
set logscale y
set yrange [1:*]
set offsets 0, 0, graph 0.3, 0
plot "lat.dat" using 2:xtic(1) title "nsrun" lc rgb "#1f77b4", \
     "" using 3 title "peer (bwrap / stock pipeline)" lc rgb "#ff7f0e", \
     "" using 4 title "kernel floor" lc rgb "#7f7f7f"
unset logscale y
set yrange [0:*]
set offsets 0, 0, graph 0.2, 0
set key top right
set title "throughput (runs/s, 200 runs of deny config)"
plot "thr.dat" using 2:xtic(1) title "nsrun" lc rgb "#1f77b4", \
     "" using 3 title "bwrap + prlimit" lc rgb "#ff7f0e"
unset multiplot
EOF
	fi
	echo "bench: wrote docs/bench.md and docs/bench.svg" >&2
fi

# ---- optional profile -----------------------------------------------------------------
if [ "$profile" = 1 ]; then
	# nsrun's own timeline (NSRUN_DEBUG_TIMINGS): every mark's median
	# offset from main() over 40 runs; "(sandbox)" marks come from the
	# child, init and the command, the others from the supervisor.
	for c in 1 3; do
		if [ $c = 1 ]; then cmd=("${ns1[@]}"); else cmd=("${ns3[@]}"); fi
		echo "== set-up timeline, config $c (median of 40 runs, us after main)"
		for _ in $(seq 40); do
			W env NSRUN_DEBUG_TIMINGS=1 "${RB_PRE[@]}" "${cmd[@]}" /bin/true </dev/null 2>&1 >/dev/null
		done | awk '
			match($0, /^nsrun: timing: .* at +[0-9]+ us/) {
				line = substr($0, 16, RLENGTH - 15)
				n = split(line, w, " ")
				at = w[n - 1]; label = line; sub(/ +at +[0-9]+ us$/, "", label)
				sub(/ +\+ *[0-9]+ us$/, "", label)
				v[label] = v[label] " " at; cnt[label]++
			}
			END {
				for (l in v) {
					m = split(substr(v[l], 2), a, " ")
					for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
						if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
					printf "%7d  %s%s\n", a[int((m + 1) / 2)], l, cnt[l] < 20 ? " (in " cnt[l] " runs)" : ""
				}
			}' | sort -n
	done
	for c in 1 3; do
		if [ $c = 1 ]; then cmd=("${ns1[@]}"); else cmd=("${ns3[@]}"); fi
		if command -v strace >/dev/null; then
			echo "== strace -c -f, config $c"
			W strace -c -f -o "$work/strace.$c" "${cmd[@]}" /bin/true </dev/null >/dev/null 2>&1
			head -30 "$work/strace.$c"
		fi
		if command -v perf >/dev/null; then
			echo "== perf stat -r 20, config $c"
			W perf stat -r 20 -e task-clock,context-switches,cpu-migrations,page-faults \
				"${cmd[@]}" /bin/true </dev/null 2>&1 >/dev/null | grep -v '^$'
		fi
	done
fi
exit 0
