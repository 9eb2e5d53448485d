#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The mount classifier on real mounts: an fd opened through an overlay whose
# lowerdir is on FUSE (bindfs) is fuse-backed, also when a local lowerdir comes
# first and when the FUSE layer is a bind of a FUSE subdirectory; the bindfs
# file itself is fuse, a plain tmpfs file local, an all-local overlay local.
# The overlay's statfs says overlayfs, not FUSE: that is why the classifier
# reads the layers from the mount table (DESIGN.md §2, §3).
# Mounts only in a private mount namespace; bindfs is killed by PID and its
# connection aborted at exit (common.sh).
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fuse
require_cmd bindfs mountpoint stat
enter_private_mountns "$@"

[ -x "$FGCHECK" ] || fail "no $FGCHECK: build first"
# fusectl in this namespace too, so that cleanup can abort the connection.
if ! mountpoint -q /sys/fs/fuse/connections; then
	mount -t fusectl fusectl /sys/fs/fuse/connections || notrun "cannot mount fusectl"
fi

# check_class PATH CLASS [FUSE_MNT_ID]
check_class() {
	local out
	out=$("$FGCHECK" classify "$1" "$2") || fail "classify '$1': want $2, got: $out"
	log "$out"
	if [ -n "${3:-}" ] && [ "$(cut -f3 <<<"$out")" != "$3" ]; then
		fail "'$1': fuse_mnt_id $(cut -f3 <<<"$out"), want $3"
	fi
}

s=$(scratch_tmpfs 64m)
# A space and a comma in the FUSE mount point: the kernel writes them as
# \040 in the mount point and \134\054 in overlay's lowerdir.
f="$s/fuse mnt,x"
mkdir -p "$s/back/sub" "$f" "$s/local" "$s/l2" "$s/bind" \
	"$s/up1" "$s/work1" "$s/ovl1" "$s/ovl2" "$s/ovl3" "$s/ovl4"
echo fuse >"$s/back/f"
echo sub >"$s/back/sub/g"
echo local >"$s/local/l"
echo local2 >"$s/l2/m"

start_bg bindfs -f "$s/back" "$f"
wait_until 10 mountpoint -q "$f" || fail "bindfs did not mount"
track_fuse "$f"
at_exit "umount -l '$f'"
fuse_id=$("$FGCHECK" mount-id "$f")
log "bindfs pid $LAST_PID on '$f': mount $fuse_id, connection $(fuse_conn_of "$f")"

mount --bind "$f/sub" "$s/bind"
at_exit "umount -l '$s/bind'"
# 1: the FUSE mount as the only lowerdir, with a local upperdir.
mount -t overlay fg-ovl1 -o "lowerdir=$s/fuse mnt\\,x,upperdir=$s/up1,workdir=$s/work1" "$s/ovl1"
at_exit "umount -l '$s/ovl1'"
# 2: two lowerdirs, a local one first, then FUSE.
mount -t overlay fg-ovl2 -o "lowerdir=$s/local:$s/fuse mnt\\,x" "$s/ovl2"
at_exit "umount -l '$s/ovl2'"
# 3: the FUSE layer is a bind of a FUSE subdirectory.
mount -t overlay fg-ovl3 -o "lowerdir=$s/local:$s/bind" "$s/ovl3"
at_exit "umount -l '$s/ovl3'"
# 4: all local.
mount -t overlay fg-ovl4 -o "lowerdir=$s/local:$s/l2" "$s/ovl4"
at_exit "umount -l '$s/ovl4'"
grep -F "$s" /proc/self/mountinfo >&2

check_class "$s/local/l" local
check_class "$f/f" fuse "$fuse_id"
check_class "$s/bind/g" fuse-backed "$fuse_id"
check_class "$s/ovl1/f" fuse-backed "$fuse_id"
check_class "$s/ovl2/f" fuse-backed "$fuse_id"
# A file from the local layer of that overlay: the mount is what counts.
check_class "$s/ovl2/l" fuse-backed "$fuse_id"
check_class "$s/ovl3/g" fuse-backed "$fuse_id"
check_class "$s/ovl4/m" local

# The fd of an overlay file is on the overlay mount, and its statfs says
# overlayfs even though the data comes from FUSE.
[ "$("$FGCHECK" mount-id "$s/ovl1/f")" = "$("$FGCHECK" mount-id "$s/ovl1")" ] ||
	fail "overlay file not on the overlay mount"
[ "$(stat -f -c %t "$s/ovl1/f")" = 794c7630 ] || fail "statfs of an overlay file is not overlayfs"
[ "$(stat -f -c %t "$f/f")" = 65735546 ] || fail "statfs of the bindfs file is not FUSE"
[ "$(cat "$s/ovl1/f")" = fuse ] || fail "cannot read through the overlay"
log "ok"
