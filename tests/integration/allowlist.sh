#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The SHA-256 allowlist (--allow-hashes): an operator's override of a false
# positive on one file. A file whose digest is allowlisted opens although
# the denylist and a YARA rule both match it; another file that the same
# engines match is still denied; the overrides are counted. A reload that
# drops the entry denies the file again (its clean verdict, cached while it
# was allowlisted, is flushed).
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

s=$(scratch_tmpfs 16m)
assert_own_mount "$s"
stats=$FG_STATE/stats
tag=$RANDOM$RANDOM
cat >"$FG_STATE/rules.yar" <<EOR
rule fanguard_allowlist_test {
	strings:
		\$a = "fanguard-allowlist-marker-$tag"
	condition:
		\$a
}
EOR
printf 'a false positive: fanguard-allowlist-marker-%s\n' "$tag" >"$s/fp"
printf 'the real thing: fanguard-allowlist-marker-%s\n' "$tag" >"$s/bad"
printf 'only YARA knows: fanguard-allowlist-marker-%s\n' "$tag" >"$s/yara-only"
sha256sum "$s/fp" "$s/bad" | cut -d' ' -f1 >"$FG_STATE/deny"
{
	echo "# false positives"
	sha256sum "$s/fp"
} >"$FG_STATE/allow"
cat >"$FG_STATE/fanguard.conf" <<EOF2
[Watch]
Mount = $s
[Scan]
DenyHashes = $FG_STATE/deny
AllowHashes = $FG_STATE/allow
YaraRules = $FG_STATE/rules.yar
[Daemon]
ControlSocket =
StatsFile = $stats
EOF2

start_fanguardd_log "$FG_STATE/fanguardd.log" --config "$FG_STATE/fanguard.conf"
fgcheck_ok open "$s/fp" ok 5000
fgcheck_ok open "$s/fp" ok 5000 # cached or not, still allowed
fgcheck_ok open "$s/bad" EPERM 5000
fgcheck_ok open "$s/yara-only" EPERM 5000 # YARA runs, and would deny fp too
grep -q 'Allowlist: 1 digests from 1 files' "$FANGUARDD_LOG" || fail_with_log "allowlist not loaded"
fanguardd_stats_now "$stats"
[ "$(stats_get "$stats" allowlisted)" -ge 1 ] || fail_with_log "allowlisted not counted"

# Drop the entry: after the reload the file is denied again.
sed -i '/fp$/d' "$FG_STATE/allow"
kill -HUP "$FANGUARDD_PID"
wait_until 10 grep -q 'Allowlist\|Denylist: .* after\|reload' "$FANGUARDD_LOG" || true
wait_until 10 "$FGCHECK" open "$s/fp" EPERM 2000 ||
	fail_with_log "the file is still allowed after its allowlist entry was removed"
fgcheck_ok open "$s/fp" EPERM 5000
# A bad allowlist line fails the reload and keeps the running lists.
echo "not a digest" >>"$FG_STATE/allow"
kill -HUP "$FANGUARDD_PID"
wait_until 10 grep -q "allow:[0-9]*: not a SHA-256 hex digest" "$FANGUARDD_LOG" ||
	fail_with_log "a bad allowlist line was not reported"
fgcheck_ok open "$s/bad" EPERM 5000

stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
log "PASS: allowlisted digest beats the denylist and YARA; reload drops it"
