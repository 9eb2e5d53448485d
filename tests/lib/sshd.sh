# SPDX-License-Identifier: LGPL-2.1-or-later
# A private sshd on 127.0.0.1 for "sshfs localhost:" tests. Source after
# common.sh and fuse.sh, inside enter_private_mountns:
#   start_sshd                         # sets SSHD_PID, SSHD_PORT, SSH_KEY
#   start_sshfs "$s/backing" "$s/mnt"  # sets SSHFS_PID, SFTP_SERVER_PID, SSHFS_CONN
#
# Everything lives in $FG_STATE/sshd: its own sshd_config, host key and a
# throwaway user key pair authorized for root only there (root's own
# ~/.ssh is never read or written). Port: random, high, on 127.0.0.1 only.
# sshd runs in the foreground (-D), tracked by PID like the sessions it
# forks and the sftp-server they run, so cleanup kills all of them by PID.

SSHD=${SSHD:-/usr/sbin/sshd}
SFTP_SERVER=${SFTP_SERVER:-/usr/lib/openssh/sftp-server}

# ssh(1) options: no prompts, no known_hosts, no user or system config.
_ssh_opts() {
	echo "-F /dev/null -p $SSHD_PORT -i $SSH_KEY -o IdentitiesOnly=yes -o BatchMode=yes" \
		"-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR" \
		"-o ConnectTimeout=5"
}

_port_in_use() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

start_sshd() {
	local dir="$FG_STATE/sshd" cfg i port use_pam=no
	require_cmd ssh ssh-keygen ss
	[ -x "$SSHD" ] || notrun "needs $SSHD (openssh-server)"
	[ -x "$SFTP_SERVER" ] || notrun "needs $SFTP_SERVER"
	mkdir -m 700 "$dir"
	ssh-keygen -q -t ed25519 -N '' -C fgtest-host -f "$dir/host_ed25519" || fail "ssh-keygen (host)"
	ssh-keygen -q -t ed25519 -N '' -C fgtest-user -f "$dir/id_ed25519" || fail "ssh-keygen (user)"
	SSH_KEY="$dir/id_ed25519"
	# restrict: no pty, no forwarding; the sftp subsystem still works.
	echo "restrict $(cat "$dir/id_ed25519.pub")" >"$dir/authorized_keys"
	chmod 600 "$dir/authorized_keys"

	# The privilege separation directory is compiled in; the package makes
	# it at boot (tmpfiles.d). Make it if missing, remove it if we did.
	if [ ! -d /run/sshd ]; then
		mkdir -m 755 /run/sshd
		at_exit "rmdir /run/sshd"
	fi
	# Without PAM, sshd refuses accounts whose password is locked ('!').
	if passwd -S root 2>/dev/null | awk '{ exit !($2 == "L") }'; then
		use_pam=yes
	fi

	for ((i = 0; i < 10; i++)); do
		port=$((20000 + RANDOM % 40000))
		_port_in_use "$port" && continue
		cfg="$dir/sshd_config"
		cat >"$cfg" <<-EOF
			Port $port
			ListenAddress 127.0.0.1
			HostKey $dir/host_ed25519
			PidFile none
			AuthorizedKeysFile $dir/authorized_keys
			AuthenticationMethods publickey
			PubkeyAuthentication yes
			PasswordAuthentication no
			KbdInteractiveAuthentication no
			PermitRootLogin prohibit-password
			AllowUsers root
			UsePAM $use_pam
			StrictModes no
			X11Forwarding no
			PrintMotd no
			UseDNS no
			MaxStartups 100
			LogLevel ERROR
			Subsystem sftp $SFTP_SERVER
		EOF
		timeout 10 "$SSHD" -t -f "$cfg" || fail "sshd rejects its config"
		start_bg "$SSHD" -D -e -f "$cfg" 2>>"$dir/log"
		SSHD_PID=$LAST_PID
		SSHD_PORT=$port
		if wait_until 10 timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"; then
			break
		fi
		# Lost a race for the port, probably: try another.
		kill -KILL "$SSHD_PID" 2>/dev/null || true
		SSHD_PID=
	done
	[ -n "${SSHD_PID:-}" ] || fail "sshd did not start: $(cat "$dir/log")"
	# shellcheck disable=SC2046
	timeout 20 ssh $(_ssh_opts) root@127.0.0.1 true ||
		fail "cannot log in to our sshd on port $SSHD_PORT: $(cat "$dir/log")"
	log "sshd: pid $SSHD_PID on 127.0.0.1:$SSHD_PORT"
}

# start_sshfs BACKING MOUNTPOINT [sshfs options...]: sshfs root@127.0.0.1:BACKING
# in the foreground (-f), tracked by PID with its ssh client, the sshd session
# and sftp-server. Sets SSHFS_PID, SFTP_SERVER_PID, SSHFS_CONN.
start_sshfs() {
	local backing=$1 mnt=$2 p
	shift 2
	require_cmd sshfs
	start_bg sshfs -f \
		-o "ssh_command=ssh $(_ssh_opts)" \
		-o IdentityFile="$SSH_KEY" \
		-o StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes \
		"$@" "root@127.0.0.1:$backing" "$mnt"
	SSHFS_PID=$LAST_PID
	wait_mounted "$mnt" 20 || fail "sshfs did not mount '$mnt'"
	SSHFS_CONN=$(fuse_conn_from_mountinfo "$mnt") || fail "no FUSE connection for '$mnt'"
	track_fuse_conn "$SSHFS_CONN"
	SFTP_SERVER_PID=
	for ((p = 0; p < 100; p++)); do
		SFTP_SERVER_PID=$(sftp_server_pid) && break
		sleep 0.05
	done
	[ -n "$SFTP_SERVER_PID" ] || fail "no sftp-server under our sshd"
	# The sessions are not our children: track them before they can be
	# orphaned by a kill of sshd.
	for p in $(descendants "$SSHFS_PID" "$SSHD_PID"); do
		track_pid "$p"
	done
	log "sshfs: pid $SSHFS_PID, sftp-server $SFTP_SERVER_PID, connection $SSHFS_CONN, on '$mnt'"
}

sftp_server_pid() {
	local p
	for p in $(descendants "$SSHD_PID"); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sftp-server ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
