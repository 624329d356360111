// nadir dashboard: plain browser JavaScript, no build step. Observable Plot (UMD, global `Plot`)
// and d3 are served from node_modules by the API under /static/.
//
// Security: alert fields (host names, explanations, SNI, anything payload-derived) are attacker
// controlled. This file never hands them to an HTML parsing sink (inner/outer HTML, document.write): every string
// goes through textContent or a Plot text mark (SVG text nodes). The page runs under a CSP that
// forbids inline scripts, so even a missed sink could not execute injected markup.
"use strict";

const state = {
  token: null,
  alerts: [], // newest first
  ids: new Set(),
  selected: null,
  stats: null,
  maxAlerts: 500,
  drift: [], // drift events, newest first (GET /drift, then the live stream)
  driftIds: new Set(),
  maxDrift: 200,
  // GET /model: undefined until the first answer, null when the monitor has no model history (404).
  model: undefined,
  modelBusy: false,
  modelSeq: 0, // a GET /model answer older than the last update/rollback is dropped
  sensors: [], // GET /sensors: every sensor known (a collector: all it stored), not only the loaded alerts'
  sensorView: null, // { name, alerts }: GET /alerts?sensor=NAME, when the filter picks one
};

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return e;
}

function headers() {
  return state.token ? { authorization: `Bearer ${state.token}` } : {};
}

async function api(path, opts = {}) {
  const r = await fetch(path, { ...opts, headers: { ...headers(), ...(opts.headers || {}) } });
  if (r.status === 401) {
    askToken();
    throw new Error("unauthorized");
  }
  return r;
}

function askToken() {
  const f = document.getElementById("tokenForm");
  f.hidden = false;
  setStatus("token needed", "err");
}

function setStatus(text, cls) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = "pill " + (cls || "");
}

function fmt(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function fmtScore(x) {
  if (typeof x !== "number" || !Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4);
}

function endpoint(ip, port) {
  return String(ip).includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

// ---------- alerts ----------

function addAlert(a, atFront) {
  if (!a || typeof a.id !== "string" || state.ids.has(a.id)) return;
  state.ids.add(a.id);
  if (atFront) state.alerts.unshift(a);
  else state.alerts.push(a);
  while (state.alerts.length > state.maxAlerts) state.ids.delete(state.alerts.pop().id);
}

/**
 * The sensor filter lists every sensor known (GET /sensors: a collector's quiet sensors too, whose alerts
 * are not among the last 500) and every one seen since; "" shows all.
 */
function renderSensorFilter() {
  const sel = document.getElementById("sensorFilter");
  if (!sel) return;
  const known = new Set(Array.from(sel.options, (o) => o.value));
  const names = state.sensors.map((s) => s.name).concat(state.alerts.map((a) => a.host));
  for (const name of names) {
    if (typeof name === "string" && name && !known.has(name)) {
      known.add(name);
      sel.append(el("option", { value: name }, name));
    }
  }
}

/** The alerts of the sensor picked: the live ones, then its own page from the server (newest first). */
function sensorAlerts(sensor) {
  const live = state.alerts.filter((a) => a.host === sensor);
  if (state.sensorView?.name !== sensor) return live;
  const ids = new Set(live.map((a) => a.id));
  return live.concat(state.sensorView.alerts.filter((a) => !ids.has(a.id)));
}

async function loadSensors() {
  const r = await api("/sensors");
  if (!r.ok) return;
  const body = await r.json();
  if (Array.isArray(body.sensors)) state.sensors = body.sensors;
  renderSensorFilter();
}

async function pickSensor() {
  const sensor = document.getElementById("sensorFilter")?.value ?? "";
  renderAlerts();
  if (!sensor) return;
  const r = await api(`/alerts?sensor=${encodeURIComponent(sensor)}&limit=500`);
  if (!r.ok) return;
  const page = await r.json();
  if ((document.getElementById("sensorFilter")?.value ?? "") !== sensor) return; // picked another meanwhile
  state.sensorView = { name: sensor, alerts: page.alerts };
  renderAlerts();
}

function renderAlerts() {
  const body = document.getElementById("alertsBody");
  renderSensorFilter();
  const sensor = document.getElementById("sensorFilter")?.value ?? "";
  const shown = sensor ? sensorAlerts(sensor) : state.alerts;
  const rows = shown.slice(0, 200).map((a) => {
    const tr = el(
      "tr",
      { "data-id": a.id, "data-testid": "alert-row" },
      el("td", {}, String(a.timestamp).replace("T", " ").slice(0, 23)),
      el("td", { class: "sev" + a.severity }, a.severity),
      el("td", {}, endpoint(a.src_ip, a.src_port)),
      el("td", {}, endpoint(a.dest_ip, a.dest_port)),
      el("td", {}, a.proto),
      el("td", {}, a.detector),
      el("td", {}, fmtScore(a.score)),
      el("td", { class: "host" }, a.host),
    );
    tr.addEventListener("click", () => showDetail(a));
    return tr;
  });
  body.replaceChildren(...rows);
}

function showDetail(a) {
  state.selected = a;
  const d = document.getElementById("detail");
  d.hidden = false;
  document.getElementById("detailId").textContent = a.id;
  const fields = [
    ["time", a.timestamp],
    ["severity", a.severity],
    ["source", endpoint(a.src_ip, a.src_port)],
    ["destination", endpoint(a.dest_ip, a.dest_port)],
    ["protocol", a.proto],
    ["detector", a.detector],
    ["score", fmtScore(a.score)],
    ["threshold", fmtScore(a.threshold)],
    ["sensor", a.host],
    ["flow", a.flow ? `${a.flow.pkts} packets, ${a.flow.bytes} bytes, ${a.flow.state}` : ""],
    ["signature", a.alert && a.alert.signature],
  ];
  for (const [k, v] of Object.entries(a.extra || {})) fields.push([k, v]);
  if (a.feedback) fields.push(["feedback", a.feedback]);
  document.getElementById("detailFields").replaceChildren(
    ...fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
  );
  document.getElementById("detailExplanation").textContent = a.explanation || "(no explanation)";
  document.getElementById("detailFeatures").replaceChildren(
    ...(a.top_features || []).map((f) =>
      el("tr", {}, el("td", {}, f.name), el("td", {}, fmtScore(f.value)), el("td", {}, fmtScore(f.deviation)))
    ),
  );
  document.getElementById("detailPcap").disabled = !a.evidence;
  document.getElementById("detailMsg").textContent = "";
}

async function downloadPcap() {
  const a = state.selected;
  if (!a) return;
  const r = await api(`/alerts/${encodeURIComponent(a.id)}/pcap`);
  if (!r.ok) {
    document.getElementById("detailMsg").textContent = `no evidence (${r.status})`;
    return;
  }
  const blob = await r.blob();
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: `nadir-${a.id}.pcap` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  document.getElementById("detailMsg").textContent = `downloaded ${blob.size} bytes`;
}

/** The `error` of a JSON error body (with its field errors), else the status line. */
async function errorText(r) {
  try {
    const b = await r.json();
    if (b && typeof b.error === "string") {
      const fields = Array.isArray(b.errors)
        ? b.errors.map((e) => `${e.field}: ${e.message}`).join("; ")
        : "";
      return fields ? `${b.error} (${fields})` : b.error;
    }
  } catch { /* not JSON */ }
  return r.statusText || "request failed";
}

/**
 * An analyst's verdict on the selected alert. With a model history the verdict also teaches the model: a
 * false positive is learned as benign at its next update, a true positive keeps the threshold below the score.
 */
async function sendFeedback(label) {
  const a = state.selected;
  if (!a) return;
  const buttons = [document.getElementById("detailFp"), document.getElementById("detailTp")];
  const msg = document.getElementById("detailMsg");
  for (const b of buttons) b.disabled = true;
  try {
    const r = await api(`/alerts/${encodeURIComponent(a.id)}/feedback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ label, note: "marked from dashboard" }),
    });
    if (!r.ok) {
      msg.textContent = `feedback failed (${r.status}): ${await errorText(r)}`;
      return;
    }
    a.feedback = label;
    if (state.selected === a) showDetail(a); // shows the feedback field; clears the message
    const learns = !!state.model;
    msg.textContent = label === "false_positive"
      ? (learns
        ? "suppressed; the model learns this flow as benign at its next update"
        : "suppressed; flow stored as benign feedback")
      : (learns
        ? "confirmed; the model keeps its threshold below this flow's score"
        : "confirmed as an attack; verdict stored");
    pollModel();
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

async function loadAlerts() {
  const r = await api("/alerts?limit=500");
  if (!r.ok) return;
  const page = await r.json();
  for (const a of page.alerts) addAlert(a, false);
  renderAlerts();
}

function addDrift(d, atFront) {
  if (!d || typeof d.id !== "string" || state.driftIds.has(d.id)) return;
  state.driftIds.add(d.id);
  if (atFront) state.drift.unshift(d);
  else state.drift.push(d);
  while (state.drift.length > state.maxDrift) state.driftIds.delete(state.drift.pop().id);
}

async function loadDrift() {
  const r = await api("/drift?limit=200");
  if (!r.ok) return;
  const page = await r.json();
  for (const d of page.events || []) addDrift(d, false);
}

// Server-sent events read through fetch so the bearer token travels in a header, not the URL.
async function streamAlerts() {
  for (;;) {
    try {
      const r = await api("/alerts/stream");
      if (!r.ok || !r.body) throw new Error(`stream ${r.status}`);
      setStatus("live", "ok");
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const lines = block.split("\n");
          const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          const kind = (lines.find((l) => l.startsWith("event: ")) || "event: alert").slice(7);
          if (!data) continue;
          try {
            if (kind === "drift") addDrift(JSON.parse(data), true);
            else if (kind === "alert") {
              addAlert(JSON.parse(data), true);
              renderAlerts();
            } else continue;
            renderTimeline();
          } catch { /* malformed event: ignore */ }
        }
      }
    } catch (e) {
      if (String(e.message) === "unauthorized") return;
    }
    setStatus("reconnecting…", "err");
    await new Promise((r) => setTimeout(r, 2000));
  }
}

// ---------- model ----------

function fmtTime(iso) {
  return typeof iso === "string" ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "–";
}

async function pollModel() {
  const seq = ++state.modelSeq;
  try {
    const r = await api("/model");
    const m = r.status === 404 ? null : r.ok ? await r.json() : undefined;
    if (m === undefined || seq !== state.modelSeq) return;
    state.model = m;
    renderModel();
  } catch { /* retried on the next tick */ }
}

function renderModel() {
  const m = state.model;
  const summary = document.getElementById("modelSummary");
  const actions = document.getElementById("modelActions");
  const fields = document.getElementById("modelFields");
  if (m === undefined) return;
  if (m === null) {
    summary.textContent = "model: frozen (no history)";
    fields.replaceChildren();
    actions.hidden = true;
    document.body.dataset.modelLoaded = "1";
    return;
  }
  summary.textContent = `model ${m.version} · ${m.policy}${m.updating ? " · updating…" : ""}`;
  const rows = m.rows || {};
  const head = (m.versions || []).find((v) => v.version === m.version);
  const last = m.last_update
    ? `${fmtTime(m.last_update.at)} → ${m.last_update.version}, learned ${m.last_update.learned} flow(s)`
    : `none since start (${m.version} created ${fmtTime(head && head.createdAt)})`;
  const items = [
    ["version", m.version],
    ["policy", m.policy],
    ["threshold", fmtScore(m.threshold)],
    [
      "rows",
      `pool ${fmt(rows.pool)} · calibration ${fmt(rows.calibration)} · window ${fmt(rows.window)}` +
      ` · pending FPs ${fmt(rows.pending_false_positives)} · attacks ${fmt(rows.attacks)}`,
    ],
    ["last update", last],
    ["updates / rollbacks", `${fmt(m.updates)} / ${fmt(m.rollbacks)}`],
  ];
  fields.replaceChildren();
  for (const [k, v] of items) fields.append(el("dt", {}, k), el("dd", { "data-field": k }, v));
  actions.hidden = false;
  for (const id of ["modelUpdate", "modelRollback"]) {
    document.getElementById(id).disabled = state.modelBusy || !!m.updating;
  }
  document.body.dataset.modelLoaded = "1";
}

/**
 * POST /model/update or /model/rollback with `{}`. A refusal (409: an update running, nothing to learn,
 * no parent version) shows the server's reason.
 */
async function modelAction(kind) {
  const m = state.model;
  if (!m || state.modelBusy) return;
  if (kind === "rollback" && !confirm(`Roll the live model back from ${m.version} to its parent version?`)) {
    return;
  }
  const msg = document.getElementById("modelMsg");
  state.modelBusy = true;
  renderModel();
  msg.textContent = kind === "update" ? "updating…" : "rolling back…";
  try {
    const r = await api(`/model/${kind}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    if (!r.ok) {
      msg.textContent = `${kind} refused (${r.status}): ${await errorText(r)}`;
      return;
    }
    const next = (await r.json()).model;
    state.modelSeq++; // a poll sent before this answer must not show the old version again
    if (next) state.model = next;
    const to = next ? next.version : "?";
    msg.textContent = kind === "update"
      ? `updated ${m.version} → ${to}` +
        (next && next.last_update ? `: learned ${next.last_update.learned} flow(s)` : "")
      : `rolled back ${m.version} → ${to}`;
  } catch (e) {
    msg.textContent = `${kind} failed: ${e.message}`;
  } finally {
    state.modelBusy = false;
    renderModel();
  }
}

// ---------- charts ----------

function put(id, node) {
  const box = document.getElementById(id);
  box.replaceChildren(node);
}

function width(id) {
  return Math.max(300, document.getElementById(id).clientWidth || 500);
}

function renderRates() {
  const s = state.stats;
  if (!s || typeof Plot === "undefined") return;
  const rows = [];
  for (const r of s.rates || []) {
    rows.push({ t: new Date(r.t), series: "packets/s", v: r.packets });
    rows.push({ t: new Date(r.t), series: "flows/s", v: r.flows });
    rows.push({ t: new Date(r.t), series: "alerts/s", v: r.alerts });
  }
  put(
    "chartRates",
    Plot.plot({
      width: width("chartRates"),
      height: 220,
      marginLeft: 60,
      y: { grid: true, label: "per second", type: "symlog" },
      x: { label: null },
      color: { legend: true, domain: ["packets/s", "flows/s", "alerts/s"] },
      marks: [Plot.lineY(rows, { x: "t", y: "v", stroke: "series" }), Plot.ruleY([0])],
    }),
  );
}

function renderTimeline() {
  if (typeof Plot === "undefined") return;
  const rows = state.alerts.map((a) => ({
    t: new Date(a.timestamp),
    score: a.score,
    severity: String(a.severity),
    src: a.src_ip,
  }));
  const drift = driftMarks();
  put(
    "chartTimeline",
    Plot.plot({
      width: width("chartTimeline"),
      height: 220,
      marginLeft: 60,
      y: { grid: true, label: "score", type: rows.some((r) => r.score <= 0) ? "linear" : "log" },
      x: { label: null },
      color: { domain: ["1", "2", "3"], range: ["#ff4d4f", "#ffa940", "#fadb14"], legend: true },
      marks: [
        // Drift events: a thin dashed rule where a watched stream changed, labelled at the top.
        Plot.ruleX(drift, { x: "t", stroke: "#b37feb", strokeDasharray: "3,3", title: (d) => d.label }),
        Plot.text(drift, {
          x: "t",
          frameAnchor: "top",
          dy: -2,
          text: () => "drift",
          fill: "#b37feb",
          fontSize: 9,
          title: (d) => d.label,
        }),
        Plot.dot(rows, {
          x: "t",
          y: "score",
          fill: "severity",
          r: 3,
          title: (d) => `${d.src} score ${fmtScore(d.score)}`,
        }),
      ],
    }),
  );
}

/** Drift events as timeline marks (the x axis widens to show them all). */
function driftMarks() {
  return state.drift.map((d) => ({
    t: new Date(d.timestamp),
    label: `drift on ${d.stream} (${d.detector})` +
      (d.drift && d.drift.before && d.drift.after
        ? `: mean ${fmtScore(d.drift.before.mean)} → ${fmtScore(d.drift.after.mean)}`
        : ""),
  })).filter((d) => Number.isFinite(d.t.getTime()));
}

function renderTalkers() {
  const s = state.stats;
  if (!s || typeof Plot === "undefined") return;
  const rows = (s.top_talkers || []).map((t) => ({ ip: String(t.ip), bytes: t.bytes, alerts: t.alerts }));
  put(
    "chartTalkers",
    Plot.plot({
      width: width("chartTalkers"),
      height: 220,
      marginLeft: 130,
      x: { grid: true, label: "bytes" },
      y: { label: null, domain: rows.map((r) => r.ip) },
      color: { type: "linear", scheme: "reds", legend: true, label: "alerts" },
      marks: [Plot.barX(rows, { x: "bytes", y: "ip", fill: "alerts" }), Plot.ruleX([0])],
    }),
  );
}

function renderScores() {
  const s = state.stats;
  if (!s || typeof Plot === "undefined") return;
  const scores = (s.scores || []).filter((x) => Number.isFinite(x));
  const marks = [
    Plot.rectY(scores, Plot.binX({ y: "count" }, { x: (d) => d, thresholds: 40, fill: "#4fa3ff" })),
    Plot.ruleY([0]),
  ];
  if (typeof s.threshold === "number") {
    marks.push(Plot.ruleX([s.threshold], { stroke: "#ff4d4f", strokeWidth: 2 }));
    marks.push(
      Plot.text([s.threshold], {
        x: (d) => d,
        frameAnchor: "top",
        dx: 4,
        textAnchor: "start",
        text: () => "threshold",
        fill: "#ff4d4f",
      }),
    );
  }
  put(
    "chartScores",
    Plot.plot({
      width: width("chartScores"),
      height: 220,
      marginLeft: 50,
      y: { grid: true, label: "flows", type: "sqrt" },
      x: { label: "score" },
      marks,
    }),
  );
}

async function pollStats() {
  try {
    const r = await api("/stats");
    if (!r.ok) return;
    const s = await r.json();
    state.stats = s;
    const last = (s.rates || []).slice(-6, -1); // complete seconds only
    const avg = (k) => (last.length ? last.reduce((x, r) => x + r[k], 0) / last.length : 0);
    const minute = (s.rates || []).slice(-60).reduce((x, r) => x + r.alerts, 0);
    const t = s.totals || {};
    document.getElementById("kpiPackets").textContent = fmt(avg("packets"));
    document.getElementById("kpiFlows").textContent = fmt(avg("flows"));
    document.getElementById("kpiAlerts").textContent = fmt(minute);
    document.getElementById("kpiActive").textContent = fmt(t.flows_active);
    document.getElementById("kpiDrops").textContent = `${fmt(t.kernel_drops)} / ${fmt(t.internal_drops)}`;
    document.getElementById("kpiTotal").textContent = fmt(t.alerts);
    document.getElementById("source").textContent = s.source
      ? `${s.source} · ${s.detector || ""}`
      : "API only";
    renderRates();
    renderTalkers();
    renderScores();
    document.body.dataset.statsLoaded = "1";
  } catch { /* retried on the next tick */ }
}

function init() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    // A malformed %-escape in the link must not stop the dashboard before its handlers are attached.
    try {
      state.token = decodeURIComponent(m[1]);
    } catch {
      state.token = m[1];
    }
    sessionStorage.setItem("nadirToken", state.token);
    history.replaceState(null, "", location.pathname);
  } else state.token = sessionStorage.getItem("nadirToken");
  document.getElementById("tokenForm").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = document.getElementById("tokenInput").value.trim();
    sessionStorage.setItem("nadirToken", state.token);
    location.reload();
  });
  document.getElementById("detailClose").addEventListener(
    "click",
    () => (document.getElementById("detail").hidden = true),
  );
  document.getElementById("detailPcap").addEventListener("click", () => downloadPcap().catch(() => {}));
  document.getElementById("detailFp").addEventListener(
    "click",
    () => sendFeedback("false_positive").catch(() => {}),
  );
  document.getElementById("detailTp").addEventListener(
    "click",
    () => sendFeedback("true_positive").catch(() => {}),
  );
  document.getElementById("modelUpdate").addEventListener("click", () => modelAction("update"));
  document.getElementById("modelRollback").addEventListener("click", () => modelAction("rollback"));
  document.getElementById("sensorFilter").addEventListener("change", () => pickSensor().catch(() => {}));
  Promise.all([loadAlerts(), loadDrift()]).then(renderTimeline).catch(() => {});
  loadSensors().catch(() => {});
  setInterval(() => loadSensors().catch(() => {}), 15000);
  streamAlerts();
  pollStats();
  pollModel();
  setInterval(() => {
    pollStats();
    pollModel();
  }, 2000);
  setInterval(renderTimeline, 5000);
}

document.addEventListener("DOMContentLoaded", init);
