#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The pre-warm pass (--prewarm DIR, libfanguard prewarm.c) on a tmpfs of our
# own: clean files, one on the denylist, one over --max-scan-bytes, a FIFO,
# a symlink to a file outside, a subdirectory, and a tmpfs mounted inside
# (another mount: never entered). Once `fanguardctl status` says done:
#   - opening the clean files raises no permission event (events_read does
#     not grow): the pass left the kernel's ignore marks;
#   - the denylisted file is still denied (EPERM) and was counted dirty,
#     never marked;
#   - a clean file modified after the pass is scanned again at its next open;
#   - the FIFO and the symlink were skipped (not-regular) without a hang,
#     the big file (too-large) and the inner mount (other-fs) too; status,
#     stats file and metrics show the counts;
#   - with --cache-max-marks 3 the pass adds 3 marks and counts the rest as
#     budget; a reload with a changed PreWarm= list restarts the pass.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"
CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
deny=$FG_STATE/denylist
log=$FG_STATE/fanguardd.log
sock=$FG_STATE/ctl/control
n=12
mkdir "$s/hot" "$s/hot/sub" "$s/hot/inner" "$s/cold"
for i in $(seq 1 $n); do
	d="$s/hot"
	[ $((i % 2)) = 0 ] && d="$s/hot/sub"
	printf 'fanguard prewarm test: clean file %02d\n' "$i" >"$d/f$i"
done
echo "fanguard prewarm test: EVIL" >"$s/hot/sub/evil"
sha256sum "$s/hot/sub/evil" | cut -d' ' -f1 >"$deny"
head -c 4096 /dev/zero >"$s/hot/big"
mkfifo "$s/hot/fifo"
echo "outside" >"$s/cold/target"
ln -s "$s/cold/target" "$s/hot/link"
# Another mount inside the walk: its files are never visited.
mount -t tmpfs -o size=1m fg-test-inner "$s/hot/inner"
at_exit "umount -l '$s/hot/inner' 2>/dev/null"
echo "inner" >"$s/hot/inner/i1"
clean_files() { find "$s/hot" -path "$s/hot/inner" -prune -o -name 'f*' -type f -print | sort; }
[ "$(clean_files | wc -l)" = $n ] || fail "test bug: $(clean_files | wc -l) clean files"

ctl() { timeout 20 "$CTL" --socket "$sock" "$@"; }
start() {
	: >"$log"
	start_fanguardd_log "$log" --watch "$s" --deny-hashes "$deny" --default-verdict allow \
		--deadline-ms 5000 --max-scan-bytes 1024 --stats-file "$stats" \
		--control-socket "$sock" "$@"
}
stat_now() { # KEY
	fanguardd_stats_now "$stats"
	stats_get "$stats" "$1"
}
wait_done() { # what the status line must match once the pass is done
	local end=$(($(now_ms) + 20000)) line
	while :; do
		line=$(ctl status | grep '^prewarm:') || fail_with_log "no prewarm line in status"
		[[ $line == "prewarm: done"* ]] && break
		[ "$(now_ms)" -lt $end ] || fail_with_log "pre-warm not done after 20 s: $line"
		sleep 0.05
	done
	log "$line"
	PREWARM_LINE=$line
}
opens_raise_no_event() {
	local before after f
	before=$(stat_now events_read)
	while read -r f; do
		timeout 5 cat "$f" >/dev/null || fail_with_log "open of $f failed or hung"
	done < <(clean_files)
	after=$(stat_now events_read)
	[ "$after" = "$before" ] ||
		fail_with_log "opening the pre-warmed files raised $((after - before)) events"
}

# 1. Off by default: status says so.
start
[[ "$(ctl status | grep '^prewarm:')" == "prewarm: off" ]] || fail_with_log "prewarm not off by default"
[ "$(stat_now prewarm_state)" = 0 ] || fail_with_log "prewarm_state not 0"
stop_fanguardd_within 10

# 2. The pass: clean files cached, the rest skipped and counted.
start --prewarm "$s/hot"
wait_done
grep -q "Pre-warm: started over 1 paths" "$log" || fail_with_log "no start line"
grep -q "Pre-warm: done: " "$log" || fail_with_log "no finish line"
[ "$(grep -c 'Pre-warm' "$log")" -le 3 ] || fail_with_log "per-file log lines"
fanguardd_stats_now "$stats"
want() { # KEY VALUE
	[ "$(stats_get "$stats" "$1")" = "$2" ] ||
		fail_with_log "$1 = $(stats_get "$stats" "$1"), want $2: $(grep prewarm "$stats")"
}
# seen: 12 clean + evil + big + fifo + link + the inner mount point
want prewarm_state 2
want prewarm_files_seen $((n + 5))
want prewarm_files_cached $n
want prewarm_files_dirty 1
want prewarm_skip_not_regular 2
want prewarm_skip_too_large 1
want prewarm_skip_other_fs 1
want prewarm_skip_budget 0
want prewarm_skip_error 0
[[ $PREWARM_LINE == *"$((n + 5)) files seen, $n cached, 1 dirty, 4 skipped"* ]] ||
	fail_with_log "status line: $PREWARM_LINE"
m=$(ctl metrics) || fail_with_log "metrics failed"
grep -q "^fanguard_prewarm_files_cached $n\$" <<<"$m" || fail_with_log "metrics: cached"
grep -q '^fanguard_prewarm_files_skipped{prewarm_skip="not-regular"} 2$' <<<"$m" ||
	fail_with_log "metrics: skipped by reason"
grep -q '^# TYPE fanguard_prewarm_state gauge' <<<"$m" || fail_with_log "metrics: state gauge"

opens_raise_no_event
fgcheck_ok open "$s/hot/sub/evil" EPERM 5000
# Modified after the pass: its mark is gone, the next open is scanned.
echo "appended" >>"$s/hot/f1"
before=$(stat_now reason_scanned)
fgcheck_ok open "$s/hot/f1" ok 5000
after=$(stat_now reason_scanned)
[ "$after" = $((before + 1)) ] ||
	fail_with_log "a file modified after the pass was not scanned again ($before -> $after)"
# Its neighbours still raise nothing.
n_before=$(stat_now events_read)
timeout 5 cat "$s/hot/sub/f2" >/dev/null
[ "$(stat_now events_read)" = "$n_before" ] || fail_with_log "f2's mark went with f1's"
stop_fanguardd_within 10
log "pass: $n cached, the denylisted file denied, modified file rescanned"

# 3. The budget: 3 marks, the rest counted; a reload with a changed list
# restarts the pass.
cat >"$FG_STATE/fanguard.conf" <<CONF
[Cache]
MaxMarks = 3
PreWarm = $s/hot/sub
CONF
start --config "$FG_STATE/fanguard.conf"
wait_done
fanguardd_stats_now "$stats"
want prewarm_files_cached 3
want prewarm_files_dirty 1
want prewarm_skip_budget $((n / 2 - 3))
grep -q "Pre-warm: the cache is full (3 marks)" "$log" || fail_with_log "no budget log line"
cat >"$FG_STATE/fanguard.conf" <<CONF
[Cache]
MaxMarks = 3
PreWarm = $s/hot/sub
PreWarm = $s/cold
CONF
kill -HUP "$FANGUARDD_PID"
wait_until 10 grep -q "Pre-warm: started over 2 paths" "$log" || fail_with_log "reload did not restart the pass"
wait_done
fanguardd_stats_now "$stats"
want prewarm_files_seen $((n / 2 + 2))
stop_fanguardd_within 10
log "budget respected; a reload with a new list restarted the pass"
