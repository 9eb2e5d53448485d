#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The fanguard benchmark (issue 18): every configuration in one run, in a
# private mount namespace, on one scratch tmpfs of N files of SIZE bytes.
# Configurations:
#   none       no listener
#   floor      a trivial single-threaded allow-all listener (fgbench floor)
#   allow      fanguardd, no scanner (answers at receipt)
#   hash       fanguardd, SHA-256 denylist, --no-cache (every open hashed)
#   cache      fanguardd, SHA-256 denylist with the cache (W2 = warm opens)
#   prewarm    as cache, plus --prewarm over the files, W1 after the pass
#              is done (the pass's own time: a PREWARM line)
#   clamd      fanguardd + clamd (fd passing), clamd started by the bench
#   clamonacc  clamonacc --fdpass + the same clamd (OnAccessPrevention)
#   fapolicyd  Debian's fapolicyd and rules, with a private config, in a
#              chroot whose only tmpfs is the bench's own (it marks every
#              mount of its watch_fs types: here it sees only ours)
#   fuse       W1 only: fanguardd --no-cache also watching a fusetest mount,
#              idle, then while its daemon hangs four OPENs (fuse-idle/-hung)
#   store      W1 only, 1 opener, on an ext4 image (a loop device over a file
#              on the bench's tmpfs: block-backed, its blocks in memory):
#              none, the floor, and fanguardd (SHA-256 denylist) with a
#              verdict store: pass 1 cold (scanned, kept), fanguardd
#              restarted, pass 2 (rows store-none/-floor/-p1/-p2), and
#              fanguardd without a scanner (store-allow: what answering at
#              receipt costs); pass 2 must be all store hits, no byte scanned
# Workloads (each pass on a fresh listener, so W1 is always cold):
#   W1  open+close every file (PROCS openers for each PROCS in OPENERS)
#   W2  a second pass, open+read, right after W1 on the same listener
#   W3  tar -x of an archive of /usr/include (about 100 MiB of headers;
#       --smoke: /usr/include/linux) then cat of every file, 1 process
# REPS runs each (repetitions outermost, configurations alternating within
# each), medians. CPU per event: utime+stime of the listener's process
# (clamd's separately) over the pass divided by the files opened.
# Also clamd's own floor (fgbench clamd-floor: FILDES over persistent
# IDSESSION connections, 1..8 in parallel) and an SVG chart of W1's per-open
# latency distribution per configuration (gnuplot), in $FG_BENCH_OUT.
# LARGE: one file of LARGE_MIB MiB hashed by fanguardd (its open's latency)
# against `openssl dgst -sha256` on the same file, and a 50 ms deadline on it
# that must answer the open in time.
#
# Usage (root): tests/bench/bench.sh [--smoke] [--files N] [--size BYTES]
#   [--openers "1 2 4 8"] [--reps R] [--configs "none floor ..."] [--out DIR]
#   [--large-mib M (0: skip)]
# FG_BUILD_ROOT selects the build (default: build). --smoke: small sizes,
# one rep, openers 1 and 4; checks that every row came out.
# FG_BENCH_WATCH=--watch-mount runs fanguardd with mount marks instead of
# filesystem marks (the default), for a side-by-side comparison.
# FG_BENCH_PROFILE=CONFIG records where that listener's CPU goes (perf, below).
smoke=0
for a in "$@"; do [ "$a" = --smoke ] && smoke=1; done
if [ $smoke = 1 ]; then : "${FG_TEST_DEADLINE:=170}"; else : "${FG_TEST_DEADLINE:=5400}"; fi
export FG_TEST_DEADLINE
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/clamd.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fanotify_perm
enter_private_mountns "$@"
FGBENCH=${FGBENCH:-$FG_BUILD_ROOT/tests/bench/fgbench}
watch=${FG_BENCH_WATCH:---watch}
case $watch in --watch | --watch-mount) ;; *) fail "FG_BENCH_WATCH: --watch or --watch-mount" ;; esac

N=20000 SIZE=4096 OPENERS="1 2 4 8" REPS=5 W3SRC=/usr/include LARGE_MIB=1024
CONFIGS="none floor allow hash cache prewarm clamd clamonacc fapolicyd fuse store"
OUT=${FG_BENCH_OUT:-$FG_BUILD_ROOT/bench-out}
[ $smoke = 1 ] && N=400 OPENERS="1 4" REPS=1 W3SRC=/usr/include/linux LARGE_MIB=128
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) ;;
	--files) N=$2 && shift ;;
	--size) SIZE=$2 && shift ;;
	--openers) OPENERS=$2 && shift ;;
	--reps) REPS=$2 && shift ;;
	--configs) CONFIGS=$2 && shift ;;
	--out) OUT=$2 && shift ;;
	--large-mib) LARGE_MIB=$2 && shift ;;
	*) fail "unknown argument $1" ;;
	esac
	shift
done
for c in $CONFIGS; do
	case $c in
	clamd | clamonacc) require_clamd ;;
	fapolicyd) require_cmd fapolicyd ;;
	fuse) require_fuse ;;
	store) require_cmd mkfs.ext4 ;;
	esac
done
# The configurations of the main loop (fuse and store have sections of their own).
MAIN=$(printf '%s\n' $CONFIGS | grep -vxE 'fuse|store' | xargs)
if [[ " $CONFIGS " = *" fuse "* ]]; then require_fusectl; fi
require_cmd gnuplot
mkdir -p "$OUT"
OUT=$(realpath "$OUT")

s=$(scratch_tmpfs 2g)
assert_own_mount "$s"
dir=$s/files
mkdir "$dir" "$s/w3"
"$FGBENCH" make "$dir" "$N" "$SIZE" || fail "cannot create the files"
tar -C "$(dirname "$W3SRC")" -cf "$s/w3.tar" "$(basename "$W3SRC")" 2>/dev/null ||
	fail "cannot archive $W3SRC"
W3MB=$(($(stat -c %s "$s/w3.tar") / 1048576))
W3FILES=$(tar -tf "$s/w3.tar" | grep -vc '/$')
head -c 32 /dev/urandom | sha256sum | cut -d' ' -f1 >"$FG_STATE/denylist" # matches nothing
stats=$FG_STATE/stats
tck=$(getconf CLK_TCK)
rows=$OUT/rows.txt
: >"$rows"

cpu_ticks() { # PIDS...: their utime+stime, children reaped included
	local p t=0
	for p in "$@"; do
		t=$((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo $t
}
# The machine: busy CPU ticks (all but idle and iowait) and context switches.
machine() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 } $1 == "ctxt" { print $2 }' /proc/stat | xargs; }
field() { printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# --- the configurations: cfg_start CONFIG sets LPIDS (listener), SPIDS
# (scanner) and RUN (a command prefix: where the workload runs); cfg_stop.
LPIDS= SPIDS= RUN=env
CLAMD_UP=0
clamd_up() {
	[ $CLAMD_UP = 1 ] && return 0
	clamd_setup "$FG_STATE/clamd"
	# clamd's own cache of clean results would answer repeated passes over
	# the same content without scanning: off, every pass measures a scan.
	echo "DisableCache yes" >>"$FG_STATE/clamd/clamd.conf"
	start_clamd "$FG_STATE/clamd"
	CLAMD_UP=1
}

fapd_root() { # a chroot whose only tmpfs is the bench's (see the top)
	local r=$FG_STATE/fapd l
	[ -d "$r/bench" ] && return 0
	mkdir "$r"
	mount -t ramfs fg-bench-fapd "$r"
	at_exit "umount -l '$r' 2>/dev/null"
	mkdir -p "$r/usr" "$r/etc" "$r/dev" "$r/proc" "$r/bench" "$r/var/lib/fapolicyd" \
		"$r/run/fapolicyd" "$r/cfg/rules.d" "$r/cfg/trust.d" "$r/tmp" "$r/fgb"
	for l in bin sbin lib lib32 lib64 libx32; do ln -s "usr/$l" "$r/$l"; done
	mount --bind /usr "$r/usr"
	mount --bind /etc "$r/etc"
	mount --bind /dev "$r/dev"
	mount -t proc proc "$r/proc"
	mount --bind "$s" "$r/bench"
	assert_own_mount "$r/bench"
	cat >"$r/cfg/fapolicyd.conf" <<-EOC
		permissive = 0
		nice_val = 0
		q_size = 640
		uid = 0
		gid = 0
		do_stat_report = 0
		detailed_report = 0
		db_max_size = 50
		subj_cache_size = 1549
		obj_cache_size = 8191
		watch_fs = tmpfs
		trust = file
		integrity = none
		syslog_format = rule,dec,perm,auid,pid,exe,:,path,ftype,trust
		rpm_sha256_only = 0
		allow_filesystem_mark = 0
	EOC
	: >"$r/cfg/fapolicyd.trust"
	cp /etc/fapolicyd/rules.d/*.rules "$r/cfg/rules.d/"
	cat "$r"/cfg/rules.d/*.rules >"$r/cfg/compiled.rules"
	mount --bind "$r/cfg" "$r/etc/fapolicyd"
	cp "$FGBENCH" "$r/fgb/fgbench"
	# The chroot sees only these mounts; the one tmpfs must be ours.
	[ "$(chroot "$r" awk '$3 == "tmpfs" { print $2 }' /proc/mounts)" = /bench ] ||
		fail "the fapolicyd chroot sees other tmpfs mounts"
}

cfg_start() {
	LPIDS= SPIDS= RUN=env
	case $1 in
	none) ;;
	floor)
		"$FGBENCH" floor "$s" >"$FG_STATE/floor.out" 2>&1 &
		LPIDS=$!
		track_pid "$LPIDS"
		wait_until 10 grep -q ready "$FG_STATE/floor.out" || fail "the floor listener did not start"
		;;
	allow | hash | cache | prewarm | clamd)
		local a=("$watch" "$s" --stats-file "$stats" --default-verdict allow)
		case $1 in
		hash) a+=(--deny-hashes "$FG_STATE/denylist" --no-cache) ;;
		cache) a+=(--deny-hashes "$FG_STATE/denylist") ;;
		prewarm) a+=(--deny-hashes "$FG_STATE/denylist" --prewarm "$dir") ;;
		clamd)
			clamd_up
			a+=(--clamd-socket "$CLAMD_SOCKET" --deadline-ms 30000)
			SPIDS=$CLAMD_PID
			;;
		esac
		start_fanguardd_log "$FG_STATE/$1.log" "${a[@]}"
		LPIDS=$FANGUARDD_PID
		if [ "$1" = prewarm ]; then
			wait_until 120 prewarm_done || fail_with_log "the pre-warm pass did not finish"
			grep -o 'Pre-warm: done.*' "$FG_STATE/$1.log" | tail -1 | sed 's/^/PREWARM /' >>"$rows"
		fi
		;;
	clamonacc)
		clamd_up
		local c=$FG_STATE/clamonacc.conf
		sed '/^LogFile/d' "$CLAMD_DIR/clamd.conf" >"$c"
		printf '%s\n' "OnAccessIncludePath $s" "OnAccessPrevention yes" \
			"OnAccessMaxThreads 10" "OnAccessCurlTimeout 30000" \
			"OnAccessExcludeUID 65534" >>"$c" # required; clamd gets fds, opens nothing
		: >"$FG_STATE/clamonacc.log"
		start_bg clamonacc -F --fdpass -c "$c" -l "$FG_STATE/clamonacc.log" \
			>>"$FG_STATE/clamonacc.out" 2>&1
		LPIDS=$LAST_PID SPIDS=$CLAMD_PID
		# Ready once it denies a probe file that carries clamd's marker.
		printf '%s\n' "$CLAMD_MARKER" >"$s/probe"
		wait_until 30 bash -c "! cat '$s/probe'" ||
			fail "clamonacc did not start: $(tail -5 "$FG_STATE/clamonacc.out")"
		rm -f "$s/probe"
		;;
	fapolicyd)
		fapd_root
		: >"$FG_STATE/fapolicyd.log"
		start_bg chroot "$FG_STATE/fapd" fapolicyd --debug-deny
		LPIDS=$LAST_PID
		RUN="chroot $FG_STATE/fapd env"
		wait_until 30 grep -q 'Starting to listen' "$FG_STATE/fapolicyd.log" ||
			fail "fapolicyd did not start: $(tail -5 "$FG_STATE/fapolicyd.log")"
		;;
	*) fail "unknown configuration $1" ;;
	esac
}
cfg_start_logged() {
	case $1 in
	fapolicyd) cfg_start "$1" 2>>"$FG_STATE/fapolicyd.log" ;;
	*) cfg_start "$1" ;;
	esac
}

prewarm_done() {
	fanguardd_stats_now "$stats"
	[ "$(stats_get "$stats" prewarm_state)" = 2 ]
}

cfg_stop() {
	case $1 in
	allow | hash | cache | prewarm | clamd)
		stop_fanguardd_within 30 || fail_with_log "fanguardd exited with status $?"
		assert_stats_balanced "$stats" 2>/dev/null
		;;
	none) ;;
	*)
		kill -TERM "$LPIDS"
		wait_pid_exited "$LPIDS" 20 || fail "$1 did not stop"
		wait "$LPIDS" 2>/dev/null || true
		untrack_pid "$LPIDS"
		;;
	esac
}

# where CONFIG: the files' directory and the bench binary as RUN sees them
wdir() {
	case $1 in
	fapolicyd) echo /bench ;;
	store-*) echo "$e" ;;
	*) echo "$s" ;;
	esac
}
wbin() { [ "$1" = fapolicyd ] && echo /fgb/fgbench || echo "$FGBENCH"; }

# row CONFIG WORKLOAD PROCS REP WALL_MS OPS P50 P99 LCPU_US SCPU_US
row() { echo "$*" >>"$rows"; }

# FG_BENCH_PROFILE=CONFIG: `perf record -g` of that configuration's listener
# during its first W1 passes, into $OUT/perf.CONFIG.PROCS.data (perf report
# -i FILE). Where the time goes, before changing anything.
PERF_PID=
profile_start() { # CONFIG WL PROCS REP
	[ "$1" = "${FG_BENCH_PROFILE:-}" ] && [ "$2" = W1 ] && [ "$4" = 1 ] && [ -n "$LPIDS" ] || return 0
	command -v perf >/dev/null || fail "FG_BENCH_PROFILE needs perf (linux-perf)"
	perf record -q -g -F 4999 -p "$LPIDS" -o "$OUT/perf.$1.$3.data" >/dev/null 2>&1 &
	PERF_PID=$!
	track_pid "$PERF_PID"
	sleep 1 # perf attaches
}
profile_stop() {
	[ -n "$PERF_PID" ] || return 0
	kill -INT "$PERF_PID"
	wait "$PERF_PID" 2>/dev/null || true
	untrack_pid "$PERF_PID"
	PERF_PID=
}

# pass CONFIG WL PROCS REP [read]: one fgbench open pass, one row.
pass() {
	local c=$1 wl=$2 procs=$3 rep=$4 out l0 l1 s0 s1 m0 m1 x0 x1 q=
	[ "$rep" = 1 ] && [ "$wl" = W1 ] && [[ $c != store-* ]] && q=$(wdir "$c")/q.$c.$procs
	profile_start "$c" "$wl" "$procs" "$rep"
	read -r m0 x0 <<<"$(machine)"
	l0=$(cpu_ticks $LPIDS) s0=$(cpu_ticks $SPIDS)
	out=$(timeout 600 $RUN ${q:+FGBENCH_QUANTILES=$q} "$(wbin "$c")" open \
		"$(wdir "$c")/files" "$N" "$procs" ${5:-}) ||
		fail_with_log "$c $wl: fgbench open failed: $out"
	l1=$(cpu_ticks $LPIDS) s1=$(cpu_ticks $SPIDS)
	read -r m1 x1 <<<"$(machine)"
	profile_stop
	[ -n "$q" ] && cp "$s/q.$c.$procs" "$OUT/"
	row "$c" "$wl" "$procs" "$rep" "$(field "$out" wall_ms)" "$(field "$out" opens_per_s)" \
		"$(field "$out" p50_us)" "$(field "$out" p99_us)" \
		"$(awk -v d=$((l1 - l0)) -v t="$tck" -v n="$N" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')" \
		"$(awk -v d=$((s1 - s0)) -v t="$tck" -v n="$N" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')" \
		"$(awk -v d=$((m1 - m0)) -v t="$tck" -v n="$N" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')" \
		"$(awk -v d=$((x1 - x0)) -v n="$N" 'BEGIN { printf "%.2f", d / n }')"
}

w3() { # CONFIG REP: tar -x, then cat of every file
	local c=$1 d t0 t1 l0 l1 s0 s1
	d=$(wdir "$c")
	rm -rf "$s/w3" && mkdir "$s/w3"
	l0=$(cpu_ticks $LPIDS) s0=$(cpu_ticks $SPIDS)
	t0=$(now_ms)
	timeout 600 $RUN bash -c "tar -C '$d/w3' -xf '$d/w3.tar' && find '$d/w3' -type f -print0 | xargs -0 cat >/dev/null" ||
		fail_with_log "$c W3 failed"
	t1=$(now_ms)
	l1=$(cpu_ticks $LPIDS) s1=$(cpu_ticks $SPIDS)
	row "$c" W3 1 "$2" $((t1 - t0)) - - - \
		"$(awk -v d=$((l1 - l0)) -v t="$tck" -v n="$W3FILES" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')" \
		"$(awk -v d=$((s1 - s0)) -v t="$tck" -v n="$W3FILES" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')"
}

# Warm the page cache and dentries once.
"$FGBENCH" open "$dir" "$N" 1 >/dev/null
# A kernel fact behind the rows with several openers: how many openers
# waiting on one group an answer wakes (before any listener runs).
mkdir "$s/herd"
HERD=$(timeout 30 "$FGBENCH" herd "$s/herd" 8) || fail "fgbench herd failed"

# Repetitions outermost, configurations alternating within each: on a shared
# VM the load comes in bursts, and a burst should hit every configuration's
# medians alike, not all of one configuration's runs.
for ((r = 1; r <= REPS; r++)); do
	for c in $MAIN; do
		for p in $OPENERS; do
			cfg_start_logged "$c"
			pass "$c" W1 "$p" $r
			pass "$c" W2 "$p" $r read
			cfg_stop "$c"
			log "$c openers=$p rep $r: $(awk -v c="$c" -v p="$p" -v r=$r '$1 == c && $3 == p && $4 == r' "$rows" | tr '\n' '|')"
		done
		cfg_start_logged "$c"
		w3 "$c" $r
		cfg_stop "$c"
	done
done
if [[ " $CONFIGS " = *" clamd "* ]]; then
	clamd_up
	for p in $OPENERS; do
		for ((r = 1; r <= REPS; r++)); do
			out=$("$FGBENCH" clamd-floor "$CLAMD_SOCKET" "$dir" "$N" "$p") ||
				fail "clamd-floor failed: $out"
			row clamd-floor W1 "$p" $r "$(field "$out" wall_ms)" "$(field "$out" scans_per_s)" - - - -
		done
	done
fi

# --- a large file: fanguardd's SHA-256 against openssl dgst on the same file,
# and the deadline honoured (a deadline shorter than the hash: answered in
# time, with the default verdict).
large_ms() { # the open's latency in ms (one opener, one file)
	local out
	out=$("$FGBENCH" open "$s/large" 1 1) || fail_with_log "large: fgbench open failed: $out"
	field "$out" p50_us | awk '{ printf "%.1f", $1 / 1000 }'
}
if [ "$LARGE_MIB" -gt 0 ]; then
	mkdir "$s/large"
	head -c $((LARGE_MIB << 20)) /dev/urandom >"$s/large/f00000"
	for ((r = 1; r <= REPS; r++)); do
		t0=$(date +%s%N)
		openssl dgst -sha256 "$s/large/f00000" >/dev/null
		row openssl LARGE 1 $r $((($(date +%s%N) - t0) / 1000000)) - - - - -
	done
	start_fanguardd_log "$FG_STATE/large.log" --watch "$s" --stats-file "$stats" \
		--default-verdict allow --deny-hashes "$FG_STATE/denylist" --no-cache \
		--max-scan-bytes $(((LARGE_MIB + 1) << 20)) --deadline-ms 120000
	for ((r = 1; r <= REPS; r++)); do
		row fanguardd LARGE 1 $r "$(large_ms)" - - - - -
	done
	fanguardd_stats_now "$stats"
	[ "$(stats_get "$stats" reason_scanned)" -ge "$REPS" ] ||
		fail_with_log "large: not every open was scanned"
	stop_fanguardd_within 30 || fail_with_log "fanguardd exited with status $?"
	# A deadline of 50 ms on a file that takes longer to hash.
	start_fanguardd_log "$FG_STATE/large-deadline.log" -v --watch "$s" --stats-file "$stats" \
		--default-verdict allow --deny-hashes "$FG_STATE/denylist" --no-cache \
		--max-scan-bytes $(((LARGE_MIB + 1) << 20)) --deadline-ms 50
	LARGE_DEADLINE_MS=$(large_ms)
	stop_fanguardd_within 30 || fail_with_log "fanguardd exited with status $?"
	grep -q 'reason=deadline' "$FG_STATE/large-deadline.log" ||
		fail_with_log "large: the 50 ms deadline was not what answered"
fi

# --- local opens while a FUSE daemon hangs four OPENs (fanguardd --no-cache
# also watching a fusetest mount): p99 against the same with the daemon idle.
if [[ " $CONFIGS " = *" fuse "* ]]; then
	mkdir "$s/back" "$s/mnt"
	for i in 1 2 3 4; do head -c 4096 /dev/urandom >"$s/back/hang$i"; done
	start_fusetest passthrough "$s/back" "$s/mnt" -o entry_timeout=3600,attr_timeout=3600 \
		--threads 16
	at_exit "umount -l '$s/mnt' 2>/dev/null"
	assert_own_mount "$s/mnt"
	start_fanguardd_log "$FG_STATE/fuse.log" --watch "$s" --watch "$s/mnt" \
		--deny-hashes "$FG_STATE/denylist" --no-cache --fuse-deadline-ms 500 \
		--stats-file "$stats"
	LPIDS=$FANGUARDD_PID SPIDS= RUN=env
	for i in 1 2 3 4; do "$FGCHECK" open "$s/mnt/hang$i" ok 3000 >/dev/null; done
	for ((r = 1; r <= REPS; r++)); do pass fuse-idle W1 1 $r; done
	fusetest_control 'hang-path=/hang*'
	for i in 1 2 3 4; do
		"$FGCHECK" open "$s/mnt/hang$i" ok 120000 >/dev/null 2>&1 &
		track_pid $!
	done
	wait_readers_in_fuse "$FANGUARDD_PID" 4 10 ||
		fail_with_log "the hung OPENs never reached the daemon"
	for ((r = 1; r <= REPS; r++)); do pass fuse-hung W1 1 $r; done
	fusetest_control 'hang-path='
	stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
	stop_fusetest "$s/mnt" 20
fi

# --- the verdict store across a restart (see "store" at the top) ---------------
if [[ " $CONFIGS " = *" store "* ]]; then
	e=$FG_STATE/ext4 bstore=$FG_STATE/bench-store
	mkdir "$e"
	truncate -s $((N * 8 + 65536))K "$s/ext4.img"
	mkfs.ext4 -q -F -N $((N + 4096)) -E lazy_itable_init=0,lazy_journal_init=0 "$s/ext4.img" ||
		fail "mkfs.ext4 failed"
	mount -o loop "$s/ext4.img" "$e" || fail "cannot mount the ext4 image"
	at_exit "umount -l '$e' 2>/dev/null"
	assert_own_mount "$e"
	[ "$(stat -f -c %T "$e")" = ext2/ext3 ] || fail "$e is not the ext4 image"
	mkdir "$e/files"
	"$FGBENCH" make "$e/files" "$N" "$SIZE" || fail "cannot create the files on ext4"
	sleep 0.2 # older than the store's settle time
	"$FGBENCH" open "$e/files" "$N" 1 >/dev/null
	store_start() { # SCANNER ARGS...
		start_fanguardd_log "$FG_STATE/store.log" --watch "$e" --stats-file "$stats" \
			--default-verdict allow --verdict-store "$bstore" "$@"
		LPIDS=$FANGUARDD_PID SPIDS= RUN=env
	}
	store_rounds() { # NAME REP SCANNER-ARGS...: pass 1, restart, pass 2
		local name=$1 rep=$2 end
		shift 2
		rm -rf "$bstore"
		store_start "$@"
		pass "$name-p1" W1 1 "$rep"
		end=$(($(now_ms) + 60000))
		until fanguardd_stats_now "$stats" && [ "$(stats_get "$stats" store_inserts)" -ge "$N" ]; do
			[ "$(now_ms)" -lt $end ] || fail_with_log "store: $(grep store_ "$stats")"
			sleep 0.1
		done
		stop_fanguardd_within 30 || fail_with_log "fanguardd exited with status $?"
		store_start "$@"
		pass "$name-p2" W1 1 "$rep"
		fanguardd_stats_now "$stats"
		[ "$(stats_get "$stats" store_hits)" = "$N" ] && [ "$(stats_get "$stats" bytes_scanned)" = 0 ] ||
			fail_with_log "$name pass 2 was not all hits: $(grep -E 'store_|bytes_scanned' "$stats")"
		stop_fanguardd_within 30 || fail_with_log "fanguardd exited with status $?"
	}
	for ((r = 1; r <= REPS; r++)); do
		LPIDS= SPIDS= RUN=env
		pass store-none W1 1 $r
		"$FGBENCH" floor "$e" >"$FG_STATE/floor.out" 2>&1 &
		LPIDS=$!
		track_pid "$LPIDS"
		wait_until 10 grep -q ready "$FG_STATE/floor.out" || fail "the floor listener did not start"
		pass store-floor W1 1 $r
		cfg_stop floor
		# fanguardd's own floor here: no scanner, every open answered at receipt.
		start_fanguardd_log "$FG_STATE/store.log" --watch "$e" --stats-file "$stats" \
			--default-verdict allow
		LPIDS=$FANGUARDD_PID
		pass store-allow W1 1 $r
		stop_fanguardd_within 30 || fail_with_log "fanguardd exited with status $?"
		store_rounds store $r --deny-hashes "$FG_STATE/denylist"
		# With clamd, where a rescan costs most (its files reach clamd).
		if [[ " $CONFIGS " = *" clamd "* ]]; then
			clamd_up
			store_rounds store-clamd $r --clamd-socket "$CLAMD_SOCKET" --deadline-ms 30000
		fi
	done
	log "store: $(awk '$1 ~ /^store-/' "$rows" | tr '\n' '|')"
fi

# --- the table ------------------------------------------------------------------
# med CONFIG WL PROCS COLUMN: the median over the reps
med() {
	awk -v c="$1" -v w="$2" -v p="$3" -v k="$4" '$1 == c && $2 == w && $3 == p { print $k }' "$rows" |
		sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "" }'
}
has() { [[ " $CONFIGS " = *" $1 "* ]]; }
perop() { # CONFIG WL PROCS: wall µs per open (per-opener share)
	local w
	w=$(med "$1" "$2" "$3" 5)
	[ -n "$w" ] && awk -v w="$w" -v n="$N" -v p="$3" 'BEGIN { printf "%.2f", w * 1000 * p / n }'
}
r2() { awk "BEGIN { v = $1; printf \"%.2f\", v }" 2>/dev/null || echo -; }
{
	echo "files=$N size=$SIZE reps=$REPS (medians) openers=\"$OPENERS\" W3=$W3SRC ($W3MB MiB, $W3FILES files)"
	echo "kernel=$(uname -r) cpus=$(nproc) $(date -u +%FT%TZ)"
	echo
	echo "W1 (cold open+close) and W2 (second pass, open+read): added = wall µs per open minus none's;"
	echo "x_none/x_floor: opens/s relative to none and to the floor; cpu: listener (and clamd) µs per event;"
	echo "mach_us: the whole machine's busy CPU µs per open (openers, listener, kernel, anything else running);"
	echo "csw: the machine's context switches per open"
	printf '%-10s %2s %3s %10s %10s %9s %8s %8s %9s %8s %8s %8s %6s\n' config wl op opens/s added_us \
		x_none x_floor cpu_us clamd_us p50_us p99_us mach_us csw
	for c in ${MAIN} $(has fuse && echo fuse-idle fuse-hung) $(has clamd && echo clamd-floor); do
		for wl in W1 W2; do
			[ "$c" = clamd-floor ] && [ $wl = W2 ] && continue
			for p in $OPENERS; do
				o=$(med "$c" $wl "$p" 6)
				[ -n "$o" ] || continue
				a=$(r2 "$(perop "$c" $wl "$p") - $(perop none $wl "$p")")
				xn=$(r2 "$o / $(med none $wl "$p" 6)")
				xf=$(has floor && r2 "$o / $(med floor $wl "$p" 6)" || echo -)
				printf '%-10s %2s %3s %10s %10s %9s %8s %8s %9s %8s %8s %8s %6s\n' "$c" $wl "$p" "$o" "$a" \
					"$xn" "$xf" "$(med "$c" $wl "$p" 9)" "$(med "$c" $wl "$p" 10)" \
					"$(med "$c" $wl "$p" 7)" "$(med "$c" $wl "$p" 8)" \
					"$(med "$c" $wl "$p" 11 | sed 's/^$/-/')" "$(med "$c" $wl "$p" 12 | sed 's/^$/-/')"
			done
		done
	done
	echo
	echo "W3 (tar -x + cat, 1 process): seconds, ratio to none and to the floor, CPU µs per file"
	for c in $MAIN; do
		w=$(med "$c" W3 1 5)
		printf '%-10s %8s s %8s %8s %8s %8s\n' "$c" "$(r2 "$w / 1000")" "$(r2 "$w / $(med none W3 1 5)")" \
			"$(has floor && r2 "$w / $(med floor W3 1 5)" || echo -)" "$(med "$c" W3 1 9)" "$(med "$c" W3 1 10)"
	done
	echo
	if [ "$LARGE_MIB" -gt 0 ]; then
		lo=$(med openssl LARGE 1 5) lf=$(med fanguardd LARGE 1 5)
		echo "LARGE ($LARGE_MIB MiB, tmpfs): openssl dgst -sha256 ${lo} ms ($(r2 "$LARGE_MIB / $lo * 1000") MiB/s)," \
			"fanguardd open ${lf} ms ($(r2 "$LARGE_MIB / $lf * 1000") MiB/s); deadline 50 ms: open answered in ${LARGE_DEADLINE_MS} ms"
		echo
	fi
	if has store; then
		sn=$(perop store-none W1 1)
		echo "STORE (ext4 image on loop, $N files, 1 opener): W1 µs per open, added over none:" \
			"floor $(r2 "$(perop store-floor W1 1) - $sn")," \
			"pass 1 cold $(r2 "$(perop store-p1 W1 1) - $sn")," \
			"fanguardd without scanner $(r2 "$(perop store-allow W1 1) - $sn")," \
			"pass 2 after a restart $(r2 "$(perop store-p2 W1 1) - $sn");" \
			"pass 2 wall / floor's $(r2 "$(med store-p2 W1 1 5) / $(med store-floor W1 1 5)")," \
			"/ fanguardd without scanner's $(r2 "$(med store-p2 W1 1 5) / $(med store-allow W1 1 5)")," \
			"/ pass 1's $(r2 "$(med store-p2 W1 1 5) / $(med store-p1 W1 1 5)")"
		if has clamd; then
			echo "  with clamd: pass 1 cold $(r2 "$(perop store-clamd-p1 W1 1) - $sn")," \
				"pass 2 after a restart $(r2 "$(perop store-clamd-p2 W1 1) - $sn");" \
				"pass 2 / pass 1 $(r2 "$(med store-clamd-p2 W1 1 5) / $(med store-clamd-p1 W1 1 5)")," \
				"pass 2 / floor's $(r2 "$(med store-clamd-p2 W1 1 5) / $(med store-floor W1 1 5)")"
		fi
		echo
	fi
	has prewarm && echo "pre-warm pass (the last rep's, fanguardd log): $(grep '^PREWARM ' "$rows" | tail -1 | cut -d' ' -f2-)" && echo
	echo "kernel: one permission answer woke $(field "$HERD" others_woken) of the $(($(field "$HERD" openers) - 1)) other openers"
	echo "  waiting on the same group (fgbench herd): each answer costs a wake-up per waiting opener"
	echo
	echo "GOALS (issue 18; ok/MISS)"
	goal() { # TEXT VALUE OP LIMIT
		local ok
		ok=$(awk -v v="$2" -v l="$4" -v o="$3" 'BEGIN { if (o == "-") { print "(context)"; exit }
			if (v == "" || v == "-") { print "n/a"; exit }
			print ((o == "<=" && v <= l) || (o == ">=" && v >= l)) ? "ok" : "MISS" }')
		printf '  %-52s %8s %s %-6s %s\n' "$1" "$2" "$3" "$4" "$ok"
	}
	for p in $OPENERS; do
		has allow && has floor &&
			goal "allow opens/s / floor's, $p openers" "$(r2 "$(med allow W1 "$p" 6) / $(med floor W1 "$p" 6)")" ">=" 1
		has hash && has allow &&
			goal "hash opens/s / allow's, $p openers" "$(r2 "$(med hash W1 "$p" 6) / $(med allow W1 "$p" 6)")" ">=" 0.8
		has hash && has allow &&
			goal "hash cpu/event - allow's (µs), $p openers" "$(r2 "$(med hash W1 "$p" 9) - $(med allow W1 "$p" 9)")" "<=" 10
		has cache && goal "warm (cache W2) per open / none's, $p openers" \
			"$(r2 "$(perop cache W2 "$p") / $(perop none W2 "$p")")" "<=" 1.1
		has prewarm && goal "first opens after a pre-warm (W1) / none's, $p openers" \
			"$(r2 "$(perop prewarm W1 "$p") / $(perop none W1 "$p")")" "<=" 1.1
	done
	has store && goal "store: W1 after a restart, wall / the floor's (ext4)" \
		"$(r2 "$(med store-p2 W1 1 5) / $(med store-floor W1 1 5)")" "<=" 1.2
	has store && goal "store: W1 after a restart / fanguardd without scanner" \
		"$(r2 "$(med store-p2 W1 1 5) / $(med store-allow W1 1 5)")" "<=" 1.2
	has fuse && goal "local p99 while FUSE hangs / idle, 1 opener" \
		"$(r2 "$(med fuse-hung W1 1 8) / $(med fuse-idle W1 1 8)")" "<=" 2
	[ "$LARGE_MIB" -gt 0 ] &&
		goal "large file: fanguardd throughput / openssl dgst's" "$(r2 "$(med openssl LARGE 1 5) / $(med fanguardd LARGE 1 5)")" ">=" 0.8
	[ "$LARGE_MIB" -gt 0 ] && goal "large file, 50 ms deadline: open answered (ms)" "$LARGE_DEADLINE_MS" "<=" 1000
	if has clamd && has clamonacc; then
		# Every opener count: at 1, a file at a time, clamd's own floor
		# (below) bounds what any client can reach.
		for p in $OPENERS; do
			goal "clamd W1 added / clamonacc's, $p openers" \
				"$(r2 "($(perop clamd W1 "$p") - $(perop none W1 "$p")) / ($(perop clamonacc W1 "$p") - $(perop none W1 "$p"))")" "<=" 0.5
		done
		for p in $OPENERS; do
			goal "clamonacc W1 per open / clamd's floor, $p openers" \
				"$(r2 "$(perop clamonacc W1 "$p") / $(perop clamd-floor W1 "$p")")" "-" "-"
		done
		goal "clamd W3 added / clamonacc's" \
			"$(r2 "($(med clamd W3 1 5) - $(med none W3 1 5)) / ($(med clamonacc W3 1 5) - $(med none W3 1 5))")" "<=" 0.3
		for p in $OPENERS; do
			goal "clamd W1 per open / clamd's floor, $p openers" \
				"$(r2 "$(perop clamd W1 "$p") / $(perop clamd-floor W1 "$p")")" "<=" 1.3
		done
	fi
} | tee "$OUT/table.txt"

# --- the chart: W1's per-open latency distribution per configuration ---------
p1=$(echo $OPENERS | cut -d' ' -f1)
{
	echo "set terminal svg size 960,600 dynamic background rgb 'white'"
	echo "set output '$OUT/latency.svg'"
	echo "set title 'fanguard bench: per-open latency, W1 (cold open+close), $p1 opener, $N files of $SIZE B'"
	echo "set xlabel 'latency per open (µs, log scale)'"
	echo "set ylabel 'percentile'"
	echo "set logscale x"
	echo "set key bottom right"
	echo "set grid"
	printf 'plot '
	sep=
	for c in $CONFIGS; do
		[ -s "$OUT/q.$c.$p1" ] || continue
		printf "%s'%s' using 2:1 with lines lw 2 title '%s'" "$sep" "$OUT/q.$c.$p1" "$c"
		sep=', '
	done
	echo
} >"$OUT/latency.gp"
gnuplot "$OUT/latency.gp" || fail "gnuplot failed"
echo "chart: $OUT/latency.svg (data: $OUT/q.CONFIG.$p1, percentile then µs)"
echo "chart numbers (µs at p50 / p90 / p99 / p99.9, $p1 opener):"
for c in $CONFIGS; do
	[ -s "$OUT/q.$c.$p1" ] || continue
	printf '  %-10s %s\n' "$c" "$(awk '$1 == 50 || $1 == 90 || $1 == 99 || $1 == "99.9" { printf "%s ", $2 }' "$OUT/q.$c.$p1")"
done

if [ $smoke = 1 ]; then
	for c in $MAIN; do
		for p in $OPENERS; do
			[ -n "$(med "$c" W1 "$p" 6)" ] && [ -n "$(med "$c" W2 "$p" 6)" ] ||
				fail "no W1/W2 row for $c at $p openers"
		done
		[ -n "$(med "$c" W3 1 5)" ] || fail "no W3 row for $c"
	done
	grep -q '<svg' "$OUT/latency.svg" || fail "no chart"
	if has store; then
		for c in store-none store-floor store-allow store-p1 store-p2; do
			[ -n "$(med $c W1 1 5)" ] || fail "no $c row"
		done
	fi
	if has fuse; then
		[ -n "$(med fuse-hung W1 1 8)" ] || fail "no fuse-hung row"
	fi
fi
