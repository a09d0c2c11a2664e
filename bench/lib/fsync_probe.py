#!/usr/bin/env python3
"""What one durable append costs on a filesystem: --count times, os.write of --size bytes at the
end of a fresh file, then os.fdatasync, as a write-ahead log does (the file grows, so the
size is flushed too). Prints one JSON line with the percentiles of write+fdatasync, in ms.

  fsync_probe.py --dir DIR [--count 1000] [--size 4096] [--timeout 30]

The file lives in DIR (put it beside the data dirs) and is removed afterwards. Bounded by
--count and --timeout, whichever comes first. Standard library only.
"""
import argparse
import json
import os
import sys
import tempfile
import time


def percentile(sorted_values, p):
    """Nearest rank."""
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()
    if args.count < 1 or not 1 <= args.size <= 1 << 20:
        sys.exit("fsync_probe: --count must be >= 1 and --size within 1..1048576")
    block = b"x" * args.size
    fd, path = tempfile.mkstemp(prefix="fsync-probe.", dir=args.dir)
    ns = []
    try:
        deadline = time.monotonic() + args.timeout
        while len(ns) < args.count and time.monotonic() < deadline:
            t0 = time.perf_counter_ns()
            os.write(fd, block)
            os.fdatasync(fd)
            ns.append(time.perf_counter_ns() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    ns.sort()
    ms = lambda v: round(v / 1e6, 3)
    print(json.dumps({
        "n": len(ns), "size": args.size, "p50_ms": ms(percentile(ns, 50)),
        "p90_ms": ms(percentile(ns, 90)), "p99_ms": ms(percentile(ns, 99)), "max_ms": ms(ns[-1]),
        "mean_ms": ms(sum(ns) / len(ns)),
    }))


if __name__ == "__main__":
    main()
