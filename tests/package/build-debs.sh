#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the Debian packages out of tree and checks them:
#   tests/package/build-debs.sh OUTDIR
# copies the checkout's files (tracked, and untracked ones git does not
# ignore) to OUTDIR/src, runs `dpkg-buildpackage -us -uc -b` there (the
# checkout stays clean), then lintian on the .changes (fails on any error or
# warning; overrides are explained in debian/*.lintian-overrides), and checks
# the library's SONAME. The .debs land in OUTDIR. Needs no root (CI runs it
# as root, which lintian only remarks on).
set -euo pipefail
src=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
out=${1:?usage: build-debs.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
for c in dpkg-buildpackage dh lintian objdump git; do
	command -v "$c" >/dev/null || {
		echo "build-debs: needs $c (./bootstrap deps)" >&2
		exit 1
	}
done
rm -rf "$out/src"
mkdir "$out/src"
git -C "$src" ls-files -z --cached --others --exclude-standard |
	(cd "$src" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
	tar -C "$src" --null -T - -cf - | tar -C "$out/src" -xf -

t0=$(date +%s.%N)
(cd "$out/src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
	tail -n 60 "$out/build.log" >&2
	echo "build-debs: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
}
t1=$(date +%s.%N)
changes=$(ls "$out"/fanguard_*.changes)
lintian --fail-on error,warning --tag-display-limit 0 "$changes" >"$out/lintian.log" 2>&1 || {
	cat "$out/lintian.log" >&2
	echo "build-debs: lintian found errors or warnings" >&2
	exit 1
}
t2=$(date +%s.%N)

# The runtime package carries the library under its SONAME.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$out"/libfanguard0_*.deb "$tmp"
lib=$(find "$tmp" -name 'libfanguard.so.*.*' -type f)
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libfanguard.so.0 ] || {
	echo "build-debs: SONAME of $lib is '$soname', not libfanguard.so.0" >&2
	exit 1
}
[ -L "$tmp/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/$soname" ] || {
	echo "build-debs: libfanguard0 lacks the $soname link" >&2
	exit 1
}
grep -v '^running with root privileges' "$out/lintian.log" | sed 's/^/# lintian: /' >&2 || true
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$(grep -cE '^[EW]:' "$out/lintian.log" || true)" \
	-v so="$soname" 'BEGIN { printf "# build-debs: dpkg-buildpackage %.1f s, lintian %.1f s " \
	"(%d errors/warnings), SONAME %s\n", b - a, c - b, n, so }' >&2
ls "$out"/*.deb
