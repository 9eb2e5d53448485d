#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fanguardd --yara-rules with a real rule: a file carrying the rule's string
# (or hex pattern) is denied (EPERM, scanner=yara, the rule named), also
# when it sits at the end of a 3 MiB file (read in chunks); others allowed.
# A rules file that does not compile is refused at start
# with the compiler's message (file:line) and a non-zero exit; on SIGHUP
# such a file is refused the same way and the old rules stay, and a good one
# replaces them. The SHA-256 denylist and YARA compose: either one's deny wins.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"

s=$(scratch_tmpfs 64m)
assert_own_tmpfs "$s"
stats=$FG_STATE/stats
rules=$FG_STATE/rules.yar
tag=$RANDOM$RANDOM
cat >"$rules" <<EOR
rule fanguard_test_rule {
	strings:
		\$a = "fanguard-yara-marker-$tag"
		\$b = { 46 47 59 41 52 41 ?? ?? 42 49 4E }
	condition:
		any of them
}
EOR
printf 'x\nfanguard-yara-marker-%s\ny\n' "$tag" >"$s/marked"
printf 'FGYARA\x01\x02BIN' >"$s/hexmarked"
echo "nothing here" >"$s/clean"
head -c 3M /dev/urandom >"$s/grown"
printf 'fanguard-yara-marker-%s' "$tag" >>"$s/grown"
echo "denylisted by hash $tag" >"$s/hashed"
sha256sum "$s/hashed" | cut -d' ' -f1 >"$FG_STATE/deny"

# A rule that does not compile: refused at start, the error says where.
bad=$FG_STATE/bad.yar
printf 'rule broken {\n\tcondition:\n\t\t$undefined\n}\n' >"$bad"
if run_within 10 "$FANGUARDD" --watch "$s" --yara-rules "$bad" 2>"$FG_STATE/bad.log"; then
	fail "fanguardd started with rules that do not compile"
fi
sed 's/^/# bad rules: /' "$FG_STATE/bad.log" >&2
grep -q "bad.yar:[0-9]*: undefined string" "$FG_STATE/bad.log" ||
	fail "no compiler message with file:line for the bad rules"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch "$s" --yara-rules "$rules" \
	--deny-hashes "$FG_STATE/deny" --default-verdict allow --deadline-ms 5000 --stats-file "$stats"
fgcheck_ok open "$s/marked" EPERM 5000
fgcheck_ok open "$s/hexmarked" EPERM 5000
fgcheck_ok open "$s/grown" EPERM 5000
fgcheck_ok open "$s/hashed" EPERM 5000
fgcheck_ok open "$s/clean" ok 5000
for f in marked hexmarked grown; do
	wait_until 5 grep -q "deny pid=.* scanner=yara detail=fanguard_test_rule.* path=$s/$f\$" \
		"$FANGUARDD_LOG" || fail_with_log "no yara deny line for $f"
done
wait_until 5 grep -q "deny pid=.* scanner=sha256.* path=$s/hashed\$" "$FANGUARDD_LOG" ||
	fail_with_log "no sha256 deny line for hashed"

# SIGHUP reloads the rules: a set that does not compile is refused with its
# message and the old set stays; a good one replaces it atomically.
cp "$rules" "$FG_STATE/rules.good"
printf 'rule broken2 {\n\tcondition:\n\t\t$nope\n}\n' >"$rules"
kill -HUP "$FANGUARDD_PID"
wait_until 5 grep -q "rules.yar:[0-9]*: undefined string" "$FANGUARDD_LOG" ||
	fail_with_log "SIGHUP with bad rules: no compiler message"
printf 'x\nfanguard-yara-marker-%s\ny\n' "$tag" >"$s/marked2"
fgcheck_ok open "$s/marked2" EPERM 5000
printf 'rule fanguard_test_rule2 { strings: $a = "second-marker-%s" condition: $a }\n' "$tag" >"$rules"
# Count the "loaded" lines: the one from start-up is already there, so wait
# for one more, or marked3 could be opened before the reload took effect.
loaded_before=$(grep -c "yara: loaded $rules" "$FANGUARDD_LOG" || true)
kill -HUP "$FANGUARDD_PID"
wait_until 5 bash -c "[ \$(grep -c 'yara: loaded $rules' '$FANGUARDD_LOG') -gt $loaded_before ]" ||
	fail_with_log "SIGHUP: rules not reloaded"
printf 'second-marker-%s\n' "$tag" >"$s/marked3"
printf 'x\nfanguard-yara-marker-%s\ny\n' "$tag" >"$s/marked4"
fgcheck_ok open "$s/marked3" EPERM 5000
fgcheck_ok open "$s/marked4" ok 5000

stop_fanguardd_within 10 || fail_with_log "fanguardd exited with status $?"
assert_stats_balanced "$stats"
[ "$(stats_get "$stats" denied)" = 6 ] || fail_with_log "denied=$(stats_get "$stats" denied), expected 6"
log "PASS: yara and sha256 verdicts, bad rules refused at start and on SIGHUP, reload"
