#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Journal fields: when stderr is the journal's stream (JOURNAL_STREAM names
# it, as systemd sets it for a service), fanguardd sends its lines with the
# native journal protocol. A socket this test owns stands in for journald
# (a tmpfs over /run/systemd in the test's private mount namespace). A deny
# verdict must arrive with MESSAGE_ID=3f0b6c1e9d2a4e7b8c5d1a2f6e9b0c47 and
# FANGUARD_VERDICT, _PATH, _PID, _UID, _COMM, _EXE, _MOUNT_CLASS, _REASON,
# _SCANNER, _SHA256, _LATENCY_USEC, at PRIORITY 5 (notice); all while the
# seccomp filter is on. Every entry has at most one CODE_FILE/LINE/FUNC set,
# naming the caller (never log.c). A clamd that accepts and never answers
# makes clean files reach their deadline: the tick's summary arrives with the
# "not covered" MESSAGE_ID (systemd/fanguard.catalog) and its counts.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
require_cmd python3
enter_private_mountns "$@"

[ -d /run/systemd ] || notrun "no /run/systemd to stand a journal socket in"
mount -t tmpfs -o size=1m,mode=0755 fg-test-journal /run/systemd || fail "tmpfs on /run/systemd"
at_exit "umount -l /run/systemd"
mkdir /run/systemd/journal
s=$(scratch_tmpfs 16m)
assert_own_tmpfs "$s"
echo "bad content" >"$s/bad.txt"
sha256sum "$s/bad.txt" | awk '{print $1}' >"$FG_STATE/deny.txt"

echo fine >"$s/ok.txt"
digest=$(cat "$FG_STATE/deny.txt")
# A clamd that accepts and reads, and never answers.
cat >"$FG_STATE/mute-clamd.py" <<'PY'
import socket, sys, threading
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(64)
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)  # held open, never answered
PY
python3 "$FG_STATE/mute-clamd.py" "$FG_STATE/clamd.sock" &
track_pid $!
wait_until 5 test -S "$FG_STATE/clamd.sock" || fail "mute clamd not up"

python3 "$FG_SRC_ROOT/tests/lib/fake-journald.py" /run/systemd/journal/socket \
	"$FG_STATE/journal.log" line 30 2>"$FG_STATE/journal.err" &
py=$!
track_pid $py
wait_until 5 test -S /run/systemd/journal/socket || fail "journal socket not up"

err=$FG_STATE/stderr
: >"$err"
stream=$(stat -c '%d:%i' "$err")
JOURNAL_STREAM=$stream start_fanguardd_log "$err" --watch "$s" --deny-hashes "$FG_STATE/deny.txt" \
	--clamd-socket "$FG_STATE/clamd.sock" --local-deadline-ms 300
if cat "$s/bad.txt" 2>/dev/null; then fail_with_log "denylisted file allowed"; fi
# FANGUARD_COMM/_EXE are looked up after the answer, by the log thread: an
# opener that exits at once may be gone by then ("?"). This one lingers
# (its "sleep 2" is the workload: alive while the log thread looks).
# (_EXE is "?" too for a subject with capabilities the daemon dropped: the
# kernel refuses /proc/PID/exe to a less privileged reader.)
sh -c "{ : <'$s/bad.txt'; } 2>/dev/null; sleep 2; true" &
opener=$!
track_pid $opener
wait_until 5 grep -q 'FANGUARD_VERDICT=deny' "$FG_STATE/journal.log" ||
	fail_with_log "no verdict in the journal; got: $(head -c 2000 "$FG_STATE/journal.log")"
wait_until 5 grep -q "FANGUARD_PID=$opener " "$FG_STATE/journal.log" ||
	fail_with_log "no verdict for the lingering opener"
line=$(grep "FANGUARD_PID=$opener " "$FG_STATE/journal.log" | head -1)
printf '# journal: %s\n' "$line" >&2
for f in "MESSAGE_ID=3f0b6c1e9d2a4e7b8c5d1a2f6e9b0c47" "PRIORITY=5" "FANGUARD_PATH=$s/bad.txt" \
	"FANGUARD_COMM=sh" "FANGUARD_EXE=" "FANGUARD_MOUNT_CLASS=local" \
	"FANGUARD_REASON=scanned" "FANGUARD_PID=" "FANGUARD_LATENCY_USEC=" "MESSAGE=deny pid=" \
	"FANGUARD_UID=0 " "FANGUARD_SCANNER=sha256 " "FANGUARD_SHA256=$digest " \
	"CODE_FILE=../listener/fanguardd/events-log.c"; do
	grep -qF -- "$f" <<<"$line" || fail_with_log "no '$f' in the verdict's journal entry"
done
# One CODE_* set per entry, and never the logging code's own location.
awk '{ n = gsub(/CODE_FILE=/, "&"); if (n > 1) bad++ } END { exit bad > 0 }' "$FG_STATE/journal.log" ||
	fail_with_log "an entry with two CODE_FILE fields: $(grep -m1 'CODE_FILE=.*CODE_FILE=' "$FG_STATE/journal.log")"
grep -q 'CODE_FILE=[^ ]*common/log.c' "$FG_STATE/journal.log" && fail_with_log "CODE_FILE names log.c"
grep -q 'CODE_FILE=[^ ]*fanguardd.c' "$FG_STATE/journal.log" || fail_with_log "no CODE_FILE of the caller"
# Clean files wait for the mute clamd until their deadline: "not covered".
for i in 1 2 3; do cat "$s/ok.txt" >/dev/null || fail_with_log "deadline gave deny"; done
wait_until 10 grep -q 'MESSAGE_ID=8efe1b2232944b88bdaae5db12a8e251' "$FG_STATE/journal.log" ||
	fail_with_log "no 'not covered' summary; got: $(tail -c 2000 "$FG_STATE/journal.log")"
line=$(grep -m1 'MESSAGE_ID=8efe1b2232944b88bdaae5db12a8e251' "$FG_STATE/journal.log")
printf '# journal: %s\n' "$line" >&2
grep -Eq 'FANGUARD_DEADLINE=[1-9]' <<<"$line" || fail_with_log "summary without the deadline count"
grep -q 'PRIORITY=4' <<<"$line" || fail_with_log "summary not a warning"
grep -q 'MESSAGE=Ready' "$FG_STATE/journal.log" || fail_with_log "the Ready line did not go to the journal"
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$FANGUARDD_PID/status" || fail_with_log "not filtered"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
log "PASS"
