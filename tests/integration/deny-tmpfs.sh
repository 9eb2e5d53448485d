#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Denylisted content on a watched tmpfs cannot be opened or executed (EPERM);
# other files can, and a file whose content becomes denylisted is denied from
# then on. Every verdict is logged, every event answered exactly once.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

s=$(scratch_tmpfs 128m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
deny=$FG_STATE/denylist

# The files, made before the listener starts.
tag=$RANDOM$RANDOM
echo "an ordinary file" >"$s/clean"
: >"$s/empty"
head -c 8M /dev/urandom >"$s/big"
printf 'fanguard test: denylisted content %s\n' "$tag" >"$s/evil"
ln "$s/evil" "$s/evil-hardlink"
mkdir -p "$s/sub/deeper"
cp "$s/evil" "$s/sub/deeper/evil-copy"
echo "harmless for now" >"$s/changes"
future="fanguard test: content denylisted before it exists $tag"
printf '#!/bin/sh\nexit 0\n# denylisted script %s\n' "$tag" >"$s/evil.sh"
printf '#!/bin/sh\nexit 0\n# clean script\n' >"$s/clean.sh"
# Bytes after the ELF image change the hash, not the program.
cp /bin/true "$s/evil-bin"
printf 'fanguard-denylisted-%s' "$tag" >>"$s/evil-bin"
cp /bin/true "$s/clean-bin"
printf 'fanguard-clean' >>"$s/clean-bin"
chmod +x "$s/evil.sh" "$s/clean.sh" "$s/evil-bin" "$s/clean-bin"

# Exercise the parser too: comments, blank lines, upper case, a name.
{
	echo "# fanguard deny-tmpfs test"
	echo
	sha256sum "$s/evil" | awk '{ print toupper($1), "evil-text" }'
	sha256sum "$s/evil.sh" | cut -d' ' -f1
	sha256sum "$s/evil-bin" | cut -d' ' -f1
	printf '%s\n' "$future" | sha256sum | cut -d' ' -f1
} >"$deny"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$s" --deny-hashes "$deny" \
	--default-verdict allow --deadline-ms 5000 --stats-file "$stats"
log "fanguardd $FANGUARDD_PID ready, watching $s"

n_denied=0
denied() { # PATH: open must fail with EPERM
	fgcheck_ok open "$1" EPERM 5000
	n_denied=$((n_denied + 1))
}

# Allowed: ordinary, empty, large (scanned in full) files, scripts, binaries.
fgcheck_ok open "$s/clean" ok 5000
fgcheck_ok open "$s/empty" ok 5000
fgcheck_ok open "$s/big" ok 5000
fgcheck_ok exec "$s/clean.sh" ok 5000
fgcheck_ok exec "$s/clean-bin" ok 5000

# Denied by content, whatever the name or link.
denied "$s/evil"
denied "$s/evil-hardlink"
denied "$s/sub/deeper/evil-copy"
denied "$s/evil.sh" # read by an interpreter
fgcheck_ok exec "$s/evil.sh" EPERM 5000
n_denied=$((n_denied + 1))
fgcheck_ok exec "$s/evil-bin" EPERM 5000
n_denied=$((n_denied + 1))
# And through a shell, as a user would see it.
if run_within 5 sh "$s/evil.sh" 2>"$FG_STATE/sh.err"; then
	fail_with_log "sh ran a denylisted script"
fi
n_denied=$((n_denied + 1))
grep -q "Operation not permitted" "$FG_STATE/sh.err" ||
	fail_with_log "sh: unexpected error: $(cat "$FG_STATE/sh.err")"

# Content that becomes denylisted: the open for writing sees harmless
# content (allowed); the next open sees the new content (denied).
fgcheck_ok open "$s/changes" ok 5000
run_within 5 bash -c 'printf "%s\n" "$1" >"$2"' _ "$future" "$s/changes" ||
	fail_with_log "could not rewrite $s/changes"
denied "$s/changes"
# A new file, created and written while watched.
run_within 5 bash -c 'printf "%s\n" "$1" >"$2"' _ "$future" "$s/created" ||
	fail_with_log "could not create $s/created"
denied "$s/created"
# Harmless content again after unlink + create: allowed.
rm -f "$s/changes"
echo "harmless again" >"$s/changes"
fgcheck_ok open "$s/changes" ok 5000

# Each deny is logged, after the answer (the log thread may lag a little).
for f in evil sub/deeper/evil-copy evil.sh evil-bin changes created; do
	wait_until 5 grep -q "^.*deny pid=[0-9]* .*reason=scanned.* path=$s/$f\$" "$FANGUARDD_LOG" ||
		fail_with_log "no deny line for $s/$f"
done
if grep "deny pid=.* path=$s/\(clean\|empty\|big\)" "$FANGUARDD_LOG"; then
	fail_with_log "an allowed file was logged as denied"
fi
grep "deny pid=" "$FANGUARDD_LOG" | sed 's/^/# log: /' >&2

stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
log "fanguardd stopped in ${STOP_MS} ms"
assert_stats_balanced "$stats"
got=$(stats_get "$stats" denied)
[ "$got" = "$n_denied" ] || fail_with_log "denied=$got, expected exactly $n_denied"
[ "$(stats_get "$stats" reason_deadline)" = 0 ] || fail_with_log "an event waited for its deadline"
log "PASS: $n_denied denials, all answered"
