# SPDX-License-Identifier: LGPL-2.1-or-later
# A real clamd (Debian's clamav-daemon) for tests, with a tiny signature
# database the test writes: nothing is downloaded, freshclam never runs.
#   . "$FG_SRC_ROOT/tests/lib/clamd.sh"
#   clamd_setup DIR [DBDIR]    writes the signatures (in DBDIR, default
#                              DIR/db) and DIR/clamd.conf
#   start_clamd DIR            starts clamd (tracked), waits until it answers
#                              PING on both sockets; sets CLAMD_PID
#   stop_clamd                 SIGKILL + reap
# Sockets: CLAMD_SOCKET (unix, in DIR), CLAMD_TCP (127.0.0.1:port).
# StreamMaxLength is 2 MiB: INSTREAM of a larger file gets clamd's error.
# Signatures: EICAR (a .ndb hex pattern: the official daily.cvd, which has
# it, is not available) and CLAMD_MARKER, a string any test file can carry.

CLAMD=${CLAMD:-/usr/sbin/clamd}
# The standard EICAR test string, built so that this file is not itself a hit.
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-'"TEST-FILE!\$H+H*"
CLAMD_MARKER="fanguard-clamd-test-marker-$$"

require_clamd() {
	[ -x "$CLAMD" ] || notrun "needs clamd (Debian package clamav-daemon)"
}

_hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

clamd_setup() { # DIR [DBDIR (default DIR/db)]
	local dir=$1 db=${2:-$1/db} port
	mkdir -p "$dir" "$db"
	{
		echo "Fanguard.Test.EICAR:0:*:$(_hex "$EICAR")"
		echo "Fanguard.Test.Marker:0:*:$(_hex "$CLAMD_MARKER")"
	} >"$db/fanguard-test.ndb"
	# A free port: the kernel picks one for a socket bound to port 0.
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000)))
	CLAMD_SOCKET=$dir/clamd.sock
	CLAMD_TCP=127.0.0.1:$port
	cat >"$dir/clamd.conf" <<-EOC
		LocalSocket $dir/clamd.sock
		TCPSocket $port
		TCPAddr 127.0.0.1
		DatabaseDirectory $db
		Foreground yes
		LogFile $dir/clamd.log
		LogTime yes
		TemporaryDirectory $dir
		SelfCheck 3600
		StreamMaxLength 2M
	EOC
	CLAMD_DIR=$dir
}

# Sends a z-command to clamd over TCP and prints the reply (bash /dev/tcp).
clamd_cmd_tcp() {
	local reply
	exec 9<>"/dev/tcp/${CLAMD_TCP%:*}/${CLAMD_TCP#*:}" || return 1
	printf '%s\0' "$1" >&9
	IFS= read -r -d '' -t 2 reply <&9 || true
	exec 9>&-
	printf '%s\n' "$reply"
}

start_clamd() {
	local dir=${1:-$CLAMD_DIR}
	rm -f "$dir/clamd.sock"
	start_bg "$CLAMD" -c "$dir/clamd.conf" >>"$dir/clamd.out" 2>&1
	CLAMD_PID=$LAST_PID
	wait_until 30 bash -c "[ -S '$dir/clamd.sock' ] && grep -q 'TCP: Bound' '$dir/clamd.log'" ||
		fail "clamd did not start: $(tail -5 "$dir/clamd.log" 2>/dev/null)"
	wait_until 10 bash -c "$(declare -f clamd_cmd_tcp); CLAMD_TCP=$CLAMD_TCP; [ \"\$(clamd_cmd_tcp zPING)\" = PONG ]" ||
		fail "clamd does not answer PING"
}

stop_clamd() {
	[ -n "${CLAMD_PID:-}" ] || return 0
	kill -KILL "$CLAMD_PID" 2>/dev/null || true
	kill -CONT "$CLAMD_PID" 2>/dev/null || true
	wait "$CLAMD_PID" 2>/dev/null || true
	untrack_pid "$CLAMD_PID"
	CLAMD_PID=
}
