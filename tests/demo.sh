#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's demo: fanguardd on a scratch tmpfs with a demo denylist.
# Shows an allowed and a denied open, then the loopback FUSE case (a FUSE
# daemon serving files from the same watched tmpfs, the sshfs-to-localhost
# shape) completing, then the counters, then a clean stop.
# Everything happens in a private mount namespace under a hard deadline.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
export FG_BUILD_ROOT=$BUILD
export FG_SRC_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export FG_TEST_DEADLINE=60
. "$FG_SRC_ROOT/tests/lib/common.sh"
[ -f "$FG_SRC_ROOT/tests/lib/fuse.sh" ] && . "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

s=$(scratch_tmpfs 64m)
assert_own_mount "$s"
mkdir "$s/backing" "$s/fuse"
echo "hello, world" >"$s/hello.txt"
printf 'X5O!P%%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\n' >"$s/eicar.com"
cp "$s/eicar.com" "$s/backing/eicar.com"
echo "notes" >"$s/backing/notes.txt"
sha256sum "$s/eicar.com" | awk '{print $1 "  eicar"}' >"$FG_STATE/deny.txt"

say "start fanguardd on $s (a scratch tmpfs) with a one-line denylist"
start_fanguardd --watch "$s" --deny-hashes "$FG_STATE/deny.txt" --stats-file "$FG_STATE/stats" \
	--fuse-deadline-ms 1000 2> >(sed 's/^/  [fanguardd] /' >&2)
sleep 0.2

say "an allowed open and a denied one"
run cat "$s/hello.txt"
if cat "$s/eicar.com" 2>&1; then fail "eicar was not denied"; fi

say "the loopback FUSE case: a FUSE daemon serving $s/backing, both sides watched"
if declare -F start_fusetest >/dev/null && [ -x "$FUSETEST" ]; then
	start_fusetest relay "$s/backing" "$s/fuse"
	echo "  fusetest in relay mode: opener -> FUSE daemon -> server process -> watched tmpfs"
else
	start_bg bindfs -f "$s/backing" "$s/fuse"
	wait_until 10 mountpoint -q "$s/fuse" || fail "bindfs did not mount"
	track_fuse "$s/fuse"
	echo "  bindfs: opener -> FUSE daemon -> watched tmpfs"
fi
assert_own_mount "$s/fuse"
# fanguardd gives the FUSE mount a group of its own; a second daemon instance
# is not needed: restart with both watches.
stop_fanguardd
start_fanguardd --watch "$s" --watch "$s/fuse" --deny-hashes "$FG_STATE/deny.txt" \
	--stats-file "$FG_STATE/stats" --fuse-deadline-ms 1000 2> >(sed 's/^/  [fanguardd] /' >&2)
t0=$(date +%s%N)
run timeout 20 touch "$s/fuse/new-file"
run timeout 20 cp -r /usr/share/doc/bash "$s/fuse/docs"
run timeout 20 sh -c "cat '$s/fuse/notes.txt'; for i in \$(seq 200); do echo \$i > '$s/fuse/f.'\$i; done"
run timeout 20 tar -C "$s/fuse" -cf - docs | timeout 20 tar -C "$s/fuse" -xf - --transform 's/^docs/docs2/'
echo "  the workload took $(( ($(date +%s%N) - t0) / 1000000 )) ms (a naive listener hangs here forever)"
if timeout 20 cat "$s/fuse/eicar.com" 2>&1; then fail "eicar was not denied through FUSE"; fi

say "counters (SIGUSR1 writes the stats file)"
kill -USR1 "$FANGUARDD_PID"
wait_until 5 test -s "$FG_STATE/stats"
sed 's/^/  /' "$FG_STATE/stats" | grep -Ev ' 0$'

say "stop: every pending event answered"
stop_fanguardd
grep -E '^(events_read|events_answered|pending) ' "$FG_STATE/stats" | sed 's/^/  /'
echo
echo "demo done"
