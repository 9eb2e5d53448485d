#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The verdict store (VerdictStore=, listener/lib/store.c): clean verdicts
# survive a restart of fanguardd, and never vouch for content that was not
# scanned. Scan, stop, start: the files are allowed from the store, the
# scanner reads no byte (bytes_scanned stays 0). A file rewritten with
# denylisted content of the same size, or only touched, is scanned again
# (denied, allowed). A denylist change voids every entry. A truncated or
# garbage store is moved aside with a log line and rebuilt, and the
# denylisted file is still denied. A store open to others, or owned by
# another user, is refused and fanguardd does not start.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
python3 - "$s" <<'EOF' || notrun "no FS_IOC_GETFSUUID on tmpfs (Linux < 6.5): nothing is kept"
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
buf = bytearray(17)
fcntl.ioctl(fd, 0x80111500, buf)  # FS_IOC_GETFSUUID = _IOR(0x15, 0, 17 bytes)
sys.exit(0 if buf[0] == 16 and any(buf[1:]) else 1)
EOF
stats=$FG_STATE/stats
deny=$FG_STATE/denylist
store=$FG_STATE/vstore
log=$FG_STATE/fanguardd.log
tag=$RANDOM$RANDOM
n=20
clean() { printf 'fanguard store test %s: clean file %02d' "$tag" "$1"; }
evil="$(clean 1 | sed 's/clean/EVIL!/')"
[ ${#evil} = "$(clean 1 | wc -c)" ] || fail "test bug: lengths differ"
printf '%s' "$evil" | sha256sum | cut -d' ' -f1 >"$deny"
for i in $(seq 1 $n); do
	clean "$i" >"$s/f$i"
done
sleep 0.2 # ctimes older than the store's settle time (50 ms)

start() {
	start_fanguardd_log "$log" --watch "$s" --deny-hashes "$deny" \
		--default-verdict allow --deadline-ms 5000 --stats-file "$stats" \
		--verdict-store "$store" "$@"
}
stat_now() { # KEY
	fanguardd_stats_now "$stats"
	stats_get "$stats" "$1"
}
wait_stat() { # KEY MIN
	local end=$(($(now_ms) + 5000))
	until [ "$(stat_now "$1")" -ge "$2" ]; do
		[ "$(now_ms)" -lt $end ] || fail_with_log "$1 < $2 after 5 s: $(grep store_ "$stats")"
		sleep 0.05
	done
}
open_all() { # EXCEPT...
	local i
	for i in $(seq 1 $n); do
		case " $* " in *" $i "*) continue ;; esac
		fgcheck_ok open "$s/f$i" ok 5000 >/dev/null 2>&1
	done
}

# 1. Cold: scanned, allowed, written to the store (batched, async).
start
[ "$(stat_now store_enabled)" = 1 ] || fail_with_log "store_enabled is not 1"
open_all
wait_stat store_inserts $n
[ "$(stats_get "$stats" store_hits)" = 0 ] || fail_with_log "hits before any restart"
stop_fanguardd_within 10
mode=$(stat -c %a "$store")
[ "$mode" = 700 ] || fail "store directory mode $mode, want 700"
[ "$(stat -c %a "$store/data.mdb")" = 600 ] || fail "data.mdb mode $(stat -c %a "$store/data.mdb")"
log "pass 1: $n files scanned and kept"

# 2. Restart: every file allowed from the store; the scanner read nothing.
start
open_all
hits=$(stat_now store_hits)
scanned=$(stats_get "$stats" bytes_scanned)
[ "$hits" = $n ] || fail_with_log "store_hits=$hits after a restart, want $n"
[ "$scanned" = 0 ] || fail_with_log "the scanner read $scanned bytes after a restart"
[ "$(stats_get "$stats" cache_marks_added)" -ge $n ] ||
	fail_with_log "store hits did not set the kernel's ignore marks"
stop_fanguardd_within 10
log "pass 2 after a restart: $hits hits, 0 bytes scanned"

# 3. Changed while stopped: f1 gets denylisted content of the same size,
# f2 only a new mtime. Both are scanned again; f1 is denied.
printf '%s' "$evil" >"$s/f1"
touch -m -d '2001-01-01' "$s/f2"
sleep 0.2
start
fgcheck_ok open "$s/f1" EPERM 5000
fgcheck_ok open "$s/f2" ok 5000
open_all 1 2
[ "$(stat_now store_hits)" = $((n - 2)) ] || fail_with_log "store_hits $(stats_get "$stats" store_hits), want $((n - 2))"
[ "$(stats_get "$stats" store_invalidations)" -ge 2 ] || fail_with_log "changed files not counted as invalidations"
scanned=$(stats_get "$stats" bytes_scanned)
[ "$scanned" = $((2 * ${#evil})) ] || fail_with_log "bytes_scanned=$scanned, want two files' worth"
stop_fanguardd_within 10
log "changed files rescanned: the rewritten one denied"

# 4. The denylist changes (f3's clean content added) while stopped: no
# entry is used; f3 is denied.
clean 3 | sha256sum | cut -d' ' -f1 >>"$deny"
start
fgcheck_ok open "$s/f3" EPERM 5000
open_all 1 3
[ "$(stat_now store_hits)" = 0 ] || fail_with_log "entries of the old denylist were used"
[ "$(stats_get "$stats" store_flushed)" -ge $((n - 2)) ] || fail_with_log "store_flushed $(stats_get "$stats" store_flushed)"
wait_stat store_inserts $((n - 2))
# And while running: a reload that changes the denylist voids entries at once.
clean 4 | sha256sum | cut -d' ' -f1 >>"$deny"
kill -HUP "$FANGUARDD_PID"
end=$(($(now_ms) + 5000))
until "$FGCHECK" open "$s/f4" EPERM 2000 >/dev/null 2>&1; do
	[ "$(now_ms)" -lt $end ] || fail_with_log "f4 still allowed 5 s after the reload"
	sleep 0.05
done
stop_fanguardd_within 10
start
fgcheck_ok open "$s/f4" EPERM 5000
fgcheck_ok open "$s/f1" EPERM 5000
stop_fanguardd_within 10
log "denylist changes void the store"

# 5. A truncated store, then one of garbage: moved aside, logged, rebuilt;
# the denylisted files are still denied.
for how in truncate garbage; do
	case $how in
	truncate) truncate -s 4096 "$store/data.mdb" ;;
	garbage) head -c 65536 /dev/urandom >"$store/data.mdb" ;;
	esac
	: >"$log"
	start
	grep -q "moved aside to data.mdb.corrupt" "$log" || fail_with_log "no log line for a $how store"
	[ "$(stat_now store_rebuilds)" = 1 ] || fail_with_log "store_rebuilds is not 1 ($how)"
	fgcheck_ok open "$s/f1" EPERM 5000
	open_all 1 3 4
	[ "$(stat_now store_hits)" = 0 ] || fail_with_log "hits from a $how store"
	stop_fanguardd_within 10
	[ -e "$store/data.mdb.corrupt" ] || fail "the $how store was not kept aside"
done
log "truncated and garbage stores rebuilt"

# 6. Refused: a store directory open to others, a data file owned by
# someone else. fanguardd says why and does not start.
refused() { # WHAT
	local rc=0
	: >"$log"
	timeout 20 "$FANGUARDD" --watch "$s" --deny-hashes "$deny" --verdict-store "$store" \
		2>>"$log" || rc=$?
	[ $rc != 0 ] && [ $rc != 124 ] || fail "fanguardd ran with $1 (exit $rc)"
	grep -q "refusing it" "$log" || fail "no clear error for $1: $(cat "$log")"
}
chmod 0755 "$store"
refused "a store directory of mode 0755"
chmod 0700 "$store"
chown 65534 "$store/data.mdb"
refused "a data file owned by uid 65534"
chown 0 "$store/data.mdb"
log "stores open to others refused"

# 7. YARA rules replaced on disk, no SIGHUP: fanguardd reloads them, and
# the clean verdicts the old rules gave (the kernel's marks, the store's
# entries) no longer count: f5, clean before, is denied within a second.
rules=$FG_STATE/rules.yar
printf 'rule nothing { strings: $a = "no such string %s" condition: $a }\n' "$tag" >"$rules"
rm -rf "$store"
: >"$log"
start --yara-rules "$rules"
fgcheck_ok open "$s/f5" ok 5000
wait_stat store_inserts 1
printf 'rule f5 { strings: $a = "%s" condition: $a }\n' "$(clean 5)" >"$rules.new"
mv "$rules.new" "$rules"
t0=$(now_ms)
until "$FGCHECK" open "$s/f5" EPERM 2000 >/dev/null 2>&1; do
	[ "$(now_ms)" -lt $((t0 + 5000)) ] || fail_with_log "f5 still allowed 5 s after its rules changed on disk"
	sleep 0.01
done
took=$(($(now_ms) - t0))
grep -q "changed on disk: reloading" "$log" || fail_with_log "no log line for the rules change"
fgcheck_ok open "$s/f6" ok 5000
stop_fanguardd_within 10
# A restart with the new rules: the store's entries were made under the
# old ones, and are not used.
start --yara-rules "$rules"
fgcheck_ok open "$s/f5" EPERM 5000
stop_fanguardd_within 10
log "YARA rules replaced on disk: f5 denied after $took ms, no SIGHUP"
