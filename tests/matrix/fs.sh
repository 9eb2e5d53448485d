# SPDX-License-Identifier: LGPL-2.1-or-later
# The filesystems of the real-FUSE matrix (tests/matrix/cell.sh). Source after
# common.sh, fuse.sh and sshd.sh, inside enter_private_mountns.
#
# For each cell C:
#   fs_C_prepare S EVIL_DIR   make the backing store under the watched tmpfs S
#                             (read-only cells bake EVIL_DIR and the workload's
#                             source tree into their image here)
#   fs_C_mount S MNT          start the daemon in the foreground, tracked by
#                             PID, and wait for the mount; sets FS_PID (the
#                             process holding /dev/fuse) and FS_RO (1: the
#                             workload only reads)
# Every daemon runs with default options (what "mount it and go" gives), as
# root; in the CELL-user cells (cell.sh) as an unprivileged user, through
# fusermount3, with allow_other ("-user-private": without), the way a user
# mounts their own gocryptfs or rclone. MATRIX_RUN then prefixes every
# command run as that user.
#
# Nothing here stat()s the mount point: a hung daemon would block it. The
# mount appears in /proc/self/mountinfo once the kernel has it.

MATRIX_CELLS=(sshfs bindfs fuse-overlayfs gocryptfs encfs squashfuse mergerfs fuse2fs
	rclone-off rclone-writes gocryptfs-user gocryptfs-user-private rclone-writes-user)

# fs_started MNT: the daemon started last (LAST_PID) mounted MNT within 20 s;
# records its connection (aborted at exit) and its lazy unmount.
fs_started() {
	local m=$1 i
	FS_PID=$LAST_PID
	at_exit "umount -l '$m' 2>/dev/null"
	for ((i = 0; i < 400; i++)); do
		is_mounted "$m" && break
		pid_gone "$FS_PID" && fail "daemon $FS_PID exited before mounting '$m'"
		sleep 0.05
	done
	is_mounted "$m" || fail "'$m' not mounted within 20 s"
	FS_CONN=$(fuse_conn_from_mountinfo "$m") || fail "no FUSE connection for '$m'"
	track_fuse_conn "$FS_CONN"
}

# The workload's read-only source (read-only cells): 200 files, a script and
# a 1 MiB file, written into DIR.
fs_ro_tree() {
	local d=$1 i
	mkdir -p "$d/ro/tree"
	for ((i = 1; i <= 200; i++)); do
		echo "tree file $i" >"$d/ro/tree/f$i"
	done
	printf '#!/bin/sh\necho script-ok\n' >"$d/ro/run.sh"
	chmod 755 "$d/ro/run.sh"
	cp "$MATRIX_BIG" "$d/ro/big"
}

# fs_user_setup S: a user of our own (uid MATRIX_UID) for the CELL-user
# cells, and what a stock Debian host gives users, all only in this mount
# namespace: /etc/passwd and /etc/group with the user (fusermount3 wants a
# name), /dev/fuse 0666 (it is 0600 on these VMs), /etc/fuse.conf with
# user_allow_other. Sets MATRIX_RUN.
fs_user_setup() {
	local s=$1 u=${MATRIX_UID:-61917}
	require_cmd setpriv fusermount3
	cp /etc/passwd "$s/passwd"
	echo "fgmatrix:x:$u:$u:fanguard matrix:/nonexistent:/usr/sbin/nologin" >>"$s/passwd"
	cp /etc/group "$s/group"
	echo "fgmatrix:x:$u:" >>"$s/group"
	mknod -m 0666 "$s/fuse" c 10 229
	echo user_allow_other >"$s/fuse.conf"
	chmod 644 "$s/passwd" "$s/group" "$s/fuse.conf"
	mount --bind "$s/passwd" /etc/passwd
	mount --bind "$s/group" /etc/group
	mount --bind "$s/fuse" /dev/fuse
	mount --bind "$s/fuse.conf" /etc/fuse.conf
	at_exit "umount -l /etc/passwd /etc/group /dev/fuse /etc/fuse.conf 2>/dev/null"
	mkdir -m 700 "$s/home"
	# The user owns the scratch tmpfs (its backing stores go there) and
	# the mount point.
	chown "$u:$u" "$s" "$s/home" "$s/mnt"
	MATRIX_RUN=(setpriv --reuid="$u" --regid="$u" --clear-groups --inh-caps=-all
		env HOME="$s/home")
}

# --- sshfs to 127.0.0.1: sshfs -> ssh -> sshd session -> sftp-server ---------
fs_sshfs_prepare() {
	require_cmd sshfs
	mkdir "$1/back"
	start_sshd
}
fs_sshfs_mount() {
	start_sshfs "$1/back" "$2"
	FS_PID=$SSHFS_PID FS_CONN=$SSHFS_CONN FS_RO=0
	at_exit "umount -l '$2' 2>/dev/null"
}

# --- bindfs: passthrough ------------------------------------------------------
fs_bindfs_prepare() {
	require_cmd bindfs
	mkdir "$1/back"
}
fs_bindfs_mount() {
	start_bg bindfs -f "$1/back" "$2"
	fs_started "$2"
	FS_RO=0
}

# --- fuse-overlayfs: a writable layer over a lower one ------------------------
fs_fuse-overlayfs_prepare() {
	require_cmd fuse-overlayfs
	mkdir "$1/lower" "$1/upper" "$1/work"
	echo "from the lower layer" >"$1/lower/lowerfile"
}
fs_fuse-overlayfs_mount() {
	start_bg fuse-overlayfs -f -o "lowerdir=$1/lower,upperdir=$1/upper,workdir=$1/work" "$2"
	fs_started "$2"
	FS_RO=0
}

# --- gocryptfs: encrypts contents and names -----------------------------------
fs_gocryptfs_prepare() {
	require_cmd gocryptfs
	"${MATRIX_RUN[@]}" mkdir "$1/cipher"
	# -scryptn 10: a cheap KDF, the test is not about the password.
	timeout 30 "${MATRIX_RUN[@]}" gocryptfs -q -init -scryptn 10 -extpass "echo matrix-pass" \
		"$1/cipher" >/dev/null || fail "gocryptfs -init"
}
fs_gocryptfs_mount() {
	local o=()
	[ "${MATRIX_ALLOW_OTHER:-0}" = 0 ] || o=(-allow_other)
	start_bg "${MATRIX_RUN[@]}" gocryptfs -fg -q "${o[@]}" -extpass "echo matrix-pass" \
		"$1/cipher" "$2"
	fs_started "$2"
	FS_RO=0
}

# --- encfs: encrypts contents and names ---------------------------------------
fs_encfs_prepare() {
	require_cmd encfs
	mkdir "$1/cipher"
}
fs_encfs_mount() {
	# --standard answers the first-run questions; the config goes in cipher/.
	start_bg encfs -f --standard --extpass="echo matrix-pass" "$1/cipher" "$2"
	fs_started "$2"
	FS_RO=0
}

# --- squashfuse: a read-only image --------------------------------------------
fs_squashfuse_prepare() {
	require_cmd squashfuse mksquashfs
	mkdir "$1/src"
	fs_ro_tree "$1/src"
	mkdir "$1/src/deny"
	cp "$2"/* "$1/src/deny/"
	timeout 60 mksquashfs "$1/src" "$1/image.sqfs" -quiet -no-progress -noappend >/dev/null ||
		fail "mksquashfs"
	rm -r "$1/src"
}
fs_squashfuse_mount() {
	start_bg squashfuse -f "$1/image.sqfs" "$2"
	fs_started "$2"
	FS_RO=1
}

# --- mergerfs: a union of two branches ----------------------------------------
fs_mergerfs_prepare() {
	require_cmd mergerfs
	mkdir "$1/branch1" "$1/branch2"
	echo "from branch 2" >"$1/branch2/b2file"
}
fs_mergerfs_mount() {
	# minfreespace: its 4 GiB default refuses every create on the 512 MiB
	# test tmpfs (ENOSPC); nothing else differs from the defaults.
	start_bg mergerfs -f -o minfreespace=1M "$1/branch1:$1/branch2" "$2"
	fs_started "$2"
	FS_RO=0
}

# --- fuse2fs: ext4 in an image file -------------------------------------------
fs_fuse2fs_prepare() {
	require_cmd fuse2fs mkfs.ext4
	truncate -s 96M "$1/ext4.img"
	timeout 30 mkfs.ext4 -q -F "$1/ext4.img" || fail "mkfs.ext4"
}
fs_fuse2fs_mount() {
	start_bg fuse2fs "$1/ext4.img" "$2" -f
	fs_started "$2"
	FS_RO=0
}

# --- rclone mount of a local directory ----------------------------------------
_fs_rclone_mount() {
	local mode=$1 s=$2 m=$3 o=()
	[ "${MATRIX_ALLOW_OTHER:-0}" = 0 ] || o=(--allow-other)
	"${MATRIX_RUN[@]}" touch "$s/rclone.conf"
	# --file-perms 0755: rclone has no modes of its own; without it the
	# script could not run. The VFS cache (mode writes) lives on the
	# watched tmpfs too.
	start_bg "${MATRIX_RUN[@]}" rclone mount --config "$s/rclone.conf" --vfs-cache-mode "$mode" \
		--cache-dir "$s/rclone-cache" --file-perms 0755 --log-level ERROR "${o[@]}" \
		--log-file "$s/rclone.log" "$s/back" "$m"
	fs_started "$m"
	FS_RO=0
}
fs_rclone-off_prepare() {
	require_cmd rclone
	"${MATRIX_RUN[@]}" mkdir "$1/back"
}
fs_rclone-off_mount() {
	_fs_rclone_mount off "$1" "$2"
}
fs_rclone-writes_prepare() {
	require_cmd rclone
	"${MATRIX_RUN[@]}" mkdir "$1/back"
}
fs_rclone-writes_mount() {
	_fs_rclone_mount writes "$1" "$2"
}
