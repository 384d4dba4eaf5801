# Shared helpers for the integration tests. Each tests/integration/test_*.sh
# defines functions named t_<something>; run.sh sources one file at a time and
# runs every t_ function in a fresh subshell, as root and as the rootless user.
#
#   NSRUN        path to the built nsrun binary
#   NSRUN_BUILD  the build dir (test helper programs live there)
#   NSRUN_AS     "root" or "rootless": who runs this pass
#   NSRUN_MUST_WORK=1  a skip is a failure (CI)

: "${NSRUN:?}" "${NSRUN_BUILD:?}" "${NSRUN_AS:=root}"

# Per-test temp dir, removed by run.sh after the test.
T_TMP=${T_TMP:-$(mktemp -d)}

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# skip REASON: the host lacks a primitive. Under NSRUN_MUST_WORK it fails.
skip() {
	if [ "${NSRUN_MUST_WORK:-0}" = 1 ]; then
		fail "would skip under NSRUN_MUST_WORK: $*"
	fi
	printf 'SKIP: %s\n' "$*" >&2
	exit 77
}

# The run cgroups of supervisor PID made since the test began. One there
# before is not the test's: a supervisor killed with its guard long ago
# whose pid was reused since (run.sh checks that no test leaves one).
t_cgroups_before=$(find /sys/fs/cgroup -type d -name 'nsrun-*' 2>/dev/null | sort)
new_cgroups_of() { # PID
	comm -13 <(echo "$t_cgroups_before") \
		<(find /sys/fs/cgroup -type d -name "nsrun-$1-*" 2>/dev/null | sort)
}

# only_root / only_rootless: the case is meaningful for one identity only.
# Not a skip of a missing primitive, so it is reported as N/A, not SKIP.
only_root() { [ "$NSRUN_AS" = root ] || exit 78; }
only_rootless() { [ "$NSRUN_AS" = rootless ] || exit 78; }

# expect_exit CODE CMD... : runs CMD, captures stdout/stderr into $OUT/$ERR.
expect_exit() {
	local want=$1 got
	shift
	OUT=$T_TMP/out ERR=$T_TMP/err
	"$@" >"$OUT" 2>"$ERR" </dev/null
	got=$?
	if [ "$got" != "$want" ]; then
		printf 'stdout: %s\nstderr: %s\n' "$(head -c 2000 "$OUT")" "$(head -c 2000 "$ERR")" >&2
		fail "expected exit $want, got $got: $*"
	fi
}

# contains FILE TEXT / lacks FILE TEXT (fixed strings)
contains() { grep -qF -- "$2" "$1" || { printf '%s:\n%s\n' "$1" "$(head -c 3000 "$1")" >&2; fail "missing '$2'"; }; }
lacks() { ! grep -qF -- "$2" "$1" || { printf '%s:\n%s\n' "$1" "$(head -c 3000 "$1")" >&2; fail "unexpected '$2'"; }; }

# jq-less JSON field read through python3 (present on the test machine).
json_get() { python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d=d[int(k)] if isinstance(d,list) else d[k]
print(json.dumps(d) if isinstance(d,(dict,list,bool)) or d is None else d)' "$1" "$2"; }

# A policy file: policy NAME JSON -> prints its path.
policy_file() {
	printf '%s\n' "$2" >"$T_TMP/$1.json"
	printf '%s\n' "$T_TMP/$1.json"
}

# The override that lets a test run on hosts that lack a layer.
DEGRADE=$(policy_file degrade '{"onUnavailable":"degrade"}')
