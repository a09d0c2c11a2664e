// Happened-before over the events of GET /api/events/log. No DOM here: the event panel
// (events.js) renders what this computes, and the browser test calls it directly.
//
// Every event ticks its own node's entry of the vector clock, so an event's own entry is its
// position in its node's history, and
//   a happened before b  <=>  a is not b and V(a)[node(a)] <= V(b)[node(a)].
// Two events neither of which happened before the other are concurrent. Deciding from the
// clocks (rather than only by following `after`) stays right when a predecessor has been
// evicted from the log or arrives in a later poll.

export function ownCount(event) {
  return clockEntry(event.vector, event.node);
}

function clockEntry(vector, node) {
  const n = vector && typeof vector === "object" ? Number(vector[node]) : NaN;
  return Number.isFinite(n) && n > 0 ? n : 0;
}

// The same event as seen in any node's log: its node and its own count.
export function eventKey(event) {
  return `${event.node}#${ownCount(event)}`;
}

const keyOf = (event) => event.key ?? eventKey(event);

export function happenedBefore(a, b) {
  const own = ownCount(a);
  if (own === 0 || keyOf(a) === keyOf(b)) return false;
  return own <= clockEntry(b.vector, a.node);
}

// How `other` relates to `event`: "same", "before" (other happened before event), "after"
// (event happened before other) or "concurrent".
export function relation(event, other) {
  if (keyOf(event) === keyOf(other)) return "same";
  if (happenedBefore(other, event)) return "before";
  if (happenedBefore(event, other)) return "after";
  return "concurrent";
}

// The order the server returns: by Lamport time, then node, then id. A linear extension of
// happened-before, since a -> b implies L(a) < L(b).
export function causalCompare(a, b) {
  return (a.lamport - b.lamport) || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0) || (a.id - b.id);
}

// The log one gateway serves, as a poller accumulates it: events in causal order, each
// with the keys of its immediate predecessors (its `after`, resolved while the ids that
// name them are known), bounded to `capacity` (the earliest in causal order go first).
export class CausalLog {
  constructor(capacity = 1000) {
    this.capacity = capacity;
    this.clear();
  }

  clear() {
    this.events = []; // causal order; each {..., key, afterKeys}
    this.byKey = new Map();
    this.keyOfId = new Map(); // the serving log's ids -> keys
    this.lastId = 0;
  }

  // Adds the events of one response; returns how many were new. Malformed events are skipped.
  add(events) {
    let added = 0;
    for (const raw of Array.isArray(events) ? events : []) {
      const event = normalise(raw);
      if (!event) continue;
      this.lastId = Math.max(this.lastId, event.id);
      this.keyOfId.set(event.id, event.key);
      if (this.byKey.has(event.key)) continue;
      event.afterKeys = event.after.map((id) => this.keyOfId.get(id)).filter((k) => k !== undefined);
      this.byKey.set(event.key, event);
      this.insert(event);
      added++;
    }
    this.evict();
    return added;
  }

  get(key) {
    return this.byKey.get(key);
  }

  // The nodes that appear in the log or in any of its clocks, sorted.
  nodes() {
    const all = new Set();
    for (const e of this.events) {
      all.add(e.node);
      for (const n of Object.keys(e.vector)) all.add(n);
    }
    return [...all].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  }

  // Every held event's relation to the event `key`: "selected", "predecessor" (an immediate
  // one, from its `after`), "past" (the rest of its causal past), "future" or "concurrent".
  classify(key) {
    const out = new Map();
    const selected = this.byKey.get(key);
    if (!selected) return out;
    const immediate = new Set(selected.afterKeys);
    for (const e of this.events) {
      const r = relation(selected, e);
      out.set(e.key, r === "same" ? "selected"
        : r === "before" ? (immediate.has(e.key) ? "predecessor" : "past")
        : r === "after" ? "future" : "concurrent");
    }
    return out;
  }

  // How much of each other node's history the event knows of, beyond the events held: the
  // part of its causal past this log cannot show (e.g. a peer's events before its message).
  unseenPast(key) {
    const event = this.byKey.get(key);
    if (!event) return [];
    const out = [];
    for (const [node, count] of Object.entries(event.vector)) {
      if (node === event.node) continue;
      const held = this.events.filter((e) => e.node === node && ownCount(e) <= count).length;
      if (held < count) out.push({ node, count, missing: count - held });
    }
    return out;
  }

  insert(event) {
    let i = this.events.length;
    while (i > 0 && causalCompare(this.events[i - 1], event) > 0) i--;
    this.events.splice(i, 0, event);
  }

  evict() {
    const excess = this.events.length - this.capacity;
    if (excess <= 0) return;
    for (const gone of this.events.splice(0, excess)) this.byKey.delete(gone.key);
    const live = new Set(this.byKey.keys());
    for (const [id, key] of this.keyOfId) if (!live.has(key)) this.keyOfId.delete(id);
  }
}

function normalise(raw) {
  if (!raw || typeof raw !== "object") return null;
  const id = Number(raw.id);
  const lamport = Number(raw.lamport);
  if (!Number.isInteger(id) || id <= 0 || !Number.isFinite(lamport)) return null;
  if (typeof raw.node !== "string" || raw.node === "") return null;
  const vector = {};
  if (raw.vector && typeof raw.vector === "object") {
    for (const [node, n] of Object.entries(raw.vector)) {
      const count = Number(n);
      if (Number.isFinite(count) && count > 0) vector[node] = count;
    }
  }
  const event = {
    id,
    node: raw.node,
    kind: typeof raw.kind === "string" ? raw.kind : "",
    detail: raw.detail ?? null,
    lamport,
    vector,
    wall_ms: Number(raw.wall_ms) || 0,
    after: Array.isArray(raw.after) ? raw.after.map(Number).filter(Number.isInteger) : [],
  };
  event.key = ownCount(event) > 0 ? eventKey(event) : `${event.node}@${id}`;
  return event;
}
