#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# --quarantine: a denied file is copied from the event's fd into a root-only
# directory and removed, with a JSON record; a name that no longer names
# the denied file is not touched (copy kept, counted); an over-size file is
# not copied (counted); a directory that is not root's 0700 stops the start
# with a clear error; fanguardctl quarantine lists, restores (never over a
# file) and deletes; files on FUSE are not quarantined. Under --landlock and the default seccomp (kill): the
# rules must allow what quarantine does (openat2, unlinkat under the watch).
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
require_cmd jq
enter_private_mountns "$@"
require_fusectl

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
qfs=$(scratch_tmpfs 64m) # not watched: where the copies go
q=$qfs/q
install -d -m 0700 "$q"
stats=$FG_STATE/stats
deny=$FG_STATE/deny
ctlsock=$FG_STATE/control
CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl

head -c 50000 /dev/urandom >"$s/evil"
head -c 100000 /dev/urandom >"$s/big"
mkdir -p "$s/m/d"
head -c 1000 /dev/urandom >"$s/m/d/swapped"
cp "$s/evil" "$FG_STATE/evil.orig"
cp "$s/m/d/swapped" "$FG_STATE/swapped.orig"
sha256sum "$s/evil" "$s/big" "$s/m/d/swapped" | cut -d' ' -f1 >"$deny"
sha_evil=$(sha256sum "$s/evil" | cut -d' ' -f1)
chown 4242:4343 "$s/evil"
chmod 0640 "$s/evil"
owner_evil=4242:4343 mode_evil=640
ino_evil=$(stat -c %i "$s/evil")
ino_swapped=$(stat -c %i "$s/m/d/swapped")
dev_evil=$(stat -c '%Hd:%Ld' "$s/evil")
common=(--watch "$s" --deny-hashes "$deny" --quarantine-max-bytes 65536
	--quarantine-min-free-bytes 1048576 --landlock)

# 1. Not root's 0700: a clear error at start, nothing watched.
mkdir -m 0755 "$qfs/open"
mkdir -m 0700 "$qfs/users"
chown nobody "$qfs/users"
for bad in open users; do
	rc=0
	timeout 20 "$FANGUARDD" "${common[@]}" --quarantine "$qfs/$bad" 2>"$FG_STATE/bad.log" || rc=$?
	sed 's/^/# bad: /' "$FG_STATE/bad.log" >&2
	[ $rc != 0 ] && [ $rc != 124 ] || fail "fanguardd started with quarantine dir $bad (rc $rc)"
	grep -q "Quarantine directory '$qfs/$bad' is owned by uid [0-9]* with mode 0[0-7]*: it must be root's with mode 0700" \
		"$FG_STATE/bad.log" || fail "no clear error for quarantine dir $bad"
done
rc=0
timeout 20 "$FANGUARDD" "${common[@]}" --quarantine "$qfs/missing" 2>"$FG_STATE/bad.log" || rc=$?
[ $rc != 0 ] && grep -q "Quarantine directory '$qfs/missing': No such file" "$FG_STATE/bad.log" ||
	fail "no clear error for a missing quarantine dir"

start_fanguardd_log "$FG_STATE/fanguardd.log" "${common[@]}" --quarantine "$q" \
	--stats-file "$stats" --control-socket "$ctlsock"

# 2. Denied, then quarantined: the copy is the content, the name is gone.
fgcheck_ok open "$s/evil" EPERM 5000
rec() { jq -c --arg p "$1" 'select(.path == $p)' "$q/records.jsonl" 2>/dev/null; }
wait_until 10 bash -c "[ -n \"\$(jq -c --arg p '$s/evil' 'select(.path == \$p)' '$q/records.jsonl')\" ]" ||
	fail_with_log "no quarantine record for $s/evil"
r=$(rec "$s/evil")
log "record: $r"
id=$(jq -r .id <<<"$r")
[ "$(jq -r .outcome <<<"$r")" = removed ] || fail_with_log "outcome is not removed"
[ "$(jq -r .sha256 <<<"$r")" = "$sha_evil" ] || fail_with_log "record sha256 wrong"
[ "$(jq -r .size <<<"$r")" = 50000 ] || fail_with_log "record size wrong"
[ "$(jq -r .ino <<<"$r")" = "$ino_evil" ] || fail_with_log "record ino wrong"
[ "$(jq -r .dev <<<"$r")" = "$dev_evil" ] || fail_with_log "record dev wrong"
[ "$(jq -r .comm <<<"$r")" = fgcheck ] || fail_with_log "record comm wrong"
# Under Landlock /proc/PID/exe of a process outside the daemon's domain is
# unreadable (ptrace access is refused across Landlock domains): "" then.
case "$(jq -r .exe <<<"$r")" in "$FGCHECK" | "") ;; *) fail_with_log "record exe wrong" ;; esac
[ "$(jq -r .uid <<<"$r")" = 0 ] || fail_with_log "record uid wrong"
[ "$(jq -r .scanner <<<"$r")" = sha256 ] || fail_with_log "record scanner wrong"
[ "$(jq -r .path_hex <<<"$r")" = "$(printf '%s' "$s/evil" | od -An -tx1 | tr -d ' \n')" ] ||
	fail_with_log "record path_hex wrong"
[ ! -e "$s/evil" ] || fail_with_log "the original $s/evil is still there"
cmp "$q/$id" "$FG_STATE/evil.orig" || fail_with_log "the copy differs from the original"
[ "$(stat -c '%u %a' "$q/$id")" = "0 600" ] || fail_with_log "the copy is not root's 0600"

# 3. Over-size: denied, not copied, counted; the original stays.
fgcheck_ok open "$s/big" EPERM 5000
wait_until 10 grep -q "Quarantine of '$s/big' skipped (too-large" "$FANGUARDD_LOG" ||
	fail_with_log "no log line for the over-size file"
[ -e "$s/big" ] || fail_with_log "the over-size original was removed"
[ -z "$(rec "$s/big")" ] || fail_with_log "the over-size file has a record"

# 4. The name no longer names the file: the opener holds its directory (its
# cwd), then a mount covers that directory with a decoy of the same name.
# The daemon's path for the event fd is the same string; it resolves to the
# decoy now. Nothing may be removed: not the decoy, not the original.
(
	cd "$s/m/d"
	mount -t tmpfs decoy "$s/m"
	mkdir "$s/m/d"
	echo decoy >"$s/m/d/swapped"
	"$FGCHECK" open swapped EPERM 5000 | sed 's/^/# /' >&2
) || fail_with_log "the open under the covered directory was not denied"
at_exit "umount -l '$s/m' 2>/dev/null"
wait_until 10 bash -c "[ -n \"\$(jq -c --arg p '$s/m/d/swapped' 'select(.path == \$p)' '$q/records.jsonl')\" ]" ||
	fail_with_log "no quarantine record for the swapped path"
r=$(rec "$s/m/d/swapped")
log "record: $r"
[ "$(jq -r .outcome <<<"$r")" = path-changed ] || fail_with_log "outcome is not path-changed"
[ "$(cat "$s/m/d/swapped")" = decoy ] || fail_with_log "the decoy was touched"
cmp "$q/$(jq -r .id <<<"$r")" "$FG_STATE/swapped.orig" || fail_with_log "the copy differs"
umount "$s/m"
# (stat, not cmp: an open of it is denied)
[ "$(stat -c '%i %s' "$s/m/d/swapped")" = "$ino_swapped 1000" ] ||
	fail_with_log "the original was touched"

status=$("$CTL" --socket "$ctlsock" status) || fail_with_log "fanguardctl status failed"
printf '%s\n' "$status" | sed 's/^/# status: /' >&2
printf '%s\n' "$status" | grep -qF "quarantine: $q: 1 files (not copied: 0 not local, 1 too large," ||
	fail_with_log "status does not show the quarantine"
printf '%s\n' "$status" | grep -qF "copied, not removed: 1 path changed, 0 remove errors" ||
	fail_with_log "status does not show the path-changed one"
grep -q '^fanguard_quarantine_failed_total{quarantine_cause="too-large"} 1$' <<<"$("$CTL" --socket "$ctlsock" metrics)" ||
	fail_with_log "metrics lack quarantine_failed{too-large}"
# 5. fanguardctl quarantine: list (directory from the daemon's status),
# restore (never over an existing file, owner and mode back), delete.
id_sw=$(jq -r .id <<<"$r")
list=$("$CTL" --socket "$ctlsock" quarantine list) || fail_with_log "quarantine list failed"
printf '%s\n' "$list" | sed 's/^/# list: /' >&2
grep -q "^$id .* 50000  removed  *$s/evil\$" <<<"$list" || fail_with_log "list lacks $id"
grep -q "^$id_sw .* path-changed  *$s/m/d/swapped\$" <<<"$list" || fail_with_log "list lacks $id_sw"
rc=0
"$CTL" --dir "$q" quarantine restore "$id_sw" 2>"$FG_STATE/restore.err" || rc=$?
[ $rc = 1 ] && grep -q "File exists (nothing overwritten)" "$FG_STATE/restore.err" ||
	fail_with_log "restore over an existing file: rc $rc, $(cat "$FG_STATE/restore.err")"
[ "$(stat -c '%i' "$s/m/d/swapped")" = "$ino_swapped" ] || fail_with_log "restore touched the original"
! "$CTL" --dir "$q" quarantine restore ../records.jsonl 2>/dev/null || fail "restore took a path as ID"
"$CTL" --dir "$q" quarantine restore "$id" || fail_with_log "restore $id failed"
[ "$(stat -c '%s %u:%g %a' "$s/evil")" = "50000 $owner_evil $mode_evil" ] ||
	fail_with_log "restored file: $(stat -c '%s %u:%g %a' "$s/evil"), want 50000 $owner_evil $mode_evil"
[ ! -e "$q/$id" ] || fail_with_log "the restored copy is still in the quarantine"
"$CTL" --dir "$q" quarantine delete "$id_sw" || fail_with_log "delete $id_sw failed"
[ ! -e "$q/$id_sw" ] || fail_with_log "the deleted copy is still there"
[ -z "$("$CTL" --socket "$ctlsock" quarantine list)" ] || fail_with_log "list not empty at the end"
rm -f "$s/evil" # (the denylisted file is denied again at its next open)

stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
[ "$(stats_get "$stats" quarantined)" = 1 ] || fail_with_log "quarantined != 1"
[ "$(stats_get "$stats" quarantine_cause_too_large)" = 1 ] || fail_with_log "too_large != 1"
[ "$(stats_get "$stats" quarantine_cause_path_changed)" = 1 ] || fail_with_log "path_changed != 1"
[ "$(stats_get "$stats" denied)" = 3 ] || fail_with_log "denied != 3"

# 6. The rate limit and the disk floor: not copied, counted, originals stay.
for f in r1 r2; do head -c 3000 /dev/urandom >"$s/$f"; done
sha256sum "$s/r1" "$s/r2" | cut -d' ' -f1 >>"$deny"
start_fanguardd_log "$FG_STATE/rate.log" --watch "$s" --deny-hashes "$deny" --quarantine "$q" \
	--quarantine-per-minute 1 --quarantine-min-free-bytes 1048576 --stats-file "$stats"
fgcheck_ok open "$s/r1" EPERM 5000
fgcheck_ok open "$s/r2" EPERM 5000
wait_until 10 grep -q "Quarantine of '$s/r[12]' skipped (rate-limit" "$FANGUARDD_LOG" ||
	fail_with_log "no rate-limit line"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
[ "$(stats_get "$stats" quarantined)" = 1 ] || fail_with_log "rate: quarantined != 1"
[ "$(stats_get "$stats" quarantine_cause_rate_limit)" = 1 ] || fail_with_log "rate_limit != 1"
[ -e "$s/r1" ] || [ -e "$s/r2" ] || fail_with_log "the file over the rate was removed"
rm -f "$s/r1" "$s/r2"
head -c 3000 /dev/urandom >"$s/r3"
sha256sum "$s/r3" | cut -d' ' -f1 >>"$deny"
start_fanguardd_log "$FG_STATE/floor.log" --watch "$s" --deny-hashes "$deny" --quarantine "$q" \
	--quarantine-min-free-bytes $((1 << 40)) --stats-file "$stats"
fgcheck_ok open "$s/r3" EPERM 5000
wait_until 10 grep -q "Quarantine of '$s/r3' skipped (disk-floor" "$FANGUARDD_LOG" ||
	fail_with_log "no disk-floor line"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
[ "$(stats_get "$stats" quarantine_cause_disk_floor)" = 1 ] || fail_with_log "disk_floor != 1"
[ -e "$s/r3" ] || fail_with_log "the file under the disk floor was removed"

# 7. A FUSE mount: denied, never copied through its daemon (not-local).
fb=$(scratch_tmpfs 16m)
head -c 2000 /dev/urandom >"$fb/evil"
sha256sum "$fb/evil" | cut -d' ' -f1 >>"$deny"
mkdir "$s/fm"
start_fusetest passthrough "$fb" "$s/fm"
start_fanguardd_log "$FG_STATE/fuse.log" --watch "$s/fm" --deny-hashes "$deny" --quarantine "$q" \
	--quarantine-min-free-bytes 1048576 --stats-file "$stats"
fgcheck_ok open "$s/fm/evil" EPERM 5000
wait_until 10 grep -q "Quarantine of '$s/fm/evil' skipped (not-local" "$FANGUARDD_LOG" ||
	fail_with_log "no not-local line"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
[ "$(stats_get "$stats" quarantine_cause_not_local)" = 1 ] || fail_with_log "not_local != 1"
[ -e "$fb/evil" ] || fail_with_log "the file on FUSE was removed"
log "PASS: quarantined from the fd, swapped path untouched, over-size, rate, floor and FUSE counted, bad dir refused"
