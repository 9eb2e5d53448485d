#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The control socket serves many clients at once and none can hold it
# (issue 17): with 100 idle clients (connected, silent) and 20 slow ones
# (half a verb, then nothing) the status exchange must stay within 100 ms
# of its latency without them, measured over 20 requests each. Also:
#  - a request longer than 64 bytes without a newline: "ERR request too long";
#  - an unknown verb: "ERR unknown command"; a verb with CRLF works;
#  - an idle client is dropped by its deadline (5 s), not kept forever;
#  - 300 idle clients (more than the 256 slots): status is still answered
#    (the longest-waiting client is dropped to make room);
#  - a client that never reads a big reply does not block the others.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
require_cmd python3
enter_private_mountns "$@"
CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl

s=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s"
sock=$FG_STATE/ctl/control
start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$s" --control-socket "$sock"
timeout 10 "$CTL" --socket "$sock" status >/dev/null || fail_with_log "status failed"

python3 - "$sock" <<'PY' || fail_with_log "control socket checks failed"
import socket, statistics, sys, time
path = sys.argv[1]

def conn():
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(10)
    c.connect(path)
    return c

def ask(req):
    t0 = time.monotonic()
    c = conn()
    c.sendall(req)
    data = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        data += b
    c.close()
    return data, (time.monotonic() - t0) * 1000

def status_ms(n=20):
    out = []
    for _ in range(n):
        data, ms = ask(b"status\n")
        assert data.startswith(b"OK\nfanguardd "), data[:100]
        out.append(ms)
    return out

base = status_ms()
idle = [conn() for _ in range(100)]
slow = []
for _ in range(20):
    c = conn()
    c.sendall(b"sta")
    slow.append(c)
time.sleep(0.2)
loaded = status_ms()
b_med, l_med, l_max = statistics.median(base), statistics.median(loaded), max(loaded)
print("# status latency: alone median %.1f ms max %.1f ms; with 100 idle + 20 slow clients "
      "median %.1f ms max %.1f ms" % (b_med, max(base), l_med, l_max), file=sys.stderr)
assert l_max <= max(base) + 100, "status delayed by idle clients: %.1f ms" % l_max

# Requests: too long, unknown, CRLF, no newline but shut down.
data, _ = ask(b"x" * 100)
assert data == b"ERR request too long\n", data
data, _ = ask(b"bogus\n")
assert data == b"ERR unknown command\n", data
data, _ = ask(b"stats\r\n")
assert data.startswith(b"OK\n{"), data[:50]
c = conn(); c.sendall(b"metrics"); c.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = c.recv(65536)
    if not b:
        break
    data += b
assert data.startswith(b"OK\n# HELP"), data[:50]

# An idle client is dropped by its deadline (5 s after accept).
t0 = time.monotonic()
idle[0].settimeout(15)
assert idle[0].recv(1) == b"", "idle client got data"
waited = time.monotonic() - t0 + 0.2
assert waited < 8, "idle client kept %.1f s" % waited
print("# an idle client was dropped after %.1f s" % waited, file=sys.stderr)
for c in idle + slow:
    c.close()

# More clients than slots.
many = [conn() for _ in range(300)]
time.sleep(0.3)
data, ms = ask(b"status\n")
assert data.startswith(b"OK\n"), data[:100]
print("# status with 300 idle clients: %.1f ms" % ms, file=sys.stderr)
for c in many:
    c.close()

# A client that asks for stats and never reads: others are still served.
stuck = conn()
stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
stuck.sendall(b"stats\nstats\n")
data, ms = ask(b"status\n")
assert data.startswith(b"OK\n") and ms < 1000, ms
stuck.close()
PY
pid_exited "$FANGUARDD_PID" && fail_with_log "fanguardd died"
timeout 10 "$CTL" --socket "$sock" status >/dev/null || fail_with_log "status failed at the end"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
log "PASS"
