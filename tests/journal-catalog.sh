#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The journal catalog and the code agree: every MESSAGE_ID defined in
# listener/fanguardd/message-ids.h has exactly one entry in
# systemd/fanguard.catalog and the reverse; journalctl accepts the file
# (--update-catalog into a root of our own, never the host's database) and
# lists each id with its subject. Unprivileged.
set -euo pipefail
src=${FG_SRC_ROOT:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v journalctl >/dev/null || { echo "no journalctl" >&2; exit 77; }

code=$(sed -n 's/^#define FANGUARD_MESSAGE_[A-Z_]* "\([0-9a-f]\{32\}\)"$/\1/p' \
	"$src/listener/fanguardd/message-ids.h" | sort)
cat=$(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$src/systemd/fanguard.catalog" | sort)
[ -n "$code" ] || fail "no MESSAGE_IDs in message-ids.h"
[ "$(sort -u <<<"$cat")" = "$cat" ] || fail "an id twice in the catalog"
[ "$code" = "$cat" ] || fail "code and catalog differ: $(diff <(echo "$code") <(echo "$cat"))"
# Every id the daemon's sources send is defined there (no literal ids elsewhere).
stray=$(grep -rhoE 'MESSAGE_ID=[0-9a-f]{32}' "$src/listener" "$src/common" | sed 's/MESSAGE_ID=//' | sort -u |
	comm -23 - <(echo "$code") || true)
[ -z "$stray" ] || fail "MESSAGE_IDs in the code without a catalog entry: $stray"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/lib/systemd/catalog" "$root/var/lib/systemd/catalog"
cp "$src/systemd/fanguard.catalog" "$root/usr/lib/systemd/catalog/"
journalctl --root="$root" --update-catalog 2>"$root/err" || fail "journalctl --update-catalog: $(cat "$root/err")"
[ ! -s "$root/err" ] || fail "journalctl complained: $(cat "$root/err")"
list=$(journalctl --root="$root" --list-catalog)
echo "$list" | sed 's/^/# /' >&2
for id in $code; do
	grep -Eq "^$id fanguard: .+" <<<"$list" || fail "$id not listed by journalctl"
done
[ "$(wc -l <<<"$list")" = "$(wc -w <<<"$code")" ] || fail "journalctl lists other entries"
echo PASS
