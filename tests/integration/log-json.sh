#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# --log-format json: every line fanguardd writes to stderr is one JSON
# object (checked by Python's parser, not json-c), structured fields first.
# A denied file whose name holds a newline, a quote, a backslash, an escape
# character and a byte that is not UTF-8 arrives intact in FANGUARD_PATH
# (the stray byte as U+FFFD) and cannot forge a second line. The deny has
# MESSAGE_ID, FANGUARD_SCANNER, FANGUARD_SHA256 and FANGUARD_UID. The same
# option from fanguard.conf (LogFormat=json) works, and a bad value is refused.
set -euo pipefail
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_fanotify_perm
require_cmd python3
enter_private_mountns "$@"

s=$(scratch_tmpfs 16m)
assert_own_mount "$s"
name=$(printf 'evil\n"quote\\back\033[31mslash\377end')
echo "bad content $RANDOM" >"$s/$name"
sha256sum <"$s/$name" | awk '{print $1}' >"$FG_STATE/deny.txt"
digest=$(cat "$FG_STATE/deny.txt")
err=$FG_STATE/stderr

start_fanguardd_log "$err" --watch "$s" --deny-hashes "$FG_STATE/deny.txt" --log-format json
if cat "$s/$name" >/dev/null 2>&1; then fail_with_log "denylisted file allowed"; fi
wait_until 5 grep -q '"FANGUARD_VERDICT":"deny"' "$err" || fail_with_log "no deny line"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"

python3 - "$err" "$s" "$digest" <<'PY' || fail_with_log "JSON log wrong"
import json, sys
path, mount, digest = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(path, "rb").read().split(b"\n")
assert lines[-1] == b"", "no newline at the end"
objs = []
for raw in lines[:-1]:
    text = raw.decode("utf-8")  # strict: every line is valid UTF-8
    o = json.loads(text)
    assert isinstance(o, dict), text
    for k in ("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "TIMESTAMP"):
        assert k in o, (k, o)
    assert o["SYSLOG_IDENTIFIER"] == "fanguardd", o
    objs.append(o)
assert any(o["MESSAGE"].startswith("Ready") for o in objs), "no Ready line"
deny = [o for o in objs if o.get("FANGUARD_VERDICT") == "deny"]
assert len(deny) == 1, deny
d = deny[0]
want = mount + "/evil\n\"quote\\back\x1b[31mslash\ufffdend"
assert d["FANGUARD_PATH"] == want, (d["FANGUARD_PATH"], want)
assert d["MESSAGE_ID"] == "3f0b6c1e9d2a4e7b8c5d1a2f6e9b0c47", d
assert d["FANGUARD_SCANNER"] == "sha256" and d["FANGUARD_SHA256"] == digest, d
assert d["FANGUARD_UID"] == "0" and d["PRIORITY"] == 5, d
keys = list(d)
assert keys[0] == "MESSAGE_ID", keys
assert keys.index("MESSAGE") > max(i for i, k in enumerate(keys) if k.startswith("FANGUARD_")), keys
assert "CODE_FILE" in d and d["CODE_FILE"].endswith("events-log.c"), d
print("# deny:", json.dumps(d)[:400], file=sys.stderr)
PY

# From the configuration file; a bad value is an error naming it.
printf '[Watch]\nMount = %s\n[Daemon]\nLogFormat = json\nControlSocket =\n' "$s" >"$FG_STATE/fanguard.conf"
"$FANGUARDD" --config "$FG_STATE/fanguard.conf" --check-config 2>"$FG_STATE/check" ||
	fail "LogFormat=json refused: $(cat "$FG_STATE/check")"
: >"$err"
start_fanguardd_log "$err" --config "$FG_STATE/fanguard.conf"
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$err" ||
	fail "LogFormat=json from the file: not JSON: $(head -3 "$err")"
if "$FANGUARDD" --watch "$s" --log-format xml --check-config 2>"$FG_STATE/check"; then
	fail "--log-format xml accepted"
fi
grep -q 'log-format' "$FG_STATE/check" || fail "no error naming --log-format: $(cat "$FG_STATE/check")"
log "PASS"
