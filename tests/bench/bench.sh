#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The fanguard benchmark: in one run, on one scratch tmpfs (private mount
# namespace), opens N files of SIZE bytes with
#   none      no listener
#   floor     a trivial single-threaded allow-all listener (fgbench floor),
#             and the same with FAN_REPORT_PIDFD (floor+pidfd)
#   allow     fanguardd with no denylist (answers at receipt)
#   hash      fanguardd with a denylist, --no-cache (SHA-256 of every file)
#   cold/warm fanguardd with a denylist and the cache: first and second pass
#   fuse      fanguardd --no-cache also watching a fusetest mount whose daemon
#             hangs (4 OPENs never answered) while the local opens run
# with one and PROCS concurrent openers, REPS passes each (medians shown),
# and the listener's CPU per event (utime+stime from /proc/PID/stat).
# Prints a table and a closing "RATIOS" line with the issue's targets.
#
# Usage (root): tests/bench/bench.sh [--smoke] [--files N] [--size BYTES]
#                 [--procs P] [--reps R]
# FG_BUILD_ROOT selects the build (default: build). FG_BENCH_WATCH=--watch-mount
# runs fanguardd with mount marks instead of filesystem marks (the default). --smoke runs tiny sizes
# and checks only that the table came out (the registered bench-smoke test).
smoke=0
for a in "$@"; do [ "$a" = --smoke ] && smoke=1; done
if [ $smoke = 1 ]; then : "${FG_TEST_DEADLINE:=200}"; else : "${FG_TEST_DEADLINE:=1200}"; fi
export FG_TEST_DEADLINE
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
enter_private_mountns "$@"
require_fusectl
FGBENCH=${FGBENCH:-$FG_BUILD_ROOT/tests/bench/fgbench}

N=20000 SIZE=4096 PROCS=2 REPS=3
watch=${FG_BENCH_WATCH:---watch}
case $watch in --watch | --watch-mount) ;; *) fail "FG_BENCH_WATCH: --watch or --watch-mount" ;; esac
[ $smoke = 1 ] && N=300 REPS=1
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) ;;
	--files) N=$2 && shift ;;
	--size) SIZE=$2 && shift ;;
	--procs) PROCS=$2 && shift ;;
	--reps) REPS=$2 && shift ;;
	*) fail "unknown argument $1" ;;
	esac
	shift
done

s=$(scratch_tmpfs 1g)
assert_own_tmpfs "$s"
dir=$s/files
mkdir "$dir" "$s/back" "$s/mnt"
"$FGBENCH" make "$dir" "$N" "$SIZE" || fail "cannot create the files"
for i in 1 2 3 4; do head -c 4096 /dev/urandom >"$s/back/hang$i"; done
head -c 32 /dev/urandom | sha256sum | cut -d' ' -f1 >"$FG_STATE/denylist" # matches nothing
stats=$FG_STATE/stats
tck=$(getconf CLK_TCK)
rows=$FG_STATE/rows
: >"$rows"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'; }
field() { printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# pass LABEL PROCS REPS [LISTENER_PID]: REPS passes over every file; one row
# of medians (p50, p99, opens/s) and CPU µs per event of LISTENER_PID.
pass() {
	local label=$1 procs=$2 reps=$3 lpid=${4:-} i out c0=0 c1 cpu=- p50s= p99s= opss=
	[ -n "$lpid" ] && c0=$(cpu_ticks "$lpid")
	for ((i = 0; i < reps; i++)); do
		out=$(timeout 300 "$FGBENCH" open "$dir" "$N" "$procs") ||
			fail_with_log "$label: fgbench open failed: $out"
		p50s+="$(field "$out" p50_us) " p99s+="$(field "$out" p99_us) "
		opss+="$(field "$out" opens_per_s) "
	done
	if [ -n "$lpid" ]; then
		c1=$(cpu_ticks "$lpid")
		cpu=$(awk -v d=$((c1 - c0)) -v t="$tck" -v n=$((N * reps)) \
			'BEGIN { printf "%.2f", d / t * 1e6 / n }')
	fi
	printf '%s %s %s %s %s %s\n' "$label" "$procs" \
		"$(tr ' ' '\n' <<<"$p50s" | grep . | median)" \
		"$(tr ' ' '\n' <<<"$p99s" | grep . | median)" \
		"$(tr ' ' '\n' <<<"$opss" | grep . | median)" "$cpu" >>"$rows"
	log "$(tail -1 "$rows")"
}

daemon() { # LOGNAME ARGS...: starts fanguardd on the files' mount
	local name=$1
	shift
	start_fanguardd_log "$FG_STATE/$name.log" "$watch" "$s" --stats-file "$stats" \
		--default-verdict allow "$@"
}

daemon_stop() {
	stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
	assert_stats_balanced "$stats" 2>/dev/null
}

# Warm the page cache and dentries once.
"$FGBENCH" open "$dir" "$N" 1 >/dev/null

pass none 1 "$REPS"
pass none "$PROCS" "$REPS"

"$FGBENCH" floor "$s" >"$FG_STATE/floor.out" 2>&1 &
floor=$!
track_pid $floor
wait_until 10 grep -q ready "$FG_STATE/floor.out" || fail "the floor listener did not start"
pass floor 1 "$REPS" $floor
pass floor "$PROCS" "$REPS" $floor
kill -TERM $floor
wait_pid_exited $floor 10 || fail "the floor listener did not stop"
untrack_pid $floor
# The same with FAN_REPORT_PIDFD (the kernel makes a pidfd per event).
"$FGBENCH" floor "$s" pidfd >"$FG_STATE/floor-pidfd.out" 2>&1 &
floor=$!
track_pid $floor
wait_until 10 grep -q ready "$FG_STATE/floor-pidfd.out" || fail "the floor listener did not start"
pass floor+pidfd 1 "$REPS" $floor
kill -TERM $floor
wait_pid_exited $floor 10 || fail "the floor listener did not stop"
untrack_pid $floor

daemon allow
pass allow 1 "$REPS" "$FANGUARDD_PID"
pass allow "$PROCS" "$REPS" "$FANGUARDD_PID"
daemon_stop

daemon hash --deny-hashes "$FG_STATE/denylist" --no-cache
pass hash 1 "$REPS" "$FANGUARDD_PID"
pass hash "$PROCS" "$REPS" "$FANGUARDD_PID"
daemon_stop

# Cold passes need a fresh group (its marks go with it): one daemon per pass.
daemon cold1 --deny-hashes "$FG_STATE/denylist"
pass cold 1 1 "$FANGUARDD_PID"
pass warm 1 "$REPS" "$FANGUARDD_PID"
pass warm "$PROCS" "$REPS" "$FANGUARDD_PID"
marks=$(fanguardd_stats_now "$stats" && stats_get "$stats" cache_marks_added)
daemon_stop
daemon coldp --deny-hashes "$FG_STATE/denylist"
pass cold "$PROCS" 1 "$FANGUARDD_PID"
daemon_stop

# A FUSE daemon that hangs while local opens run.
start_fusetest passthrough "$s/back" "$s/mnt" -o entry_timeout=3600,attr_timeout=3600 \
	--threads 16
at_exit "umount -l '$s/mnt' 2>/dev/null"
assert_own_mount "$s/mnt"
start_fanguardd_log "$FG_STATE/fuse.log" "$watch" "$s" "$watch" "$s/mnt" \
	--deny-hashes "$FG_STATE/denylist" --no-cache --fuse-deadline-ms 500 \
	--stats-file "$stats"
for i in 1 2 3 4; do "$FGCHECK" open "$s/mnt/hang$i" ok 3000 >/dev/null; done
pass fuse-idle 1 "$REPS" "$FANGUARDD_PID"
fusetest_control 'hang-path=/hang*'
for i in 1 2 3 4; do
	"$FGCHECK" open "$s/mnt/hang$i" ok 120000 >/dev/null 2>&1 &
	track_pid $!
done
wait_readers_in_fuse "$FANGUARDD_PID" 4 10 ||
	fail_with_log "the hung OPENs never reached the daemon"
pass fuse-hung 1 "$REPS" "$FANGUARDD_PID"
fusetest_control 'hang-path='
stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
stop_fusetest "$s/mnt" 20

# --- the table -----------------------------------------------------------------
get() { awk -v l="$1" -v p="$2" -v c="$3" '$1 == l && $2 == p { print $c }' "$rows"; }
echo
printf '%-10s %5s %10s %10s %12s %12s %10s\n' config procs p50_us p99_us opens_per_s \
	cpu_us/event p50/none
base=$(get none 1 3)
while read -r l p a b o c; do
	printf '%-10s %5s %10s %10s %12s %12s %10s\n' "$l" "$p" "$a" "$b" "$o" "$c" \
		"$(awk -v a="$a" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
done <"$rows"
echo
r() { awk "BEGIN { printf \"%.2f\", $1 }"; }
none1=$(get none 1 3) floor1=$(get floor 1 3) allow1=$(get allow 1 3) hash1=$(get hash 1 3)
cold1=$(get cold 1 3) warm1=$(get warm 1 3)
echo "files=$N size=$SIZE procs=$PROCS reps=$REPS cache_marks_added=$marks (cold pass)"
echo "RATIOS warm/none=$(r "$warm1/$none1") (<=1.2)" \
	"allow_added/floor_added=$(r "($allow1-$none1)/($floor1-$none1)") (<=1.3)" \
	"cold_added/floor_added=$(r "($cold1-$none1)/($floor1-$none1)")" \
	"hash_added_us=$(r "$hash1-$none1") (<=50)" \
	"allow_tput/floor_tput@$PROCS=$(r "$(get allow "$PROCS" 5)/$(get floor "$PROCS" 5)") (>=1)" \
	"hash_tput/floor_tput@$PROCS=$(r "$(get hash "$PROCS" 5)/$(get floor "$PROCS" 5)") (>=1)" \
	"cpu_us/event allow=$(get allow 1 6) hash=$(get hash 1 6) floor=$(get floor 1 6)" \
	"floor+pidfd=$(get floor+pidfd 1 6) (<=5)" \
	"fuse_hung_p99/idle_p99=$(r "$(get fuse-hung 1 4)/$(get fuse-idle 1 4)") (<=2)"
if [ $smoke = 1 ]; then
	[ "$(wc -l <"$rows")" = 15 ] || fail "the table has $(wc -l <"$rows") rows, want 15"
	[ "$marks" -ge "$N" ] || fail "the cold pass cached $marks of $N files"
fi
