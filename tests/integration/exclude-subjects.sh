#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Subject exclusions (--exclude-uid, --exclude-exe and fanguard.conf's
# ExcludeUid=/ExcludeExe=): a denylisted file stays denied (EPERM) for root
# and for another uid, and for /bin/cat itself, but is allowed at once
# (reason "excluded") for the excluded effective uid and for a copy of cat
# excluded by identity (device + inode) for root: a hard link of it under
# another name matches, a byte-identical copy does not, nor the original
# /bin/cat, nor a file whose rule names another uid (PATH:UID). A SIGHUP reload that drops ExcludeUid= denies that uid again.
# The local group asks for pidfds only if a rule names subjects when it is
# made: one added later by a reload excludes nothing there (fail closed, logged).
# Every event is answered exactly once.
#
# Kernel fact: readlink(/proc/PID/exe) needs ptrace read access; fanguardd
# runs as uid 0 without CAP_SYS_PTRACE, so the kernel refuses it for a
# subject of another uid or with capabilities fanguardd dropped
# (cap_ptrace_access_check()): such subjects are scanned (fail closed). So
# the excluded cat runs as root with no capabilities (as a service would),
# which is readable either way.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
require_cmd setpriv
enter_private_mountns "$@"

s=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
deny=$FG_STATE/denylist
conf=$FG_STATE/fanguard.conf
content="fanguard test: denylisted for subjects $RANDOM$RANDOM"
printf '%s\n' "$content" >"$s/evil"
chmod 0644 "$s/evil"
sha256sum "$s/evil" | cut -d' ' -f1 >"$deny"
# The excluded executable lives outside the watched mount; canonical path,
# as readlink(/proc/PID/exe) gives it.
cat_copy=$(realpath "$FG_STATE")/fg-cat
cp /bin/cat "$cat_copy"
chmod 0755 "$cat_copy"
real_cat=$(realpath /bin/cat)
cat_link=$(realpath "$FG_STATE")/fg-cat-link
ln "$cat_copy" "$cat_link"
cat_copy2=$(realpath "$FG_STATE")/fg-cat-copy
cp "$cat_copy" "$cat_copy2"
cat_uid=$(realpath "$FG_STATE")/fg-cat-uid
cp "$cat_copy" "$cat_uid"

as_uid() { # UID CMD...
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --clear-groups "$@"
}

# cat_expect EXE WANT(ok|EPERM) [WRAPPER...]: EXE reads the denylisted file,
# as root without capabilities (or under WRAPPER).
cat_expect() {
	local exe=$1 want=$2 rc=0
	shift 2
	[ $# -gt 0 ] || set -- setpriv --inh-caps=-all --bounding-set=-all
	run_within 5 "$@" "$exe" "$s/evil" >"$FG_STATE/cat.out" 2>"$FG_STATE/cat.err" || rc=$?
	if [ "$want" = ok ]; then
		# (Not cmp: it would open the denylisted file itself.)
		[ $rc = 0 ] && [ "$(cat "$FG_STATE/cat.out")" = "$content" ] ||
			fail_with_log "$exe could not read $s/evil: $(cat "$FG_STATE/cat.err")"
	else
		[ $rc != 0 ] && grep -q "Operation not permitted" "$FG_STATE/cat.err" ||
			fail_with_log "$exe: expected EPERM, got rc $rc: $(cat "$FG_STATE/cat.err")"
	fi
}

check_subjects() { # UID-4242-VERDICT
	fgcheck_ok open "$s/evil" EPERM 5000 # as root
	FGCHECK_OUT=$(as_uid 4343 "$FGCHECK" open "$s/evil" EPERM 5000) ||
		fail_with_log "uid 4343 was not denied"
	if [ "$1" = ok ]; then
		FGCHECK_OUT=$(as_uid 4242 "$FGCHECK" open "$s/evil" ok 5000) ||
			fail_with_log "uid 4242 (excluded) was denied"
	else
		FGCHECK_OUT=$(as_uid 4242 "$FGCHECK" open "$s/evil" EPERM 5000) ||
			fail_with_log "uid 4242 (no longer excluded) was not denied"
	fi
	cat_expect "$real_cat" EPERM
	cat_expect "$cat_copy" ok
	# By identity, not path: a hard link of the excluded file under
	# another name is the same file; a byte-identical copy is not.
	cat_expect "$cat_link" ok
	cat_expect "$cat_copy2" EPERM
	# The rule is for root: the same file run by the uid-4343 rule's
	# executable as root does not match that rule.
	cat_expect "$cat_uid" EPERM
}

check_stats() {
	local ex
	assert_stats_balanced "$stats"
	ex=$(stats_get "$stats" reason_excluded)
	[ "$ex" -gt 0 ] || fail_with_log "reason_excluded=$ex, expected > 0"
	[ "$(stats_get "$stats" denied)" -ge 3 ] || fail_with_log "fewer denials than expected"
}

# 1. Command line.
start_fanguardd_log "$FG_STATE/fanguardd.log" -v --watch "$s" --deny-hashes "$deny" \
	--default-verdict allow --deadline-ms 5000 --stats-file "$stats" \
	--exclude-uid 4242 --exclude-exe "$cat_copy" --exclude-exe "$cat_uid:4343"
grep -q "local: new fanotify group, subjects by pidfd" "$FANGUARDD_LOG" ||
	fail_with_log "with subject rules, the local group does not report pidfds"
check_subjects ok
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
check_stats
log "command line: $(stats_get "$stats" reason_excluded) excluded"

# 2. fanguard.conf, then a reload without ExcludeUid=.
rm -f "$stats"
printf '[Watch]\nMount = %s\nExcludeUid = 4242\nExcludeExe = %s:0\nExcludeExe = %s:4343\n' \
	"$s" "$cat_copy" "$cat_uid" >"$conf"
printf '[Scan]\nDenyHashes = %s\n' "$deny" >>"$conf"
printf 'DefaultVerdict = allow\nDeadlineMs = 5000\n[Daemon]\nStatsFile = %s\n' "$stats" >>"$conf"
start_fanguardd_log "$FG_STATE/fanguardd-conf.log" --config "$conf" --control-socket ""
check_subjects ok
sed -i '/^ExcludeUid/d' "$conf"
kill -HUP "$FANGUARDD_PID"
wait_until 10 grep -q 'Reloaded' "$FANGUARDD_LOG" || fail_with_log "no reload"
check_subjects EPERM
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
check_stats

# 3. Pidfds (FAN_REPORT_PIDFD) only where a rule names subjects: started
# without one, the local group has none, and a reload that adds ExcludeUid=
# cannot exclude by uid there: uid 4242 stays denied (fail closed), and the
# log says why, once.
rm -f "$stats"
sed -i '/^ExcludeExe/d' "$conf"
start_fanguardd_log "$FG_STATE/fanguardd-nopidfd.log" -v --config "$conf" --control-socket ""
grep -q "local: new fanotify group, subjects by pid only" "$FANGUARDD_LOG" ||
	fail_with_log "without subject rules, the local group reports pidfds"
sed -i 's/^\[Watch\]$/[Watch]\nExcludeUid = 4242/' "$conf"
kill -HUP "$FANGUARDD_PID"
wait_until 10 grep -q 'Reloaded' "$FANGUARDD_LOG" || fail_with_log "no reload"
for i in 1 2; do
	FGCHECK_OUT=$(as_uid 4242 "$FGCHECK" open "$s/evil" EPERM 5000) ||
		fail_with_log "uid 4242 was excluded by a group without pidfds"
done
[ "$(grep -c "need the subjects' pidfds" "$FANGUARDD_LOG")" = 1 ] ||
	fail_with_log "the missing pidfds were not logged exactly once"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
log "PASS: uid and executable exclusions, from the command line and fanguard.conf, reloaded;" \
	"a rule added to a group without pidfds fails closed"
