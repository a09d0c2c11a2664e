#!/usr/bin/env python3
"""Splits an isla store write into stages from the outside, with strace.

  strace_breakdown.py --leader ADDR --client TIMES [--append-bytes N] ADDR=TRACE ADDR=TRACE ADDR=TRACE

TRACE: `strace -f -ttt -T -yy -o TRACE -p PID` of each node (ADDR is the node's host:port),
taken while one client wrote one key at a time to the leader; TIMES: the client's lines
"send_time receive_time local_port" (store_tool.py seq --times), wall-clock like strace's.

For each write, within the client's [send, receive] window, it finds:
  A  the leader reads the request (end of a read on the client's connection)
  B  the leader sends the append to a follower (start of a send to a follower's address of at
     least --append-bytes, so that a heartbeat is not taken for it)
  W  the leader writes its WAL, and its fdatasync (start, end)
  FA a follower reads the append; its fdatasync (start, end); FB it sends the ack to the leader:
     in the response to the append (a write on that same connection), or, from a node that
     does not answer in responses, in a request of its own to the leader
  C  the leader reads that follower's ack (end of a read on the connection it came by)
  S2 a further fdatasync of the leader between C and D, if any (a WAL record of the commit)
  D  the leader sends the answer (start of a send on the client's connection)
and prints the median (and p90) of each stage over the writes where all were found. The
follower taken is the one whose ack the leader read first (it is the one that made the commit).
On loopback every connection leaves from 127.0.0.1, so the leader's incoming connections are
told apart by port: the client's is known, a follower's is the local port of its own outgoing
connection to the leader in its trace.

strace stops every thread at every system call, so the traced writes are slower than untraced
ones; the stages' shares are what this is for, not their sum. Standard library only.
"""
import argparse
import bisect
import re
import statistics
import sys

LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)$")
FD = re.compile(r"^(\d+)<(.*?)>(?:,|\)|$)")
RET = re.compile(r"\)\s+=\s+(-?\d+|\?)[^<]*<(\d+\.\d+)>\s*$")
TCP = re.compile(r"^TCP:\[([\d.]+:\d+)->([\d.]+:\d+)\]$")

READS = {"read", "readv", "recvfrom", "recvmsg"}
WRITES = {"write", "writev", "sendto", "sendmsg"}
SYNCS = {"fdatasync", "fsync"}


class Event:
    __slots__ = ("t0", "t1", "name", "desc", "ret", "local", "remote")

    def __init__(self, t0, t1, name, desc, ret):
        self.t0, self.t1, self.name, self.desc, self.ret = t0, t1, name, desc, ret
        m = TCP.match(desc or "")
        self.local, self.remote = (m.group(1), m.group(2)) if m else (None, None)


def parse(path):
    """The completed calls of a trace, sorted by start time."""
    events, pending = [], {}
    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            tid, t, rest = m.group(1), float(m.group(2)), m.group(3)
            if rest.startswith("<... "):
                start = pending.pop(tid, None)
                r = RET.search(rest)
                if start is None or r is None:
                    continue
                t0, name, args = start
            elif rest.endswith("<unfinished ...>"):
                c = CALL.match(rest[: -len("<unfinished ...>")].rstrip())
                if c:
                    pending[tid] = (t, c.group(1), c.group(2))
                continue
            else:
                c = CALL.match(rest)
                r = RET.search(rest)
                if not c or not r:
                    continue
                t0, name, args = t, c.group(1), c.group(2)
            fd = FD.match(args)
            ret = int(r.group(1)) if r.group(1) != "?" else -1
            events.append(Event(t0, t0 + float(r.group(2)), name, fd.group(2) if fd else "", ret))
    events.sort(key=lambda e: e.t0)
    return events


class Trace:
    def __init__(self, addr, path):
        self.addr = addr
        self.events = parse(path)
        self.starts = [e.t0 for e in self.events]

    def window(self, lo, hi):
        """Events that start within [lo, hi]."""
        i = bisect.bisect_left(self.starts, lo)
        while i < len(self.events) and self.events[i].t0 <= hi:
            yield self.events[i]
            i += 1

    def first(self, lo, hi, pred, key=lambda e: e.t0):
        best = None
        for e in self.window(lo - 0.05, hi):  # a call may start before lo and end after it
            if key(e) >= lo and key(e) <= hi and pred(e) and (best is None or key(e) < key(best)):
                best = e
        return best


def is_read(e):
    return e.name in READS and e.ret > 0


def is_write(e):
    return e.name in WRITES and e.ret > 0


def is_file(e):
    return e.desc.startswith("/")


def port(addr):
    return int(addr.rpartition(":")[2])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--leader", required=True)
    p.add_argument("--client", required=True)
    p.add_argument("--append-bytes", type=int, default=256,
                   help="a send of at least this many bytes carries the entry (use the value size)")
    p.add_argument("traces", nargs="+", help="ADDR=TRACE for each node")
    args = p.parse_args()
    traces = {}
    for item in args.traces:
        addr, _, path = item.partition("=")
        traces[addr] = Trace(addr, path)
    if args.leader not in traces:
        sys.exit(f"strace_breakdown: no trace for the leader {args.leader}")
    leader = traces[args.leader]
    followers = [t for a, t in traces.items() if a != args.leader]
    # A follower's connection to the leader, as the leader sees it: 127.0.0.1:PORT.
    port_of = {}
    for t in followers:
        for e in t.events:
            if e.remote == args.leader and e.local:
                port_of[port(e.local)] = t
    samples = []
    with open(args.client) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                samples.append((float(parts[0]), float(parts[1]), int(parts[2])))

    keys = ("http_in", "propose", "wal_start", "leader_fsync", "repl", "to_follower", "f_before_fsync",
            "f_fsync", "f_after_fsync", "ack_back", "after_ack", "commit_sync_start", "commit_sync",
            "apply_answer", "http_out", "total")
    rows = {k: [] for k in keys}
    own_fsync_late = commit_synced = 0
    missing = 0
    for ts, tr, cport in samples:
        A = leader.first(ts, tr, lambda e: is_read(e) and e.local == args.leader and e.remote
                         and port(e.remote) == cport, key=lambda e: e.t1)
        if A is None:
            missing += 1
            continue
        a = A.t1
        D = leader.first(a, tr, lambda e: is_write(e) and e.local == args.leader and e.remote
                         and port(e.remote) == cport)
        W = leader.first(a, tr, lambda e: is_write(e) and is_file(e))
        S = leader.first(a, tr, lambda e: e.name in SYNCS)
        if D is None or W is None or S is None:
            missing += 1
            continue
        # Per follower: the append it was sent (the first send big enough to carry the value),
        # its read, fdatasync and ack, and when the leader read that ack.
        best = None
        for t in followers:
            B = leader.first(a, D.t0, lambda e, t=t: is_write(e) and e.remote == t.addr
                             and e.ret >= args.append_bytes)
            if B is None:
                continue
            FA = t.first(B.t0, D.t0, lambda e, t=t: is_read(e) and e.local == t.addr
                         and e.ret >= args.append_bytes, key=lambda e: e.t1)
            FS = FA and t.first(FA.t1, D.t0, lambda e: e.name in SYNCS)
            FB = FS and t.first(FS.t1, D.t0, lambda e, t=t: is_write(e) and e.local and (
                e.local == t.addr or e.remote == args.leader))
            if FB and FB.local == t.addr:  # the answer to the append: read where it was sent
                C = leader.first(FB.t0, D.t0, lambda e, t=t: is_read(e) and e.remote == t.addr,
                                 key=lambda e: e.t1)
            else:
                C = FB and leader.first(FB.t0, D.t0, lambda e, p=port(FB.local): is_read(e)
                                        and e.local == args.leader and e.remote
                                        and port(e.remote) == p, key=lambda e: e.t1)
            if C and (best is None or C.t1 < best[4].t1):
                best = (B, FA, FS, FB, C)
        if best is None:
            missing += 1
            continue
        B, FA, FS, FB, C = best
        b, c, d = B.t0, C.t1, D.t0
        if not (ts <= a <= b <= c <= d <= tr):
            missing += 1
            continue
        ms = lambda v: v * 1000
        rows["http_in"].append(ms(a - ts))
        rows["propose"].append(ms(b - a))
        rows["wal_start"].append(ms(W.t0 - a))
        rows["leader_fsync"].append(ms(S.t1 - S.t0))
        rows["repl"].append(ms(c - b))
        rows["to_follower"].append(ms(FA.t1 - b))
        rows["f_before_fsync"].append(ms(FS.t0 - FA.t1))
        rows["f_fsync"].append(ms(FS.t1 - FS.t0))
        rows["f_after_fsync"].append(ms(FB.t0 - FS.t1))
        rows["ack_back"].append(ms(c - FB.t0))
        rows["after_ack"].append(ms(d - c))
        rows["http_out"].append(ms(tr - d))
        rows["total"].append(ms(tr - ts))
        own_fsync_late += S.t1 > c
        # Between the ack and the answer: another WAL write and fdatasync (the new commit index)?
        S2 = leader.first(max(c, S.t1), d, lambda e: e.name in SYNCS)
        if S2 is not None and S2.t1 <= d:
            commit_synced += 1
            rows["commit_sync_start"].append(ms(S2.t0 - c))
            rows["commit_sync"].append(ms(S2.t1 - S2.t0))
            rows["apply_answer"].append(ms(d - S2.t1))

    n = len(rows["total"])
    if n == 0:
        sys.exit(f"strace_breakdown: no write could be lined up ({missing} of {len(samples)} lacked an event)")
    med = {k: statistics.median(v) if v else None for k, v in rows.items()}
    p90 = {k: sorted(v)[max(0, -(-len(v) * 9 // 10) - 1)] if v else None for k, v in rows.items()}
    total = med["total"]
    labels = [
        ("http_in", "client sends -> leader has read the request (HTTP in)", True),
        ("propose", "leader: request read -> append sent to the follower (proposal)", True),
        ("wal_start", "  (leader: request read -> its WAL write starts)", False),
        ("leader_fsync", "  (leader WAL fdatasync, beside the replication)", False),
        ("repl", "replication: append sent -> the follower's ack read by the leader", True),
        ("to_follower", "  append on the wire, read by the follower", False),
        ("f_before_fsync", "  follower: append read -> its fdatasync starts", False),
        ("f_fsync", "  follower WAL fdatasync", False),
        ("f_after_fsync", "  follower: fdatasync done -> ack sent", False),
        ("ack_back", "  ack on the wire, read by the leader", False),
        ("after_ack", "commit, apply, answer: ack read -> answer sent", True),
        ("commit_sync_start", "  ack read -> leader's next fdatasync starts (commit index)", False),
        ("commit_sync", "  that fdatasync", False),
        ("apply_answer", "  fdatasync done -> answer sent (apply, answer)", False),
        ("http_out", "leader sends the answer -> client has it (HTTP out)", True),
        ("total", "total, as the traced client saw it", True),
    ]
    print(f"{'stage':<68} {'median ms':>9} {'p90 ms':>8} {'share':>6}")
    for key, label, top in labels:
        if med[key] is None:
            continue
        share = f"{100 * med[key] / total:5.0f}%" if top else ""
        print(f"{label:<68} {med[key]:9.3f} {p90[key]:8.3f} {share:>6}")
    print(f"{n} of {len(samples)} traced writes lined up ({missing} lacked an event). The follower is the "
          f"one whose ack the leader read first. The leader's own WAL fdatasync ended after that ack in "
          f"{100 * own_fsync_late / n:.0f}% of them; a further fdatasync ran between the ack and the "
          f"answer in {100 * commit_synced / n:.0f}%.")


if __name__ == "__main__":
    main()
