#!/usr/bin/env bash
# Builds a minimal root filesystem for an nsrun container image: nsrun,
# slirp4netns, a static busybox for /bin/sh, any extra programs (node, ...),
# each with exactly the shared libraries `ldd` lists (for nsrun also those
# its `--version` says it loads on first use), plus a tiny /etc.
# The Containerfile copies the result into a FROM-scratch image; the runc
# integration test (tests/integration/test_container.sh) uses it as an OCI
# bundle's rootfs.
#
#   mkrootfs.sh ROOTFS [--nsrun PATH] [--slirp4netns PATH|none]
#               [--busybox PATH|none] [--extra PATH]... [--uid N]
#               [--ca-certs FILE]
#
# Merged-/usr layout as on Debian 12 (bin -> usr/bin, lib -> usr/lib, ...),
# so every path ldd prints resolves inside the image as it does on the host.
set -euo pipefail

usage() { sed -n '2,14p' "$0" >&2; exit 2; }

[ $# -ge 1 ] || usage
root=$1
shift
nsrun=$(command -v nsrun || true)
slirp=$(command -v slirp4netns || true)
busybox=$(command -v busybox || true)
extras=()
uid=65532
ca_certs=
while [ $# -gt 0 ]; do
	case $1 in
	--nsrun) nsrun=$2; shift 2 ;;
	--slirp4netns) slirp=$2; shift 2 ;;
	--busybox) busybox=$2; shift 2 ;;
	--extra) extras+=("$2"); shift 2 ;;
	--uid) uid=$2; shift 2 ;;
	--ca-certs) ca_certs=$2; shift 2 ;;
	*) usage ;;
	esac
done
if [ -z "$nsrun" ] || [ ! -x "$nsrun" ]; then
	echo "mkrootfs: no nsrun binary (--nsrun PATH)" >&2
	exit 1
fi

mkdir -p "$root"
root=$(cd "$root" && pwd)
for d in usr/bin usr/sbin usr/lib usr/lib64 etc proc dev sys tmp run var/tmp; do
	mkdir -p "$root/$d"
done
for l in bin sbin lib lib64; do
	[ -e "$root/$l" ] || ln -s "usr/$l" "$root/$l"
done
chmod 1777 "$root/tmp" "$root/var/tmp"

# copy_file SRC DEST-IN-ROOT: the file itself, following symlinks, at the
# path a program will ask for (DEST may pass through the merged-/usr links).
copy_file() {
	local dest=$root$2
	mkdir -p "$(dirname "$dest")"
	[ -e "$dest" ] || cp -L --preserve=mode "$1" "$dest"
}

# copy_libs BIN: every shared library and the loader that ldd resolves.
# A static binary ("not a dynamic executable") needs none.
copy_libs() {
	local line path
	{ ldd "$1" 2>/dev/null || true; } | while read -r line; do
		case $line in
		*'=> not found'*) echo "mkrootfs: $1: missing library: $line" >&2; exit 1 ;;
		*'=> /'*) path=${line#*=> }; path=${path%% (*} ;;
		/*) path=${line%% (*} ;;
		*) continue ;;
		esac
		copy_file "$path" "$path"
	done
}

install_bin() { # SRC NAME
	copy_file "$1" "/usr/bin/$2"
	chmod 755 "$root/usr/bin/$2"
	copy_libs "$1"
}

# copy_later_libs BIN: the libraries BIN loads on first use (dlopen), which
# ldd cannot see; nsrun names them in `--version`. They are looked up beside
# the libc ldd resolved, where the loader will find them too.
copy_later_libs() {
	local libc_dir so
	libc_dir=$({ ldd "$1" 2>/dev/null || true; } | awk '$1 == "libc.so.6" {print $3}')
	[ -n "$libc_dir" ] || return 0 # static: nothing is loaded later
	libc_dir=$(dirname "$libc_dir")
	for so in $("$1" --version | sed -n 's/^loads on first use: //p'); do
		if [ ! -e "$libc_dir/$so" ]; then
			echo "mkrootfs: $1 loads $so on first use, and $libc_dir has none" >&2
			exit 1
		fi
		copy_file "$libc_dir/$so" "$libc_dir/$so"
		copy_libs "$libc_dir/$so"
	done
}

install_bin "$nsrun" nsrun
copy_later_libs "$nsrun"
if [ -n "$slirp" ] && [ "$slirp" != none ]; then
	install_bin "$slirp" slirp4netns
fi
if [ -n "$busybox" ] && [ "$busybox" != none ]; then
	install_bin "$busybox" busybox
	# Applet links the tests and scripts use; `busybox --list` names them all.
	for a in $("$busybox" --list); do
		case $a in busybox | init | linuxrc) continue ;; esac
		[ -e "$root/usr/bin/$a" ] || ln -s busybox "$root/usr/bin/$a"
	done
fi
for x in "${extras[@]}"; do
	install_bin "$x" "$(basename "$x")"
done

# The few /etc files nsrun's minimal /etc takes over, when they exist.
cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
nsrun:x:$uid:$uid:nsrun:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
nsrun:x:$uid:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
if [ -n "$ca_certs" ]; then
	mkdir -p "$root/etc/ssl/certs"
	cp -L "$ca_certs" "$root/etc/ssl/certs/ca-certificates.crt"
fi
echo "mkrootfs: $root ($(du -sh "$root" | cut -f1))"
