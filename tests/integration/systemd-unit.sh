#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The built fanguardd.service: `systemd-analyze verify` accepts it (pointed at
# the binaries of this build, since verify checks ExecStart= exists), it has
# no directive that would give the service a mount namespace (fanotify mount
# marks would land on the namespace's copies and never see the host's
# opens), and `systemd-analyze security --offline=yes` rates its exposure at
# 3.5 or better (the score is printed). Touches no running systemd. The
# booted unit is tested in tests/package/nspawn-boot.sh.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_cmd systemd-analyze
require_cmd python3
unit=$FG_BUILD_ROOT/systemd/fanguardd.service
[ -f "$unit" ] || fail "$unit not built"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sbin=$(sed -n 's|^ExecStart=\([^ ]*\)/fanguardd .*|\1|p' "$unit")
[ -n "$sbin" ] || fail "no ExecStart= in $unit"
sed "s|$sbin/fanguardd|$FG_BUILD_ROOT/listener/fanguardd/fanguardd|; s|$sbin/fanguardctl|$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl|" \
	"$unit" >"$tmp/fanguardd.service"

systemd-analyze verify --man=no "$tmp/fanguardd.service" 2>"$tmp/verify.err" ||
	{ cat "$tmp/verify.err" >&2; fail "systemd-analyze verify failed"; }
if [ -s "$tmp/verify.err" ]; then
	cat "$tmp/verify.err" >&2
	fail "systemd-analyze verify warned"
fi

for d in ProtectSystem ProtectHome PrivateTmp PrivateDevices PrivateMounts PrivateNetwork \
	PrivateUsers ReadOnlyPaths ReadWritePaths InaccessiblePaths ExecPaths NoExecPaths \
	TemporaryFileSystem BindPaths BindReadOnlyPaths ProtectKernelTunables \
	ProtectKernelModules ProtectKernelLogs ProtectControlGroups ProtectProc ProcSubset \
	RootDirectory RootImage MountAPIVFS; do
	if grep -Eq "^$d=" "$tmp/fanguardd.service"; then
		fail "$d= would give the service a mount namespace (or lose CAP_SYS_ADMIN)"
	fi
done
grep -q '^Type=notify$' "$tmp/fanguardd.service" || fail "not Type=notify"
# A missing configuration must fail the start loudly, not skip it.
grep -Eq '^Condition' "$tmp/fanguardd.service" && fail "a Condition*= would skip the start silently"
grep -Eq '^WatchdogSec=[1-9]' "$tmp/fanguardd.service" || fail "no WatchdogSec="

# Every syscall the daemon needs to set itself up must pass the unit's
# SystemCallFilter= (its own filter comes later and is narrower).
systemd-analyze syscall-filter --no-pager >"$tmp/groups" 2>/dev/null || fail "syscall-filter"
python3 - "$tmp/groups" "$tmp/fanguardd.service" <<'PY' || fail "the unit's SystemCallFilter= blocks what fanguardd needs"
import sys
groups, cur = {}, None
for line in open(sys.argv[1]):
    line = line.rstrip()
    if line.startswith("@"):
        cur = line.split()[0]
        groups[cur] = []
    elif cur and line.startswith("    ") and not line.strip().startswith("#"):
        groups[cur].append(line.strip())
def expand(names, seen):
    out = set()
    for n in names:
        if n.startswith("@"):
            if n not in seen:
                seen.add(n)
                out |= expand(groups.get(n, []), seen)
        else:
            out.add(n)
    return out
allow, deny = set(), set()
for line in open(sys.argv[2]):
    if line.startswith("SystemCallFilter="):
        v = line.split("=", 1)[1].split()
        if v and v[0].startswith("~"):
            deny |= expand([v[0][1:]] + v[1:], set())
        else:
            allow |= expand(v, set())
# setrlimit() is prlimit64 in glibc; @resources (setrlimit itself) is denied.
need = ("fanotify_init fanotify_mark seccomp prctl capget capset prlimit64 "
        "eventfd2 signalfd4 clone3 statx openat read write socket bind listen accept4 "
        "sendmsg memfd_create readlinkat getdents64 rename unlink").split()
bad = [n for n in need if n not in allow or n in deny]
if bad:
    print("# blocked by the unit:", " ".join(bad), file=sys.stderr)
    sys.exit(1)
PY

systemd-analyze security --offline=yes "$tmp/fanguardd.service" >"$tmp/security" 2>&1 ||
	true # exits non-zero above its --threshold only
score=$(sed -n 's/.*Overall exposure level for fanguardd.service: \([0-9.]*\).*/\1/p' "$tmp/security")
[ -n "$score" ] || { cat "$tmp/security" >&2; fail "no exposure score"; }
log "RESULT systemd-analyze security --offline=yes: exposure $score"
awk -v s="$score" 'BEGIN { exit !(s <= 3.5) }' || fail "exposure $score > 3.5"
log "PASS"
