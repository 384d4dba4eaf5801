#!/usr/bin/env bash
# Installs what nsrun needs to build and test on Debian 12. Idempotent: only
# missing packages are fetched, so a second run costs a dpkg query.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libjansson-dev libseccomp-dev
  libnl-3-dev libnl-route-3-dev libnftnl-dev libmnl-dev libcriterion-dev)
run_pkgs=(slirp4netns iproute2 procps util-linux)
test_pkgs=(nftables bubblewrap python3 clang libclang-rt-14-dev runc busybox-static
  hyperfine gnuplot-nox cppcheck clang-tidy valgrind socat psmisc)

want=("${build_pkgs[@]}" "${run_pkgs[@]}")
case "${1:-}" in
  --test|--all) want+=("${test_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
