#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Audit (permissive) mode: a denylisted file opens, its would-be deny is
# logged and counted, nothing is cached as clean, status says AUDIT.
# Kernel audit records (--kernel-audit): groups get FAN_ENABLE_AUDIT and
# denies go out with FAN_AUDIT (the kernel refuses FAN_AUDIT in a group
# without it, which would show as response_errors); without
# CAP_AUDIT_WRITE the daemon falls back, says so, and still denies.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
require_cmd setpriv
enter_private_mountns "$@"

s=$(scratch_tmpfs 16m)
assert_own_mount "$s"
stats=$FG_STATE/stats
deny=$FG_STATE/denylist
ctlsock=$FG_STATE/control
CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl

printf 'fanguard audit-mode test: denylisted %s\n' "$RANDOM$RANDOM" >"$s/evil"
echo "an ordinary file" >"$s/clean"
sha256sum "$s/evil" | cut -d' ' -f1 >"$deny"

# 1. Audit mode: every open succeeds; the deny is logged as would-deny.
start_fanguardd_log "$FG_STATE/audit.log" --watch "$s" --deny-hashes "$deny" --audit \
	--stats-file "$stats" --control-socket "$ctlsock"
fgcheck_ok open "$s/clean" ok 5000
fgcheck_ok open "$s/evil" ok 5000
fgcheck_ok open "$s/evil" ok 5000 # again: a would-be deny is never cached
wait_until 5 grep -q "would-deny pid=[0-9]* .*reason=scanned.* path=$s/evil$" "$FANGUARDD_LOG" ||
	fail_with_log "no would-deny line for $s/evil"
status=$("$CTL" --socket "$ctlsock" status) || fail_with_log "fanguardctl status failed"
printf '%s\n' "$status" | sed 's/^/# status: /' >&2
printf '%s\n' "$status" | grep -q '^mode: AUDIT (2 denies allowed by audit mode)' ||
	fail_with_log "status does not show audit mode with 2 would-be denies"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
[ "$(stats_get "$stats" audit_would_deny)" = 2 ] || fail_with_log "audit_would_deny != 2"
[ "$(stats_get "$stats" denied)" = 0 ] || fail_with_log "audit mode denied something"

# 2. Enforcing, with kernel audit records: denied, and FAN_AUDIT accepted.
start_fanguardd_log "$FG_STATE/kaudit.log" --watch "$s" --deny-hashes "$deny" --kernel-audit \
	--stats-file "$stats"
fgcheck_ok open "$s/evil" EPERM 5000
fgcheck_ok open "$s/clean" ok 5000
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
[ "$(stats_get "$stats" kernel_audit)" = 1 ] ||
	fail_with_log "groups were made without FAN_ENABLE_AUDIT as root"
[ "$(stats_get "$stats" denied)" = 1 ] || fail_with_log "denied != 1 with --kernel-audit"
[ "$(stats_get "$stats" audit_would_deny)" = 0 ] || fail_with_log "enforcing mode counted audit"

# 3. Without CAP_AUDIT_WRITE: the fallback is logged, and denies still work.
FANGUARDD_REAL=$FANGUARDD
FANGUARDD=$FG_STATE/fanguardd-nocap
printf '#!/bin/sh\nexec setpriv --bounding-set -audit_write -- "%s" "$@"\n' "$FANGUARDD_REAL" \
	>"$FANGUARDD"
chmod +x "$FANGUARDD"
start_fanguardd_log "$FG_STATE/nocap.log" --watch "$s" --deny-hashes "$deny" --kernel-audit \
	--stats-file "$stats"
FANGUARDD=$FANGUARDD_REAL
fgcheck_ok open "$s/evil" EPERM 5000
wait_until 5 grep -q "FAN_ENABLE_AUDIT refused.*CAP_AUDIT_WRITE" "$FANGUARDD_LOG" ||
	fail_with_log "no log line about the missing CAP_AUDIT_WRITE"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
[ "$(stats_get "$stats" kernel_audit)" = 0 ] || fail_with_log "kernel_audit=1 without the capability"
[ "$(stats_get "$stats" denied)" = 1 ] || fail_with_log "denied != 1 after the fallback"
log "PASS: audit mode allows and counts; kernel audit on and its fallback"
