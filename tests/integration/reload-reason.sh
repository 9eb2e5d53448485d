#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A failed reload says why, where the operator looks: fanguardctl reload's
# error, a "last reload: FAILED" line in fanguardctl status, and the systemd
# status line (STATUS=, read from a NOTIFY_SOCKET this test owns), each with
# the file, the line and what is wrong. Two kinds: a bad key in
# fanguard.conf and a bad digest in a denylist. A good reload clears it.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
require_cmd python3
enter_private_mountns "$@"
CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl

s=$(scratch_tmpfs 16m)
assert_own_mount "$s"
printf '%064d\n' 0 >"$FG_STATE/deny.txt"
sock=$FG_STATE/ctl/control
conf=$FG_STATE/fanguard.conf
write_conf() {
	cat >"$conf" <<CONF
[Watch]
Mount = $s

[Scan]
DenyHashes = $FG_STATE/deny.txt

[Daemon]
ControlSocket = $sock
CONF
}
write_conf
cat >"$FG_STATE/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
while True:
    try:
        msg = s.recv(4096).decode(errors="replace")
    except socket.timeout:
        break
    for line in msg.split("\n"):
        print(line, flush=True)
PY
python3 "$FG_STATE/notify.py" "$FG_STATE/notify" >"$FG_STATE/notify.log" 2>&1 &
track_pid $!
wait_until 5 test -S "$FG_STATE/notify" || fail "notify socket not up"
NOTIFY_SOCKET=$FG_STATE/notify start_fanguardd_log "$FG_STATE/fanguardd.log" --config "$conf"
ctl() { timeout 20 "$CTL" --socket "$sock" "$@"; }

# 1. An unknown key on line 9 of fanguard.conf.
echo "Bogus = 1" >>"$conf"
if ctl reload 2>"$FG_STATE/reload.err"; then fail_with_log "a bad configuration reloaded"; fi
grep -q "$conf:9" "$FG_STATE/reload.err" || fail_with_log "reload error without file:line: $(cat "$FG_STATE/reload.err")"
out=$(ctl status) || fail_with_log "status failed"
printf '%s\n' "$out" | sed 's/^/# status: /' >&2
grep -q "^last reload: FAILED, the previous configuration is in force: .*$conf:9: .*Bogus" <<<"$out" ||
	fail_with_log "status does not show why the reload failed"
wait_until 10 grep -q "^STATUS=Reload failed (old configuration in force): .*$conf:9" "$FG_STATE/notify.log" ||
	fail_with_log "STATUS= without the reason: $(grep STATUS= "$FG_STATE/notify.log" | tail -2)"

# 2. A bad digest on line 2 of the denylist (SIGHUP, as systemctl reload).
write_conf
echo "not-a-digest" >>"$FG_STATE/deny.txt"
kill -HUP "$FANGUARDD_PID"
wait_until 10 grep -q "^STATUS=Reload failed (old configuration in force): $FG_STATE/deny.txt:2: not a SHA-256" \
	"$FG_STATE/notify.log" || fail_with_log "STATUS= without the denylist's reason"
grep -q "^last reload: FAILED.*deny.txt:2: not a SHA-256 hex digest" <<<"$(ctl status)" ||
	fail_with_log "status: $(ctl status)"

# Fixed: the reason goes away.
printf '%064d\n' 0 >"$FG_STATE/deny.txt"
ctl reload >/dev/null || fail_with_log "a good reload failed"
out=$(ctl status)
grep -q 'last reload: FAILED' <<<"$out" && fail_with_log "the old failure is still shown"
grep -q 'reloads: 1 ok, 2 failed' <<<"$out" || fail_with_log "reload counts: $out"
wait_until 10 sh -c "tail -1 '$FG_STATE/notify.log' | grep -q '^STATUS=Watching'" ||
	fail_with_log "STATUS= still shows the failure: $(tail -2 "$FG_STATE/notify.log")"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
log "PASS"
