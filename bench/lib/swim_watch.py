#!/usr/bin/env python3
"""Watches an island's gateways for bench/failure_detection.sh, over their HTTP API.

It runs where the gateways can be reached: inside one of the test bed's hosts (the root
namespace has no route to a bed), or anywhere on loopback. Every node is HOST:PORT, as the
gateways name each other in /api/status and in their events.

  converged --nodes A,B,...   [--timeout S]
      waits until every node lists every other one as alive; exit 1 on timeout.
  mark --nodes A,B,...
      prints {"A": latest event id, ...}: where a later `count` starts.
  count --nodes A,B,... --mark JSON [--routes]
      prints "DEATHS SUSPICIONS": member_died and member_suspected events each node recorded
      itself after the mark (an island where nobody was killed: every death is a false one);
      with --routes, then the route_removed events (piece servers dropped from routing).
  detect --nodes SURVIVORS --victim V --killed-ms T [--timeout S]
      polls every 20 ms until every survivor holds V dead, then prints the detection time in
      ms: the latest of the survivors' own member_died events about V, by their wall_ms,
      minus T (the kill, ms since the epoch); "missed" if that did not happen within S.
"""
import argparse
import json
import sys
import time
import urllib.request

POLL_S = 0.02


def get_json(node, path):
    """The JSON at http://NODE/PATH, or None when the node does not answer well in time."""
    try:
        with urllib.request.urlopen(f"http://{node}{path}", timeout=1) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def peer_states(node):
    status = get_json(node, "/api/status")
    if status is None:
        return None
    return {peer["address"]: peer["state"] for peer in status.get("peers", [])}


def own_events(node, since=0):
    """The events NODE recorded itself (its log also holds events it was given)."""
    log = get_json(node, f"/api/events/log?since={since}" if since else "/api/events/log")
    if log is None:
        raise SystemExit(f"swim_watch: {node} did not return its event log")
    return [event for event in log.get("events", []) if event.get("node") == log.get("node")]


def is_converged(nodes):
    for node in nodes:
        states = peer_states(node)
        if states is None:
            return False
        if any(states.get(other) != "alive" for other in nodes if other != node):
            return False
    return True


def converged(args):
    deadline = time.monotonic() + args.timeout
    while not is_converged(args.nodes):
        if time.monotonic() > deadline:
            for node in args.nodes:
                print(f"swim_watch: {node} sees {peer_states(node)}", file=sys.stderr)
            return 1
        time.sleep(POLL_S)
    return 0


def mark(args):
    print(json.dumps({node: max((e["id"] for e in own_events(node)), default=0)
                      for node in args.nodes}))
    return 0


def count(args):
    since = json.loads(args.mark)
    deaths = suspicions = routes_removed = 0
    for node in args.nodes:
        for event in own_events(node, since.get(node, 0)):
            if event["kind"] == "member_died":
                deaths += 1
                print(f"swim_watch: {node} declared {event['detail'].get('node')} dead",
                      file=sys.stderr)
            elif event["kind"] == "member_suspected":
                suspicions += 1
            elif event["kind"] == "route_removed":
                routes_removed += 1
    print(deaths, suspicions, *([routes_removed] if args.routes else []))
    return 0


def routed_pieces(node):
    status = get_json(node, "/api/status")
    if status is None:
        return None
    return {piece["address"] for piece in status.get("piece_servers", [])
            if piece.get("state") == "alive"}


def detection_ms(args, still_sees, kind, detail_key):
    """Polls until no node still_sees the victim, then the latest of the nodes' own KIND events
    about it (detail[DETAIL_KEY] == victim), by wall_ms, minus the kill; None on timeout."""
    deadline = time.monotonic() + args.timeout
    waiting = set(args.nodes)
    while waiting:
        if time.monotonic() > deadline:
            return None
        waiting = {node for node in waiting if still_sees(node)}
        if waiting:
            time.sleep(POLL_S)
    latest = 0
    for node in args.nodes:
        seen = [e["wall_ms"] for e in own_events(node)
                if e["kind"] == kind and e["detail"].get(detail_key) == args.victim
                and e["wall_ms"] >= args.killed_ms]
        if not seen:  # the event was evicted from a full log: the poll is all we know
            seen = [int(time.time() * 1000)]
        latest = max(latest, min(seen))
    return latest - args.killed_ms


def print_detection(ms):
    print("missed" if ms is None else ms)
    return 0


def detect(args):
    return print_detection(detection_ms(
        args, lambda node: (peer_states(node) or {}).get(args.victim) != "dead",
        "member_died", "node"))


def piece_gone(args):
    def still_routes(node):
        routed = routed_pieces(node)
        return routed is None or args.victim in routed  # no answer: not known gone yet
    return print_detection(detection_ms(args, still_routes, "route_removed", "server"))


def figures_served(node):
    listing = get_json(node, "/api/figures")
    if listing is None:
        return 0
    return sum(1 for figure in listing.get("figures", []) if figure.get("servers"))


def pieces_ready(args):
    deadline = time.monotonic() + args.timeout
    want = set(args.pieces)
    while True:
        missing = {node: want - (routed_pieces(node) or set()) for node in args.nodes}
        short = {node: figures_served(node) for node in args.nodes}
        if not any(missing.values()) and all(n >= args.figures for n in short.values()):
            return 0
        if time.monotonic() > deadline:
            for node in args.nodes:
                print(f"swim_watch: {node} misses pieces {sorted(missing[node])}, "
                      f"serves {short[node]} of {args.figures} figures", file=sys.stderr)
            return 1
        time.sleep(POLL_S * 5)


def knows_leader(node):
    status = get_json(node, "/api/status")
    return bool(status and (status.get("store") or {}).get("leader_address"))


def led(args):
    deadline = time.monotonic() + args.timeout
    while not all(knows_leader(node) for node in args.nodes):
        if time.monotonic() > deadline:
            return 1
        time.sleep(POLL_S * 5)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("converged", "mark", "count", "detect", "piece-gone", "pieces-ready", "led"):
        command = sub.add_parser(name)
        command.add_argument("--nodes", required=True, type=lambda s: s.split(","))
        command.add_argument("--timeout", type=float, default=60)
    sub.choices["count"].add_argument("--mark", required=True)
    sub.choices["count"].add_argument("--routes", action="store_true",
                                      help="also print the route_removed events (piece servers "
                                           "dropped from routing)")
    sub.choices["detect"].add_argument("--victim", required=True)
    sub.choices["detect"].add_argument("--killed-ms", required=True, type=int)
    sub.choices["piece-gone"].add_argument("--victim", required=True)
    sub.choices["piece-gone"].add_argument("--killed-ms", required=True, type=int)
    sub.choices["pieces-ready"].add_argument("--pieces", required=True, type=lambda s: s.split(","))
    sub.choices["pieces-ready"].add_argument("--figures", required=True, type=int)
    args = parser.parse_args()
    return {"converged": converged, "mark": mark, "count": count, "detect": detect,
            "piece-gone": piece_gone, "pieces-ready": pieces_ready, "led": led}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
