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
  store_tool.py SYSTEM NODES seq --op OP               -> one client, one request at a time (keep-alive)
                                                          to the leader: OP is write, read (linearizable),
                                                          sread (serializable) or ping (no store work);
                                                          prints one JSON line with p50/p99
  store_tool.py SYSTEM NODES flap --chain C --cgroups A=PATH,...
                                                       -> every --period s, cuts (iptables REJECT) or
                                                          restores the link between the leader and one
                                                          follower; prints one JSON line at the end

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
import subprocess
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


# ------------------------------------------------------------------ low-load latency

class RawHttp:
    """A minimal HTTP/1.1 keep-alive client for latency loops: one socket with TCP_NODELAY,
    pre-built request bytes, Content-Length or chunked answers. It costs the client a few µs per
    request where http.client costs tens, which matters when the figure sought is ~1 ms."""

    def __init__(self, addr, timeout):
        self.addr = addr
        self.host, self.port = split_addr(addr)
        self.timeout = timeout
        self.sock = None
        self.buf = b""

    def connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def local_port(self):
        return self.sock.getsockname()[1] if self.sock else None

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by the server")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def exchange(self, request):
        """Sends one request, returns (status, body); raises OSError on transport errors (the
        connection is closed then, and the next exchange reconnects)."""
        if self.sock is None:
            self.connect()
        try:
            self.sock.sendall(request)
            while True:
                i = self.buf.find(b"\r\n\r\n")
                if i >= 0:
                    break
                self._fill()
            head, self.buf = self.buf[:i].decode("latin-1"), self.buf[i + 4:]
            lines = head.split("\r\n")
            status = int(lines[0].split()[1])
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip().lower()
            if "content-length" in headers:
                body = self._take(int(headers["content-length"]))
            elif "chunked" in headers.get("transfer-encoding", ""):
                parts = []
                while True:
                    size = int(self._line().split(b";")[0], 16)
                    if size == 0:
                        while self._line():  # trailers, then the empty line
                            pass
                        break
                    parts.append(self._take(size))
                    self._line()
                body = b"".join(parts)
            else:
                body = b""
            if headers.get("connection") == "close":
                self.close()
            return status, body
        except (OSError, ValueError, IndexError) as e:
            self.close()
            raise OSError(f"{self.addr}: {e!r}") from e


def http_request(method, path, addr, body=None):
    data = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: {addr}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return head.encode() + b"\r\n" + data


def seq_request(system, op, addr, key, value):
    """The bytes of one OP request for KEY."""
    if system.name == "isla":
        if op == "write":
            return http_request("PUT", f"/api/kv/{key}", addr, {"value": value})
        if op == "read":
            return http_request("GET", f"/api/kv/{key}", addr)
        if op == "sread":
            return http_request("GET", f"/api/kv/{key}?serializable=true", addr)
        return http_request("GET", "/healthz", addr)
    k = Etcd.b64(key)
    if op == "write":
        return http_request("POST", f"{system.prefix}/kv/put", addr, {"key": k, "value": Etcd.b64(value)})
    if op == "read":
        return http_request("POST", f"{system.prefix}/kv/range", addr, {"key": k})
    if op == "sread":
        return http_request("POST", f"{system.prefix}/kv/range", addr, {"key": k, "serializable": True})
    # etcd 3.4's /health runs a linearizable range; /version touches neither Raft nor the store.
    return http_request("GET", "/version", addr)


def percentile(sorted_values, p):
    """Nearest rank."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def cmd_seq(args):
    """One client, one request at a time on one keep-alive connection, to the leader (or --node),
    until --count requests or --duration seconds, whichever first, after --warmup requests."""
    system = make_system(args)
    addr = args.node or wait_leader(system, args.nodes, 10.0)
    if not addr:
        die(f"{system.name}: no leader")
    split_addr(addr)
    value = value_of(args.value_size)
    keys = 1 if args.op == "ping" else args.keys
    requests = [seq_request(system, args.op, addr, key_of(i), value) for i in range(keys)]
    conn = RawHttp(addr, args.request_timeout)
    lat_ns, stamps, errors = [], [], 0
    max_errors = max(10, args.count // 10)

    def one(i):
        req = requests[i % len(requests)]
        wall = time.time()
        t0 = time.perf_counter_ns()
        try:
            status, body = conn.exchange(req)
            ok = status == 200 and b'"error"' not in body[:200]
        except OSError:
            ok = False
        return ok, wall, time.perf_counter_ns() - t0

    try:
        conn.connect()
        for i in range(args.warmup):
            one(i)
        deadline = time.monotonic() + args.duration
        i = 0
        while len(lat_ns) < args.count and time.monotonic() < deadline:
            ok, wall, ns = one(args.warmup + i)
            i += 1
            if not ok:
                errors += 1
                if errors > max_errors:
                    break
                time.sleep(0.01)
                continue
            lat_ns.append(ns)
            stamps.append((wall, wall + ns / 1e9, conn.local_port()))
        port = conn.local_port()
    finally:
        conn.close()
    if args.times:
        with open(args.times, "w") as f:
            for sent, got, lport in stamps:
                f.write(f"{sent:.6f} {got:.6f} {lport}\n")
    s = sorted(lat_ns)
    ms = lambda v: round(v / 1e6, 3) if v is not None else None
    print(json.dumps({
        "system": system.name, "op": args.op, "node": addr, "n": len(s), "errors": errors,
        "p50_ms": ms(percentile(s, 50)), "p90_ms": ms(percentile(s, 90)),
        "p99_ms": ms(percentile(s, 99)), "max_ms": ms(s[-1] if s else None),
        "mean_ms": ms(sum(s) / len(s) if s else None),
        "elapsed_s": round(sum(s) / 1e9, 3), "client_port": port,
    }))
    return 0 if s and errors <= max_errors else 1


# ------------------------------------------------------------------ flaky link

def iptables(*argv):
    """Runs iptables (waiting up to 5 s for its lock); raises on failure."""
    r = subprocess.run(["iptables", "-w", "5", *argv], capture_output=True, text=True, timeout=15)
    if r.returncode != 0:
        raise RuntimeError(f"iptables {' '.join(argv)}: {r.stderr.strip()}")


def cmd_flap(args):
    """Every --period seconds, alternately cuts and restores the link between the leader and one
    follower: while cut, the chain --chain holds two REJECT (tcp-reset) rules, one for the
    follower's sockets towards the leader's address and one for the leader's towards the
    follower's (a line on stderr for each cut and restore). Before each restore it notes how
    many entries the follower has fallen behind the leader, as evidence that the cut bites. Sockets are told apart by cgroup (on loopback every connection leaves from
    127.0.0.1, so addresses alone cannot). The follower is --follower while it follows; if it
    leads, another node that answers. The leader is looked up again before every cut, so after a
    failover the cut follows the new leader. Bounded by --duration; SIGTERM ends it early. The
    chain is flushed on the way out (the bench script also removes it in its EXIT trap)."""
    system = make_system(args)
    cgroups = {}
    for item in args.cgroups.split(","):
        addr, _, path = item.partition("=")
        split_addr(addr)
        if not path.startswith("/"):
            die(f"bad cgroup path for {addr}: '{path}'")
        cgroups[addr] = path
    if set(cgroups) != set(args.nodes):
        die("--cgroups must name every node")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stats = {"cuts": 0, "restores": 0, "skipped_no_leader": 0, "iptables_errors": 0, "pairs": {}}
    lags = []  # at the end of each cut: the leader's commit index minus the follower's applied one
    follower = args.follower
    cut = None  # (follower, leader) while cut
    start = time.monotonic()
    deadline = start + args.duration
    next_t = start
    try:
        iptables("-F", args.chain)
        while not stop.is_set() and time.monotonic() < deadline:
            if cut is None:
                sts = statuses(system, args.nodes, timeout=0.5)
                leaders = [s for s in sts.values() if s is not None and s.is_leader]
                leader = max(leaders, key=lambda s: s.term).addr if leaders else None
                if leader is None:
                    stats["skipped_no_leader"] += 1
                else:
                    f = follower
                    if f == leader or sts.get(f) is None:
                        others = [a for a in args.nodes if a != leader and sts.get(a) is not None]
                        f = others[0] if others else None
                    if f is None:
                        stats["skipped_no_leader"] += 1
                    else:
                        try:
                            for src, dst in ((f, leader), (leader, f)):
                                iptables("-A", args.chain, "-p", "tcp", "-d", split_addr(dst)[0],
                                         "-m", "cgroup", "--path", cgroups[src],
                                         "-j", "REJECT", "--reject-with", "tcp-reset")
                            cut = (f, leader)
                            stats["cuts"] += 1
                            pair = f"{f}<->{leader}"
                            print(f"flap {time.monotonic() - start:.2f}s cut {pair}", file=sys.stderr, flush=True)
                            stats["pairs"][pair] = stats["pairs"].get(pair, 0) + 1
                        except (RuntimeError, subprocess.TimeoutExpired) as e:
                            stats["iptables_errors"] += 1
                            print(f"store_tool: flap: {e}", file=sys.stderr)
                            break
            else:
                # Evidence that the cut bites: how far behind the follower fell meanwhile.
                sts = statuses(system, list(cut), timeout=0.5)
                if sts.get(cut[0]) is not None and sts.get(cut[1]) is not None:
                    lags.append(sts[cut[1]].commit - sts[cut[0]].applied)
                try:
                    iptables("-F", args.chain)
                    cut = None
                    stats["restores"] += 1
                    print(f"flap {time.monotonic() - start:.2f}s restored", file=sys.stderr, flush=True)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    stats["iptables_errors"] += 1
                    print(f"store_tool: flap: {e}", file=sys.stderr)
                    break
            next_t += args.period
            stop.wait(max(0.0, min(next_t, deadline) - time.monotonic()))
    finally:
        try:
            iptables("-F", args.chain)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"store_tool: flap: could not flush {args.chain}: {e}", file=sys.stderr)
    stats["seconds"] = round(time.monotonic() - start, 1)
    lags.sort()
    stats["lag_at_restore_median"] = lags[len(lags) // 2] if lags else None
    stats["lag_at_restore_max"] = lags[-1] if lags else None
    print(json.dumps(stats))
    return 0 if stats["iptables_errors"] == 0 else 1


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
    s = sub.add_parser("seq")
    s.add_argument("--op", required=True, choices=["write", "read", "sread", "ping"])
    s.add_argument("--node", help="this node instead of the leader")
    s.add_argument("--keys", type=int, default=10000, help="keys k00000.. written/read in turn")
    s.add_argument("--count", type=int, default=2000, help="measured requests at most")
    s.add_argument("--duration", type=float, default=10.0, help="measured seconds at most")
    s.add_argument("--warmup", type=int, default=100, help="requests sent first, not measured")
    s.add_argument("--request-timeout", type=float, default=5.0)
    s.add_argument("--times", help="write each measured request's send and receive time here")
    s = sub.add_parser("flap")
    s.add_argument("--chain", required=True, help="an iptables chain of the filter table, hooked "
                   "into OUTPUT, that this command may flush and fill")
    s.add_argument("--cgroups", required=True, help="addr=cgroup2 path,... for every node")
    s.add_argument("--follower", required=True, help="the follower whose link flaps, while it follows")
    s.add_argument("--period", type=float, default=1.0, help="seconds cut, then as many restored")
    s.add_argument("--duration", type=float, default=60.0, help="stop after this many seconds")
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
        "seq": cmd_seq, "flap": cmd_flap,
    }[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
