// The balancers in front of the island, as GET /api/balancers reports them (the gateway asks
// each balancer's admin /api/status): which one is active, its term, whether it hears its
// peer, and the gateways' health as each balancer sees it. The panel stays hidden while the
// gateway knows of no balancer (started without --balancer-admin).
import { $, el, getJSON, setText, setClass, str, fmtInt, syncKeyed } from "./util.js";

const ROLES = new Set(["active", "standby", "taking_over", "starting", "single"]);
const HEALTH = new Set(["up", "down", "ejected"]);

export async function refreshBalancers() {
  let body;
  try {
    body = await getJSON("/api/balancers");
  } catch (e) {
    // An older gateway without the route, or the gateway down (the banner says so).
    if (e && e.status === 404) $("balancers").hidden = true;
    return;
  }
  renderBalancers(body);
}

function renderBalancers(body) {
  const list = (Array.isArray(body.balancers) ? body.balancers : [])
    .filter((b) => b && typeof b.admin === "string" && b.admin !== "");
  const card = $("balancers");
  card.hidden = list.length === 0;
  if (list.length === 0) return;
  const active = typeof body.active === "string" ? body.active : "";
  card.dataset.active = active;
  card.dataset.term = typeof body.term === "number" ? String(body.term) : "";
  const single = list.some((b) => b.role === "single");
  setText($("balancers-summary"), active
    ? `active ${active} · term ${fmtInt(body.term)}`
    : (single ? "one balancer, no pair" : "no active balancer"));
  syncKeyed($("balancers-list"), list, (b) => b.admin, createBalancer, updateBalancer);
}

function createBalancer(admin) {
  const box = el("div", "balancer");
  box.dataset.admin = admin;
  const head = el("div", "balancer-head");
  head.append(el("span", "mono", admin), el("span", "badge b-unknown"), el("span", "muted"));
  const table = el("table", "balancer-backends");
  table.createTHead().insertRow().append(el("th", "", "Gateway"), el("th", "", "Health"));
  table.createTBody();
  box.append(head, el("p", "error"), table);
  return box;
}

function updateBalancer(box, b) {
  const [, badge, detail] = box.firstChild.children;
  const role = b.reachable === false ? "unreachable" : str(b.role, "unknown");
  box.dataset.role = role;
  box.dataset.term = typeof b.term === "number" ? String(b.term) : "";
  setText(badge, role);
  setClass(badge, "badge " + (ROLES.has(role) || role === "unreachable" ? "b-" + role : "b-unknown"));
  const facts = [];
  if (typeof b.term === "number") facts.push(`term ${b.term}`);
  if (typeof b.priority === "number") facts.push(`priority ${b.priority}`);
  if (typeof b.peer_alive === "boolean") facts.push(b.peer_alive ? "peer alive" : "peer silent");
  if (b.holds_address === true && typeof b.listen === "string") facts.push(`holds ${b.listen}`);
  setText(detail, facts.join(" · "));
  const error = box.querySelector(".error");
  error.hidden = typeof b.error !== "string";
  setText(error, typeof b.error === "string" ? b.error : "");
  const backends = (Array.isArray(b.backends) ? b.backends : [])
    .filter((x) => x && typeof x.address === "string");
  syncKeyed(box.querySelector("tbody"), backends, (x) => x.address, createBackendRow, updateBackendRow);
  box.querySelector("table").hidden = backends.length === 0;
}

function createBackendRow(address) {
  const tr = el("tr");
  tr.dataset.address = address;
  tr.append(el("td", "mono", address), el("td"));
  tr.cells[1].append(el("span", "badge b-unknown"));
  return tr;
}

function updateBackendRow(tr, x) {
  const health = HEALTH.has(x.health) ? x.health : "unknown";
  tr.dataset.health = health;
  const badge = tr.cells[1].firstChild;
  setText(badge, health);
  setClass(badge, "badge b-" + health);
}
