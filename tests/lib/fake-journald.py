# SPDX-License-Identifier: LGPL-2.1-or-later
# A stand-in for journald's native socket, for tests that run in a mount
# namespace of their own: fake-journald.py SOCKET OUT json|line [IDLE_S]
#
# Speaks the whole native protocol, as sd_journal_sendv() uses it: a
# datagram of KEY=value lines and binary-safe fields (KEY\n, 64-bit LE
# length, data, \n); or, when the datagram would not fit or the socket's
# queue is full (EMSGSIZE, ENOBUFS, EAGAIN), an empty datagram carrying a
# memfd (SCM_RIGHTS) that holds the same bytes. A stand-in that ignored the
# memfd would lose entries exactly when the machine is busy.
#
# json: one JSON object per entry, values as lists of byte values (a name
# given twice keeps its last value).
# line: one line per entry, its fields joined by spaces (lossy, for grep).
import array, json, os, socket, struct, sys

path, out_path, fmt = sys.argv[1], sys.argv[2], sys.argv[3]
idle = float(sys.argv[4]) if len(sys.argv) > 4 else 60
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(path)
s.settimeout(idle)
out = open(out_path, "w")


def parse(msg):
    """The entry's fields in order, repeated names kept."""
    e, i = [], 0
    while i < len(msg):
        nl = msg.find(b"\n", i)
        if nl < 0:
            nl = len(msg)
        line = msg[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack("<Q", msg[nl + 1:nl + 9])
            v = msg[nl + 9:nl + 9 + n]
            assert msg[nl + 9 + n:nl + 10 + n] == b"\n"
            i = nl + 10 + n
        if k:
            e.append((k.decode(errors="replace"), v))
    return e


while True:
    try:
        msg, anc, _, _ = s.recvmsg(1 << 20, socket.CMSG_SPACE(16 * 4))
    except socket.timeout:
        break
    fds = array.array("i")
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
    for fd in fds:
        if not msg:
            st = os.fstat(fd)
            msg = os.pread(fd, st.st_size, 0)
        os.close(fd)
    e = parse(msg)
    if fmt == "json":
        out.write(json.dumps({k: list(v) for k, v in e}) + "\n")
    else:
        out.write(" ".join("%s=%s" % (k, v.decode(errors="replace").replace("\n", " "))
                           for k, v in e) + "\n")
    out.flush()
