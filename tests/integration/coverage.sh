#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Coverage you can trust (issue 13, findings 4 and 5; DESIGN.md §4):
#  1. group-limit: fanguardd runs under a uid of its own (with the
#     capabilities it needs, so it can never use up root's 128 groups that
#     other listeners on this host share). A holder of the same uid takes
#     every group the kernel still allows it; a FUSE mount made then under
#     the watched tree cannot get a group: it is reported uncovered (cause
#     group-limit, naming fs.fanotify.max_user_groups) in the log, in
#     `fanguardctl status` and `mounts`, and in the metric. Once the holder
#     lets go, the next mount-table change covers it (its denylisted file is
#     denied) and the report goes away.
#  2. permission: a user's FUSE mount without allow_other is closed to the
#     listener: reported uncovered (cause permission, naming
#     allow_sys_admin_access).
#  3. FG_COV_MOUNTS (40; coverage-300: 300) user FUSE mounts with a
#     denylisted file on each, under --max-groups 12: every one denied (N of
#     N), at most 12 groups, the thread count within the budget, and the
#     log stays short (no line per mount per rescan).
#  4. A daemon in the shared group hangs, with openers of its files waiting:
#     it is moved out to a group of its own (hung.c; the time is reported),
#     and the other mounts of that group still answer within their deadline.
#  5. on-uncovered=fail: fanguardd exits 1 at start while a watched mount
#     (the private one) is uncovered.
set -euo pipefail
n_mounts=${FG_COV_MOUNTS:-40}
# FG_COV_MAX_GROUPS= (empty): the default plan (from fs.fanotify.max_user_groups).
max_groups=${FG_COV_MAX_GROUPS-12}
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
require_cmd setpriv
require_cmd python3
enter_private_mountns "$@"
require_fusectl
[ -u /usr/bin/fusermount3 ] || notrun "needs the setuid fusermount3 (Debian package fuse3)"
CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl

user=$(id -u nobody 2>/dev/null) || notrun "no user 'nobody'"
# The listener's own uid: fanotify counts groups per uid, and every engineer
# and CI job on this host tests as root. 2000000000 + our pid is nobody's.
luid=$((2000000000 + $$))
caps=+sys_admin,+dac_read_search,+sys_ptrace
listener=$FG_STATE/fanguardd-as-uid
cat >"$listener" <<EOF
#!/bin/sh
exec setpriv --reuid=$luid --regid=$luid --clear-groups --inh-caps=$caps --ambient-caps=$caps \
	"$FANGUARDD" "\$@"
EOF
chmod 0755 "$listener"
run_dir=$FG_STATE/run
mkdir -m 0755 "$run_dir"
chown "$luid:$luid" "$run_dir"
chmod 1777 "$FG_STATE" # the pid file start_fanguardd_log names

cp /etc/fuse.conf "$FG_STATE/fuse.conf" 2>/dev/null || : >"$FG_STATE/fuse.conf"
echo user_allow_other >>"$FG_STATE/fuse.conf"
chmod 0644 "$FG_STATE/fuse.conf"
mount --bind "$FG_STATE/fuse.conf" /etc/fuse.conf
at_exit "umount -l /etc/fuse.conf"

s=$(scratch_tmpfs 64m)
assert_own_mount "$s"
b=$(scratch_tmpfs 64m)
mknod -m 0666 "$b/fuse-dev" c 10 229
mount --bind "$b/fuse-dev" /dev/fuse
at_exit "umount -l /dev/fuse"
mkdir "$s/u" "$b/state"
chown "$user:$user" "$s/u" "$b/state"
chmod 0755 "$b" "$s"
echo "denylisted content, coverage test $$" >"$FG_STATE/bad"
sha256sum "$FG_STATE/bad" | awk '{print $1}' >"$run_dir/denylist"
chmod 0644 "$run_dir/denylist"

FUSETEST_UID=$user
FUSETEST_STATE_DIR=$b/state
conns=()
ctls=()
fpids=()
# new_mount NAME [OPTIONS]: a user's fusetest passthrough mount at $s/u/NAME
# serving a denylisted file 'bad' and a clean one.
new_mount() {
	local name=$1 opts=${2:-allow_other,entry_timeout=3600,attr_timeout=3600}
	mkdir "$b/$name" "$s/u/$name"
	cp "$FG_STATE/bad" "$b/$name/bad"
	echo "clean $name" >"$b/$name/clean"
	chown -R "$user:$user" "$b/$name" "$s/u/$name"
	start_fusetest passthrough "$b/$name" "$s/u/$name" --threads 2 -o "$opts" >/dev/null
	conns+=("$FUSETEST_CONN")
	ctls+=("$FUSETEST_CONTROL")
	fpids+=("$FUSETEST_PID")
}

ctl() { "$CTL" --socket "$run_dir/control" "$@"; }
metric() { # NAME LABELS: the value of one sample of fanguardctl metrics
	ctl metrics | awk -v k="fanguard_$1$2" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }'
}
wait_metric() { # NAME LABELS VALUE SECS
	local end=$(($(now_ms) + $4 * 1000))
	while [ "$(metric "$1" "$2")" != "$3" ]; do
		[ "$(now_ms)" -lt $end ] || fail_with_log "fanguard_$1$2 is $(metric "$1" "$2"), not $3, after $4 s"
		sleep 0.05
	done
}

FANGUARDD=$listener start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" \
	--deny-hashes "$run_dir/denylist" --default-verdict allow --no-cache \
	${max_groups:+--max-groups "$max_groups"} --control-socket "$run_dir/control" \
	--stats-file "$run_dir/stats" --seccomp off
owner=$(awk '/^Uid:/ { print $2 }' "/proc/$FANGUARDD_PID/status")
[ "$owner" = "$luid" ] || fail_with_log "fanguardd runs as uid $owner, not $luid"
wait_metric uncovered '{uncovered_cause="group-limit"}' 0 5

# --- 1. group-limit ------------------------------------------------------------
holder_ready=$FG_STATE/holder.ready
start_bg setpriv --reuid="$luid" --regid="$luid" --clear-groups --inh-caps=$caps \
	--ambient-caps=$caps python3 -c '
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fds = []
while True:
    fd = libc.fanotify_init(0x1 | 0x4, os.O_RDONLY)  # FAN_CLOEXEC | FAN_CLASS_CONTENT
    if fd < 0:
        break
    fds.append(fd)
err = ctypes.get_errno()
open(sys.argv[1], "w").write("%d %d\n" % (len(fds), err))
time.sleep(300)
' "$holder_ready"
holder=$LAST_PID
wait_until 10 test -s "$holder_ready" || fail_with_log "the group holder did not start"
read -r held err <"$holder_ready"
[ "$err" = 24 ] || fail_with_log "the holder stopped at errno $err after $held groups, not EMFILE"
log "holder: uid $luid has every group it may have ($held held by the holder)"

new_mount g1
wait_metric uncovered '{uncovered_cause="group-limit"}' 1 10
st=$(ctl status)
grep -q "NOT COVERED: mount [0-9]* '$s/u/g1': group-limit: Too many open files; .*fs.fanotify.max_user_groups" <<<"$st" ||
	fail_with_log "status does not name g1 as uncovered by the group limit: $st"
mj=$(ctl mounts --json)
python3 -c '
import json, sys
m = [e for e in json.load(sys.stdin) if e["mount_point"] == sys.argv[1]]
assert len(m) == 1 and m[0]["covered"] is False and m[0]["cause"] == "group-limit", m
' "$s/u/g1" <<<"$mj" || fail_with_log "fanguardctl mounts does not list g1 uncovered"
grep -q "uncovered .*NOT COVERED: group-limit" <<<"$(ctl mounts)" ||
	fail_with_log "the mounts table has no uncovered row: $(ctl mounts)"
grep -q "mount [0-9]* '$s/u/g1' is NOT covered (cause: group-limit, Too many open files): .*fs.fanotify.max_user_groups" \
	"$FG_STATE/fanguardd.log" || fail_with_log "no error line names g1 and the sysctl"
grep -q "cannot make a fanotify group: EMFILE here means this user already has fs.fanotify.max_user_groups" \
	"$FG_STATE/fanguardd.log" || fail_with_log "EMFILE is not translated"
# Uncovered means unscanned: the kernel does not ask us.
fgcheck_ok open "$s/u/g1/bad" ok 5000 >/dev/null
kill "$holder"
wait_pid_exited "$holder" 10 || fail "the holder did not exit"
untrack_pid "$holder"
# Any mount-table change rescans: a tmpfs under the tree.
mkdir "$s/kick"
mount -t tmpfs -o size=1m kick "$s/kick"
wait_metric uncovered '{uncovered_cause="group-limit"}' 0 10
fgcheck_ok open "$s/u/g1/bad" EPERM 5000 >/dev/null
grep -q "mount [0-9]* '$s/u/g1' is covered now (was uncovered: group-limit)" "$FG_STATE/fanguardd.log" ||
	fail_with_log "no line says g1 is covered now"
log "group-limit: reported in log, status, mounts and metric; covered once groups were free"

# --- 2. permission -----------------------------------------------------------
new_mount private default_permissions
wait_metric uncovered '{uncovered_cause="permission"}' 1 10
grep -q "NOT COVERED: mount [0-9]* '$s/u/private': permission: Permission denied; .*allow_sys_admin_access" <<<"$(ctl status)" ||
	fail_with_log "status does not name the private mount and the switch: $(ctl status)"
grep -q "'$s/u/private' is NOT covered (cause: permission" "$FG_STATE/fanguardd.log" ||
	fail_with_log "no error line for the private mount"
log "permission: a user's mount without allow_other reported, naming allow_sys_admin_access"

# --- 3. many mounts, groups planned ---------------------------------------------
t0=$(now_ms)
for ((i = 1; i <= n_mounts; i++)); do
	new_mount "m$i"
done
log "$n_mounts more FUSE mounts in $(($(now_ms) - t0)) ms"
denied=0 t0=$(now_ms)
end=$(($(now_ms) + 30000))
for ((i = 1; i <= n_mounts; i++)); do
	# Marked within the deadline after its mount appeared.
	while :; do
		rc=0
		"$FGCHECK" open "$s/u/m$i/bad" EPERM 5000 >/dev/null 2>&1 || rc=$?
		[ $rc = 0 ] && break
		[ "$(now_ms)" -lt $end ] || fail_with_log "m$i/bad is not denied 30 s after the mounts"
		sleep 0.05
	done
	denied=$((denied + 1))
	fgcheck_ok open "$s/u/m$i/clean" ok 5000 >/dev/null
done
[ $denied = "$n_mounts" ] || fail_with_log "$denied of $n_mounts denied"
groups=$(metric groups '')
threads=$(ls /proc/"$FANGUARDD_PID"/task | wc -l)
[ "$groups" -le "${max_groups:-$(metric groups_planned '')}" ] ||
	fail_with_log "$groups groups, over the plan ${max_groups:-$(metric groups_planned '')}"
[ "$threads" -le 512 ] || fail_with_log "$threads threads, over the budget (512)"
[ "$(metric uncovered '{uncovered_cause="group-limit"}')" = 0 ] || fail_with_log "mounts left uncovered"
errs=$(grep -c "NOT covered" "$FG_STATE/fanguardd.log" || true)
[ "$errs" -le 10 ] || fail_with_log "$errs 'NOT covered' lines: the log is not bounded"
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$FANGUARDD_PID/status")
log "RESULT $n_mounts user FUSE mounts: $denied of $n_mounts denylisted files denied; $groups groups" \
	"(planned $(metric groups_planned '')), $threads threads, RSS $rss kB; 'NOT covered' lines: $errs"

# --- 4. a hung daemon in the shared group ----------------------------------------
shared=$(ctl mounts --json | python3 -c '
import json, sys
m = [e for e in json.load(sys.stdin) if e["mount_point"] == sys.argv[1]]
print(int(len(m) == 1 and m[0]["group_shared"] is True and m[0]["group_name"] == "fuse/shared-1"))
' "$s/u/m$n_mounts")
[ "$shared" = 1 ] || [ -z "$max_groups" ] || fail_with_log "m$n_mounts is not in the shared group"
if [ "$shared" = 1 ]; then
	# The last mount is in the shared group (the own groups ran out long before).
	hung=$((${#conns[@]} - 1))
	fusetest_control_of "${ctls[$hung]}" "${fpids[$hung]}" 'hang-path=*'
	openers=()
	for f in bad clean; do
		"$FGCHECK" open "$s/u/m$n_mounts/$f" ok 120000 >/dev/null 2>&1 &
		openers+=($!)
		track_pid $!
	done
	hang_t0=$(now_ms)
	wait_readers_in_fuse "$FANGUARDD_PID" 1 20 || fail_with_log "no reader waits on the hung daemon"
	# Moved out of the shared group: requests waiting past 1 s with a
	# reader stuck, checked every 250 ms (hung.c).
	moved_ms=
	while [ -z "$moved_ms" ]; do
		ctl mounts --json | python3 -c '
import json, sys
m = [e for e in json.load(sys.stdin) if e["mount_point"] == sys.argv[1] and e["class"] != "uncovered"]
moved = m[0]["group_shared"] is False and m[0]["group_name"].startswith("fuse/")
# Or, without a group of its own (its owner'"'"'s thread share is used up):
# taken out and reported.
out = m[0]["covered"] is False
print("moved out" if moved else "reported uncovered")
sys.exit(0 if len(m) == 1 and (moved or out) else 1)
' "$s/u/m$n_mounts" >"$FG_STATE/moved" && moved_ms=$(($(now_ms) - hang_t0))
		[ -n "$moved_ms" ] || [ $(($(now_ms) - hang_t0)) -lt 10000 ] ||
			fail_with_log "m$n_mounts is still in the shared group 10 s after its daemon hung"
		sleep 0.05
	done
	how=$(cat "$FG_STATE/moved")
	if [ "$how" = "moved out" ]; then
		grep -q "mount [0-9]* '$s/u/m$n_mounts': its daemon hangs .*moved out to group fuse/" "$FG_STATE/fanguardd.log" ||
			fail_with_log "no line says m$n_mounts moved out"
	else
		[ -z "$max_groups" ] || fail_with_log "m$n_mounts got no group of its own under --max-groups $max_groups"
		[ "$(metric uncovered '{uncovered_cause="hung-daemon"}')" = 1 ] ||
			fail_with_log "m$n_mounts is not reported uncovered (hung-daemon)"
	fi
	log "RESULT hung daemon in the shared group: m$n_mounts $how $moved_ms ms after its openers started"
	worst=0
	for ((i = n_mounts - 5; i < n_mounts; i++)); do
		fgcheck_ok open "$s/u/m$i/bad" EPERM 5000 >/dev/null
		ms=$(sed -n 's/.*(\([0-9.]*\) ms).*/\1/p' <<<"$FGCHECK_OUT")
		worst=$(awk -v a="$worst" -v b="$ms" 'BEGIN { print (b > a ? b : a) }')
	done
	log "RESULT hung daemon in the shared group: $(readers_in_fuse "$FANGUARDD_PID") readers wait on it;" \
		"the group's other mounts still deny, slowest in $worst ms (FUSE deadline 1500 ms)"
	awk -v w="$worst" 'BEGIN { exit !(w < 1500) }' || fail_with_log "an answer took $worst ms"
	abort_fuse "${conns[$hung]}"
	for p in "${openers[@]}"; do
		wait_pid_exited "$p" 10 || fail_with_log "opener $p still stuck after the abort"
		wait "$p" 2>/dev/null || true
		untrack_pid "$p"
	done
fi
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"

# --- 5. on-uncovered=fail: the private mount is still there ---------------------------
rc=0
run_within 60 "$listener" --watch-tree "$s" --on-uncovered fail --seccomp off \
	--max-groups 12 --deny-hashes "$run_dir/denylist" >"$FG_STATE/fail.log" 2>&1 || rc=$?
[ $rc = 1 ] || fail "fanguardd --on-uncovered fail exited with $rc, not 1: $(tail -5 "$FG_STATE/fail.log")"
grep -Eq "watched mounts? (is|are) NOT covered .*on-uncovered=fail: exiting" "$FG_STATE/fail.log" ||
	fail "no line says why fanguardd exits: $(tail -5 "$FG_STATE/fail.log")"
log "on-uncovered=fail: fanguardd exits 1 at start, naming the uncovered mount"

for c in "${conns[@]}"; do
	abort_fuse "$c"
done
log "PASS"
