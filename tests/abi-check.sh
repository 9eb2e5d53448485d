#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The exported ABI of libfanguard only grows:
#   abi-check.sh LIB REFERENCE HEADER MANDIR        check (a meson test)
#   abi-check.sh LIB REFERENCE --update             rewrite REFERENCE from LIB
# REFERENCE (listener/libfanguard.abi) lists "symbol@@NODE" as exported by
# a release, from nm -D --defined-only. The check fails when a listed symbol
# is gone or moved to another version node (an ABI break), when LIB exports
# a symbol REFERENCE lacks (add it with --update and commit it, so that its
# removal is caught later), when anything but fanguard_* is exported, when
# fanguard.h declares a function the library does not export or the other
# way round, and when an exported function has no man page (NAME section of
# a man/*.3.scd page).
set -euo pipefail
lib=$1 ref=$2
exported() {
	# Defined dynamic symbols with their version node; the node names
	# themselves are absolute symbols (type A).
	nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sort -u
}
if [ "${3:-}" = --update ]; then
	{
		echo "# libfanguard exported symbols (tests/abi-check.sh --update). Only ever append."
		exported
	} >"$ref"
	echo "wrote $ref"
	exit 0
fi
header=$3 mandir=$4
fail=0
bad() {
	echo "abi-check: $*" >&2
	fail=1
}
now=$(exported)
want=$(grep -v '^#' "$ref" | sed '/^$/d' | sort -u)
[ -n "$now" ] || bad "$lib exports nothing"
while read -r s; do
	[ -n "$s" ] || continue
	grep -qxF -- "$s" <<<"$now" || bad "removed or re-versioned (ABI break): $s"
done <<<"$want"
while read -r s; do
	[ -n "$s" ] || continue
	grep -qxF -- "$s" <<<"$want" ||
		bad "new symbol not in $(basename "$ref"): $s (run: $0 $lib $ref --update, commit it)"
	case $s in
	fanguard_*@@LIBFANGUARD_*) ;;
	*) bad "exported but not a versioned fanguard_* symbol: $s" ;;
	esac
done <<<"$now"
names=$(sed 's/@.*//' <<<"$now" | sort -u)
declared=$(grep -oE '\bfanguard_[a-z0-9_]+\(' "$header" | tr -d '(' | sort -u)
for f in $(comm -23 <(echo "$declared") <(echo "$names")); do
	bad "declared in $(basename "$header") but not exported: $f"
done
for f in $(comm -13 <(echo "$declared") <(echo "$names")); do
	bad "exported but not declared in $(basename "$header"): $f"
done
# Every function is named in the NAME section of some section-3 page.
documented=$(for p in "$mandir"/*.3.scd; do
	awk '/^# NAME/ { on = 1; next } /^# / { on = 0 } on' "$p"
done | grep -oE '\bfanguard_[a-z0-9_]+' | sort -u)
for f in $(comm -23 <(echo "$names") <(echo "$documented")); do
	bad "no man page names $f (add it to the NAME section of a man/*.3.scd page)"
done
[ $fail = 0 ] || exit 1
echo "abi-check: $(wc -l <<<"$now") symbols, none removed, all declared and documented"
