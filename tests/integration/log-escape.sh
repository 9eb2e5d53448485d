#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hostile file names cannot forge log lines (issue 17). Files named with a
# newline (carrying a fake "allow" line), CR, ESC sequences, invalid UTF-8,
# a C1 CSI and a right-to-left override, plus one path so long that its
# escaped form passes the line cap, are opened under fanguardd and denied.
#  - stderr: exactly one line per verdict, fields before the path, no raw
#    control byte, no invalid UTF-8, the long one capped with the marker
#    after every field;
#  - journal (a fake journald socket, as in systemd-journal.sh): MESSAGE is
#    one escaped line; FANGUARD_PATH carries the name's exact bytes (the
#    native protocol's binary-safe form).
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
require_cmd python3
enter_private_mountns "$@"

s=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s"
printf 'hostile content\n' >"$FG_STATE/evil"
sha256sum "$FG_STATE/evil" | awk '{print $1}' >"$FG_STATE/deny.txt"

names=(
	$'forge\nfanguardd: allow pid=1 class=local reason=scanned latency_us=1 path=forged'
	$'cr\rdeny'
	$'esc\e[2J\e[31mred\e]0;title\a'
	$'bad\xff\xfe\xc3utf8'
	$'csi\xc2\x9b31m'
	$'rlo\xe2\x80\xaetxt.exe'
)
for n in "${names[@]}"; do
	cp "$FG_STATE/evil" "$s/$n"
done
# A path whose escaped form (4 bytes per invalid byte) passes the 8 KiB cap.
long=$s
for i in $(seq 1 14); do
	long=$long/$(printf '\xff%.0s' $(seq 1 250))
done
mkdir -p "$long"
cp "$FG_STATE/evil" "$long/deep"
n_files=$((${#names[@]} + 1))

# Opens every hostile file once; each must be denied.
open_all() {
	local n
	for n in "${names[@]}" "${long#"$s"/}/deep"; do
		if timeout 5 cat -- "$s/$n" >/dev/null 2>&1; then
			fail_with_log "denylisted file allowed: $(printf %q "$n")"
		fi
	done
}

# --- stderr ---
log=$FG_STATE/stderr.log
: >"$log"
start_fanguardd_log "$log" --watch "$s" --deny-hashes "$FG_STATE/deny.txt"
open_all
# count_ge FILE PATTERN N: re-counted at every try (an argument "$(...)"
# to wait_until would be counted once, before the first try).
count_ge() { [ "$(grep -c -- "$2" "$1")" -ge "$3" ]; }
wait_until 10 count_ge "$log" 'deny pid=' "$n_files" ||
	fail_with_log "expected $n_files deny lines, got $(grep -c 'deny pid=' "$log")"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
python3 - "$log" "$n_files" <<'PY' || fail_with_log "stderr log checks failed"
import sys
data = open(sys.argv[1], "rb").read()
want = int(sys.argv[2])
bad = [b for b in data if (b < 0x20 and b != 0x0a) or b == 0x7f]
assert not bad, "raw control bytes in the log: %r" % bad[:10]
text = data.decode("utf-8")  # raises on invalid UTF-8
for ch in ("\u009b", "\u202e", "\u2028"):
    assert ch not in text, "unescaped %r" % ch
lines = text.split("\n")
deny = [l for l in lines if "deny pid=" in l]
assert len(deny) == want, "deny lines: %d, want %d:\n%s" % (len(deny), want, "\n".join(deny))
assert not any(l.startswith("fanguardd: allow pid=1") for l in lines), "a forged line"
for l in deny:
    head, _, path = l.partition(" path=")
    for f in ("class=local", "reason=scanned", "scanner=sha256", "latency_us="):
        assert f in head, "field %s not before the path: %s" % (f, l[:200])
checks = {"forge\\nfanguardd: allow pid=1": 1, "cr\\rdeny": 1, "esc\\x1b[2J\\x1b[31mred\\x1b]0;title\\x07": 1,
          "bad\\xff\\xfe\\xc3utf8": 1, "csi\\u009b31m": 1, "rlo\\u202etxt.exe": 1}
for k, n in checks.items():
    got = sum(1 for l in deny if k in l)
    assert got == n, "%r in %d lines" % (k, got)
capped = [l for l in deny if l.endswith("...[truncated]")]
assert len(capped) == 1 and "\\xff" * 100 in capped[0], "long path not capped: %d" % len(capped)
# 8 KiB cap (log.c LOG_LINE_MAX) plus the "fanguardd: " ident.
assert len(capped[0].encode()) <= 8191 + len("fanguardd: "), len(capped[0])
print("# stderr: %d deny lines, one per event; capped line %d bytes" % (len(deny), len(capped[0])),
      file=sys.stderr)
PY

# --- journal ---
[ -d /run/systemd ] || notrun "no /run/systemd to stand a journal socket in"
mount -t tmpfs -o size=1m,mode=0755 fg-test-journal /run/systemd || fail "tmpfs on /run/systemd"
at_exit "umount -l /run/systemd"
mkdir /run/systemd/journal
python3 "$FG_SRC_ROOT/tests/lib/fake-journald.py" /run/systemd/journal/socket \
	"$FG_STATE/journal.json" json 2>"$FG_STATE/journal.err" &
track_pid $!
wait_until 5 test -S /run/systemd/journal/socket || fail "journal socket not up"
err=$FG_STATE/stderr2
: >"$err"
JOURNAL_STREAM=$(stat -c '%d:%i' "$err") start_fanguardd_log "$err" --watch "$s" \
	--deny-hashes "$FG_STATE/deny.txt"
open_all
wait_until 30 count_ge "$FG_STATE/journal.json" FANGUARD_VERDICT "$n_files" ||
	fail_with_log "expected $n_files verdict entries, got $(grep -c 'FANGUARD_VERDICT' "$FG_STATE/journal.json") of $(wc -l <"$FG_STATE/journal.json") entries; $(cat "$FG_STATE/journal.err")"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
printf '%s\0' "${names[@]/#/$s/}" "$long/deep" >"$FG_STATE/paths"
python3 - "$FG_STATE/journal.json" "$FG_STATE/paths" <<'PY' || fail_with_log "journal checks failed"
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
paths = set(p for p in open(sys.argv[2], "rb").read().split(b"\0") if p)
verdicts = [e for e in entries if "FANGUARD_VERDICT" in e]
got = set(bytes(e["FANGUARD_PATH"]) for e in verdicts)
assert got == paths, "FANGUARD_PATH bytes differ: %r" % (got ^ paths)
for e in entries:
    m = bytes(e["MESSAGE"])
    assert b"\n" not in m and b"\r" not in m and b"\x1b" not in m, m[:200]
    m.decode("utf-8")
print("# journal: %d verdict entries, exact FANGUARD_PATH, single-line MESSAGE" % len(verdicts),
      file=sys.stderr)
PY
log "PASS"
