#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fanguardd --config: a bad fanguard.conf stops the daemon before it marks
# anything, with one error naming FILE:LINE (unknown key, unknown section,
# value the command line would reject too, bad boolean); a good one works,
# and the command line takes precedence: single values override the file
# (--stats-file), lists add to it (--watch, --deny-hashes). --check-config
# reports the same errors (status 1) without starting, and is silent on a
# good configuration (status 0).
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

s=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s"
s2=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s2"
echo one >"$s/one.txt"
echo two >"$s2/two.txt"
sha256sum "$s/one.txt" | awk '{print $1}' >"$FG_STATE/deny1.txt"
sha256sum "$s2/two.txt" | awk '{print $1}' >"$FG_STATE/deny2.txt"
conf=$FG_STATE/fanguard.conf

# expect_refused LINE MESSAGE-REGEX: the daemon must exit non-zero, quickly,
# with "conf:LINE: ..." on stderr.
expect_refused() {
	local line=$1 re=$2 rc=0
	timeout 10 "$FANGUARDD" --config "$conf" --seccomp off 2>"$FG_STATE/err" || rc=$?
	sed 's/^/# stderr: /' "$FG_STATE/err" >&2
	[ $rc != 0 ] && [ $rc != 124 ] || fail "fanguardd accepted a bad configuration (rc $rc)"
	grep -Eq "$conf:$line: $re" "$FG_STATE/err" || fail "no '$conf:$line: $re' in its error"
}
printf '[Watch]\nMount = %s\n\n[Scan]\nDenyHash = %s\n' "$s" "$FG_STATE/deny1.txt" >"$conf"
expect_refused 5 "unknown key 'DenyHash' in section \[Scan\]"
printf '[Watch]\nMount = %s\n[Wacth]\nMount = %s\n' "$s" "$s2" >"$conf"
expect_refused 3 'unknown section \[Wacth\]'
printf '[Watch]\nMount = %s\n[Local]\nDeadlineMs = 0\n' "$s" >"$conf"
expect_refused 4 'invalid value for \[Local\] DeadlineMs=0'
grep -q 'DeadlineMs=0: 0 is out of range 1..3600000' "$FG_STATE/err" || fail "no reason for the bad value"
printf '[Watch]\nMount = %s\n[Events]\nAccess = sometimes\n' "$s" >"$conf"
expect_refused 4 'invalid value for \[Events\] Access=sometimes: not a boolean'
printf '[Watch]\nMount = %s\n[Scan]\nDefaultVerdict = maybe\n' "$s" >"$conf"
expect_refused 4 'invalid value for \[Scan\] DefaultVerdict=maybe'
# --check-config says the same without starting: status 1, FILE:LINE.
rc=0
timeout 10 "$FANGUARDD" --config "$conf" --check-config 2>"$FG_STATE/err" || rc=$?
[ $rc = 1 ] || fail "--check-config: status $rc for a bad file"
grep -Eq "$conf:4: invalid value for \[Scan\] DefaultVerdict=maybe: 'maybe' is not one of allow, deny" \
	"$FG_STATE/err" || fail "--check-config: no FILE:LINE and reason: $(cat "$FG_STATE/err")"
rc=0
timeout 10 "$FANGUARDD" --watch "$s" --deadline-ms 0 --check-config 2>"$FG_STATE/err" || rc=$?
[ $rc = 1 ] && grep -q -- '--deadline-ms: 0 is out of range' "$FG_STATE/err" ||
	fail "--check-config: bad command line not reported (status $rc)"

# A good file; the command line overrides StatsFile and adds a watch and a list.
cat >"$conf" <<CONF
[Watch]
Mount = $s
[Scan]
DenyHashes = $FG_STATE/deny1.txt
[Daemon]
StatsFile = $FG_STATE/stats-from-file
ControlSocket = $FG_STATE/control
CONF
out=$(timeout 10 "$FANGUARDD" --config "$conf" --watch "$s2" --check-config 2>&1) ||
	fail "--check-config refused a good configuration: $out"
[ -z "$out" ] || fail "--check-config printed something for a good configuration: $out"
[ ! -e "$FG_STATE/control" ] || fail "--check-config started the service"
start_fanguardd_log "$FG_STATE/fanguardd.log" --config "$conf" --watch "$s2" \
	--deny-hashes "$FG_STATE/deny2.txt" --stats-file "$FG_STATE/stats-from-cli"
if cat "$s/one.txt" 2>/dev/null; then fail_with_log "file's denylist on file's watch not in force"; fi
if cat "$s2/two.txt" 2>/dev/null; then fail_with_log "command line's denylist/watch not in force"; fi
fanguardd_stats_now "$FG_STATE/stats-from-cli"
[ ! -e "$FG_STATE/stats-from-file" ] || fail_with_log "the file's StatsFile= won over --stats-file"
[ "$(stats_get "$FG_STATE/stats-from-cli" watches)" = 2 ] || fail_with_log "watches not added up"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
log "PASS"
