#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fanguardd's sandbox after init:
#  - seccomp-probe loads exactly the daemon's filter (the same static
#    library) in children and tries forbidden calls (execve, an AF_INET
#    socket, mount, unshare, setuid): with --seccomp kill each child dies of
#    SIGSYS, with errno each call fails with EPERM; allowed calls still work;
#  - the running daemon: every thread shows "Seccomp: 2" (filter mode, loaded
#    with TSYNC) and NoNewPrivs 1; the capability sets hold only
#    CAP_SYS_ADMIN, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (0x280004) in effective,
#    permitted and bounding sets;
#  - under the filter the daemon still denies, allows, reloads (adding a
#    watch: a new fanotify group, threads, marks), writes stats and exits 0,
#    i.e. it was never killed for a syscall outside its list;
#  - --seccomp log loads the filter too (violations go to the audit log);
#    --seccomp off leaves it unfiltered (Seccomp: 0);
#  - the whole sandbox (seccomp-probe sandbox: capabilities, Landlock, the
#    filter) stops a write open of /proc/PID/mem, a connect to an abstract
#    socket or to a TCP port other than clamd's, writes outside the daemon's
#    directories, exec and fork-like clones, while files in its directory
#    and threads still work; fanguardd --landlock still denies, allows,
#    reloads (a new watch), serves fanguardctl and writes its stats file.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"
PROBE=$FG_BUILD_ROOT/listener/fanguardd/seccomp-probe
CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl

for mode in kill errno; do
	out=$("$PROBE" $mode) || { printf '%s\n' "$out" >&2; fail "seccomp-probe $mode"; }
	printf '%s\n' "$out" | sed "s/^/# probe: /" >&2
done

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
s2=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s2"
echo hello >"$s/ok.txt"
echo "bad content" >"$s/bad.txt"
cp "$s/bad.txt" "$s2/bad.txt"
sha256sum "$s/bad.txt" | awk '{print $1 "  bad"}' >"$FG_STATE/deny.txt"
stats=$FG_STATE/stats
conf=$FG_STATE/fanguard.conf
printf '[Watch]\nMount = %s\n[Scan]\nDenyHashes = %s\n[Daemon]\nControlSocket = %s\n' \
	"$s" "$FG_STATE/deny.txt" "$FG_STATE/control" >"$conf"

start_fanguardd_log "$FG_STATE/fanguardd.log" --config "$conf" --stats-file "$stats"
st=/proc/$FANGUARDD_PID/status
sed -n 's/^\(Seccomp.*\|NoNewPrivs.*\|Cap[A-Za-z]*:.*\)/# status: \1/p' "$st" >&2
grep -q '^Seccomp:[[:space:]]*2$' "$st" || fail_with_log "main thread not in seccomp filter mode"
grep -q '^NoNewPrivs:[[:space:]]*1$' "$st" || fail_with_log "no_new_privs not set"
n=0
for t in /proc/$FANGUARDD_PID/task/*/status; do
	grep -q '^Seccomp:[[:space:]]*2$' "$t" || fail_with_log "thread $t not filtered"
	n=$((n + 1))
done
# Capabilities are per thread: check every thread, not just the main one
# (the library's threads once kept full capabilities this way).
for t in /proc/$FANGUARDD_PID/task/*/status; do
	for c in CapEff CapPrm CapBnd; do
		v=$(awk -v k="$c:" '$1 == k { print $2 }' "$t")
		[ "$v" = 0000000000280004 ] ||
			fail_with_log "$t: $c=$v, want 0000000000280004 (CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH)"
	done
	[ "$(awk '$1 == "CapInh:" { print $2 }' "$t")" = 0000000000000000 ] || fail_with_log "$t: CapInh not empty"
done
log "all $n threads in seccomp mode 2; caps 0x280004 in every thread"

cat "$s/ok.txt" >/dev/null || fail_with_log "allowed file denied"
if cat "$s/bad.txt" 2>/dev/null; then fail_with_log "denylisted file allowed"; fi
cat "$s2/bad.txt" >/dev/null || fail_with_log "unwatched file denied"
# Reload under the filter: open, classify and mark a new mount.
printf '[Watch]\nMount = %s\nMount = %s\n[Scan]\nDenyHashes = %s\n[Daemon]\nControlSocket = %s\n' \
	"$s" "$s2" "$FG_STATE/deny.txt" "$FG_STATE/control" >"$conf"
timeout 20 "$CTL" --socket "$FG_STATE/control" reload >/dev/null || fail_with_log "reload failed"
if cat "$s2/bad.txt" 2>/dev/null; then fail_with_log "watch added under seccomp not in force"; fi
for t in /proc/$FANGUARDD_PID/task/*/status; do
	grep -q '^Seccomp:[[:space:]]*2$' "$t" || fail_with_log "new thread $t not filtered"
done
fanguardd_stats_now "$stats"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $? (SIGSYS is 159)"
assert_stats_balanced "$stats"

# The whole sandbox, applied by the probe in children (needs Landlock).
abi=$(python3 -c 'import ctypes; l = ctypes.CDLL(None, use_errno=True); print(l.syscall(444, None, 0, 1))' 2>/dev/null || echo -1)
[ "$abi" -ge 1 ] 2>/dev/null || notrun "no Landlock in this kernel (ABI $abi)"
mkdir "$s2/writable"
out=$("$PROBE" sandbox "$s2/writable" 3310) || { printf '%s\n' "$out" >&2; fail "seccomp-probe sandbox"; }
printf '%s\n' "$out" | sed "s/^/# sandbox: /" >&2
[ -z "$(ls -A "$s2/writable")" ] || fail "the probe left files behind"

# The daemon under Landlock: stats and control socket in its directories.
rm -f "$stats"
mkdir "$FG_STATE/ll"
printf '[Watch]\nMount = %s\n[Scan]\nDenyHashes = %s\n[Daemon]\nControlSocket = %s\n' \
	"$s" "$FG_STATE/deny.txt" "$FG_STATE/ll/control" >"$conf"
start_fanguardd_log "$FG_STATE/fanguardd-ll.log" --config "$conf" --stats-file "$FG_STATE/ll/stats" --landlock
cat "$s/ok.txt" >/dev/null || fail_with_log "allowed file denied under Landlock"
if cat "$s/bad.txt" 2>/dev/null; then fail_with_log "denylisted file allowed under Landlock"; fi
printf '[Watch]\nMount = %s\nMount = %s\n[Scan]\nDenyHashes = %s\n[Daemon]\nControlSocket = %s\n' \
	"$s" "$s2" "$FG_STATE/deny.txt" "$FG_STATE/ll/control" >"$conf"
timeout 20 "$CTL" --socket "$FG_STATE/ll/control" reload >/dev/null || fail_with_log "reload failed under Landlock"
if cat "$s2/bad.txt" 2>/dev/null; then fail_with_log "watch added under Landlock not in force"; fi
timeout 20 "$CTL" --socket "$FG_STATE/ll/control" status >/dev/null || fail_with_log "status failed under Landlock"
fanguardd_stats_now "$FG_STATE/ll/stats"
stop_fanguardd_within 20 || fail_with_log "fanguardd --landlock exited with status $?"
assert_stats_balanced "$FG_STATE/ll/stats"

start_fanguardd_log "$FG_STATE/fanguardd-log.log" --watch "$s" --seccomp log
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$FANGUARDD_PID/status" || fail_with_log "--seccomp log not filtered"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
start_fanguardd_log "$FG_STATE/fanguardd-off.log" --watch "$s" --seccomp off
grep -q '^Seccomp:[[:space:]]*0$' "/proc/$FANGUARDD_PID/status" || fail_with_log "--seccomp off still filtered"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
log "PASS"
