#!/usr/bin/env python3
"""Helper for bench/store_vs_etcd.sh: talks to a 3-node etcd or isla store over HTTP/JSON.

Standard library only; every address must be in 127.0.0.0/8, every loop has a deadline.

  store_tool.py SYSTEM NODES probe                     -> prints the etcd API prefix (/v3 or /v3beta)
  store_tool.py SYSTEM NODES ready                     -> exit 0 iff every node answers and one leader
                                                          is agreed on; prints the leader's address
  store_tool.py SYSTEM NODES leader                    -> prints the leader's address (exit 1: none)
  store_tool.py SYSTEM NODES check                     -> put + linearizable get of one key on every node
  store_tool.py SYSTEM NODES fill --keys N             -> writes k00000..k{N-1} through the leader
  store_tool.py SYSTEM NODES failover --pids A=PID,... -> kill -9 of the leader under a steady write
                                                          load; prints one JSON line
  store_tool.py SYSTEM NODES rejoined --node A         -> exit 0 iff A follows a leader and has applied
                                                          everything the leader had committed

SYSTEM is etcd or isla; NODES is a comma-separated list of host:port (client addresses).
"""
import argparse
import base64
import http.client
import ipaddress
import json
import os
import signal
import socket
import sys
import threading
import time


def die(msg):
    print(f"store_tool: {msg}", file=sys.stderr)
    sys.exit(2)


def split_addr(addr):
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        die(f"bad address '{addr}' (want host:port)")
    if not ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8"):
        die(f"address '{addr}' is not a loopback address; refusing")
    return host, int(port)


def value_of(size):
    # The same bytes as bench/lua/common.lua's value().
    pattern = "abcdefghijklmnopqrstuvwxyz0123456789"
    return (pattern * (size // len(pattern) + 1))[:size]


def key_of(i):
    return f"k{i:05d}"


class Conn:
    """One keep-alive connection to one node; reconnects after any error."""

    def __init__(self, addr, timeout):
        self.host, self.port = split_addr(addr)
        self.addr = addr
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None):
        """Returns (status, parsed JSON or None); raises OSError/HTTPException on transport errors."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        data = json.dumps(body).encode() if body is not None else None
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return resp.status, doc

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None


class Status:
    def __init__(self, addr, is_leader, leader_known, term, commit, applied, ident, leader_ref):
        self.addr = addr
        self.is_leader = is_leader
        self.leader_known = leader_known
        self.term = term
        self.commit = commit
        self.applied = applied
        self.ident = ident  # how the others name this node as leader (etcd: member id; isla: address)
        self.leader_ref = leader_ref  # how this node names its leader, in the same terms


def as_int(v, default=0):
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


class Etcd:
    name = "etcd"

    def __init__(self, prefix):
        self.prefix = prefix or "/v3"

    @staticmethod
    def b64(s):
        return base64.b64encode(s.encode()).decode()

    def put(self, conn, key, value):
        status, doc = conn.request("POST", f"{self.prefix}/kv/put",
                                   {"key": self.b64(key), "value": self.b64(value)})
        return status == 200 and isinstance(doc, dict) and "header" in doc and "error" not in doc

    def get(self, conn, key):
        """Linearizable read; returns the value or None."""
        status, doc = conn.request("POST", f"{self.prefix}/kv/range", {"key": self.b64(key)})
        if status != 200 or not isinstance(doc, dict):
            return None
        kvs = doc.get("kvs") or []
        return base64.b64decode(kvs[0].get("value", "")).decode() if kvs else None

    def status(self, conn):
        code, doc = conn.request("POST", f"{self.prefix}/maintenance/status", {})
        if code != 200 or not isinstance(doc, dict):
            return None
        me = str(doc.get("header", {}).get("member_id", ""))
        leader = str(doc.get("leader", "0"))
        return Status(conn.addr, leader == me and me != "", leader not in ("", "0"),
                      as_int(doc.get("raftTerm")), as_int(doc.get("raftIndex")),
                      as_int(doc.get("raftAppliedIndex", doc.get("raftIndex"))),
                      me, leader)


class Isla:
    name = "isla"

    def put(self, conn, key, value):
        status, doc = conn.request("PUT", f"/api/kv/{key}", {"value": value})
        return status == 200 and isinstance(doc, dict) and "revision" in doc

    def get(self, conn, key):
        status, doc = conn.request("GET", f"/api/kv/{key}")
        if status != 200 or not isinstance(doc, dict):
            return None
        return doc.get("value")

    def status(self, conn):
        code, doc = conn.request("GET", "/api/status")
        if code != 200 or not isinstance(doc, dict) or not isinstance(doc.get("store"), dict):
            return None
        s = doc["store"]
        role = str(s.get("role", ""))
        leader = s.get("leader_address") or ""
        if role == "leader" and not leader:
            leader = conn.addr
        return Status(conn.addr, role == "leader", leader != "",
                      as_int(s.get("term")), as_int(s.get("commit")), as_int(s.get("applied")),
                      conn.addr, leader)


def make_system(args):
    if args.system == "etcd":
        return Etcd(args.prefix)
    return Isla()


def statuses(system, nodes, timeout=1.0):
    out = {}
    for addr in nodes:
        c = Conn(addr, timeout)
        try:
            out[addr] = system.status(c)
        except (OSError, http.client.HTTPException):
            out[addr] = None
        finally:
            c.close()
    return out


def find_leader(system, nodes):
    """The address of the node that says it leads (highest term wins), or None."""
    sts = [s for s in statuses(system, nodes).values() if s is not None and s.is_leader]
    if not sts:
        return None
    return max(sts, key=lambda s: s.term).addr


def wait_leader(system, nodes, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leader = find_leader(system, nodes)
        if leader:
            return leader
        time.sleep(0.05)
    return None


# ------------------------------------------------------------------ subcommands

def cmd_probe(args):
    """etcd only: which JSON gateway prefix answers."""
    addr = args.nodes[0]

    def answers(prefix):
        c = Conn(addr, 2.0)
        try:
            code, doc = c.request("POST", f"{prefix}/maintenance/status", {})
            return code == 200 and isinstance(doc, dict) and "header" in doc
        except (OSError, http.client.HTTPException):
            return False
        finally:
            c.close()

    # /v3 is preferred; it is asked again when /v3beta answers, in case etcd came up in between.
    if answers("/v3"):
        print("/v3")
    elif answers("/v3beta"):
        print("/v3" if answers("/v3") else "/v3beta")
    else:
        return 1
    return 0


def cmd_ready(args):
    system = make_system(args)
    sts = statuses(system, args.nodes)
    if any(s is None for s in sts.values()):
        return 1
    leaders = [s for s in sts.values() if s.is_leader]
    if len(leaders) != 1 or any(s.leader_ref != leaders[0].ident for s in sts.values()):
        return 1
    print(leaders[0].addr)
    return 0


def cmd_leader(args):
    leader = wait_leader(make_system(args), args.nodes, args.timeout)
    if not leader:
        return 1
    print(leader)
    return 0


def cmd_term(args):
    """The highest Raft term any node reports: its growth over a run counts elections."""
    sts = [s for s in statuses(make_system(args), args.nodes).values() if s is not None]
    if not sts:
        return 1
    print(max(s.term for s in sts))
    return 0


def cmd_check(args):
    """Put a key on each node (followers forward), then read it back linearizably from each."""
    system = make_system(args)
    value = value_of(args.value_size)
    for i, addr in enumerate(args.nodes):
        key = f"check-{i}"
        c = Conn(addr, 5.0)
        try:
            if not system.put(c, key, value):
                die(f"{system.name}: put {key} on {addr} was not acknowledged")
            for other in args.nodes:
                oc = Conn(other, 5.0)
                try:
                    got = system.get(oc, key)
                finally:
                    oc.close()
                if got != value:
                    die(f"{system.name}: linearizable get {key} on {other} after put on {addr} "
                        f"returned {got!r:.60}, expected the {len(value)}-byte value")
        except (OSError, http.client.HTTPException) as e:
            die(f"{system.name}: {addr}: {e!r}")
        finally:
            c.close()
    print(f"{system.name}: put+get ok on {','.join(args.nodes)}")
    return 0


def cmd_fill(args):
    """Writes every key once through the leader (args.threads connections), so reads find them."""
    system = make_system(args)
    leader = wait_leader(system, args.nodes, 10.0)
    if not leader:
        die(f"{system.name}: no leader")
    value = value_of(args.value_size)
    failures = []
    deadline = time.monotonic() + args.timeout
    lock = threading.Lock()

    def worker(idx):
        c = Conn(leader, 5.0)
        try:
            for i in range(idx, args.keys, args.threads):
                for attempt in range(5):
                    if time.monotonic() > deadline:
                        with lock:
                            failures.append(key_of(i))
                        return
                    try:
                        if system.put(c, key_of(i), value):
                            break
                    except (OSError, http.client.HTTPException):
                        pass
                    time.sleep(0.05 * (attempt + 1))
                else:
                    with lock:
                        failures.append(key_of(i))
        finally:
            c.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 10)
    elapsed = time.monotonic() - t0
    if failures:
        die(f"{system.name}: fill: {len(failures)} of {args.keys} keys not written (first {failures[0]})")
    print(f"{system.name}: filled {args.keys} keys of {args.value_size} bytes via {leader} "
          f"in {elapsed:.1f}s ({args.keys / elapsed:.0f} writes/s, {args.threads} connections)")
    return 0


def pid_is_node(pid, addr):
    """True iff pid is alive (not a zombie) and its command line mentions addr's host."""
    host = addr.rpartition(":")[0]
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rpartition(")")[2].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return state != "Z" and host in cmdline


def cmd_failover(args):
    """Steady write load on every node; kill -9 the leader; from then on also an open-loop probe
    (one fresh write every --probe-interval); time to the first acknowledged write sent after the
    kill, on any surviving node."""
    system = make_system(args)
    pids = {}
    for item in args.pids.split(","):
        addr, _, pid = item.partition("=")
        split_addr(addr)
        pids[addr] = int(pid)
    leader = wait_leader(system, args.nodes, 10.0)
    if not leader:
        die(f"{system.name}: no leader before the kill")
    if leader not in pids or not pid_is_node(pids[leader], leader):
        die(f"{system.name}: no live process known for leader {leader}")

    value = value_of(args.value_size)
    stop = threading.Event()
    first = threading.Event()
    lock = threading.Lock()
    state = {"kill": None, "first_ack": None, "first_node": None, "acks_before": 0,
             "acks_after": 0, "errors_after": 0}
    hard_deadline = time.monotonic() + args.warm + args.timeout + 5

    def record_after_kill(ok, t1, addr):
        """Counts a write sent after the kill; the first acknowledged one ends the wait.
        Call with `lock` held."""
        if ok:
            state["acks_after"] += 1
            if state["first_ack"] is None or t1 < state["first_ack"]:
                state["first_ack"] = t1
                state["first_node"] = addr
            first.set()
        else:
            state["errors_after"] += 1

    def writer(addr, idx):
        c = Conn(addr, args.request_timeout)
        n = 0
        try:
            while not stop.is_set() and time.monotonic() < hard_deadline:
                kill_t = state["kill"]
                if kill_t is not None and addr == leader:
                    return  # the killed node's writers stop
                key = f"fo-{addr.split(':')[0].rsplit('.', 1)[1]}-{idx}-{n % 100}"
                n += 1
                t0 = time.monotonic()
                try:
                    ok = system.put(c, key, value)
                except (OSError, http.client.HTTPException):
                    ok = False
                t1 = time.monotonic()
                with lock:
                    k = state["kill"]
                    if ok and k is None:
                        state["acks_before"] += 1
                    elif k is not None and t0 >= k:
                        record_after_kill(ok, t1, addr)
                if not ok or args.pace > 0:
                    time.sleep(args.pace if ok else max(args.pace, 0.005))
        finally:
            c.close()

    threads = [threading.Thread(target=writer, args=(a, i), daemon=True)
               for a in args.nodes for i in range(args.writers)]
    for t in threads:
        t.start()
    # The steady load runs for a while before the kill (this is load, not synchronisation).
    warm_deadline = time.monotonic() + args.warm
    while time.monotonic() < warm_deadline:
        time.sleep(0.02)
    with lock:
        acks_before = state["acks_before"]
    if acks_before == 0:
        stop.set()
        die(f"{system.name}: no write was acknowledged in the {args.warm}s before the kill")
    if not pid_is_node(pids[leader], leader):
        stop.set()
        die(f"{system.name}: leader process {pids[leader]} is gone before the kill")
    # Check the leader did not change during the warm-up (a kill of a follower would measure nothing).
    now_leader = find_leader(system, args.nodes)
    if now_leader != leader:
        stop.set()
        die(f"{system.name}: leader moved from {leader} to {now_leader} before the kill; retry")

    with lock:
        state["kill"] = time.monotonic()
    os.kill(pids[leader], signal.SIGKILL)
    kill_t = state["kill"]
    # The closed-loop writers above hang together on requests that followers forwarded to the
    # dead leader, and then retry in step, which would round the measurement up to their
    # timeout. So from the kill on, a probe also sends one fresh write every probe interval
    # (round robin over the survivors, each on its own connection, open loop), which bounds
    # the measurement's resolution by that interval.
    survivors = [a for a in args.nodes if a != leader]
    probes = {"sent": 0, "live": 0}

    def probe(addr):
        c = Conn(addr, args.probe_timeout)
        try:
            ok = system.put(c, f"fo-probe-{probes['sent'] % 100}", value)
        except (OSError, http.client.HTTPException):
            ok = False
        finally:
            c.close()
        t1 = time.monotonic()
        with lock:
            probes["live"] -= 1
            record_after_kill(ok, t1, addr)

    probe_deadline = kill_t + args.timeout
    next_probe = kill_t
    while not first.is_set() and time.monotonic() < probe_deadline:
        with lock:
            room = probes["live"] < args.max_probes
            if room:
                probes["live"] += 1
        if room:
            addr = survivors[probes["sent"] % len(survivors)]
            probes["sent"] += 1
            threading.Thread(target=probe, args=(addr,), daemon=True).start()
        next_probe += args.probe_interval
        first.wait(max(0.0, next_probe - time.monotonic()))
    # Let the writers run a moment more so that the count after the kill means something.
    settle = time.monotonic() + 0.2
    while time.monotonic() < settle:
        time.sleep(0.02)
    stop.set()
    for t in threads:
        t.join(args.request_timeout + 1)
    new_leader = wait_leader(system, survivors, 5.0)
    with lock:
        first_ack = state["first_ack"]
        out = {
            "system": system.name,
            "killed": leader,
            "killed_pid": pids[leader],
            "failover_ms": round((first_ack - kill_t) * 1000, 1) if first_ack else None,
            "first_ack_on": state["first_node"],
            "new_leader": new_leader,
            "acks_before_kill": state["acks_before"],
            "acks_after_kill": state["acks_after"],
            "errors_after_kill": state["errors_after"],
            "writers_per_node": args.writers,
            "probes_sent": probes["sent"],
        }
    print(json.dumps(out))
    return 0 if first_ack else 1


def cmd_rejoined(args):
    system = make_system(args)
    sts = statuses(system, args.nodes)
    me = sts.get(args.node)
    if me is None or not me.leader_known:
        return 1
    leaders = [s for s in sts.values() if s is not None and s.is_leader]
    if len(leaders) != 1 or me.leader_ref != leaders[0].ident:
        return 1
    # (it may lead again itself: then it has everything that is committed)
    return 0 if me.is_leader or me.applied >= leaders[0].commit else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("system", choices=["etcd", "isla"])
    p.add_argument("nodes", help="comma-separated host:port client addresses")
    p.add_argument("--prefix", default=os.environ.get("ETCD_API_PREFIX", "/v3"),
                   help="etcd JSON gateway prefix (/v3 or /v3beta)")
    p.add_argument("--value-size", type=int, default=int(os.environ.get("VALUE_SIZE", "256")))
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("probe")
    sub.add_parser("ready")
    s = sub.add_parser("leader")
    s.add_argument("--timeout", type=float, default=10.0)
    sub.add_parser("check")
    sub.add_parser("term")
    s = sub.add_parser("fill")
    s.add_argument("--keys", type=int, default=10000)
    s.add_argument("--threads", type=int, default=16)
    s.add_argument("--timeout", type=float, default=120.0)
    s = sub.add_parser("failover")
    s.add_argument("--pids", required=True, help="addr=pid,... for every node")
    s.add_argument("--writers", type=int, default=3, help="sequential writers per node")
    s.add_argument("--pace", type=float, default=0.02, help="pause (s) after each write of a writer")
    s.add_argument("--request-timeout", type=float, default=0.25)
    s.add_argument("--warm", type=float, default=1.0, help="seconds of load before the kill")
    s.add_argument("--timeout", type=float, default=30.0, help="give up this long after the kill")
    s.add_argument("--probe-interval", type=float, default=0.01,
                   help="after the kill, one fresh write every this many seconds")
    s.add_argument("--probe-timeout", type=float, default=1.0)
    s.add_argument("--max-probes", type=int, default=150, help="probes in flight at most")
    s = sub.add_parser("rejoined")
    s.add_argument("--node", required=True)
    args = p.parse_args()
    args.nodes = [a.strip() for a in args.nodes.split(",") if a.strip()]
    for a in args.nodes:
        split_addr(a)
    if args.value_size < 0 or args.value_size > 1 << 20:
        die("--value-size must be within 0..1048576")
    socket.setdefaulttimeout(5.0)
    return {
        "probe": cmd_probe, "ready": cmd_ready, "leader": cmd_leader, "check": cmd_check,
        "fill": cmd_fill, "failover": cmd_failover, "rejoined": cmd_rejoined, "term": cmd_term,
    }[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
