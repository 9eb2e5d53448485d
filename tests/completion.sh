#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completions load in bash and complete: fanguardd's every option
# from its --help (the script is generated from the same settings table),
# enum choices (--log-format, --seccomp, --default-verdict), file names for
# paths; fanguardctl's verbs, options, and file names after "scan".
# Usage: completion.sh FANGUARDD_COMPLETION FANGUARDCTL_COMPLETION. Unprivileged.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
d_comp=$1 c_comp=$2
fanguardd=${FG_BUILD_ROOT:?}/listener/fanguardd/fanguardd
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/sub"
: >"$dir/sub/file.conf"

# complete WORDS...: COMPREPLY, one per line, for the last word.
cat >"$dir/run.bash" <<'SH'
. "$1"; . "$2"; shift 2
complete -p fanguardd >/dev/null && complete -p fanguardctl >/dev/null || { echo "not registered"; exit 1; }
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
"_${COMP_WORDS[0]}"
printf '%s\n' "${COMPREPLY[@]}"
SH
complete() { bash --norc --noprofile "$dir/run.bash" "$d_comp" "$c_comp" "$@"; }

# Every long option --help shows is offered, and nothing else.
want=$("$fanguardd" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' | sort)
got=$(complete fanguardd -- | sort)
[ "$want" = "$got" ] || fail "fanguardd options differ from --help: $(diff <(echo "$want") <(echo "$got"))"
[ "$(complete fanguardd --log-f)" = "--log-format" ] || fail "--log-f"
[ "$(complete fanguardd --log-format '' | sort | tr '\n' ' ')" = "json text " ] || fail "--log-format choices"
[ "$(complete fanguardd --seccomp '' | sort | tr '\n' ' ')" = "errno kill log off " ] || fail "--seccomp choices"
[ "$(complete fanguardd --default-verdict a)" = "allow" ] || fail "--default-verdict"
[ "$(complete fanguardd --config "$dir/sub/fi")" = "$dir/sub/file.conf" ] || fail "--config FILE"
[ "$(complete fanguardd -w "$dir/su")" = "$dir/sub" ] || fail "-w PATH"
[ -z "$(complete fanguardd --deadline-ms 1)" ] || fail "a number completed"

[ "$(complete fanguardctl '' | sort | tr '\n' ' ')" = "metrics mounts quarantine reload scan stats status top " ] ||
	fail "fanguardctl verbs: $(complete fanguardctl '')"
[ "$(complete fanguardctl --socket /x sc)" = "scan" ] || fail "verb after --socket"
[ "$(complete fanguardctl scan "$dir/sub/f")" = "$dir/sub/file.conf" ] || fail "scan PATH"
[ "$(complete fanguardctl top --it)" = "--iterations" ] || fail "top --iterations"
[ -z "$(complete fanguardctl status x)" ] || fail "status takes no operands"
[ "$(complete fanguardctl quarantine re)" = "restore" ] || fail "quarantine restore"
# Every verb fanguardctl --help lists is completed.
verbs=$(complete fanguardctl '')
for v in $("$FG_BUILD_ROOT/listener/fanguardctl/fanguardctl" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF && !/Commands:/ {print $1}'); do
	grep -qx -- "$v" <<<"$verbs" || fail "verb $v not completed"
done
echo PASS
