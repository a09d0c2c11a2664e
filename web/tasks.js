// The task service as /api/status reports it (its `tasks` object): queue depth per state,
// throughput, how busy the workers are, the workers themselves, and the autoscaler's latest
// decisions with the numbers it decided on. Every gateway reads the queue from the island
// store, so any of them shows the whole island's tasks.
import { $, el, setText, setClass, str, num, fmtInt, fmtAgo, syncKeyed } from "./util.js";

const DEPTH_STATES = ["queued", "running", "done", "dead", "cancelled"];
const DECISIONS = new Set(["scale_up", "scale_down", "abandon_start"]);

export function renderTasks(status) {
  const card = $("tasks");
  const t = status && status.tasks && typeof status.tasks === "object" ? status.tasks : null;
  card.dataset.available = String(t !== null);
  $("tasks-body").hidden = t === null;
  $("tasks-unavailable").hidden = t !== null;
  if (t === null) {
    setText($("tasks-summary"), "");
    return;
  }
  renderFigures(t);
  // Worker and decision times are the gateways' wall clock; so is this browser's, roughly.
  const now = Date.now();
  const workers = (Array.isArray(t.workers) ? t.workers : [])
    .filter((w) => w && typeof w.worker === "string" && w.worker !== "")
    .sort((a, b) => a.worker.localeCompare(b.worker, undefined, { numeric: true }));
  syncKeyed($("tasks-workers-table").tBodies[0], workers, (w) => w.worker, createWorkerRow,
    (tr, w) => updateWorkerRow(tr, w, now));
  $("tasks-workers-empty").hidden = workers.length > 0;
  const slots = workers.reduce((sum, w) => sum + (num(w.concurrency) ?? 0), 0);
  setText($("tasks-workers-summary"),
    `${workers.length} ${workers.length === 1 ? "worker" : "workers"} · ${slots} ${slots === 1 ? "slot" : "slots"}`);

  const decisions = (Array.isArray(t.scaling) ? t.scaling : [])
    .filter((d) => d && typeof d === "object" && typeof d.decision === "string");
  syncKeyed($("tasks-scaling-list"), decisions, decisionKey, createDecision,
    (li, d) => updateDecision(li, d, now));
  $("tasks-scaling-empty").hidden = decisions.length > 0;

  const types = num(t.types);
  setText($("tasks-summary"), (t.dispatching === true
    ? "this gateway runs the queue (it leads the store)"
    : "the store leader runs the queue") + (types === null ? "" : ` · ${types} task ${types === 1 ? "type" : "types"}`));
}

function renderFigures(t) {
  const depth = t.depth && typeof t.depth === "object" ? t.depth : {};
  for (const state of DEPTH_STATES) setText($(`tasks-depth-${state}`), fmtInt(depth[state]));
  setText($("tasks-ready"), fmtInt(t.ready));
  const throughput = num(t.throughput_per_s);
  setText($("tasks-throughput"), throughput === null ? "—" : throughput.toFixed(1));
  $("tasks-throughput").dataset.value = String(throughput ?? "");
  const utilisation = num(t.utilisation);
  const percent = utilisation === null ? null : Math.round(Math.max(0, utilisation) * 100);
  setText($("tasks-utilisation"), percent === null ? "—" : `${percent} %`);
  $("tasks-utilisation").dataset.value = String(utilisation ?? "");
  const bar = $("tasks-utilisation-bar");
  bar.style.width = `${Math.min(100, percent ?? 0)}%`;
  setClass(bar, "bar-fill" + ((percent ?? 0) >= 80 ? " high" : ""));
}

function createWorkerRow(id) {
  const tr = el("tr");
  tr.dataset.worker = id;
  for (const cls of ["mono", "num", "num", "num", "num", "", "num"]) {
    const td = tr.insertCell();
    if (cls) td.className = cls;
  }
  tr.cells[5].append(el("span", "badge"));
  return tr;
}

// A worker drains on its own (SIGTERM) or because the autoscaler asked it to; until it
// says it drains, the request is all there is to show.
function workerState(w) {
  if (w.draining === true) return "draining";
  if (w.drain_requested === true) return "drain requested";
  return "running";
}

function updateWorkerRow(tr, w, now) {
  const c = tr.cells;
  const state = workerState(w);
  tr.dataset.state = state;
  setText(c[0], w.worker);
  c[0].title = num(w.pid) ? `pid ${fmtInt(w.pid)}` : "";
  setText(c[1], fmtInt(w.concurrency));
  setText(c[2], fmtInt(w.busy));
  setText(c[3], fmtInt(w.completed));
  setText(c[4], fmtInt(w.failed));
  c[4].classList.toggle("warn", (num(w.failed) ?? 0) > 0);
  const badge = c[5].firstChild;
  setText(badge, state);
  setClass(badge, "badge " + (state === "running" ? "b-alive" : "b-draining"));
  setText(c[6], sinceText(w.last_seen_ms, now));
  c[6].title = wallTime(w.last_seen_ms);
}

function decisionKey(d) {
  return [str(d.at_ms, ""), d.decision, str(d.worker, ""), str(d.reason, "")].join("|");
}

function createDecision() {
  const li = el("li");
  const head = el("div", "decision-head");
  head.append(el("span", "muted mono when"), el("span", "badge"), el("span", "reason"));
  li.append(head, el("div", "mono numbers"), el("div", "muted outcome"), el("div", "error"));
  return li;
}

function updateDecision(li, d, now) {
  const [head, numbers, outcome, error] = li.children;
  const [when, badge, reason] = head.children;
  li.dataset.decision = d.decision;
  setText(when, wallTime(d.at_ms) || "—");
  when.title = sinceText(d.at_ms, now);
  setText(badge, d.decision);
  setClass(badge, "badge " + (DECISIONS.has(d.decision) ? "b-" + d.decision : "b-unknown"));
  setText(reason, str(d.reason, ""));

  const n = d.numbers && typeof d.numbers === "object" ? d.numbers : {};
  const u = num(n.utilisation);
  setText(numbers, `utilisation ${u === null ? "∞ (no slots)" : `${Math.round(u * 100)} %`} · ` +
    `ready ${fmtInt(n.ready)} · workers ${fmtInt(n.workers)} → ${fmtInt(n.desired)}`);
  numbers.title = `busy ${fmtInt(n.busy)}/${fmtInt(n.slots)} slots · running ${fmtInt(n.running)} · ` +
    `starting ${fmtInt(n.starting)} · draining ${fmtInt(n.draining)} · ` +
    `oldest wait ${fmtInt(n.oldest_wait_ms)} ms · bounds ${fmtInt(n.min_workers)}–${fmtInt(n.max_workers)} · ` +
    `high for ${fmtInt(n.high_for_ms)} ms · low for ${fmtInt(n.low_for_ms)} ms`;
  li.dataset.workers = String(num(n.workers) ?? "");
  li.dataset.desired = String(num(n.desired) ?? "");

  const started = Array.isArray(d.started) ? d.started.filter((x) => typeof x === "string") : [];
  let text = "";
  if (d.decision === "scale_up") {
    text = `started ${started.length} of ${fmtInt(d.count)}` + (started.length ? `: ${started.join(", ")}` : "");
  } else if (typeof d.worker === "string" && d.worker !== "") {
    text = d.decision === "scale_down" ? `draining ${d.worker}` : `stopped ${d.worker}`;
  }
  setText(outcome, text);
  outcome.hidden = text === "";
  const err = str(d.error, "");
  setText(error, err);
  error.hidden = err === "";
}

function sinceText(atMs, now) {
  const at = num(atMs);
  if (at === null || at <= 0) return "—";
  return fmtAgo(Math.max(0, now - at));
}

function wallTime(atMs) {
  const at = num(atMs);
  return at === null || at <= 0 ? "" : new Date(at).toLocaleTimeString();
}
