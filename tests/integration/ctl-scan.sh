#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fanguardctl scan and top against a running fanguardd.
# scan: the client opens the files and passes the fds; the daemon's
# scanners (here the SHA-256 denylist) look at them. A denylisted file on a
# mount fanguardd does not watch is found through the passed fd; one on the
# watched mount is already refused at the client's open (reported found).
# Directories are walked by the client: FIFOs are skipped (never opened, no
# hang), a symbolic link pointing out of the tree is not followed. Exit
# codes like clamdscan: 0 clean, 1 found, 2 error. A progress line for a
# directory goes to stderr. top --iterations prints frames with rates. The
# session protocol holds against a client that sends no fd or two; an idle
# session does not delay the daemon's stop.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"
CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl

w=$(scratch_tmpfs 64m) # watched
u=$(scratch_tmpfs 64m) # not watched: only the on-demand scan looks here
assert_own_mount "$w"
echo "bad content $RANDOM" >"$u/bad.bin"
sha256sum "$u/bad.bin" | awk '{print $1 "  bad"}' >"$FG_STATE/deny.txt"
digest=$(awk '{print $1}' "$FG_STATE/deny.txt")
cp "$u/bad.bin" "$w/bad.bin"
echo fine >"$w/ok.txt"
mkdir -p "$u/tree/sub" "$u/clean/sub" "$u/outside"
echo a >"$u/clean/a"
echo b >"$u/clean/sub/b"
echo c >"$u/tree/c"
cp "$u/bad.bin" "$u/tree/sub/bad-copy"
cp "$u/bad.bin" "$u/outside/bad-outside"
ln -s "$u/outside/bad-outside" "$u/tree/link-out"
ln -s "$u/outside" "$u/tree/dirlink-out"
mkfifo "$u/tree/fifo"

sock=$FG_STATE/ctl/control
start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$w" --deny-hashes "$FG_STATE/deny.txt" \
	--control-socket "$sock"
ctl() { timeout 30 "$CTL" --socket "$sock" "$@"; }

# One clean file: 0.
ctl scan "$w/ok.txt" >"$FG_STATE/out" 2>"$FG_STATE/err" || fail_with_log "clean file: exit $? $(cat "$FG_STATE/out" "$FG_STATE/err")"
grep -qx "$w/ok.txt: OK" "$FG_STATE/out" || fail_with_log "clean file: $(cat "$FG_STATE/out")"

# Denylisted on the unwatched mount: found by the daemon through the fd.
rc=0
ctl scan "$u/bad.bin" >"$FG_STATE/out" 2>"$FG_STATE/err" || rc=$?
[ $rc = 1 ] || fail_with_log "bad file: exit $rc, want 1: $(cat "$FG_STATE/out" "$FG_STATE/err")"
grep -qx "$u/bad.bin: sha256 $digest FOUND" "$FG_STATE/out" || fail_with_log "bad file: $(cat "$FG_STATE/out")"
grep -q '^Infected files: 1$' "$FG_STATE/out" || fail_with_log "summary: $(cat "$FG_STATE/out")"

# Denylisted on the watched mount: fanguard refuses the client's own open.
rc=0
ctl scan "$w/bad.bin" >"$FG_STATE/out" 2>&1 || rc=$?
[ $rc = 1 ] || fail_with_log "watched bad file: exit $rc: $(cat "$FG_STATE/out")"
grep -q "^$w/bad.bin: DENIED on open" "$FG_STATE/out" || fail_with_log "watched bad: $(cat "$FG_STATE/out")"

# A clean tree: 0, a progress line for it on stderr.
ctl scan "$u/clean" >"$FG_STATE/out" 2>"$FG_STATE/err" || fail_with_log "clean tree: exit $? $(cat "$FG_STATE/out" "$FG_STATE/err")"
grep -q '^Scanned files: 2$' "$FG_STATE/out" || fail_with_log "clean tree count: $(cat "$FG_STATE/out")"
grep -q "^$u/clean: 2 files scanned, 0 found" "$FG_STATE/err" || fail_with_log "no progress line: $(cat "$FG_STATE/err")"

# The tree: the copy is found, the FIFO skipped (the walk does not hang on
# it), the links out of the tree are not followed.
rc=0
run_within 20 "$CTL" --socket "$sock" scan --infected "$u/tree" >"$FG_STATE/out" 2>"$FG_STATE/err" || rc=$?
[ $rc = 1 ] || fail_with_log "tree: exit $rc: $(cat "$FG_STATE/out" "$FG_STATE/err")"
grep -qx "$u/tree/sub/bad-copy: sha256 $digest FOUND" "$FG_STATE/out" || fail_with_log "tree: $(cat "$FG_STATE/out")"
grep -q 'outside' "$FG_STATE/out" && fail_with_log "followed a link out of the tree: $(cat "$FG_STATE/out")"
grep -q "c: OK" "$FG_STATE/out" && fail_with_log "--infected printed a clean file"
grep -q '^Scanned files: 2$' "$FG_STATE/out" || fail_with_log "tree count: $(cat "$FG_STATE/out")"
grep -q '^Skipped (not regular): 3$' "$FG_STATE/out" || fail_with_log "tree skipped: $(cat "$FG_STATE/out")"

# A missing path: 2 (error); found wins over an error: 1.
rc=0
ctl scan "$u/missing" >"$FG_STATE/out" 2>&1 || rc=$?
[ $rc = 2 ] || fail_with_log "missing path: exit $rc"
rc=0
ctl scan "$u/missing" "$u/bad.bin" >"$FG_STATE/out" 2>&1 || rc=$?
[ $rc = 1 ] || fail_with_log "missing + bad: exit $rc"
# Without the daemon's socket: 2.
rc=0
timeout 10 "$CTL" --socket "$FG_STATE/nope" scan "$u/bad.bin" >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail_with_log "no daemon: exit $rc"
# Not root: refused by the daemon.
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$CTL" --socket "$sock" scan /dev/null >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail_with_log "unprivileged scan: exit $rc"
grep -q 'On-demand scan for pid [0-9]*: found by sha256' "$FANGUARDD_LOG" || fail_with_log "no log line for the find"

# top: two frames, rates computed between them, a row per watched mount.
# New files opened all along: the second frame shows events per second.
start_bg bash -c 'i=0; while :; do i=$((i + 1)); echo x >"$1/f$((i % 500))"; done' - "$w"
load=$LAST_PID
out=$(timeout 20 "$CTL" --socket "$sock" top --iterations 2 --delay 0.5) || fail_with_log "top failed"
kill "$load"
wait "$load" 2>/dev/null || true
untrack_pid "$load"
printf '%s\n' "$out" | sed 's/^/# top: /' >&2
[ "$(grep -c '^fanguard top - up' <<<"$out")" = 2 ] || fail_with_log "top: not 2 frames"
grep -Eq '^events/s +[0-9.]+ +answered/s' <<<"$out" || fail_with_log "top: no rates"
rate=$(grep '^events/s' <<<"$out" | tail -1 | awk '{print $2}')
awk -v r="$rate" 'BEGIN { exit !(r > 0) }' || fail_with_log "top: events/s $rate under load"
grep -Eq '^latency +[0-9.]+ ms' <<<"$out" || fail_with_log "top: no latency"
grep -Eq '^threads stuck in FUSE: open 0, read 0, close 0' <<<"$out" || fail_with_log "top: stuck threads"
grep -Eq '^scanned +[0-9]+ ' <<<"$out" || fail_with_log "top: verdicts"
grep -Eq "^[0-9]+ +local +local +[0-9]+ +[0-9.]+ +[0-9.]+  $w\$" <<<"$out" || fail_with_log "top: mount row"
# Under load the group's mean latency is shown (> 0) in the second frame.
lat=$(grep -E "  $w\$" <<<"$out" | tail -1 | awk '{print $6}')
awk -v l="$lat" 'BEGIN { exit !(l > 0) }' || fail_with_log "top: mount latency $lat under load"
grep -q '^fanguard top' <<<"$(timeout 20 "$CTL" --socket "$sock" top --once)" || fail_with_log "top --once"
grep -q $'\033' <<<"$out" && fail_with_log "top --iterations wrote escape sequences"
# On a terminal (script(1) makes one): clears and redraws until q is typed.
if command -v script >/dev/null; then
	mkfifo "$FG_STATE/keys"
	exec 7<>"$FG_STATE/keys" # read-write: opening never waits for a peer
	# (Not start_bg: a command started with & inside a function would get
	# /dev/null as its input.)
	timeout 15 script -qfc "$CTL --socket $sock top --delay 0.2" /dev/null \
		<&7 >"$FG_STATE/top.tty" 2>&1 &
	top_pid=$!
	track_pid "$top_pid"
	wait_until 10 grep -q 'fanguard top - up.*' "$FG_STATE/top.tty" || fail_with_log "top drew nothing"
	sleep 0.5 # the workload: a few redraws
	printf q >&7
	wait_pid_exited "$top_pid" 5 || fail_with_log "top did not quit on q"
	exec 7>&-
	untrack_pid "$top_pid"
	[ "$(grep -c 'fanguard top - up' "$FG_STATE/top.tty")" -ge 2 ] || fail_with_log "top did not redraw"
	grep -q $'\033\[H\033\[2J' "$FG_STATE/top.tty" || fail_with_log "top did not clear the screen"
	grep -q '(q to quit)' "$FG_STATE/top.tty" || fail_with_log "no quit hint"
fi

# The session protocol against odd clients: a request without an fd, two
# fds at once (the first is scanned, the other closed), a directory's fd.
# Then one session stays open and idle: stopping the daemon ends it at once
# (not after the session's 60 s idle timeout).
cat >"$FG_STATE/session.py" <<'PY'
import os, socket, sys
sock, bad, ok, d = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sock)
s.sendall(b"scan\n")
f = s.makefile("rb")
def line():
    return f.readline().decode().rstrip("\n")
assert line() == "OK"
s.sendall(b"F")
r = line(); assert r.startswith("ERROR pass exactly one fd"), r
fb, fo, fd = os.open(bad, os.O_RDONLY), os.open(ok, os.O_RDONLY), os.open(d, os.O_RDONLY)
socket.send_fds(s, [b"F"], [fb, fo])
r = line(); assert r.startswith("FOUND sha256 "), r
socket.send_fds(s, [b"F"], [fd])
r = line(); assert r == "SKIPPED not-regular", r
socket.send_fds(s, [b"F"], [fo])
r = line(); assert r == "CLEAN", r
print("idle", flush=True)
# Idle until the daemon goes away: then EOF.
s.settimeout(30)
assert f.readline() == b""
print("closed", flush=True)
PY
python3 "$FG_STATE/session.py" "$sock" "$u/bad.bin" "$u/clean/a" "$u/clean" >"$FG_STATE/session.out" 2>&1 &
sess=$!
track_pid $sess
wait_until 10 grep -q '^idle' "$FG_STATE/session.out" || fail_with_log "session: $(cat "$FG_STATE/session.out")"
stop_fanguardd_within 5 || fail_with_log "fanguardd exited with status $?"
wait_until 5 grep -q '^closed' "$FG_STATE/session.out" || fail_with_log "session not closed: $(cat "$FG_STATE/session.out")"
log "PASS"
