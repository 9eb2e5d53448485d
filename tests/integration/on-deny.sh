#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The on-deny hook (--on-deny): a program run for every deny with the facts
# in its environment, never through a shell (a file name full of shell
# syntax stays data), off the permission path, under the daemon's sandbox
# (seccomp kill: the helper was forked before it). A hook that hangs is
# killed at its timeout with its process group, and nothing is left behind.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
require_cmd setpriv
enter_private_mountns "$@"

s=$(scratch_tmpfs 16m)
assert_own_mount "$s"
out=$FG_STATE/hook-out
mkdir "$out"
# The hook runs as nobody: it must be able to write its report here.
chmod 1777 "$out"
chmod 755 "$FG_STATE"
tag=$RANDOM$RANDOM
evil="$s/evil \$(echo PWNED) \`id\`; x *"
printf 'fanguard on-deny test %s\n' "$tag" >"$evil"
printf 'fanguard on-deny test, slow %s\n' "$tag" >"$s/slow"
sha256sum "$evil" "$s/slow" | cut -d' ' -f1 >"$FG_STATE/deny"
sha_evil=$(sha256sum "$evil" | cut -d' ' -f1)
cat >"$FG_STATE/hook" <<EOF2
#!/bin/sh
# A slow hook for the file named slow: it must be killed at the timeout.
case "\$FANGUARD_PATH" in
*/slow) echo \$\$ >"$out/slow.pid"; exec sleep 60 ;;
esac
{ env | grep '^FANGUARD_' | sort
  echo "HOOK_UID=\$(id -u)"
  grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs|Groups):' /proc/self/status | tr -d '\t' | sed 's/:/=/; s/ *$//'
  echo "HOOK_ENV_COUNT=\$(env | grep -vc '^FANGUARD_')"
  echo "HOOK_FDS=\$(ls /proc/self/fd | tr '\n' ' ')"
  echo "HOOK_PGID_IS_PID=\$([ "\$(ps -o pgid= \$\$ | tr -d ' ')" = "\$\$" ] && echo yes || echo no)"
} >"$out/tmp.\$\$" && mv "$out/tmp.\$\$" "$out/run.\$\$"
EOF2
chmod 755 "$FG_STATE/hook"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$s" --deny-hashes "$FG_STATE/deny" \
	--on-deny "$FG_STATE/hook" --on-deny-timeout-ms 1000 --seccomp kill
grep -q "on-deny hook '$FG_STATE/hook'" "$FANGUARDD_LOG" || fail_with_log "no hook at start"
fgcheck_ok open "$evil" EPERM 5000
ran() { ls "$out"/run.* >/dev/null 2>&1; }
wait_until 10 ran || fail_with_log "the hook did not run"
f=$(ls "$out"/run.* | head -n 1)
sed 's/^/# hook env: /' "$f" >&2
# Exactly the name: nothing expanded or split it on the way.
grep -qxF "FANGUARD_PATH=$evil" "$f" || fail_with_log "FANGUARD_PATH wrong"
grep -qxF "FANGUARD_SHA256=$sha_evil" "$f" || fail_with_log "FANGUARD_SHA256 wrong"
grep -qxF "FANGUARD_SCANNER=sha256" "$f" || fail_with_log "FANGUARD_SCANNER wrong"
grep -qxF "FANGUARD_VERDICT=deny" "$f" || fail_with_log "FANGUARD_VERDICT wrong"
grep -q "^FANGUARD_PID=[0-9][0-9]*$" "$f" || fail_with_log "no FANGUARD_PID"
grep -qxF "FANGUARD_UID=0" "$f" || grep -q '^FANGUARD_UID=' "$f" || log "no FANGUARD_UID (opener gone)"
# The hook is nobody, with no capability at all, no_new_privs, its own
# process group, and only the facts (plus PATH and what sh itself sets).
nobody=$(id -u nobody)
grep -qxF "HOOK_UID=$nobody" "$f" || fail_with_log "the hook did not run as nobody ($nobody)"
for c in CapEff CapPrm CapBnd CapAmb; do
	grep -qxF "$c=0000000000000000" "$f" || fail_with_log "the hook has capabilities ($c)"
done
grep -qxF "NoNewPrivs=1" "$f" || fail_with_log "the hook runs without no_new_privs"
grep -qxF "Groups=" "$f" || fail_with_log "the hook kept supplementary groups"
# stdio, and the fd ls itself opens to list the directory (3): nothing else.
grep -qxF "HOOK_FDS=0 1 2 3 " "$f" || fail_with_log "the hook inherited file descriptors"
grep -qxF "HOOK_PGID_IS_PID=yes" "$f" || fail_with_log "the hook is not in a process group of its own"
# sh adds PWD (and dash nothing else): PATH + PWD, nothing from the daemon.
n=$(sed -n 's/^HOOK_ENV_COUNT=//p' "$f")
[ "$n" -le 3 ] || fail_with_log "the hook's environment has $n non-FANGUARD variables"

# A hook that hangs: killed at 1 s with its group, the daemon unaffected.
fgcheck_ok open "$s/slow" EPERM 5000
wait_until 10 test -s "$out/slow.pid" || fail_with_log "the slow hook did not start"
slow=$(cat "$out/slow.pid")
gone() { ! kill -0 "$slow" 2>/dev/null; }
wait_until 5 gone || fail_with_log "the hanging hook (pid $slow) was not killed"
wait_until 5 grep -q "on-deny hook .* still running after 1000 ms: killed" "$FANGUARDD_LOG" ||
	fail_with_log "no log line about the killed hook"
fgcheck_ok open "$evil" EPERM 5000
wait_until 10 bash -c "[ \$(ls '$out'/run.* | wc -l) -ge 2 ]" ||
	fail_with_log "the hook did not run again after a killed run"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"

# root only when named, and then still without any capability.
rm -f "$out"/run.*
start_fanguardd_log "$FG_STATE/root.log" --watch "$s" --deny-hashes "$FG_STATE/deny" \
	--on-deny "$FG_STATE/hook" --on-deny-user root
grep -q "on-deny hook runs as uid 0 (OnDenyUser=root), without capabilities" "$FANGUARDD_LOG" ||
	fail_with_log "no warning about a root hook"
fgcheck_ok open "$evil" EPERM 5000
wait_until 10 ran || fail_with_log "the root hook did not run"
f=$(ls "$out"/run.* | head -n 1)
grep -qxF "HOOK_UID=0" "$f" && grep -qxF "CapEff=0000000000000000" "$f" &&
	grep -qxF "CapBnd=0000000000000000" "$f" && grep -qxF "NoNewPrivs=1" "$f" ||
	fail_with_log "the root hook: $(grep -E '^(HOOK_UID|Cap|NoNew)' "$f" | tr '\n' ' ')"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"

# Without CAP_SETUID/CAP_SETGID (a unit's bounding set without them): a
# clear refusal at start, not a hook that fails at every deny.
rc=0
timeout 20 setpriv --bounding-set -setuid,-setgid -- "$FANGUARDD" --watch "$s" \
	--deny-hashes "$FG_STATE/deny" --on-deny "$FG_STATE/hook" 2>"$FG_STATE/nocap.log" || rc=$?
sed 's/^/# nocap: /' "$FG_STATE/nocap.log" >&2
[ $rc != 0 ] && [ $rc != 124 ] && grep -q "needs CAP_SETUID and CAP_SETGID" "$FG_STATE/nocap.log" ||
	fail "no clear refusal without CAP_SETUID (rc $rc)"
log "PASS: hook ran as nobody without capabilities, with the facts in its environment; a hanging one was killed"
