// The live causal event log: polls GET /api/events/log?since=ID, lists events newest first
// with their Lamport time, vector clock, node, kind and detail, and shows happened-before:
// hovering or selecting an event marks its immediate predecessors (its `after`), the rest of
// its causal past, its causal future, and the events concurrent with it.
import { $, el, getJSON, setText, syncKeyed } from "./util.js";
import { CausalLog } from "./causal.js";

const RELATION_TEXT = {
  selected: "this",
  predecessor: "direct",
  past: "past",
  future: "future",
  concurrent: "concurrent",
};
const RELATION_TITLE = {
  selected: "the event you are looking at",
  predecessor: "an immediate causal predecessor (listed in its `after`)",
  past: "in its causal past: happened before it",
  future: "in its causal future: it happened before this",
  concurrent: "concurrent: neither happened before the other",
};
const LANE_COLOURS = ["#0055bf", "#c91a09", "#237841", "#a95500", "#81007b", "#008f9b", "#6c6e68", "#923978"];

const log = new CausalLog(1000);
let source = null; // {node, incarnation} of the gateway whose log we hold
let selectedKey = null;
let hoverKey = null;
let rendered = false; // since the last reset
let lanes = new Map(); // node -> lane index
let labels = new Map(); // node -> short label

// The status poll tells us the serving gateway's incarnation: a new one is a restarted
// process whose log (and ids) started again from 1.
export function noteGateway(node, incarnation) {
  if (!source || source.node !== node || incarnation === undefined) return;
  if (source.incarnation === undefined) source.incarnation = incarnation;
  else if (source.incarnation !== incarnation) reset({ node, incarnation });
}

function reset(next) {
  log.clear();
  source = next;
  selectedKey = null;
  hoverKey = null;
  rendered = false;
}

export async function refreshEvents() {
  const err = $("events-error");
  const since = log.lastId;
  let data;
  try {
    data = await getJSON(since > 0 ? `/api/events/log?since=${since}` : "/api/events/log");
  } catch (e) {
    err.hidden = false;
    setText(err, `Could not load the event log: ${e && e.message ? e.message : e}`);
    return;
  }
  err.hidden = true;
  const node = typeof data.node === "string" ? data.node : "";
  if (!source || source.node !== node) {
    // Another gateway answered (a balancer in front): its ids name other events, so its log
    // is read from the start.
    reset({ node, incarnation: undefined });
    if (since > 0) return;
  }
  const added = log.add(data.events);
  if (added > 0 || !rendered) render();
}

function render() {
  rendered = true;
  const nodes = log.nodes();
  const own = [...new Set(log.events.map((e) => e.node))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  lanes = new Map(own.map((n, i) => [n, i]));
  labels = shortLabels(nodes);
  renderLegend(own);
  const newestFirst = [...log.events].reverse();
  syncKeyed($("events-table").tBodies[0], newestFirst, (e) => e.key, createRow, updateRow);
  $("events-empty").hidden = log.events.length > 0;
  setText($("events-summary"),
    `${log.events.length} events · ${own.length} ${own.length === 1 ? "node" : "nodes"} · log of ${source ? source.node : "—"}`);
  applyRelations();
}

function renderLegend(own) {
  const legend = $("events-lanes");
  legend.replaceChildren(...own.map((n) => {
    const item = el("span", "lane-key");
    const dot = el("span", "lane-dot");
    dot.style.background = laneColour(n);
    item.append(dot, el("span", "mono", n));
    return item;
  }));
}

function laneColour(node) {
  const i = lanes.get(node);
  return i === undefined ? "#a8a8a8" : LANE_COLOURS[i % LANE_COLOURS.length];
}

function createRow(key) {
  const tr = el("tr");
  tr.dataset.key = key;
  tr.tabIndex = 0;
  for (const cls of ["rel", "num", "num", "lanes", "mono origin", "", "detail", "mono vector"]) {
    const td = tr.insertCell();
    if (cls) td.className = cls;
  }
  tr.cells[5].append(el("span", "badge"));
  tr.addEventListener("mouseenter", () => { hoverKey = key; applyRelations(); });
  tr.addEventListener("mouseleave", () => { if (hoverKey === key) hoverKey = null; applyRelations(); });
  tr.addEventListener("click", () => select(key));
  tr.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(key); }
  });
  return tr;
}

function select(key) {
  selectedKey = selectedKey === key ? null : key;
  applyRelations();
}

function updateRow(tr, e) {
  const c = tr.cells;
  tr.dataset.id = String(e.id);
  tr.dataset.kind = e.kind;
  tr.dataset.node = e.node;
  const subject = e.detail && typeof e.detail === "object" && typeof e.detail.node === "string" ? e.detail.node : "";
  tr.dataset.subject = subject;
  tr.title = e.wall_ms ? `recorded at ${new Date(e.wall_ms).toLocaleTimeString()} (wall clock of ${e.node}; not used for order)` : "";
  setText(c[1], String(e.id));
  setText(c[2], String(e.lamport));
  renderLanes(c[3], e.node);
  setText(c[4], e.node);
  const badge = c[5].firstChild;
  setText(badge, e.kind);
  badge.className = "badge " + kindClass(e.kind);
  setText(c[6], formatDetail(e.detail));
  setText(c[7], Object.entries(e.vector)
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([n, count]) => `${labels.get(n) || n}=${count}`).join(" "));
  c[7].title = JSON.stringify(e.vector);
  c[6].title = typeof e.detail === "string" ? e.detail : JSON.stringify(e.detail);
}

// One column per node with events in this log: a dot in the event's own column, so
// events on different nodes that are concurrent sit side by side.
function renderLanes(cell, node) {
  const n = lanes.size;
  if (cell.childElementCount !== n || cell.dataset.node !== node) {
    const spans = [];
    for (const [laneNode, i] of lanes) {
      const s = el("span", "lane");
      if (laneNode === node) {
        const dot = el("span", "lane-dot");
        dot.style.background = LANE_COLOURS[i % LANE_COLOURS.length];
        s.append(dot);
      }
      spans.push(s);
    }
    cell.replaceChildren(...spans);
    cell.dataset.node = node;
  }
}

function kindClass(kind) {
  if (/died|dead/.test(kind)) return "b-dead";
  if (/suspect/.test(kind)) return "b-suspect";
  if (/left|draining|lost|forgotten/.test(kind)) return "b-left";
  if (/joined|refuted|rejoined|alive/.test(kind)) return "b-alive";
  if (/^bridge_|^island_/.test(kind)) return "b-bridge";
  return "b-unknown";
}

function formatDetail(detail) {
  if (detail === null || detail === undefined) return "";
  if (typeof detail !== "object") return String(detail);
  return Object.entries(detail)
    .map(([k, v]) => `${k}=${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(" ");
}

// Enough of each address to tell the nodes apart: at least the last two parts of the host,
// and the port only when the ports differ.
export function shortLabels(nodes) {
  const parts = nodes.map((n) => {
    const i = n.lastIndexOf(":");
    return { node: n, host: (i > 0 ? n.slice(0, i) : n).split("."), port: i > 0 ? n.slice(i + 1) : "" };
  });
  const samePort = new Set(parts.map((p) => p.port)).size <= 1;
  const longest = Math.max(1, ...parts.map((p) => p.host.length));
  for (let k = Math.min(2, longest); k <= longest; k++) {
    const made = parts.map((p) => p.host.slice(-k).join(".") + (samePort || !p.port ? "" : ":" + p.port));
    if (new Set(made).size === made.length || k === longest) {
      return new Map(parts.map((p, i) => [p.node, made[i]]));
    }
  }
  return new Map(nodes.map((n) => [n, n]));
}

function applyRelations() {
  const focus = hoverKey ?? selectedKey;
  const relations = focus ? log.classify(focus) : new Map();
  for (const tr of $("events-table").tBodies[0].rows) {
    const r = relations.get(tr.dataset.key);
    if (r) {
      tr.dataset.relation = r;
      setText(tr.cells[0], RELATION_TEXT[r]);
      tr.cells[0].title = RELATION_TITLE[r];
    } else if (tr.dataset.relation) {
      delete tr.dataset.relation;
      setText(tr.cells[0], "");
      tr.cells[0].title = "";
    }
    tr.classList.toggle("is-selected", tr.dataset.key === selectedKey);
  }
  $("events-table").dataset.focus = focus || "";
  renderFocus(focus, relations);
}

function renderFocus(focus, relations) {
  const info = $("events-focus");
  const event = focus ? log.get(focus) : null;
  if (!event) {
    setText(info, "Hover over or select an event to see what happened before it, after it, and concurrently.");
    return;
  }
  const count = (r) => [...relations.values()].filter((x) => x === r).length;
  const direct = event.afterKeys.map((k) => log.get(k)).filter(Boolean).map((e) => `#${e.id}`);
  let text = `#${event.id} ${event.kind} on ${event.node} (Lamport ${event.lamport}) · ` +
    `after ${direct.length ? direct.join(", ") : "nothing held"} · ` +
    `causal past ${count("predecessor") + count("past")} · future ${count("future")} · ` +
    `concurrent ${count("concurrent")}`;
  const unseen = log.unseenPast(focus);
  if (unseen.length) {
    text += " · its clock also covers " + unseen
      .map((u) => `${u.missing} ${u.missing === 1 ? "event" : "events"} of ${u.node}`).join(", ") +
      " not in this log";
  }
  setText(info, text);
}
