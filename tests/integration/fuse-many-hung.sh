#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Many hung user FUSE mounts at once must not starve local scanning.
# FG_HUNG_MOUNTS (20) fusetest daemons run as an unprivileged uid (mounted
# through the setuid fusermount3, allow_other) under a tree fanguardd
# watches (--watch-tree). Once every mount is marked and its files looked
# up, every daemon stops answering anything, and 2 openers per mount wait in
# it (with the fanguardd readers that take their events: the kernel opens
# the event's file through FUSE inside read(), DESIGN.md §1). Then a local
# victim on the watched tree:
#  - a denylisted local file is denied, a clean one allowed, each within the
#    local deadline (3000 ms; measured latency reported);
#  - 1000 local opens complete, p99 reported and bounded by the deadline.
# Reported, not asserted: fanguardd's thread count and how many of its
# threads wait on a FUSE reply (the process-wide thread budget of issue 12
# should bound them). At the end the connections are aborted and fanguardd
# stops with every event read answered exactly once.
set -euo pipefail
n_mounts=${FG_HUNG_MOUNTS:-20}
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
require_cmd setpriv
enter_private_mountns "$@"
require_fusectl
[ -u /usr/bin/fusermount3 ] || notrun "needs the setuid fusermount3 (Debian package fuse3)"

uid=$(id -u nobody 2>/dev/null) || notrun "no user 'nobody'"
local_deadline_ms=3000
# allow_other for users, in our mount namespace only: fusermount3 reads
# /etc/fuse.conf, and root (fanguardd) may not enter a user's mount without it.
cp /etc/fuse.conf "$FG_STATE/fuse.conf" 2>/dev/null || : >"$FG_STATE/fuse.conf"
echo user_allow_other >>"$FG_STATE/fuse.conf"
chmod 0644 "$FG_STATE/fuse.conf"
mount --bind "$FG_STATE/fuse.conf" /etc/fuse.conf
at_exit "umount -l /etc/fuse.conf"

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
# The backing stores are not watched: the user's files, served by the user.
b=$(scratch_tmpfs 16m)
# /dev/fuse is 0600 on these VMs (stock Debian: 0666, DESIGN.md §2), and
# libfuse opens it before it falls back to fusermount3: a 0666 node of the
# same device over it, in our mount namespace only.
mknod -m 0666 "$b/fuse-dev" c 10 229
mount --bind "$b/fuse-dev" /dev/fuse
at_exit "umount -l /dev/fuse"
stats=$FG_STATE/stats
mkdir "$s/u" "$s/local" "$b/state"
chown "$uid:$uid" "$s/u" "$b/state"
chmod 0755 "$b"
echo "clean local content" >"$s/clean.txt"
echo "denylisted local content" >"$s/bad.txt"
sha256sum "$s/bad.txt" | awk '{print $1}' >"$FG_STATE/denylist"
"$FGCHECK" load --procs 1 --iters 1 --dir "$s/local" --files 32 --create >/dev/null ||
	fail "cannot create the local files"

mnts=()
ctls=()
pids=()
conns=()
FUSETEST_UID=$uid
FUSETEST_STATE_DIR=$b/state
for ((i = 1; i <= n_mounts; i++)); do
	mkdir "$b/d$i" "$s/u/m$i"
	echo "file one of $i" >"$b/d$i/f1"
	echo "file two of $i" >"$b/d$i/f2"
	chown -R "$uid:$uid" "$b/d$i" "$s/u/m$i"
	start_fusetest passthrough "$b/d$i" "$s/u/m$i" --threads 4 \
		-o allow_other,entry_timeout=3600,attr_timeout=3600
	mnts+=("$s/u/m$i")
	ctls+=("$FUSETEST_CONTROL")
	pids+=("$FUSETEST_PID")
	conns+=("$FUSETEST_CONN")
done
unset FUSETEST_UID FUSETEST_STATE_DIR
owner=$(awk '/^Uid:/ { print $2 }' "/proc/${pids[0]}/status")
[ "$owner" = "$uid" ] || fail "fusetest runs as uid $owner, not $uid"
log "$n_mounts fusetest mounts served by uid $uid under $s/u"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow \
	--local-deadline-ms $local_deadline_ms --fuse-deadline-ms 1000 --no-cache \
	--stats-file "$stats"
fanguardd_stats_now "$stats"
groups=$(stats_get "$stats" groups)
[ "$groups" -ge $((n_mounts + 1)) ] || fail_with_log "only $groups groups for $n_mounts FUSE mounts and the tmpfs"
threads_healthy=$(ls /proc/"$FANGUARDD_PID"/task | wc -l)

# Healthy: every file looked up (cached for an hour) and opened once.
for m in "${mnts[@]}"; do
	fgcheck_ok open "$m/f1" ok 5000 >/dev/null
	fgcheck_ok open "$m/f2" ok 5000 >/dev/null
done

# Every daemon now hangs every request.
for i in "${!mnts[@]}"; do
	fusetest_control_of "${ctls[$i]}" "${pids[$i]}" 'hang-path=*'
done
openers=()
for m in "${mnts[@]}"; do
	for f in f1 f2; do
		"$FGCHECK" open "$m/$f" ok 120000 >/dev/null 2>&1 &
		openers+=($!)
		track_pid $!
	done
done
# Wait for the real condition: fanguardd threads waiting on a FUSE reply,
# at least one per mount (the reader that took its first event).
fuse_waiters() {
	grep -l request_wait_answer /proc/"$FANGUARDD_PID"/task/*/stack 2>/dev/null | wc -l
}
end=$(($(now_ms) + 30000))
while [ "$(fuse_waiters)" -lt "$n_mounts" ]; do
	[ "$(now_ms)" -lt $end ] || fail_with_log "only $(fuse_waiters) fanguardd threads wait on FUSE after 30 s"
	sleep 0.05
done
stuck=$(fuse_waiters)
threads=$(ls /proc/"$FANGUARDD_PID"/task | wc -l)

# The local victim.
ms_of() { sed -n 's/.*(\([0-9.]*\) ms).*/\1/p' <<<"$1"; }
fgcheck_ok open "$s/clean.txt" ok $((local_deadline_ms + 2000))
clean_ms=$(ms_of "$FGCHECK_OUT")
fgcheck_ok open "$s/bad.txt" EPERM $((local_deadline_ms + 2000))
bad_ms=$(ms_of "$FGCHECK_OUT")
for v in "$clean_ms" "$bad_ms"; do
	awk -v v="$v" -v d=$local_deadline_ms 'BEGIN { exit !(v < d) }' ||
		fail_with_log "a local open took $v ms, past the local deadline ($local_deadline_ms ms)"
done
fgcheck_ok load --procs 2 --iters 500 --dir "$s/local" --timeout-s 30
l=$(printf '%s\n' "$FGCHECK_OUT" | grep latency_us)
p99=$(load_get "$l" p99)
awk -v p="$p99" -v d=$local_deadline_ms 'BEGIN { exit !(p < d * 1000) }' ||
	fail_with_log "local opens: p99 $p99 us past the local deadline"
fanguardd_stats_now "$stats"
log "RESULT $n_mounts hung user FUSE mounts, $((2 * n_mounts)) openers stuck: fanguardd has" \
	"$threads threads ($threads_healthy when healthy), $stuck waiting on a FUSE reply;" \
	"readers_added $(stats_get "$stats" readers_added); local victim: clean open" \
	"$clean_ms ms, denylisted open denied in $bad_ms ms; 1000 local opens p50" \
	"$(load_get "$l" p50) us, p99 $p99 us, max $(load_get "$l" max) us"

for c in "${conns[@]}"; do
	abort_fuse "$c"
done
for p in "${openers[@]}"; do
	wait_pid_exited "$p" 10 || fail_with_log "opener $p still stuck 10 s after the FUSE aborts"
	wait "$p" 2>/dev/null || true
	untrack_pid "$p"
done
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
log "PASS"
