#!/usr/bin/env bash
# Runs every integration test function (t_*) of tests/integration/test_*.sh,
# each in its own subshell with its own temp dir, as root and, when a
# rootless user is given, again as that user.
#   run.sh BUILD_DIR [ROOTLESS_USER] [FILE_FILTER]
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?build dir}" && pwd)
rootless_user=${2:-}
filter=${3:-}
pass=0 failn=0 skipn=0
failed=()

run_cgroups() {
	find /sys/fs/cgroup -type d -name 'nsrun-*' 2>/dev/null | sort
}

cgroups_left() { # BEFORE: the run cgroups made since, still there after 3 s
	local i left
	for i in $(seq 30); do
		left=$(comm -13 <(echo "$1") <(run_cgroups))
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo "$left"
}

run_pass() { # $1 = root|rootless
	local as=$1 file fn rc log tmp netns_before cg_before left
	for file in "$here"/test_*.sh; do
		[ -n "$filter" ] && [[ "$(basename "$file")" != *"$filter"* ]] && continue
		# TEST_EXCLUDE=container: leave those files out (the sanitizer pass).
		[ -n "${TEST_EXCLUDE:-}" ] && [[ "$(basename "$file")" == *"$TEST_EXCLUDE"* ]] && continue
		for fn in $(bash -c "source '$file' >/dev/null 2>&1; declare -F" | awk '{print $3}' | grep '^t_'); do
			tmp=$(mktemp -d /tmp/nsrun-it.XXXXXX)
			chmod 755 "$tmp"
			local cmd=(env NSRUN="$build/nsrun" NSRUN_BUILD="$build" NSRUN_AS="$as"
				NSRUN_MUST_WORK="${NSRUN_MUST_WORK:-0}" T_TMP="$tmp"
				bash -c "source '$here/lib.sh'; source '$file'; set +e; $fn")
			if [ "$as" = rootless ]; then
				chown "$rootless_user" "$tmp"
				cmd=(runuser -u "$rootless_user" -- "${cmd[@]}")
			fi
			log=$tmp.log
			netns_before=$(ls /run/netns 2>/dev/null)
			cg_before=$(run_cgroups)
			timeout -k 5 180 "${cmd[@]}" >"$log" 2>&1
			rc=$?
			# A test that makes a named network namespace (a "world") must
			# delete it: it is a bind mount in the machine's own /run/netns.
			left=$(comm -13 <(echo "$netns_before") <(ls /run/netns 2>/dev/null))
			if [ -n "$left" ] && [ "$rc" = 0 ]; then
				echo "left network namespaces behind: $left" >>"$log"
				rc=1
			fi
			# Nor may it leave a run cgroup: nothing sweeps one whose
			# supervisor's pid was reused (pid_max is 32768 here), and a
			# later test of that pid would find it. A guard removes its
			# cgroup just after the supervisor exits: it gets 3 s.
			left=$(cgroups_left "$cg_before")
			if [ -n "$left" ] && [ "$rc" = 0 ]; then
				echo "left run cgroups behind: $left" >>"$log"
				rc=1
			fi
			case $rc in
			0) pass=$((pass + 1)); printf 'PASS %-9s %s %s\n' "$as" "$(basename "$file")" "$fn" ;;
			77) skipn=$((skipn + 1)); printf 'SKIP %-9s %s %s: %s\n' "$as" "$(basename "$file")" "$fn" "$(tail -1 "$log")" ;;
			78) ;; # not applicable to this identity
			*) failn=$((failn + 1)); failed+=("$as $(basename "$file") $fn")
			   printf 'FAIL %-9s %s %s (rc %s)\n' "$as" "$(basename "$file")" "$fn" "$rc"
			   sed 's/^/    | /' "$log" | tail -40 ;;
			esac
			rm -rf "$tmp" "$log"
		done
	done
}

if [ "$(id -u)" -eq 0 ]; then
	run_pass root
	[ -n "$rootless_user" ] && run_pass rootless
else
	run_pass rootless
fi
printf '\nintegration: %d passed, %d failed, %d skipped\n' "$pass" "$failn" "$skipn"
for f in "${failed[@]}"; do printf '  failed: %s\n' "$f"; done
[ "$failn" -eq 0 ] && { [ "$skipn" -eq 0 ] || [ "${NSRUN_MUST_WORK:-0}" != 1 ]; }
