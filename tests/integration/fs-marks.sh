#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 13, findings 2, 3 and 7, under fanguardd's defaults (--watch-tree of
# a scratch tmpfs: filesystem marks, read-through):
#  - gocryptfs and squashfuse (root's, allow_other) holding a denylisted
#    script: its open and exec are denied, although their bytes exist
#    nowhere on the watched backing tmpfs (finding 2);
#  - the same files, and one on the tmpfs, through a bind mount made after
#    start outside the tree, and through the copy an unprivileged user's
#    unshare -Urm makes: denied (a filesystem mark sees every mount of its
#    superblock; finding 3);
#  - an excluded path does not exempt a different file that a user's
#    namespace binds at the same path (finding 7);
#  - contrast: --watch-mount (a mount mark) misses the namespace copy and
#    the bind, which is what the default no longer does.
# Marks only superblocks this test made (assert_own_tmpfs; FUSE mounts it
# started), in a private mount namespace; daemons killed by PID, FUSE
# connections aborted at exit.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
require_cmd gocryptfs squashfuse mksquashfs setpriv unshare
enter_private_mountns "$@"
require_fusectl

uid=61924
lim=3000
s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
o=$(scratch_tmpfs 16m) # not watched: sources, bind targets
assert_own_tmpfs "$o"
USER_RUN=(setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all --)
tag=$RANDOM$RANDOM
printf '#!/bin/sh\necho "fanguard test: denylisted script %s"\n' "$tag" >"$o/evil.sh"
chmod 755 "$o/evil.sh"
sha256sum "$o/evil.sh" | cut -d' ' -f1 >"$FG_STATE/denylist"
mkdir "$s/cipher" "$s/gc" "$s/sq" "$s/excluded" "$s/other" "$s/sub" "$o/sqsrc" \
	"$o/b1" "$o/b2" "$o/b3"
for f in "$s/sub/evil.sh" "$s/excluded/x.sh" "$s/other/x.sh" "$o/sqsrc/evil.sh"; do
	cp "$o/evil.sh" "$f"
done

# gocryptfs: the plaintext exists only through the daemon.
timeout 30 gocryptfs -q -init -scryptn 10 -extpass "echo fg-pass" "$s/cipher" >/dev/null ||
	fail "gocryptfs -init"
start_bg gocryptfs -fg -q -allow_other -extpass "echo fg-pass" "$s/cipher" "$s/gc"
wait_mounted "$s/gc" 20 || fail "gocryptfs did not mount"
track_fuse_conn "$(fuse_conn_from_mountinfo "$s/gc")"
cp "$o/evil.sh" "$s/gc/evil.sh"
! grep -rqF "$tag" "$s/cipher" || fail "gocryptfs stored the plaintext"
# squashfuse: the bytes are compressed in the image.
timeout 60 mksquashfs "$o/sqsrc" "$s/image.sqfs" -quiet -no-progress -noappend >/dev/null ||
	fail "mksquashfs"
start_bg squashfuse -f -o allow_other "$s/image.sqfs" "$s/sq"
wait_mounted "$s/sq" 20 || fail "squashfuse did not mount"
track_fuse_conn "$(fuse_conn_from_mountinfo "$s/sq")"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" --exclude "$s/excluded" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --fuse-deadline-ms 3000 \
	--stats-file "$FG_STATE/stats"
for m in "$s/gc" "$s/sq"; do
	wait_until 10 grep -qE "mount [0-9]+ '$m' .*group fuse/[0-9]+" "$FANGUARDD_LOG" ||
		fail_with_log "$m not marked"
done
grep -qE "watching '$s' \(its filesystem\)" "$FANGUARDD_LOG" ||
	fail_with_log "the tree's tmpfs was not marked as a filesystem"
log "fanguardd $FANGUARDD_PID ready: --watch-tree $s (gocryptfs, squashfuse below)"

# deny_all PREFIX...: open and exec of PREFIX/evil.sh are denied.
deny_all() {
	local p
	for p in "$@"; do
		fgcheck_ok open "$p/evil.sh" EPERM $lim
		fgcheck_ok exec "$p/evil.sh" EPERM $lim
	done
}
# as_user_ns CMD...: CMD as the unprivileged user in its own user and mount
# namespace (unshare -Urm: a copy of every mount).
as_user_ns() {
	"${USER_RUN[@]}" unshare -Urm "$@"
}

# Finding 2: content-transforming filesystems, read through their daemons.
deny_all "$s/gc" "$s/sq" "$s/sub"
log "gocryptfs, squashfuse, tmpfs: open and exec denied"

# Finding 3: bind mounts made after start, outside the tree.
mount --bind "$s/sub" "$o/b1"
mount --bind "$s/gc" "$o/b2"
mount --bind "$s/sq" "$o/b3"
at_exit "umount -l '$o/b1' '$o/b2' '$o/b3' 2>/dev/null"
deny_all "$o/b1" "$o/b2" "$o/b3"
log "binds made after start: open and exec denied"

# Finding 3: an unprivileged user's unshare -Urm copy of every mount.
for p in "$s/sub" "$s/gc" "$s/sq"; do
	as_user_ns "$FGCHECK" open "$p/evil.sh" EPERM $lim | sed 's/^/# userns: /' >&2 ||
		fail_with_log "unshare -Urm: open of $p/evil.sh not denied"
	as_user_ns "$FGCHECK" exec "$p/evil.sh" EPERM $lim | sed 's/^/# userns: /' >&2 ||
		fail_with_log "unshare -Urm: exec of $p/evil.sh not denied"
done
log "unshare -Urm copies: open and exec denied"

# Finding 7: the exclusion holds in our namespace...
fgcheck_ok open "$s/excluded/x.sh" ok $lim
# ...and not for another file a user's namespace puts at the same path.
as_user_ns sh -c 'mount --bind "$1/other" "$1/excluded" && exec "$2" open "$1/excluded/x.sh" EPERM "$3"' \
	_ "$s" "$FGCHECK" $lim | sed 's/^/# userns: /' >&2 ||
	fail_with_log "an exclusion exempted another namespace's file at the same path"
log "exclusion: not applied to another namespace's file at the excluded path"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$FG_STATE/stats"

# Contrast: a mount mark (--watch-mount) sees neither the namespace copy nor
# the bind; the checks above would have failed with it.
start_fanguardd_log "$FG_STATE/fanguardd2.log" --watch-mount "$s" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow
fgcheck_ok open "$s/sub/evil.sh" EPERM $lim
fgcheck_ok open "$o/b1/evil.sh" ok $lim
as_user_ns "$FGCHECK" open "$s/sub/evil.sh" ok $lim | sed 's/^/# userns: /' >&2 ||
	fail_with_log "a mount mark saw an open through a namespace copy"
log "--watch-mount: the bind and the namespace copy are missed, as expected of a mount mark"
stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
log "PASS"
