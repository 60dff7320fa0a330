#!/usr/bin/env bash
# install-deps.sh - install what gomgr's build and tests need on Debian:
# the Ceph packages (real ceph CLI, mon/mgr/osd for the loopback cluster,
# librados-dev for go-ceph), tmux and zsh for the REPL and completion tests,
# and a Go toolchain (scripts/ensure-go.sh). Only Debian's archive and the Go
# module proxy are used. Safe to run again: it installs only what is missing.
set -euo pipefail

PKGS=(ceph-mon ceph-mgr ceph-osd ceph-mds ceph-common librados-dev libcephfs-dev python3 python3-yaml gcc libc6-dev tmux zsh bash-completion curl ca-certificates make git prometheus chromium)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if ((${#missing[@]})); then
	echo "install-deps: installing ${missing[*]}" >&2
	SUDO=()
	if [[ $(id -u) -ne 0 ]]; then
		if command -v sudo >/dev/null; then SUDO=(sudo); else
			echo "install-deps: need root (or sudo) to apt-get install ${missing[*]}" >&2
			exit 1
		fi
	fi
	export DEBIAN_FRONTEND=noninteractive
	"${SUDO[@]}" apt-get update -qq
	"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

exec "$(dirname "$0")/ensure-go.sh" >/dev/null
