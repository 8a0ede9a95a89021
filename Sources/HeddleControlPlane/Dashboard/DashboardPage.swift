/// The dashboard the control plane serves at `/`: one static page over the JSON API (no build
/// step, no third-party script). It polls `/v1/top` every 2 s for the service graph, golden
/// metrics and certificates, and `/v1/routes`, `/v1/resources`, `/v1/proxies`, `/v1/ca` and
/// the selected service's `/v1/services/{name}/endpoints` every 5 s. The latency and rate
/// charts are the page's own history of those polls (the last 5 minutes). When the control
/// plane stops answering, the page says so, keeps the last data greyed out, and picks up again
/// when it is back.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Heddle mesh</title>
<style>
:root { --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --idle: #6e7781; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { font: 15px/1.45 "DejaVu Sans", system-ui, sans-serif; color: var(--fg); margin: 0; background: #fff; }
header { display: flex; gap: 18px; align-items: baseline; padding: 12px 24px; border-bottom: 1px solid var(--line); background: var(--bg); }
h1 { font-size: 21px; margin: 0; }
h2 { font-size: 17px; margin: 26px 0 8px; }
h3 { font-size: 15px; margin: 14px 0 4px; }
main { padding: 0 24px 48px; }
#status { font-weight: 600; }
#banner { display: none; background: #ffebe9; color: var(--bad); padding: 10px 24px; border-bottom: 1px solid #ffcecb; font-weight: 600; }
body.down #banner { display: block; }
body.down main { opacity: 0.55; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { color: var(--muted); font-weight: 600; font-size: 13px; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); } .idle, .muted { color: var(--idle); }
.pill { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 13px; border: 1px solid currentColor; white-space: nowrap; }
tr.service { cursor: pointer; }
tr.service:hover, tr.selected { background: #ddf4ff; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 0 36px; }
.weight { display: inline-block; height: 9px; background: var(--accent); margin-right: 6px; vertical-align: middle; border-radius: 2px; }
.chart { display: block; }
svg text { font-family: "DejaVu Sans", sans-serif; }
select { font: inherit; }
.empty { color: var(--idle); padding: 8px 0; }
</style>
</head>
<body>
<header>
  <h1>Heddle mesh</h1>
  <span id="status" class="muted">connecting…</span>
  <span id="summary" class="muted"></span>
</header>
<div id="banner" role="alert"></div>
<main>
  <section>
    <h2>Service graph</h2>
    <svg id="graph" class="graph" width="600" height="120" role="img" aria-label="service graph"></svg>
    <div id="graph-note" class="muted"></div>
  </section>
  <section>
    <h2>Services <span class="muted" style="font-weight:normal;font-size:13px">as their callers' proxies see them, over the last 10 s; click one for its endpoints</span></h2>
    <table id="services"></table>
  </section>
  <section>
    <h2>Routes</h2>
    <div id="routes"></div>
  </section>
  <section>
    <h2>Endpoints of <select id="endpoint-service"></select></h2>
    <div id="endpoints"></div>
  </section>
  <div class="columns">
    <section>
      <h2>Certificates</h2>
      <div id="certificates"></div>
    </section>
    <section>
      <h2>Configuration</h2>
      <div id="resources"></div>
      <h3>Proxies</h3>
      <div id="proxies"></div>
    </section>
  </div>
</main>
<script>
"use strict";
const POLL_TOP_MS = 2000, POLL_CONFIG_MS = 5000, HISTORY_POINTS = 150;
const state = {
  top: null, routes: null, resources: null, proxies: null, ca: null, caError: null, endpoints: null,
  selected: null, history: new Map(), lastUpdate: null, downSince: null, error: null,
};

// ---- DOM helpers -------------------------------------------------------------------------
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value == null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child != null) node.append(child instanceof Node ? child : String(child));
  return node;
}
function svg(tag, attributes, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children.flat()) if (child != null) node.append(child instanceof Node ? child : String(child));
  return node;
}
function fill(id, ...children) { document.getElementById(id).replaceChildren(...children.flat().filter((c) => c != null)); }
function table(headings, rows, attributes) {
  return el("table", attributes, el("thead", {}, el("tr", {}, headings.map((h) => el("th", { class: h.endsWith(" ") ? "num" : null }, h.trim())))), el("tbody", {}, rows));
}

// ---- Formatting --------------------------------------------------------------------------
function rate(value) { return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2); }
function percent(share) { return share == null ? "–" : (share * 100).toFixed(share >= 0.9995 || share === 0 ? 0 : 1) + " %"; }
function millis(ms) { return ms == null ? "–" : ms < 10 ? ms.toFixed(2) + " ms" : ms < 1000 ? ms.toFixed(0) + " ms" : (ms / 1000).toFixed(2) + " s"; }
function successClass(share) { return share == null ? "idle" : share >= 0.99 ? "ok" : share >= 0.95 ? "warn" : "bad"; }
function clock(date) { return date.toLocaleTimeString([], { hour12: false }); }
function until(seconds) {
  const left = seconds - Date.now() / 1000;
  if (left <= 0) return "expired " + span(-left) + " ago";
  return "expires in " + span(left);
}
function span(seconds) {
  if (seconds < 120) return Math.round(seconds) + " s";
  if (seconds < 7200) return Math.round(seconds / 60) + " min";
  if (seconds < 172800) return Math.round(seconds / 3600) + " h";
  return Math.round(seconds / 86400) + " days";
}
function expiryClass(seconds) { const left = seconds - Date.now() / 1000; return left < 3600 ? "bad" : left < 6 * 3600 ? "warn" : "ok"; }

// ---- Fetching ----------------------------------------------------------------------------
async function getJSON(path) {
  const response = await fetch(path, { cache: "no-store", headers: { accept: "application/json" } });
  if (!response.ok) {
    let reason = "HTTP " + response.status;
    try { const body = await response.json(); if (body.message) reason += ": " + body.message; } catch (_) {}
    const error = new Error(reason);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

function reachable() {
  state.lastUpdate = new Date();
  state.downSince = null;
  state.error = null;
}
function unreachable(error) {
  if (state.downSince == null) state.downSince = new Date();
  state.error = error instanceof TypeError ? null : error.message;
}

async function pollTop() {
  try {
    const top = await getJSON("/v1/top?window=10");
    state.top = top;
    remember(top);
    reachable();
  } catch (error) {
    unreachable(error);
  }
  renderAll();
}

async function pollConfig() {
  if (state.downSince != null && state.top != null) return;
  const selected = state.selected;
  const [routes, resources, proxies, ca, endpoints] = await Promise.allSettled([
    getJSON("/v1/routes"), getJSON("/v1/resources"), getJSON("/v1/proxies"), getJSON("/v1/ca"),
    selected ? getJSON("/v1/services/" + encodeURIComponent(selected) + "/endpoints") : Promise.resolve(null),
  ]);
  if (routes.status === "fulfilled") state.routes = routes.value;
  if (resources.status === "fulfilled") state.resources = resources.value.items;
  if (proxies.status === "fulfilled") state.proxies = proxies.value.items;
  if (ca.status === "fulfilled") { state.ca = ca.value; state.caError = null; }
  else if (ca.reason.status === 404) { state.ca = null; state.caError = "The control plane runs without a certificate authority: the mesh's traffic is not mutually authenticated."; }
  if (endpoints.status === "fulfilled" && selected === state.selected) state.endpoints = endpoints.value;
  else if (endpoints.status === "rejected" && endpoints.reason.status === 404) state.endpoints = null;
  renderAll();
}

/// The page's own history of each service's golden metrics, for the charts.
function remember(top) {
  const now = Date.now();
  for (const service of top.services) {
    const signals = service.callers.requestsPerSecond > 0 || service.inbound.requestsPerSecond === 0 ? service.callers : service.inbound;
    const points = state.history.get(service.name) || [];
    points.push({ t: now, rps: signals.requestsPerSecond, success: signals.successRate, p50: signals.p50Milliseconds, p99: signals.p99Milliseconds });
    while (points.length > HISTORY_POINTS) points.shift();
    state.history.set(service.name, points);
  }
}

// ---- Rendering ---------------------------------------------------------------------------
function renderAll() {
  renderStatus();
  if (state.top) { renderGraph(state.top); renderServices(state.top); renderCertificates(state.top); }
  renderRoutes();
  renderEndpoints();
  renderConfiguration();
}

function renderStatus() {
  const status = document.getElementById("status");
  document.body.classList.toggle("down", state.downSince != null);
  if (state.downSince != null) {
    status.className = "bad";
    status.textContent = "control plane unreachable";
    document.getElementById("banner").textContent =
      "The control plane is not answering" + (state.error ? " (" + state.error + ")" : "") + " since " + clock(state.downSince) + ". " +
      (state.lastUpdate ? "The data below is from " + clock(state.lastUpdate) + ". " : "") + "Retrying every 2 s.";
  } else if (state.lastUpdate) {
    status.className = "ok";
    status.textContent = "live · updated " + clock(state.lastUpdate);
  }
  if (state.top) {
    const top = state.top;
    const instances = top.services.reduce((sum, s) => sum + s.instances, 0);
    const unreachableProxies = top.proxiesUnreachable.length;
    fill("summary", top.services.length + " services · " + instances + " instances · " + top.proxiesRead + " proxies read" +
      (unreachableProxies ? " · " + unreachableProxies + " not answering (" + top.proxiesUnreachable.slice(0, 5).join(", ") + ")" : ""));
  }
}

function renderGraph(top) {
  const graph = document.getElementById("graph");
  const edges = top.edges.filter((e) => e.source !== e.destination);
  const connected = new Set(edges.flatMap((e) => [e.source, e.destination]));
  const depth = new Map([...connected].map((n) => [n, 0]));
  // Longest path from the callers nobody calls; bounded, so a cycle cannot loop forever.
  for (let round = 0; round < connected.size; round++) {
    let changed = false;
    for (const e of edges) {
      const d = depth.get(e.source) + 1;
      if (d > depth.get(e.destination) && d < connected.size) { depth.set(e.destination, d); changed = true; }
    }
    if (!changed) break;
  }
  const columns = [];
  for (const [name, d] of depth) (columns[d] = columns[d] || []).push(name);
  const idle = top.services.map((s) => s.name).filter((n) => !connected.has(n));
  const compact = columns.filter((c) => c && c.length);
  if (idle.length) compact.push(idle);
  compact.forEach((c) => c.sort());
  const byName = new Map(top.services.map((s) => [s.name, s]));
  const columnWidth = 330, nodeWidth = 160, nodeHeight = 46, rowHeight = 74;
  const rows = Math.max(0, ...compact.map((c) => c.length));
  const width = Math.max(compact.length * columnWidth, 300), height = rows ? rows * rowHeight + 14 : 0;
  graph.setAttribute("width", width); graph.setAttribute("height", height);
  graph.setAttribute("viewBox", "0 0 " + width + " " + height);
  const position = new Map();
  compact.forEach((column, x) => {
    const offset = (rows - column.length) * rowHeight / 2;
    column.forEach((name, y) => position.set(name, { x: 8 + x * columnWidth, y: 8 + offset + y * rowHeight }));
  });
  const colors = { ok: "#1a7f37", warn: "#9a6700", bad: "#cf222e", idle: "#8c959f" };
  const parts = [];
  for (const e of edges) {
    const from = position.get(e.source), to = position.get(e.destination);
    if (!from || !to) continue;
    const x1 = from.x + nodeWidth, y1 = from.y + nodeHeight / 2, x2 = to.x, y2 = to.y + nodeHeight / 2;
    const bend = Math.max(40, (x2 - x1) / 2);
    const color = colors[successClass(e.signals.successRate)];
    const stroke = 1.5 + Math.min(5, Math.log10(1 + e.signals.requestsPerSecond) * 1.8);
    const label = rate(e.signals.requestsPerSecond) + " rps · " + percent(e.signals.successRate);
    const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
    parts.push(svg("g", { class: "edge", "data-source": e.source, "data-destination": e.destination },
      svg("title", {}, e.source + " → " + e.destination + ": " + label + ", p99 " + millis(e.signals.p99Milliseconds)),
      svg("path", { d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`, fill: "none", stroke: color, "stroke-width": stroke, "marker-end": "url(#arrow)" }),
      svg("rect", { x: mx - 66, y: my - 11, width: 132, height: 18, rx: 4, fill: "#ffffff", opacity: 0.9 }),
      svg("text", { x: mx, y: my + 3, "text-anchor": "middle", "font-size": 12, fill: color }, label)));
  }
  for (const [name, p] of position) {
    const service = byName.get(name);
    const idleNode = !connected.has(name);
    const healthy = service ? service.healthyInstances + "/" + service.instances + " healthy" : "not registered";
    const healthClass = !service || service.instances === 0 ? "idle" : service.healthyInstances === service.instances ? "ok" : service.healthyInstances === 0 ? "bad" : "warn";
    parts.push(svg("g", { class: "node", "data-service": name, style: "cursor:pointer" },
      svg("rect", { x: p.x, y: p.y, width: nodeWidth, height: nodeHeight, rx: 8, fill: idleNode ? "#f6f8fa" : "#ffffff", stroke: colors[healthClass], "stroke-width": 2 }),
      svg("text", { x: p.x + 12, y: p.y + 20, "font-size": 15, "font-weight": "bold", fill: "#1f2328" }, name),
      svg("text", { x: p.x + 12, y: p.y + 37, "font-size": 12, fill: "#59636e" }, idleNode ? healthy + " · no traffic" : healthy)));
  }
  graph.replaceChildren(
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 10, markerHeight: 10, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#57606a" }))),
    ...parts);
  for (const node of graph.querySelectorAll("g.node")) node.addEventListener("click", () => select(node.dataset.service));
  fill("graph-note", top.services.length === 0 ? "No services yet: apply a Service resource or start a sidecar."
    : edges.length === 0 ? "No traffic between services in the last " + Math.round(top.windowSeconds) + " s." : null);
}

function chart(points, series, width, height) {
  const values = points.flatMap((p) => series.map((s) => p[s.key])).filter((v) => v != null);
  const box = svg("svg", { class: "chart", width, height, viewBox: `0 0 ${width} ${height}` });
  box.append(svg("rect", { x: 0, y: 0, width, height, fill: "#f6f8fa", rx: 3 }));
  if (values.length === 0) {
    box.append(svg("text", { x: width / 2, y: height / 2 + 4, "text-anchor": "middle", "font-size": 11, fill: "#8c959f" }, "no traffic"));
    return box;
  }
  const max = Math.max(...values) || 1;
  const step = width / (HISTORY_POINTS - 1);
  const start = HISTORY_POINTS - points.length;
  for (const s of series) {
    let d = "";
    points.forEach((p, i) => {
      if (p[s.key] == null) return;
      const x = (start + i) * step, y = height - 3 - (p[s.key] / max) * (height - 8);
      d += (d === "" || points[i - 1] == null || points[i - 1][s.key] == null ? "M" : "L") + x.toFixed(1) + "," + y.toFixed(1);
    });
    if (d) box.append(svg("path", { d, fill: "none", stroke: s.color, "stroke-width": 1.6 }));
  }
  box.append(svg("text", { x: width - 4, y: 11, "text-anchor": "end", "font-size": 10, fill: "#59636e" }, series[0].format(max)));
  return box;
}

function renderServices(top) {
  if (top.services.length === 0) { fill("services", el("div", { class: "empty" }, "No services yet.")); return; }
  if (!state.selected || !top.services.some((s) => s.name === state.selected)) {
    const pick = [...top.services].sort((a, b) => b.ejectedEndpoints - a.ejectedEndpoints || b.callers.requestsPerSecond - a.callers.requestsPerSecond)[0];
    state.selected = pick.name;
    setTimeout(pollConfig, 0);
  }
  const rows = top.services.map((s) => {
    const signals = s.callers.requestsPerSecond > 0 || s.inbound.requestsPerSecond === 0 ? s.callers : s.inbound;
    const points = state.history.get(s.name) || [];
    const idle = signals.requestsPerSecond === 0;
    return el("tr", { class: "service" + (s.name === state.selected ? " selected" : ""), "data-service": s.name, onclick: () => select(s.name) },
      el("td", {}, el("b", {}, s.name)),
      el("td", { class: "num " + (s.instances === 0 ? "idle" : s.healthyInstances === s.instances ? "ok" : s.healthyInstances === 0 ? "bad" : "warn") }, s.healthyInstances + "/" + s.instances),
      el("td", { class: "num" }, idle ? el("span", { class: "idle" }, "no traffic") : rate(signals.requestsPerSecond)),
      el("td", { class: "num " + successClass(signals.successRate) }, percent(signals.successRate)),
      el("td", { class: "num" }, millis(signals.p50Milliseconds)),
      el("td", { class: "num" }, millis(signals.p99Milliseconds)),
      el("td", { class: "num" }, s.inFlight),
      el("td", { class: "num" }, rate(s.retriesPerSecond)),
      el("td", { class: "num " + (s.ejectedEndpoints > 0 ? "bad" : "") }, s.ejectedEndpoints),
      el("td", {}, chart(points, [{ key: "rps", color: "#0969da", format: (v) => rate(v) + " rps" }], 130, 34)),
      el("td", {}, chart(points, [
        { key: "p99", color: "#cf222e", format: (v) => "p99 " + millis(v) },
        { key: "p50", color: "#8250df", format: (v) => millis(v) }], 170, 34)));
  });
  fill("services", table(["Service", "Healthy ", "Requests/s ", "Success ", "p50 ", "p99 ", "In flight ", "Retries/s ", "Ejected ", "Rate (5 min)", "Latency p50 / p99 (5 min)"], rows));
}

function renderRoutes() {
  if (!state.routes) return;
  if (state.routes.length === 0) { fill("routes", el("div", { class: "empty" }, "No HTTPRoute resources: each service is reached by its own name.")); return; }
  const live = new Map();
  for (const r of (state.top ? state.top.routes : [])) live.set(r.route + " " + r.backend, r.signals);
  const rows = [];
  for (const route of state.routes) {
    route.rules.forEach((rule, index) => {
      const total = rule.backends.reduce((sum, b) => sum + b.weight, 0) || 1;
      const ruleRPS = rule.backends.reduce((sum, b) => sum + ((live.get(rule.label + " " + b.service) || {}).requestsPerSecond || 0), 0);
      const backends = rule.backends.map((b) => {
        const signals = live.get(rule.label + " " + b.service);
        const share = ruleRPS > 0 && signals ? " · live " + percent(signals.requestsPerSecond / ruleRPS) + " at " + rate(signals.requestsPerSecond) + " rps" : "";
        return el("div", { "data-backend": b.service },
          el("span", { class: "weight", style: "width:" + Math.max(2, Math.round(90 * b.weight / total)) + "px" }),
          b.service + " weight " + b.weight + " (" + percent(b.weight / total) + ")" + share + (b.failover ? " · failover " + b.failover : ""));
      });
      rows.push(el("tr", {},
        el("td", {}, index === 0 ? el("b", {}, route.name) : "", index === 0 && route.state !== "accepted" ? el("span", { class: "pill bad" }, route.state) : null),
        el("td", {}, index === 0 ? (route.hostnames.length ? route.hostnames.join(", ") : "any host") : ""),
        el("td", {}, rule.label),
        el("td", {}, rule.matches.length ? rule.matches.join("; ") : "every request"),
        el("td", {}, rule.filters.join(", ")),
        el("td", {}, backends)));
    });
  }
  fill("routes", table(["Route", "Hosts", "Rule", "Matches", "Filters", "Backends: configured weight, live share"], rows));
}

function renderEndpoints() {
  const picker = document.getElementById("endpoint-service");
  if (state.top) {
    const names = state.top.services.map((s) => s.name);
    if ([...picker.options].map((o) => o.value).join(",") !== names.join(",")) {
      picker.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
    }
    if (state.selected) picker.value = state.selected;
  }
  const data = state.endpoints;
  if (!data || data.service !== state.selected) { fill("endpoints", el("div", { class: "empty" }, state.selected ? "Loading…" : "")); return; }
  const views = new Map();
  for (const caller of data.callers) for (const endpoint of caller.endpoints) {
    const list = views.get(endpoint.address) || [];
    list.push({ caller: caller.instance, endpoint });
    views.set(endpoint.address, list);
  }
  const keyOf = (i) => (i.address.includes(":") ? "[" + i.address + "]" : i.address) + ":" + i.port;
  const rows = [];
  const seen = new Set();
  const stateCell = (registry, seenBy) => {
    const ejected = seenBy.filter((v) => v.endpoint.state === "ejected");
    const failing = seenBy.filter((v) => v.endpoint.state === "unhealthy");
    if (ejected.length) {
      const left = Math.max(...ejected.map((v) => v.endpoint.ejectedForSeconds || 0));
      return el("td", { class: "bad" }, "ejected by " + ejected.map((v) => v.caller + " (" + v.endpoint.workersEjecting + "/" + v.endpoint.workers + " workers)").join(", ") + (left > 0 ? ", back in " + span(left) : ""));
    }
    if (failing.length) return el("td", { class: "warn" }, "failing health checks in " + failing.map((v) => v.caller).join(", "));
    if (registry === "unhealthy") return el("td", { class: "bad" }, "unhealthy in the registry");
    return el("td", { class: "ok" }, seenBy.length ? "available to " + seenBy.length + " caller" + (seenBy.length > 1 ? "s" : "") : "healthy");
  };
  for (const instance of data.instances) {
    const key = keyOf(instance);
    seen.add(key);
    const seenBy = views.get(key) || [];
    rows.push(el("tr", { "data-endpoint": key },
      el("td", {}, instance.id), el("td", {}, key),
      el("td", { class: instance.health === "healthy" ? "ok" : "bad" }, instance.health),
      el("td", {}, Object.entries(instance.labels || {}).map(([k, v]) => k + "=" + v).join(" ")),
      el("td", { class: "num" }, instance.weight),
      stateCell(instance.health, seenBy)));
  }
  for (const [key, seenBy] of views) {
    if (seen.has(key)) continue;
    rows.push(el("tr", { "data-endpoint": key },
      el("td", { class: "muted" }, "declared"), el("td", {}, key), el("td", { class: "muted" }, "–"), el("td", {}, ""),
      el("td", { class: "num" }, seenBy[0].endpoint.weight), stateCell(null, seenBy)));
  }
  const note = data.callers.length === 0 ? "No proxy has called " + data.service + " yet, so no caller's view of its endpoints."
    : "As seen by " + data.callers.length + " calling prox" + (data.callers.length > 1 ? "ies" : "y") + " (" + data.callers.map((c) => c.instance).join(", ") + ")" +
      (data.callersUnreachable.length ? "; not answering: " + data.callersUnreachable.join(", ") : "") + ".";
  fill("endpoints",
    rows.length ? table(["Instance", "Address", "Registry", "Labels", "Weight ", "State in callers"], rows) : el("div", { class: "empty" }, data.service + " has no endpoints."),
    el("div", { class: "muted" }, note));
}

function renderCertificates(top) {
  const parts = [];
  if (state.ca) {
    const ca = state.ca;
    parts.push(table(["Certificate authority", "Key", "Expiry"], [
      el("tr", {}, el("td", {}, "signer: " + ca.signer.subject), el("td", {}, ca.signer.keyID.slice(0, 16)), el("td", { class: expiryClass(ca.signer.notAfter) }, until(ca.signer.notAfter))),
      ...ca.trustBundle.filter((c) => c.keyID !== ca.signer.keyID).map((c) => el("tr", {}, el("td", {}, "trusted: " + c.subject), el("td", {}, c.keyID.slice(0, 16)), el("td", { class: expiryClass(c.notAfter) }, until(c.notAfter)))),
    ]));
    parts.push(el("div", { class: "muted" }, "trust domain " + ca.trustDomain + " · rotation: " + ca.rotation));
  } else if (state.caError) {
    parts.push(el("div", { class: "empty" }, state.caError));
  }
  if (top.certificates.length) {
    parts.push(el("h3", {}, "Workload certificates"));
    parts.push(table(["Instance", "Service", "Expiry"], top.certificates.map((c) => el("tr", {},
      el("td", {}, c.instance), el("td", {}, c.service),
      c.notAfter == null ? el("td", { class: "idle" }, "no certificate (plain text)") : el("td", { class: expiryClass(c.notAfter) }, until(c.notAfter))))));
  }
  fill("certificates", parts);
}

function renderConfiguration() {
  if (state.resources) {
    const rows = state.resources.map((r) => {
      const rollout = r.rollout;
      const total = rollout ? rollout.running.length + rollout.pending.length + rollout.rejected.length : 0;
      const rolloutText = !rollout ? "–" : total === 0 ? "no proxy receives it" :
        rollout.running.length + "/" + total + " proxies run it" +
        (rollout.pending.length ? " · " + rollout.pending.length + " pending" : "") +
        (rollout.rejected.length ? " · rejected by " + rollout.rejected.join(", ") : "");
      return el("tr", { "data-resource": r.kind + "/" + r.name },
        el("td", {}, r.kind + "/" + r.name),
        el("td", {}, el("span", { class: "pill " + (r.status.state === "accepted" ? "ok" : "bad") }, r.status.state),
          r.status.errors.length ? el("div", { class: "bad" }, r.status.errors.map((e) => e.path + ": " + e.reason).join("; ")) : null),
        el("td", { class: "num" }, r.revision),
        el("td", { class: rollout && rollout.rejected.length ? "bad" : rollout && rollout.pending.length ? "warn" : "" }, rolloutText));
    });
    fill("resources", rows.length ? table(["Resource", "Status", "Revision ", "Rollout"], rows) : el("div", { class: "empty" }, "No resources applied."));
  }
  if (state.proxies) {
    const rows = state.proxies.map((p) => el("tr", {},
      el("td", {}, p.id), el("td", {}, p.service || "–"),
      el("td", { class: p.connected ? "ok" : "bad" }, p.connected ? "watching" : "disconnected"),
      el("td", { class: "num" }, p.ackedVersion == null ? "–" : p.ackedVersion), el("td", { class: "num" }, p.pushedVersion == null ? "–" : p.pushedVersion),
      el("td", { class: p.accepted === false ? "bad" : "ok" }, p.accepted == null ? "–" : p.accepted ? "runs it" : "refused: " + p.errors.map((e) => e.reason).join("; "))));
    fill("proxies", rows.length ? table(["Proxy", "Service", "Watch", "Acked ", "Pushed ", "Config"], rows) : el("div", { class: "empty" }, "No proxy watches this control plane."));
  }
}

function select(name) {
  if (state.selected === name) return;
  state.selected = name;
  state.endpoints = null;
  renderAll();
  pollConfig();
}

document.getElementById("endpoint-service").addEventListener("change", (event) => select(event.target.value));
pollTop();
pollConfig();
setInterval(pollTop, POLL_TOP_MS);
setInterval(pollConfig, POLL_CONFIG_MS);
</script>
</body>
</html>
"""#
}
