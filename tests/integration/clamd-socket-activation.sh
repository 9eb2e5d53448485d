#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# clamd under socket activation (issue 17): a stand-in for systemd listens
# on clamd's unix socket and hands it to clamd (LISTEN_FDS), keeping its own
# copy, as PID 1 does. SO_PEERCRED on a connection then names the activator,
# not clamd. fanguardd must exclude clamd's own accesses by the process that
# accepted the connection: clamd's pid is excluded (its database reload on
# the watched mount is answered "excluded"), the activator's never is.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/clamd.sh"
require_root
require_fanotify_perm
require_cmd python3
require_clamd
enter_private_mountns "$@"

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
clamd_setup "$FG_STATE/clamd" "$s/db"
# Activated on the unix socket only (clamd wants every socket from systemd
# once it gets one).
sed -i '/^TCPSocket\|^TCPAddr/d' "$CLAMD_DIR/clamd.conf"
# A z-command over the unix socket; prints the reply.
cat >"$FG_STATE/zcmd.py" <<'PY'
import socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.settimeout(5)
c.connect(sys.argv[1])
c.sendall(sys.argv[2].encode() + b"\0")
print(c.recv(4096).rstrip(b"\0\n").decode())
PY
clamd_cmd_unix() { timeout 3 python3 "$FG_STATE/zcmd.py" "$CLAMD_SOCKET" "$1"; }
clamd_pong() { [ "$(clamd_cmd_unix zPING 2>/dev/null)" = PONG ]; }

cat >"$FG_STATE/activate.py" <<'PY'
# Listens like systemd's clamav-daemon.socket, then starts clamd with the
# socket as fd 3 and keeps its own copy open until killed.
import os, socket, sys
path, conf, pidfile = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
pid = os.fork()
if pid == 0:
    os.dup2(s.fileno(), 3)
    os.set_inheritable(3, True)  # dup2(3, 3) keeps close-on-exec
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.execv(sys.argv[4], [sys.argv[4], "-c", conf])
with open(pidfile + ".tmp", "w") as f:
    f.write("%d\n" % pid)
os.rename(pidfile + ".tmp", pidfile)
os.waitpid(pid, 0)
PY
rm -f "$CLAMD_SOCKET"
start_bg python3 "$FG_STATE/activate.py" "$CLAMD_SOCKET" "$CLAMD_DIR/clamd.conf" \
	"$FG_STATE/clamd.pid" "$CLAMD" >>"$CLAMD_DIR/clamd.out" 2>&1
ACTIVATOR=$LAST_PID
wait_until 30 test -s "$FG_STATE/clamd.pid" || fail "the activator did not start clamd"
CLAMD_PID=$(cat "$FG_STATE/clamd.pid")
track_pid "$CLAMD_PID"
# Bounded by time (a PING waits up to 3 s in the activator's backlog).
end=$(($(now_ms) + 40000))
until clamd_pong; do
	[ "$(now_ms)" -lt $end ] ||
		fail "clamd does not answer PING: $(cat "$CLAMD_DIR/clamd.log" "$CLAMD_DIR/clamd.out" 2>&1)"
	sleep 0.2
done
# The stand-in reproduces the problem: the unix socket's SO_PEERCRED names it.
peer=$(timeout 10 python3 -c '
import socket, struct, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
print(struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0])' "$CLAMD_SOCKET")
[ "$peer" = "$ACTIVATOR" ] || fail "SO_PEERCRED names $peer, not the activator $ACTIVATOR"
log "clamd $CLAMD_PID, socket listen()ed by the activator $ACTIVATOR"

start_fanguardd_log "$FG_STATE/fanguardd.log" -v --watch "$s" --clamd-socket "$CLAMD_SOCKET" \
	--default-verdict allow --deadline-ms 3000
printf '%s' "$EICAR" >"$s/eicar.com"
fgcheck_ok open "$s/eicar.com" EPERM 5000
wait_until 5 grep -q "excluding its process $CLAMD_PID from scanning (the socket was listen()ed by pid $ACTIVATOR" \
	"$FANGUARDD_LOG" || fail_with_log "clamd's pid $CLAMD_PID was not excluded"
if grep -q "excluding its process $ACTIVATOR" "$FANGUARDD_LOG"; then
	fail_with_log "the activator $ACTIVATOR was excluded"
fi
# Loop-back: clamd re-reads its database on the watched mount.
[ "$(clamd_cmd_unix zRELOAD)" = RELOADING ] || fail_with_log "clamd did not take RELOAD"
wait_until 10 grep -q "allow pid=$CLAMD_PID .*reason=excluded.* path=$s/db/fanguard-test.ndb\$" \
	"$FANGUARDD_LOG" || fail_with_log "clamd's reload of its database was not answered as excluded"
# The activator is scanned like anyone: it cannot open the EICAR file.
if python3 -c 'import sys; open(sys.argv[1]).read()' "$s/eicar.com" 2>/dev/null; then
	fail_with_log "EICAR readable"
fi
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
log "PASS"
