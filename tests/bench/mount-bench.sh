#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Mount tracking and coverage benchmark (issue 13), in one run, in a private
# mount namespace, fanguardd --watch-tree on a scratch tmpfs:
#   tmpfs-cycle  fanguardd's CPU (utime+stime, /proc/PID/stat) per mount +
#                umount of a tmpfs under the tree (CYCLES cycles)
#   fuse-cycle   the same for a fusetest mount (classification walks /proc)
#   marked       mount -> marked: a bind of a tmpfs holding a denylisted
#                file is moved under the tree; the time until an open of
#                that file is denied (p50/p99 of SAMPLES, 1 ms poll)
#   fuse-marked  the same for a new fusetest mount
# Memory and threads at 10/100/300 FUSE mounts come from
#   FG_COV_MOUNTS=N tests/integration/coverage.sh   (its RESULT line).
#
# --unrelated N first makes N tmpfs mounts outside the tree (default 150):
# what each mount event costs must not grow with mounts nobody watches.
#
# Usage (root): tests/bench/mount-bench.sh [--smoke] [--cycles N] [--samples N]
#                                          [--fuse-cycles N] [--unrelated N]
args=("$@")
smoke=0 cycles=500 samples=50 fuse_cycles=50 unrelated=150
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 cycles=40 samples=8 fuse_cycles=5 unrelated=20 ;;
	--cycles) cycles=$2 && shift ;;
	--samples) samples=$2 && shift ;;
	--fuse-cycles) fuse_cycles=$2 && shift ;;
	--unrelated) unrelated=$2 && shift ;;
	*) echo "usage: $0 [--smoke] [--cycles N] [--samples N] [--fuse-cycles N] [--unrelated N]" >&2 && exit 2 ;;
	esac
	shift
done
: "${FG_TEST_DEADLINE:=600}"
export FG_TEST_DEADLINE
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$FG_SRC_ROOT/tests/lib/fuse.sh"
require_root
require_fuse
require_fanotify_perm
require_cmd python3
enter_private_mountns "${args[@]}"
require_fusectl

s=$(scratch_tmpfs 64m)
assert_own_mount "$s"
o=$(scratch_tmpfs 16m) # outside the tree: the sources
echo "denylisted content, mount bench $$" >"$o/bad"
sha256sum "$o/bad" | awk '{print $1}' >"$FG_STATE/denylist"
mkdir "$s/t" "$s/f" "$o/b"
echo x >"$o/b/f1"
# Unrelated mounts, outside the tree (undone with $o's lazy unmount).
for ((i = 0; i < unrelated; i++)); do
	mkdir "$o/u$i"
	mount -t tmpfs -o size=64k fg-unrelated "$o/u$i" || fail "mount unrelated tmpfs $i"
done
log "$unrelated unrelated mounts; $(wc -l </proc/self/mountinfo) mounts in this namespace"

start_fanguardd_log "$FG_STATE/fanguardd.log" --watch-tree "$s" \
	--deny-hashes "$FG_STATE/denylist" --default-verdict allow --no-cache --log-level ${FG_BENCH_LOG_LEVEL:-info}
wait_until 5 grep -q "mount watcher:" "$FANGUARDD_LOG" || fail_with_log "no mount watcher line"
log "$(grep -o "mount watcher: .*" "$FANGUARDD_LOG")"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$FANGUARDD_PID/stat"; }
hz=$(getconf CLK_TCK)

# --- tmpfs mount/umount cycles ---------------------------------------------------
c0=$(cpu_ticks) t0=$(now_ms)
python3 - "$s/t" "$cycles" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
path, n = sys.argv[1].encode(), int(sys.argv[2])
for i in range(n):
    if libc.mount(b"bench", path, b"tmpfs", 0, b"size=1m") != 0:
        raise OSError(ctypes.get_errno(), "mount")
    if libc.umount2(path, 2) != 0:  # MNT_DETACH: fanguardd may hold an O_PATH fd a moment
        raise OSError(ctypes.get_errno(), "umount")
EOF
t1=$(now_ms)
sleep 0.5 # the watcher's last re-scan
c1=$(cpu_ticks)
tmpfs_ms=$(awk -v c=$((c1 - c0)) -v n="$cycles" -v hz="$hz" 'BEGIN { printf "%.3f", c * 1000 / hz / n }')
log "tmpfs-cycle: $cycles cycles in $((t1 - t0)) ms; fanguardd CPU $((c1 - c0)) ticks: $tmpfs_ms ms per cycle"

# --- mount -> marked (local) -------------------------------------------------------
# A tmpfs outside the tree holding the file, moved into it: the file exists
# before the mount appears under the tree. Paced: one mount at a time, so
# the CPU here is per mount seen (the cycles above coalesce into fewer
# re-scans when they come faster than the watcher wakes).
c0=$(cpu_ticks)
lat_local=$(FANGUARDD_LOG=$FANGUARDD_LOG python3 - "$o" "$s/t" "$samples" <<'EOF'
import ctypes, os, sys, time, shutil
libc = ctypes.CDLL(None, use_errno=True)
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
MS_MOVE = 8192
out = []
for i in range(n):
    stage = os.path.join(src, "stage")
    os.makedirs(stage, exist_ok=True)
    if libc.mount(b"bench", stage.encode(), b"tmpfs", 0, b"size=1m") != 0:
        raise OSError(ctypes.get_errno(), "mount")
    shutil.copy(os.path.join(src, "bad"), os.path.join(stage, "bad"))
    t0 = time.monotonic()
    if libc.mount(stage.encode(), dst.encode(), None, MS_MOVE, None) != 0:
        raise OSError(ctypes.get_errno(), "move")
    while True:
        try:
            os.close(os.open(os.path.join(dst, "bad"), os.O_RDONLY))
        except PermissionError:
            break
        if time.monotonic() - t0 > 10:
            os.system("(grep bench /proc/self/mountinfo; tail -5 " + os.environ.get("FANGUARDD_LOG", "") + ") >&2"); raise SystemExit("not denied within 10 s")
        time.sleep(0.001)
    out.append((time.monotonic() - t0) * 1e6)
    libc.umount2(dst.encode(), 2)
out.sort()
print("%d %d %d" % (out[len(out) // 2], out[min(len(out) - 1, int(len(out) * 0.99))], out[-1]))
EOF
)
read -r lp50 lp99 lmax <<<"$lat_local"
sleep 0.5
c1=$(cpu_ticks)
paced_ms=$(awk -v c=$((c1 - c0)) -v n="$samples" -v hz="$hz" 'BEGIN { printf "%.3f", c * 1000 / hz / n }')
log "paced tmpfs mount+move+mark+umount: fanguardd CPU $((c1 - c0)) ticks: $paced_ms ms per cycle"
log "marked: tmpfs moved under the tree -> its denylisted file denied: p50 $lp50 us, p99 $lp99 us, max $lmax us ($samples samples)"

# --- FUSE mount/umount cycles and mount -> marked ---------------------------------------
cp "$o/bad" "$o/b/bad"
c0=$(cpu_ticks)
fl=()
for ((i = 0; i < fuse_cycles; i++)); do
	t0=$(now_ms)
	start_fusetest passthrough "$o/b" "$s/f" -o entry_timeout=0 >/dev/null
	end=$(($(now_ms) + 10000))
	until "$FGCHECK" open "$s/f/bad" EPERM 5000 >/dev/null 2>&1; do
		[ "$(now_ms)" -lt $end ] || fail_with_log "fuse mount $i not marked within 10 s"
		sleep 0.002
	done
	fl+=($(($(now_ms) - t0)))
	stop_fusetest "$s/f"
	untrack_pid "$FUSETEST_PID"
done
sleep 0.5
c1=$(cpu_ticks)
fuse_cycles=$((fuse_cycles > 0 ? fuse_cycles : 1))
fuse_ms=$(awk -v c=$((c1 - c0)) -v n="$fuse_cycles" -v hz="$hz" 'BEGIN { printf "%.3f", c * 1000 / hz / n }')
fsorted=$(printf '%s\n' "${fl[@]}" | sort -n)
fp50=$(sed -n "$(((fuse_cycles + 1) / 2))p" <<<"$fsorted")
fmax=$(tail -1 <<<"$fsorted")
log "fuse-cycle: fanguardd CPU $((c1 - c0)) ticks over $fuse_cycles FUSE mount+mark+umount cycles: $fuse_ms ms per cycle"
log "fuse-marked: fusetest started -> denied (includes the daemon's start): p50 $fp50 ms, max $fmax ms"

stop_fanguardd_within 20 || fail_with_log "fanguardd exited with status $?"
grep -o "mount watcher: [0-9]* full reads.*" "$FANGUARDD_LOG" | sed 's/^/# /' >&2 || true
log "RESULT tmpfs-cycle ${tmpfs_ms} ms CPU/cycle (paced: ${paced_ms} ms); marked p50 ${lp50} us p99 ${lp99} us;" \
	"fuse-cycle ${fuse_ms} ms CPU/cycle; fuse-marked p50 ${fp50} ms max ${fmax} ms"
log "PASS"
