# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for tests that restart fanguardd through its fd store under
# tests/lib/fdstore-supervisor.py (which plays systemd's part): source after
# common.sh and set FDSTORE_DIR to the supervisor's directory.

# sup_ready N: waits for instance N, tracks its pid
sup_ready() {
	wait_until 20 test -s "$FDSTORE_DIR/ready.$1" || fail_with_log "instance $1 did not become ready"
	track_pid "$(cat "$FDSTORE_DIR/ready.$1")"
}

# sup_command CMD: hands it to the supervisor, waits until it is carried out
sup_command() {
	echo "$1" >"$FDSTORE_DIR/cmd.tmp"
	mv "$FDSTORE_DIR/cmd.tmp" "$FDSTORE_DIR/cmd"
	wait_until 30 bash -c "! test -e '$FDSTORE_DIR/cmd'" ||
		fail_with_log "supervisor did not do '$1'"
}

# sup_stored: what the fd store holds, one name a line
sup_stored() { cat "$FDSTORE_DIR/stored" 2>/dev/null || true; }

# child_of PID: fgcheck's child, which makes the open
child_of() {
	local i c
	for ((i = 0; i < 250; i++)); do
		c=$(cat /proc/"$1"/task/*/children 2>/dev/null | awk '{print $1}')
		[ -n "$c" ] && echo "$c" && return 0
		sleep 0.02
	done
	return 1
}

# blocked_in_fanotify PID: waits in the kernel for a fanotify answer
blocked_in_fanotify() { grep -q fanotify "/proc/$1/stack" 2>/dev/null; }
