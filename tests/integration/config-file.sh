#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fanguardd --config: a bad fanguard.conf stops the daemon before it marks
# anything, with one error naming FILE:LINE (unknown key, unknown section,
# value the command line would reject too, bad boolean); a good one works,
# and the command line takes precedence: single values override the file
# (--stats-file), lists add to it (--watch, --deny-hashes). --check-config
# reports the same errors (status 1) without starting, and is silent on a
# good configuration (status 0); it checks the quarantine and verdict store
# directories as start does, with the same messages, creating nothing.
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

# The quarantine and verdict store directories: --check-config refuses what
# start refuses (missing, not root's or ours, open to group or others, a
# store file open to others), with start's error lines, and creates nothing.
d=$FG_STATE/dirs
mkdir -m 0700 "$d" "$d/q-ok" "$d/q-user" "$d/vs-ok" "$d/vs-file"
mkdir -m 0750 "$d/q-open" "$d/vs-open"
chown nobody "$d/q-user"
install -m 0644 /dev/null "$d/vs-file/data.mdb"
# expect_dir_refused REGEX ARGS...: both refuse ARGS, with the same lines.
expect_dir_refused() {
	local re=$1 rc=0 l
	shift
	timeout 10 "$FANGUARDD" --watch "$s" --seccomp off "$@" --check-config \
		2>"$FG_STATE/check.err" || rc=$?
	sed 's/^/# check: /' "$FG_STATE/check.err" >&2
	[ $rc = 1 ] || fail "--check-config $* : status $rc, not 1"
	grep -Eq "$re" "$FG_STATE/check.err" || fail "--check-config $* : no '$re'"
	rc=0
	timeout 20 "$FANGUARDD" --watch "$s" --seccomp off "$@" 2>"$FG_STATE/start.err" || rc=$?
	[ $rc != 0 ] && [ $rc != 124 ] || fail "start accepted $* (status $rc)"
	while read -r l; do
		grep -qF -- "${l#*error: }" "$FG_STATE/start.err" ||
			fail "start with $* does not say '${l#*error: }': $(cat "$FG_STATE/start.err")"
	done < <(grep 'error: ' "$FG_STATE/check.err")
}
expect_dir_refused "Quarantine directory '$d/q-none': No such file or directory \(create it with 'install -d -m 0700 -o root -g root $d/q-none'\)" \
	--quarantine "$d/q-none"
expect_dir_refused "Quarantine directory '$d/q-open' is owned by uid 0 with mode 0750: it must be root's with mode 0700" \
	--quarantine "$d/q-open"
expect_dir_refused "Quarantine directory '$d/q-user' is owned by uid $(id -u nobody) with mode 0700" \
	--quarantine "$d/q-user"
expect_dir_refused "verdict store $d/vs-open: the directory is owned by uid 0 with mode 0750: refusing it" \
	--verdict-store "$d/vs-open"
expect_dir_refused "verdict store $d/vs-file: data.mdb is owned by uid 0 with mode 0644: refusing it" \
	--verdict-store "$d/vs-file"
expect_dir_refused "Failed to open the verdict store '$d/none/vs': No such file or directory" \
	--verdict-store "$d/none/vs"
out=$(timeout 10 "$FANGUARDD" --watch "$s" --quarantine "$d/q-ok" --verdict-store "$d/vs-ok" \
	--verdict-store "$d/vs-new" --check-config 2>&1) ||
	fail "--check-config refused good directories: $out"
[ -z "$out" ] || fail "--check-config printed something for good directories: $out"
[ ! -e "$d/vs-new" ] || fail "--check-config created the verdict store directory"
log "--check-config: the quarantine and verdict store directories checked as start does"

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
