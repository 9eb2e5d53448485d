#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fanguardd's sd_notify protocol, read from a NOTIFY_SOCKET this test owns
# (no systemd involved): READY=1 arrives only after the pid file (written once
# every mark is in place) exists; STATUS= carries live counters; with
# WATCHDOG_USEC set, WATCHDOG=1 comes at half the interval while the library
# reports every group healthy; SIGHUP gives RELOADING=1 then READY=1;
# SIGTERM gives STOPPING=1.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
require_cmd python3
enter_private_mountns "$@"

s=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s"
echo x >"$s/x"
printf '%064d\n' 0 >"$FG_STATE/deny.txt"
sock=$FG_STATE/notify
pidfile=$FG_STATE/fanguardd.pid
cat >"$FG_STATE/notify.py" <<'PY'
import os, socket, sys
sock, pidfile = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock)
s.settimeout(30)
while True:
    try:
        msg = s.recv(4096).decode()
    except socket.timeout:
        break
    for line in msg.split("\n"):
        if line == "READY=1":
            line += " pidfile=%s" % ("yes" if os.path.exists(pidfile) else "no")
        print(line, flush=True)
        if line.startswith("STOPPING=1"):
            sys.exit(0)
PY
python3 "$FG_STATE/notify.py" "$sock" "$pidfile" >"$FG_STATE/notify.log" 2>&1 &
py=$!
track_pid $py
wait_until 5 test -S "$sock" || fail "notify socket not up"

NOTIFY_SOCKET=$sock WATCHDOG_USEC=400000 start_bg "$FANGUARDD" --watch "$s" \
	--deny-hashes "$FG_STATE/deny.txt" --pid-file "$pidfile" 2>>"$FG_STATE/fanguardd.log"
FANGUARDD_PID=$LAST_PID
FANGUARDD_LOG=$FG_STATE/fanguardd.log
wait_until 20 grep -q '^READY=1' "$FG_STATE/notify.log" || fail_with_log "no READY=1"
grep -q '^READY=1 pidfile=yes' "$FG_STATE/notify.log" || fail_with_log "READY=1 before the marks"
for i in $(seq 20); do cat "$s/x" >/dev/null; done
# At least 4 pings within 1.2 s (polled; a ping every 200 ms is expected).
t0=$(now_ms)
n=0
while [ $(($(now_ms) - t0)) -lt 1200 ]; do
	n=$(grep -c '^WATCHDOG=1' "$FG_STATE/notify.log" || true)
	[ "$n" -ge 4 ] && break
	sleep 0.02
done
[ "$n" -ge 4 ] || fail_with_log "only $n WATCHDOG=1 in 1.2 s at WATCHDOG_USEC=400000"
grep -Eq '^STATUS=Watching 1 mounts in 1 groups: [1-9][0-9]* events, 0 denied, 0 pending' \
	"$FG_STATE/notify.log" || fail_with_log "no STATUS= with counters"
kill -HUP "$FANGUARDD_PID"
wait_until 5 grep -q '^RELOADING=1' "$FG_STATE/notify.log" || fail_with_log "no RELOADING=1"
wait_until 5 bash -c "[ \$(grep -c '^READY=1' '$FG_STATE/notify.log') -ge 2 ]" ||
	fail_with_log "no READY=1 after the reload"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
wait_until 5 grep -q '^STOPPING=1' "$FG_STATE/notify.log" || fail_with_log "no STOPPING=1"
grep -E '^(READY|STATUS|RELOADING|STOPPING)' "$FG_STATE/notify.log" | sort | uniq -c | sed 's/^/# notify: /' >&2
log "RESULT WATCHDOG=1 pings in 1.2 s: $n"
log "PASS"
