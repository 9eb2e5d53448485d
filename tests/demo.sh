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
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
enter_private_mountns "$@"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
mkdir "$s/backing" "$s/fuse"
echo "hello, world" >"$s/hello.txt"
printf 'X5O!P%%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\n' >"$s/eicar.com"
cp "$s/eicar.com" "$s/backing/eicar.com"
echo "notes" >"$s/backing/notes.txt"
sha256sum "$s/eicar.com" | awk '{print $1 "  eicar"}' >"$FG_STATE/deny.txt"

say "a FUSE filesystem serving $s/backing from the same host (the sshfs-to-localhost shape)"
start_fusetest relay "$s/backing" "$s/fuse"
echo "  fusetest relay: opener -> FUSE daemon -> server process -> the watched tmpfs"
assert_own_mount "$s/fuse"

say "start fanguardd watching both the tmpfs and the FUSE mount, with a one-line denylist"
start_fanguardd --watch "$s" --watch "$s/fuse" --deny-hashes "$FG_STATE/deny.txt" \
	--control-socket "$FG_STATE/control" \
	--stats-file "$FG_STATE/stats" --fuse-deadline-ms 1000 2> >(sed -u 's/^/  [fanguardd] /' >&2)

say "an allowed open and a denied one"
run cat "$s/hello.txt"
if cat "$s/eicar.com" 2>&1; then fail "eicar was not denied"; fi

say "the loopback workload through FUSE (a naive listener freezes here: see tests/repro)"
t0=$(date +%s%N)
run timeout 20 touch "$s/fuse/new-file"
run timeout 20 cp -r /usr/share/doc/bash "$s/fuse/docs"
run timeout 20 sh -c "cat '$s/fuse/notes.txt'; for i in \$(seq 200); do echo \$i > '$s/fuse/f.'\$i; done"
run timeout 20 sh -c "tar -C '$s/fuse' -cf - docs | tar -C '$s/fuse' -xf - --transform 's/^docs/docs2/'"
echo "  the workload took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
if timeout 20 cat "$s/fuse/eicar.com" 2>&1; then fail "eicar was not denied through FUSE"; fi
echo "  (denied at the backing layer: the FUSE server's own open of the file was denied)"

CTL=$BUILD/listener/fanguardctl/fanguardctl
say "fanguardctl: the daemon's state and its watches, over the control socket"
run timeout 10 "$CTL" --socket "$FG_STATE/control" status
run timeout 10 "$CTL" --socket "$FG_STATE/control" mounts

say "counters (SIGUSR1 writes the stats file; fanguardctl stats gives the same as JSON)"
kill -USR1 "$FANGUARDD_PID"
wait_until 5 test -s "$FG_STATE/stats"
sed 's/^/  /' "$FG_STATE/stats" | grep -Ev ' 0$'

say "stop: every pending event answered"
stop_fanguardd
stop_fusetest "$s/fuse"
grep -E '^(events_read|events_answered|pending) ' "$FG_STATE/stats" | sed 's/^/  /'
echo
echo "demo done"
