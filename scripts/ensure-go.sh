#!/usr/bin/env bash
# ensure-go.sh - print the path of a go binary new enough for go.mod,
# downloading the toolchain from the Go module proxy (golang.org/toolchain)
# into ~/.cache/gomgr when the installed one is missing or too old.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
want=$(awk '$1 == "go" { print $2; exit }' "$root/go.mod")
want_minor=$(echo "$want" | cut -d. -f2)

have_ok() {
	local v
	v=$("$1" env GOVERSION 2>/dev/null) || return 1 # e.g. go1.26.8
	v=${v#go}
	local major minor
	major=$(echo "$v" | cut -d. -f1)
	minor=$(echo "$v" | cut -d. -f2 | sed 's/[^0-9].*//')
	[[ $major -gt 1 || ($major -eq 1 && $minor -ge $want_minor) ]]
}

for g in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go "$HOME/.cache/gomgr/go/bin/go"; do
	if [[ -n $g && -x $g ]] && have_ok "$g"; then
		echo "$g"
		exit 0
	fi
done

ver=${GOMGR_GO_VERSION:-$want}
[[ $ver == *.*.* ]] || ver="$ver.0"
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
proxy=${GOPROXY:-https://proxy.golang.org}
proxy=${proxy%%,*}
url="$proxy/golang.org/toolchain/@v/v0.0.1-go$ver.linux-$arch.zip"
dest="$HOME/.cache/gomgr"
echo "ensure-go: downloading go$ver from $url" >&2
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL -o "$tmp/go.zip" "$url"
python3 -m zipfile -e "$tmp/go.zip" "$tmp/x"
rm -rf "$dest/go"
mv "$tmp/x/golang.org/toolchain@v0.0.1-go$ver.linux-$arch" "$dest/go"
chmod +x "$dest/go/bin/"* "$dest/go/pkg/tool/"*/* 2>/dev/null || true
echo "$dest/go/bin/go"
