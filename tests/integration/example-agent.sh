#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The example agent as an embedder builds it: `meson install --destdir` into a
# fresh root, then examples/agent/Makefile against THAT tree through
# pkg-config (PKG_CONFIG_PATH + PKG_CONFIG_SYSROOT_DIR, nothing from the build
# tree), run on a tmpfs of our own with the installed library. Its own
# scanner callback denies a file by content; a SHA-256 denylist (loaded in
# the documented order new -> watch -> deny_sha256_file -> start, from a file
# outside the watched mount: see call-order.sh for one inside) denies another.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_cmd make cc pkg-config readelf
require_fanotify_perm
enter_private_mountns "$@"

dest=$FG_STATE/root
log "installing into $dest"
meson install -C "$FG_BUILD_ROOT" --destdir "$dest" --no-rebuild --quiet >"$FG_STATE/install.log" 2>&1 ||
	{ cat "$FG_STATE/install.log" >&2; fail "meson install --destdir failed"; }
pc=$(find "$dest" -name libfanguard.pc | head -n1)
[ -n "$pc" ] || fail "no libfanguard.pc installed"
libdir=$(dirname "$(dirname "$pc")")
[ -e "$libdir/libfanguard.so" ] || fail "no libfanguard.so next to $pc"
inc=$(find "$dest" -path '*/include/fanguard/fanguard.h' | head -n1)
[ -n "$inc" ] || fail "fanguard.h not installed as include/fanguard/fanguard.h"
[ -e "$(dirname "$inc")/fanguard-version.h" ] || fail "fanguard-version.h not installed"
grep -q '^Requires.private:.*libcrypto' "$pc" || fail "libfanguard.pc lacks Requires.private"

# Build the example from a copy, as a user would.
src=$FG_STATE/agent
cp -r "$FG_SRC_ROOT/examples/agent" "$src"
rm -f "$src/fanguard-agent"
extra=
# A sanitized library needs its runtime in the program too.
# (Captured first: "cmd | grep -q" fails under pipefail when grep exits
# early and cmd gets SIGPIPE.)
needed=$(readelf -d "$libdir/libfanguard.so")
if grep -q 'NEEDED.*libasan' <<<"$needed"; then
	extra="-fsanitize=address,undefined"
elif grep -q 'NEEDED.*libtsan' <<<"$needed"; then
	extra="-fsanitize=thread"
fi
export PKG_CONFIG_PATH=$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
log "pkg-config: $(pkg-config --cflags --libs libfanguard)"
make -C "$src" CFLAGS="-O2 -g -Werror $extra" LDFLAGS="$extra" >"$FG_STATE/make.log" 2>&1 ||
	{ cat "$FG_STATE/make.log" >&2; fail "the example does not build against the installed tree"; }
grep -q -- "-I$dest" "$FG_STATE/make.log" || fail "the example was not compiled against $dest"
agent=$src/fanguard-agent
export LD_LIBRARY_PATH=$libdir
ldd "$agent" >"$FG_STATE/ldd.out" 2>&1 || true
grep -qF "libfanguard.so.0 => $libdir/libfanguard.so.0" "$FG_STATE/ldd.out" ||
	fail "the example does not load the installed library ($libdir): $(cat "$FG_STATE/ldd.out")"

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
printf 'X5O!P%%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\n' >"$s/eicar.com"
echo "denylisted by hash $RANDOM$RANDOM" >"$s/hashed"
echo "clean" >"$s/clean"
sha256sum "$s/hashed" | cut -d' ' -f1 >"$FG_STATE/deny.txt"
out=$FG_STATE/agent.out
start_bg "$agent" --deny-hashes "$FG_STATE/deny.txt" --deadline-ms 3000 "$s" >"$out" 2>"$FG_STATE/agent.err"
AGENT_PID=$LAST_PID
wait_until 20 grep -q '^ready' "$out" || { cat "$FG_STATE/agent.err" >&2; fail "agent not ready"; }
log "$(head -n1 "$FG_STATE/agent.err")"
fgcheck_ok open "$s/eicar.com" EPERM 5000
fgcheck_ok open "$s/hashed" EPERM 5000
fgcheck_ok open "$s/clean" ok 5000
wait_until 5 grep -q "^deny path=$s/eicar.com .*scanner=example-marker" "$out" ||
	fail "no deny from the example's own scanner: $(cat "$out")"
wait_until 5 grep -q "^deny path=$s/hashed .*scanner=sha256" "$out" ||
	fail "no deny from the denylist: $(cat "$out")"
kill -TERM "$AGENT_PID"
wait_pid_exited "$AGENT_PID" 10 || fail "agent did not stop"
wait "$AGENT_PID" || fail "agent exited with status $?"
untrack_pid "$AGENT_PID"
sed 's/^/# agent: /' "$out" >&2
log "PASS"
