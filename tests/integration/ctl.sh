#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fanguardctl against a running fanguardd configured by fanguard.conf: status,
# stats (valid JSON whose counters match the events made), metrics
# (Prometheus text format), mounts (a tmpfs classified local and a FUSE
# mount classified fuse, each with its evidence), reload, an unknown verb.
# The socket is root-only: 0600 in a 0700 directory; an unprivileged client
# cannot connect. The demo's own stats come from the same socket.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
enter_private_mountns "$@"
CTL=$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
mkdir "$s/backing" "$s/fuse"
echo hello >"$s/ok.txt"
echo "bad content" >"$s/bad.txt"
sha256sum "$s/bad.txt" | awk '{print $1 "  bad"}' >"$FG_STATE/deny.txt"
start_fusetest passthrough "$s/backing" "$s/fuse"
assert_own_mount "$s/fuse"

sock=$FG_STATE/ctl/control
cat >"$FG_STATE/fanguard.conf" <<CONF
# a test configuration
[Watch]
Mount = $s
Mount = $s/fuse

[Scan]
DenyHashes = $FG_STATE/deny.txt

[Daemon]
ControlSocket = $sock
CONF
start_fanguardd_log "$FG_STATE/fanguardd.log" --config "$FG_STATE/fanguard.conf"
ctl() { timeout 20 "$CTL" --socket "$sock" "$@"; }

[ "$(stat -c %a "$sock")" = 600 ] || fail_with_log "socket mode $(stat -c %a "$sock")"
[ "$(stat -c %a "$(dirname "$sock")")" = 700 ] || fail_with_log "socket dir not 0700"

cat "$s/ok.txt" >/dev/null || fail_with_log "allowed file denied"
if cat "$s/bad.txt" 2>/dev/null; then fail_with_log "denylisted file was not denied"; fi

out=$(ctl status) || fail_with_log "status failed"
printf '%s\n' "$out" | sed 's/^/# status: /' >&2
grep -q '^state: running' <<<"$out" || fail_with_log "status: not running"
grep -q "^config: $FG_STATE/fanguard.conf" <<<"$out" || fail_with_log "status: config path"
grep -q '^watches: 2 in 2 groups' <<<"$out" || fail_with_log "status: watches"

json=$(ctl stats) || fail_with_log "stats failed"
# Parsed by a second JSON parser, not ours.
python3 - "$json" <<'PY' || fail_with_log "stats JSON wrong"
import json, sys
s = json.loads(sys.argv[1])
assert s["denied"] >= 1, s
assert s["events_read"] >= 2 and s["events_read"] == s["events_answered"] + s["pending"], s
assert s["watches"] == 2 and s["groups"] == 2 and s["healthy"] is True, s
assert set(s["by_reason"]) >= {"scanned", "deadline", "self"}, s
PY

m=$(ctl metrics) || fail_with_log "metrics failed"
# Every line: a comment (# HELP/# TYPE) or "name{labels} value".
bad=$(printf '%s\n' "$m" | grep -Ev '^# (HELP|TYPE) fanguard_[a-z_]+ |^fanguard_[a-z_]+(\{[a-z_]+="[a-z_-]+"\})? [0-9]+$' || true)
[ -z "$bad" ] || fail_with_log "metrics lines not in Prometheus text format: $bad"
grep -q '^fanguard_denied_total [1-9]' <<<"$m" || fail_with_log "metrics: denied"
grep -q '^# TYPE fanguard_pending gauge' <<<"$m" || fail_with_log "metrics: gauge type"

mt=$(ctl mounts) || fail_with_log "mounts failed"
printf '%s\n' "$mt" | sed 's/^/# mounts: /' >&2
grep -Eq "^$s +[0-9]+ +local +tmpfs +local +fstype tmpfs" <<<"$mt" || fail_with_log "mounts: tmpfs row"
grep -Eq "^$s/fuse +[0-9]+ +fuse +fuse\.fusetest +fuse " <<<"$mt" || fail_with_log "mounts: fuse row"
ctl mounts --json | python3 -c 'import json,sys; a=json.load(sys.stdin); assert len(a)==2 and a[1]["class"]=="fuse" and "origin" in a[1] and a[0]["group_events_read"] >= 2, a' ||
	fail_with_log "mounts --json"

ctl reload >/dev/null || fail_with_log "reload failed"
grep -q 'Reloaded' "$FANGUARDD_LOG" || fail_with_log "no reload in the log"
if ctl frobnicate 2>/dev/null; then fail_with_log "unknown verb accepted"; fi
# Unprivileged: no way in (0700 directory, 0600 socket, SO_PEERCRED check).
if setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$CTL" --socket "$sock" status 2>"$FG_STATE/nobody.err"; then
	fail_with_log "an unprivileged client got an answer"
fi
grep -q 'Permission denied' "$FG_STATE/nobody.err" || fail_with_log "nobody: $(cat "$FG_STATE/nobody.err")"

stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
[ ! -e "$sock" ] || fail "control socket left behind"
stop_fusetest "$s/fuse"
log "PASS"
