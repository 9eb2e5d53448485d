#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for systemd's service manager, as far as the fd store goes
(tests/integration/restart-fdstore.sh): runs a Type=notify service, keeps
the fds it stores (FDSTORE=1, FDNAME=, FDSTOREREMOVE=1, BARRIER=1 as in
sd_notify(3)), and passes them to the next instance (LISTEN_FDS,
LISTEN_FDNAMES, LISTEN_PID), as systemd 252 does on a restart.

    fdstore-supervisor.py DIR -- COMMAND...

Driven through files in DIR (the test writes a request, the supervisor
removes it when done and writes its answer):
    ready.N       written when instance N sent READY=1 (holds its pid)
    cmd           "restart", "restart-paused", "go", "kill", "stop",
                  "close-store"; removed when carried out
    stored        names in the store, one per line, after each exit
    exited.N      instance N's exit status
Exits when the store was closed after a stop, or at its own deadline.
"""
import array
import os
import signal
import socket
import sys
import time

DEADLINE = time.monotonic() + float(os.environ.get("FG_SUPERVISOR_SECONDS", "100"))


def log(*a):
    print("# supervisor:", *a, file=sys.stderr, flush=True)


def main():
    d = sys.argv[1]
    assert sys.argv[2] == "--"
    cmd = sys.argv[3:]
    sock_path = os.path.join(d, "notify")
    sk = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    sk.bind(sock_path)
    sk.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    store = []  # [name, fd]
    n = 0
    pid = None
    paused = False

    def start():
        nonlocal n, pid
        n += 1
        fds = [fd for _, fd in store]
        names = ":".join(name for name, _ in store)
        child = os.fork()
        if child == 0:
            try:
                # The stored fds become 3, 4, ... (dup first: they may
                # sit on those numbers already).
                dups = [os.dup(fd) for fd in fds]
                for i, fd in enumerate(dups):
                    os.dup2(fd, 3 + i, inheritable=True)
                os.closerange(3 + len(dups), 4096)
                env = dict(os.environ, NOTIFY_SOCKET=sock_path)
                if fds:
                    env.update(LISTEN_FDS=str(len(fds)), LISTEN_FDNAMES=names,
                               LISTEN_PID=str(os.getpid()))
                os.execvpe(cmd[0], cmd, env)
            finally:
                os._exit(127)
        pid = child
        log(f"instance {n}: pid {pid}, passed {len(fds)} fds ({names})")

    def reap(block):
        nonlocal pid
        if pid is None:
            return True
        p, st = os.waitpid(pid, 0 if block else os.WNOHANG)
        if p == 0:
            return False
        code = os.waitstatus_to_exitcode(st)
        write(f"exited.{n}", f"{code}\n")
        write("stored", "".join(name + "\n" for name, _ in store))
        log(f"instance {n} exited with {code}; store: {[x for x, _ in store]}")
        pid = None
        return True

    def write(name, text):
        tmp = os.path.join(d, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(d, name))

    def receive():
        try:
            msg, anc, _, _ = sk.recvmsg(4096, socket.CMSG_SPACE(64 * 4) +
                                        socket.CMSG_SPACE(12), socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        fds = []
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(data[:len(data) - len(data) % a.itemsize])
                fds.extend(a)
        kv = dict(l.split("=", 1) for l in msg.decode().splitlines() if "=" in l)
        if kv.get("BARRIER") == "1":
            for fd in fds:
                os.close(fd)  # the sender's poll() returns
            return True
        if kv.get("FDSTORE") == "1":
            for fd in fds:
                store.append([kv.get("FDNAME", "stored"), fd])
            log(f"stored {kv.get('FDNAME')} ({len(fds)} fds)")
        else:
            for fd in fds:
                os.close(fd)
        if kv.get("FDSTOREREMOVE") == "1":
            keep = []
            for name, fd in store:
                if name == kv.get("FDNAME"):
                    os.close(fd)
                else:
                    keep.append([name, fd])
            log(f"removed {kv.get('FDNAME')}: {len(store) - len(keep)} fds")
            store[:] = keep
        if kv.get("READY") == "1":
            write(f"ready.{n}", f"{pid}\n")
        return True

    start()
    while time.monotonic() < DEADLINE:
        while receive():
            pass
        if pid is not None and reap(False) and not paused:
            pass
        try:
            with open(os.path.join(d, "cmd")) as f:
                c = f.read().strip()
        except FileNotFoundError:
            c = None
        if c:
            log("command:", c)
            if c in ("restart", "restart-paused", "kill", "stop"):
                os.kill(pid, signal.SIGKILL if c == "kill" else signal.SIGTERM)
                # Messages first (systemd, too, may see them before SIGCHLD).
                while not reap(False):
                    while receive():
                        pass
                    time.sleep(0.005)
                while receive():
                    pass
                write("stored", "".join(name + "\n" for name, _ in store))
                if c in ("restart", "kill"):
                    start()
                paused = c == "restart-paused"
            elif c == "go":
                paused = False
                start()
            elif c == "close-store":
                for _, fd in store:
                    os.close(fd)
                store.clear()
                write("stored", "")
                os.unlink(os.path.join(d, "cmd"))
                log("store closed")
                return 0
            os.unlink(os.path.join(d, "cmd"))
        time.sleep(0.005)
    log("deadline passed")
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
    return 1


if __name__ == "__main__":
    sys.exit(main())
