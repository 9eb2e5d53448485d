#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The packages on a real systemd: a fresh Debian root (debootstrap, minbase)
# on a tmpfs this test mounts in its private mount namespace, the built .debs
# installed with `dpkg --root`, booted with `systemd-nspawn -b`. Proves, with
# the shipped unit and default configuration (nothing edited but the
# denylist):
#   - installing enables the unit, and it starts on boot: Type=notify READY
#     (active/running with a STATUS= line), under the hardened unit (bounding
#     set, no_new_privs, seccomp, and the init mount namespace, so that mount
#     marks see every open);
#   - it is useful: a file whose digest is added to the denylist is denied
#     after `systemctl reload` (and was allowed before);
#   - in a private mount namespace (ProtectSystem=strict and friends, as a
#     probe: the unit has none), a filesystem mark still sees outside opens
#     and a mount mark does not;
#   - the watchdog keeps it alive (pings, no restart), and is enforced: a
#     SIGSTOPped daemon is killed and restarted by systemd;
#   - removing the package on the running system stops it, installing it
#     starts it; `systemctl stop` stops it cleanly, and the file opens again;
#   - `systemctl restart` keeps the fanotify group in the fd store: no open
#     in a loop gets through during the restart (measured: how long they
#     wait); a failed restart and a final stop release the stored group;
#   - a start without CAP_SYS_ADMIN (the unit without it, a non-root start,
#     a container without it) and a container whose seccomp filter blocks
#     fanotify fail and name what is missing.
# Packages: FG_DEB_DIR (from tests/package/build-debs.sh, as CI does), else
# built here. The Debian mirror: FG_DEBIAN_MIRROR, else apt's.
#
# Safety: fanguardd runs only inside the containers and marks only their
# /dev/shm, a tmpfs nspawn mounts for each container inside this test's
# tmpfs. Each container is killed by PID at exit (its PID 1 first, which
# ends its PID namespace), then the tmpfs is unmounted.
set -euo pipefail
: "${FG_TEST_DEADLINE:=290}"
. "$FG_SRC_ROOT/tests/lib/common.sh"
require_root
require_cmd systemd-nspawn debootstrap dpkg dpkg-deb nsenter
require_fanotify_perm
enter_private_mountns "$@"

t_start=$(now_ms)
s=$(scratch_tmpfs 3g)
assert_own_tmpfs "$s"
# nspawn keeps per-machine state under /run/systemd/nspawn; keep it on a
# tmpfs of ours (it refuses to clean up state on a disk filesystem).
mkdir -p /run/systemd/nspawn
mount -t tmpfs -o size=16m fg-nspawn /run/systemd/nspawn
at_exit "umount -l /run/systemd/nspawn"

# --- the packages ------------------------------------------------------------
if [ -n "${FG_DEB_DIR:-}" ]; then
	debs=$FG_DEB_DIR
else
	debs=$s/debs
	# timeout(1) kills the whole process group when it expires.
	timeout -s KILL 150 bash "$FG_SRC_ROOT/tests/package/build-debs.sh" "$debs" >/dev/null ||
		fail "building the packages failed (or took over 150 s)"
fi
pkgs=()
for p in fanguard libfanguard0 libfanguard-dev; do
	f=$(ls "$debs"/${p}_*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ] || fail "no ${p}_*.deb in $debs"
	pkgs+=("$f")
done
t_debs=$(now_ms)

# --- a fresh root ------------------------------------------------------------
# The packages' dependencies (first alternative, no versions), so that no
# apt run inside the root is needed.
deps=$(for f in "${pkgs[@]}"; do dpkg-deb -f "$f" Depends; done | tr ',' '\n' |
	sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep -Ev '^$|^(fanguard|libfanguard)' |
	sort -u | paste -sd, -)
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
mirror=${FG_DEBIAN_MIRROR:-$({ cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	/etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
	sed -nE 's#^(deb[[:space:]]+(\[[^]]*\][[:space:]]+)?|URIs:[[:space:]]*)(https?://[^[:space:]]+/debian)/?([[:space:]].*)?$#\3#p' |
	head -n 1 || true)}
[ -n "$mirror" ] || notrun "no Debian mirror in apt's sources (set FG_DEBIAN_MIRROR)"
root=$s/root
log "debootstrap $suite from $mirror, with systemd,$deps"
if ! timeout -s KILL 180 debootstrap --variant=minbase --include="systemd,$deps" "$suite" "$root" "$mirror" \
	>"$FG_STATE/debootstrap.log" 2>&1; then
	tail -n 20 "$FG_STATE/debootstrap.log" >&2
	if grep -q 'Failed getting release file' "$FG_STATE/debootstrap.log"; then
		notrun "Debian mirror $mirror not reachable"
	fi
	fail "debootstrap failed (or took over 180 s)"
fi
t_root=$(now_ms)

dpkg --root="$root" -i "${pkgs[@]}" >"$FG_STATE/dpkg.log" 2>&1 ||
	{ cat "$FG_STATE/dpkg.log" >&2; fail "dpkg -i into the fresh root failed"; }
for p in fanguard libfanguard0 libfanguard-dev; do
	grep -q '^Status: install ok installed' <<<"$(dpkg --root="$root" -s "$p" 2>/dev/null)" ||
		fail "$p is not installed in the root"
done
[ -L "$root/etc/systemd/system/sysinit.target.wants/fanguardd.service" ] ||
	fail "installing did not enable fanguardd.service"
[ -f "$root/etc/fanguard/fanguard.conf" ] && [ -f "$root/etc/fanguard/deny.sha256" ] ||
	fail "no default configuration installed"
# For the remove and reinstall on the running system below.
mkdir "$root/root/debs"
cp "${pkgs[0]}" "$root/root/debs/fanguard.deb"
t_install=$(now_ms)
log "RESULT packages $((t_debs - t_start)) ms, debootstrap $((t_root - t_debs)) ms," \
	"dpkg -i $((t_install - t_root)) ms"

# --- containers --------------------------------------------------------------
# boot NAME [NSPAWN_ARGS...]: boots the root; sets NSPAWN_PID and INIT_PID
# (the container's systemd, PID 1 inside).
boot() {
	local name=$1 i c
	shift
	BOOT_T0=$(now_ms)
	start_bg systemd-nspawn -q -D "$root" -M "$name" -b --register=no --keep-unit \
		--private-network --console=passive "$@" >"$FG_STATE/$name.console" 2>&1
	NSPAWN_PID=$LAST_PID
	INIT_PID=
	for ((i = 0; i < 400; i++)); do
		for c in $(cat /proc/"$NSPAWN_PID"/task/*/children 2>/dev/null); do
			[ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] && INIT_PID=$c
		done
		[ -n "$INIT_PID" ] && break
		pid_exited "$NSPAWN_PID" && break
		sleep 0.05
	done
	[ -n "$INIT_PID" ] || { cat "$FG_STATE/$name.console" >&2; fail "$name: no systemd in the container"; }
	track_pid "$INIT_PID"
	CONSOLE=$FG_STATE/$name.console
}

# In the booted container (its mount, PID, IPC, UTS and network namespaces),
# bounded: a command that hangs is killed.
c() {
	timeout -s KILL 30 nsenter -t "$INIT_PID" -m -u -i -n -p -- "$@"
}

fail_in() {
	echo "# --- console:" >&2
	tail -n 30 "$CONSOLE" | sed 's/^/#   /' >&2 || true
	echo "# --- journal of fanguardd.service:" >&2
	c journalctl -u fanguardd.service --no-pager -n 40 2>&1 | sed 's/^/#   /' >&2 || true
	c systemctl status fanguardd.service --no-pager 2>&1 | sed 's/^/#   /' >&2 || true
	fail "$@"
}

# fanguardd's journal in the container ("" if unreadable). Match it with
# grep <<<"$(journal)": under pipefail, grep -q on a pipe fails when the
# writer gets SIGPIPE.
journal() {
	c journalctl -u fanguardd.service --no-pager 2>/dev/null || true
}

prop() {
	c systemctl show -P "$1" fanguardd.service
}

# Waits up to $1 s for fanguardd.service to be in one of the states given.
wait_state() {
	local t=$1 st i
	shift
	for ((i = 0; i < t * 10; i++)); do
		st=$(prop ActiveState 2>/dev/null || true)
		[[ " $* " == *" $st "* ]] && return 0
		sleep 0.1
	done
	return 1
}

# Powers the container off (SIGTERM to nspawn: an orderly shutdown) and waits.
poweroff() {
	local t0
	t0=$(now_ms)
	kill -TERM "$NSPAWN_PID" 2>/dev/null || true
	wait_pid_exited "$NSPAWN_PID" 30 || fail "container did not power off within 30 s"
	wait "$NSPAWN_PID" 2>/dev/null || true
	untrack_pid "$NSPAWN_PID"
	untrack_pid "$INIT_PID"
	POWEROFF_MS=$(($(now_ms) - t0))
}

# The default configuration marks the container's /dev/shm filesystem: it
# must be nspawn's own tmpfs, never the host's (a filesystem mark on that
# would make every host process that opens a file there wait on fanguardd).
host_shm=$(stat -c %d /dev/shm)
ct_shm=$(timeout -s KILL 60 systemd-nspawn -q -D "$root" -M fg-shm --register=no --keep-unit \
	--private-network --console=pipe -- /usr/bin/stat -c '%d %m' /dev/shm </dev/null 2>&1) ||
	fail "nspawn could not run stat: $ct_shm"
[ "$ct_shm" != "$host_shm /dev/shm" ] && [ "${ct_shm#* }" = /dev/shm ] ||
	fail "the container's /dev/shm is '$ct_shm', the host's device $host_shm: not a tmpfs of its own"
log "container /dev/shm: device ${ct_shm% *} (host: $host_shm)"

# --- 1: the default install -------------------------------------------------
boot fg-default --system-call-filter='fanotify_init fanotify_mark'
wait_state 60 active failed || fail_in "fanguardd.service neither active nor failed after 60 s"
[ "$(prop ActiveState)" = active ] || fail_in "fanguardd.service did not start on the default config"
boot_ms=$(($(now_ms) - BOOT_T0))
[ "$(prop SubState)" = running ] || fail_in "not running: $(prop SubState)"
[ "$(prop Type)" = notify ] || fail_in "not Type=notify"
status=$(prop StatusText)
[[ $status == Watching* ]] || fail_in "no STATUS= from the daemon: '$status'"
grep -q 'Ready:' <<<"$(journal)" || fail_in "no 'Ready:' in the journal"
log "fanguardd active ${boot_ms} ms after nspawn started; status: $status"

# Runs under the hardened unit, in the init mount namespace.
pid=$(prop MainPID)
[ "$pid" -gt 0 ] || fail_in "no MainPID"
st=$(c cat "/proc/$pid/status")
# CAP_DAC_READ_SEARCH (2), CAP_SYS_PTRACE (19), CAP_SYS_ADMIN (21)
grep -q '^CapBnd:[[:space:]]*0000000000280004$' <<<"$st" || fail_in "bounding set: $(grep CapBnd <<<"$st")"
grep -q '^CapEff:[[:space:]]*0000000000280004$' <<<"$st" || fail_in "effective set: $(grep CapEff <<<"$st")"
grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$st" || fail_in "no NoNewPrivileges"
grep -q '^Seccomp:[[:space:]]*2$' <<<"$st" || fail_in "no seccomp filter"
[ "$(c readlink /proc/1/ns/mnt)" = "$(c readlink "/proc/$pid/ns/mnt")" ] ||
	fail_in "fanguardd runs in a mount namespace of its own: its mount marks would miss the host's opens"

# Useful: the watched /dev/shm, a denylist entry, a reload.
c sh -c 'echo "fanguard nspawn test payload" >/dev/shm/fg-payload; echo ok >/dev/shm/fg-clean'
c cat /dev/shm/fg-payload >/dev/null || fail_in "payload denied before it was listed"
c sh -c 'sha256sum /dev/shm/fg-payload >>/etc/fanguard/deny.sha256'
t0=$(now_ms)
c systemctl reload fanguardd.service || fail_in "systemctl reload failed"
reload_ms=$(($(now_ms) - t0))
[ "$(prop MainPID)" = "$pid" ] || fail_in "reload changed the main PID"
out=$(c cat /dev/shm/fg-payload 2>&1) && fail_in "listed payload still opens after reload"
grep -q 'Operation not permitted' <<<"$out" || fail_in "payload: '$out', not EPERM"
c cat /dev/shm/fg-clean >/dev/null || fail_in "an unlisted file is denied"
grep -q 'deny .*fg-payload' <<<"$(journal)" ||
	fail_in "no deny line in the journal"
log "reload ${reload_ms} ms; listed file denied, others allowed"

# A non-root start says which capability is missing.
out=$(c setpriv --reuid=65534 --regid=65534 --clear-groups \
	/usr/sbin/fanguardd --config /etc/fanguard/fanguard.conf --control-socket '' 2>&1) &&
	fail_in "fanguardd started as uid 65534"
grep -q 'CAP_SYS_ADMIN' <<<"$out" || fail_in "a non-root start does not name CAP_SYS_ADMIN: $out"

# The watchdog: pings with a short interval keep it alive...
c mkdir -p /run/systemd/system/fanguardd.service.d
c sh -c 'printf "[Service]\nWatchdogSec=1s\nTimeoutAbortSec=2s\n" \
	>/run/systemd/system/fanguardd.service.d/watchdog.conf'
c systemctl daemon-reload
c systemctl restart fanguardd.service || fail_in "restart with WatchdogSec=1s failed"
pid=$(prop MainPID)
w0=$(prop WatchdogTimestampMonotonic)
sleep 3.5
[ "$(prop ActiveState)" = active ] && [ "$(prop MainPID)" = "$pid" ] ||
	fail_in "fanguardd did not survive 3.5 s at WatchdogSec=1s"
[ "$(prop NRestarts)" = 0 ] || fail_in "restarted by the watchdog while healthy"
w1=$(prop WatchdogTimestampMonotonic)
[ "$w1" -gt "$w0" ] || fail_in "no watchdog ping in 3.5 s ($w0 -> $w1)"
# ...and a daemon that stops pinging is killed and restarted.
c sh -c "kill -STOP $pid"
t0=$(now_ms)
for ((i = 0; i < 150; i++)); do
	p2=$(prop MainPID)
	[ "$(prop ActiveState)" = active ] && [ "$p2" != 0 ] && [ "$p2" != "$pid" ] && break
	sleep 0.1
done
[ "$p2" != "$pid" ] && [ "$(prop NRestarts)" -ge 1 ] || fail_in "a stopped daemon was not restarted"
watchdog_ms=$(($(now_ms) - t0))
grep -qi 'watchdog timeout' <<<"$(journal)" ||
	fail_in "no watchdog timeout in the journal"
out=$(c cat /dev/shm/fg-payload 2>&1) && fail_in "payload opens after the watchdog restart"
log "watchdog: pinged, and a stopped daemon was replaced after ${watchdog_ms} ms"
# A probe for hardening to come (the unit explains why it has no mount
# namespace yet): with the namespace directives that score, the default
# Filesystem= watch (a superblock mark) still sees opens made outside the
# service's namespace; a Mount= watch lands on the namespace's copy and
# does not.
c sh -c 'printf "[Service]\nProtectSystem=strict\nProtectHome=read-only\nPrivateTmp=yes\nPrivateDevices=yes\nProtectKernelTunables=yes\nProtectKernelModules=yes\nProtectKernelLogs=yes\nProtectControlGroups=yes\nPrivateMounts=yes\n" \
	>/run/systemd/system/fanguardd.service.d/namespace.conf'
c systemctl daemon-reload
c systemctl restart fanguardd.service || fail_in "restart in a mount namespace failed"
pid=$(prop MainPID)
[ "$(c readlink /proc/1/ns/mnt)" != "$(c readlink "/proc/$pid/ns/mnt")" ] ||
	fail_in "the namespace directives gave no mount namespace"
out=$(c cat /dev/shm/fg-payload 2>&1) &&
	fail_in "a filesystem mark made in a private mount namespace missed an outside open"
c sed -i 's|^Filesystem = /dev/shm$|Mount = /dev/shm|' /etc/fanguard/fanguard.conf
c systemctl restart fanguardd.service || fail_in "restart with Mount= failed"
ns_mount=denied
c cat /dev/shm/fg-payload >/dev/null 2>&1 && ns_mount=missed
c sed -i 's|^Mount = /dev/shm$|Filesystem = /dev/shm|' /etc/fanguard/fanguard.conf
c rm /run/systemd/system/fanguardd.service.d/namespace.conf
c systemctl daemon-reload
c systemctl restart fanguardd.service || fail_in "restart without the namespace failed"
[ $ns_mount = missed ] || fail_in "a mount mark from a private namespace saw an outside open (fix the unit's comment)"
log "RESULT private mount namespace: Filesystem= mark denied an outside open, Mount= mark $ns_mount it"

# The service without CAP_SYS_ADMIN fails and says so (in its journal,
# hence in `systemctl status`).
# Exit status 4 (NOPERMISSION): not restarted (RestartPreventExitStatus=).
c sh -c 'printf "[Service]\nCapabilityBoundingSet=~CAP_SYS_ADMIN\n" \
	>/run/systemd/system/fanguardd.service.d/nocap.conf'
c systemctl daemon-reload
c systemctl restart fanguardd.service 2>/dev/null && fail_in "started without CAP_SYS_ADMIN"
[ "$(prop ActiveState)" = failed ] || fail_in "without CAP_SYS_ADMIN: $(prop ActiveState), not failed"
[ "$(prop ExecMainStatus)" = 4 ] || fail_in "exit status $(prop ExecMainStatus), not 4"
sleep 1.5 # RestartSec=1s: a restart would have begun
[ "$(prop ActiveState)" = failed ] || fail_in "restarted after exit status 4: $(prop ActiveState)"
status_names_cap() {
	grep -q 'needs the capability CAP_SYS_ADMIN' \
		<<<"$(c systemctl status fanguardd.service --no-pager --full 2>&1 || true)"
}
wait_until 5 status_names_cap || fail_in "systemctl status does not name CAP_SYS_ADMIN"
c rm -r /run/systemd/system/fanguardd.service.d
c systemctl daemon-reload
c systemctl reset-failed fanguardd.service
c systemctl start fanguardd.service || fail_in "restart after the capability check failed"
wait_state 20 active || fail_in "not active again"

# On the running system, as an operator would: removing the package stops
# the service (its marks go: the listed file opens), installing it again
# starts it at once (and the kept conffiles deny the file again).
c dpkg -r fanguard >"$FG_STATE/dpkg-r.log" 2>&1 || { cat "$FG_STATE/dpkg-r.log" >&2; fail_in "dpkg -r fanguard"; }
[ "$(prop ActiveState)" = inactive ] || fail_in "still $(prop ActiveState) after dpkg -r"
c cat /dev/shm/fg-payload >/dev/null || fail_in "payload still denied after the package was removed"
c dpkg -i /root/debs/fanguard.deb >"$FG_STATE/dpkg-i.log" 2>&1 || { cat "$FG_STATE/dpkg-i.log" >&2; fail_in "dpkg -i fanguard"; }
wait_state 20 active || fail_in "installing on a running system did not start fanguardd"
out=$(c cat /dev/shm/fg-payload 2>&1) && fail_in "payload opens after reinstall"
log "dpkg -r stopped it, dpkg -i started it again"

# Restart without a gap (systemd's fd store): opens in a loop while the
# service restarts are never let through unscanned (the listed file is
# denied every time: with a gap, one open would have succeeded), and wait
# at most about the restart. The loop: N opens, how many succeeded, the
# longest in ms.
open_loop='n=0; ok=0; max=0; end=$(($(date +%s) + $1));
while [ "$(date +%s)" -lt $end ]; do
	t0=$(date +%s%N); cat /dev/shm/fg-payload >/dev/null 2>&1 && ok=$((ok + 1))
	t=$((($(date +%s%N) - t0) / 1000000)); [ $t -gt $max ] && max=$t; n=$((n + 1))
done; echo "$n $ok $max"'
pid=$(prop MainPID)
c sh -c "$open_loop" sh 4 >"$FG_STATE/restart-loop.out" 2>&1 &
loop=$!
sleep 1 # the loop runs before, during and after the restart
t0=$(now_ms)
c systemctl restart fanguardd.service || fail_in "systemctl restart failed"
restart_ms=$(($(now_ms) - t0))
wait $loop || fail_in "the open loop failed: $(cat "$FG_STATE/restart-loop.out")"
read -r n_opens n_ok max_ms <"$FG_STATE/restart-loop.out"
[ "$(prop MainPID)" != "$pid" ] || fail_in "restart kept the main PID"
[ "$n_ok" = 0 ] || fail_in "$n_ok of $n_opens opens of the listed file succeeded during the restart"
grep -q 'Handed 1 fanotify groups to the fd store' <<<"$(journal)" ||
	fail_in "the stopping instance did not store its group"
grep -q 'Adopted 1 of 1 fanotify groups' <<<"$(journal)" ||
	fail_in "the new instance did not adopt the stored group"
[ "$(prop NFileDescriptorStore)" = 0 ] ||
	fail_in "the running instance left $(prop NFileDescriptorStore) fds in the store"
log "RESULT restart ${restart_ms} ms kept the group: $n_opens opens, all denied, longest ${max_ms} ms"
# A restart that fails (the configuration broken): the new instance
# releases the stored group, and opens do not wait through the retries.
c cp /etc/fanguard/fanguard.conf /etc/fanguard/fanguard.conf.good
c sh -c 'echo "NoSuchSetting = 1" >>/etc/fanguard/fanguard.conf'
c systemctl restart fanguardd.service 2>/dev/null && fail_in "started with a broken configuration"
t0=$(now_ms)
c timeout 5 cat /dev/shm/fg-payload >/dev/null ||
	fail_in "an open waited on the stored group while the restarts failed"
[ "$(prop NFileDescriptorStore)" = 0 ] ||
	fail_in "a failed start left $(prop NFileDescriptorStore) fds in the store"
grep -q 'Released 1 fanotify groups of the previous instance' <<<"$(journal)" ||
	fail_in "the failing instance did not release the stored group"
c mv /etc/fanguard/fanguard.conf.good /etc/fanguard/fanguard.conf
c systemctl reset-failed fanguardd.service 2>/dev/null || true
c systemctl restart fanguardd.service || fail_in "start after the failed restarts"
wait_state 20 active || fail_in "not active after the failed restarts"
log "a failed restart released the stored group"

# Stop: clean exit, marks gone. The instance stores its group on the way
# out, and systemd closes the store when the unit is inactive: the open
# below would wait forever otherwise (bounded here).
t0=$(now_ms)
c systemctl stop fanguardd.service || fail_in "systemctl stop failed"
stop_ms=$(($(now_ms) - t0))
[ "$(prop ActiveState)" = inactive ] || fail_in "not inactive after stop: $(prop ActiveState)"
[ "$(prop Result)" = success ] || fail_in "stop result: $(prop Result)"
c timeout 5 cat /dev/shm/fg-payload >/dev/null ||
	fail_in "payload still denied (or waiting on a stored group) after stop"
[ "$(prop NFileDescriptorStore)" = 0 ] ||
	fail_in "systemd kept $(prop NFileDescriptorStore) fds in the store after stop"
log "stop ${stop_ms} ms; the fd store was closed"
c systemd-analyze --no-pager 2>/dev/null | sed 's/^/# container: /' >&2 || true
poweroff
log "RESULT boot to fanguardd active ${boot_ms} ms, reload ${reload_ms} ms, stop ${stop_ms} ms," \
	"watchdog restart ${watchdog_ms} ms, poweroff ${POWEROFF_MS} ms"

# --- 2: containers that cannot run it -------------------------------------
# A systemd container itself needs CAP_SYS_ADMIN (its PID 1 mounts API
# filesystems), so these run fanguardd as the container's only process, as
# an application container engine would. Each must fail at once and say why.
refused() {
	local name=$1 want=$2 rc=0
	shift 2
	run_within 60 systemd-nspawn -q -D "$root" -M "$name" --register=no --keep-unit \
		--private-network --console=pipe "$@" -- \
		/usr/sbin/fanguardd --config /etc/fanguard/fanguard.conf --control-socket '' \
		</dev/null >"$FG_STATE/$name.out" 2>&1 || rc=$?
	[ $rc = 4 ] || { cat "$FG_STATE/$name.out" >&2; fail "$name: exit status $rc, not 4"; }
	grep -q "$want" "$FG_STATE/$name.out" ||
		{ cat "$FG_STATE/$name.out" >&2; fail "$name: no '$want' in fanguardd's error"; }
	grep -m1 "$want" "$FG_STATE/$name.out" | sed "s/^/# $name: /" >&2
}
refused fg-nocap 'needs the capability CAP_SYS_ADMIN' \
	--system-call-filter='fanotify_init fanotify_mark' --drop-capability=CAP_SYS_ADMIN
# systemd-nspawn's default seccomp filter refuses fanotify_init().
refused fg-noseccomp 'seccomp filter blocks it'

log "RESULT nspawn-boot total $(($(now_ms) - t_start)) ms"
log "PASS"
