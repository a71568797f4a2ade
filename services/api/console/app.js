// Precursor operator console: plain JavaScript, no build step, no third-party code.
// Talks only to the /v1 API with the key kept in sessionStorage.
"use strict";

const SYMBOL = { low: "○", medium: "●", high: "◆", critical: "▲" };
const KEY = "precursor.key";
const state = { key: sessionStorage.getItem(KEY), me: null, lastEventId: null, stream: null };
const $ = (sel, root = document) => root.querySelector(sel);

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  }[c]));
}
const rating = (r) => `<span class="rating r-${esc(r)}">${SYMBOL[r] || ""} ${esc(r)}</span>`;
const when = (t) => (t ? new Date(t).toISOString().slice(0, 16).replace("T", " ") : "–");
const pct = (p) => (p == null ? "–" : `${(100 * p).toFixed(1)} %`);
// A contribution not owned by a tag has a machine name ("context:kind", "alarms:P1"); the
// console says it in words and keeps the name on hover, where the API and the docs use it.
const WORDS = {
  "context:kind": "asset kind", "context:criticality": "asset criticality",
  "context:hour": "hour of day", "context:night_shift": "night shift",
  "dispatch:crew": "crew on shift", "dispatch:down_min_24h": "minutes down in 24 h",
  "dispatch:h_since_failure": "hours since last failure",
  "dispatch:h_since_maintenance": "hours since maintenance", "dispatch:run_h": "run hours",
  "dispatch:short_stops_24h": "short stops in 24 h", "dispatch:short_stops_7d": "short stops in 7 d",
  "dispatch:unplanned_stops_24h": "unplanned stops in 24 h",
  "dispatch:unplanned_stops_7d": "unplanned stops in 7 d",
  "hse_incidents": "recent HSE incidents", "signals:all": "all tags together",
  "alarms:all": "alarms of every kind",
};
function signalWords(name) {
  if (WORDS[name]) return WORDS[name];
  const at = name.indexOf(":");
  const [family, rest] = at < 0 ? [null, name] : [name.slice(0, at), name.slice(at + 1)];
  if (family === "alarms") return /^P\d$/.test(rest) ? `priority ${rest.slice(1)} alarms` : `${rest} alarms`;
  if (family === "context" || family === "dispatch") return `${family}: ${rest.replace(/_/g, " ")}`;
  return name;  // a tag: its own name is what the control system calls it
}
const signal = (name) => `<span class="signal" title="${esc(name)}">${esc(signalWords(name))}</span>`;
const can = (...roles) => state.me && (state.me.role === "admin" || roles.includes(state.me.role));

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${state.key}`, "Content-Type": "application/json",
      ...(options.headers || {}) },
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(body?.error?.message || response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

function toast(text) {
  const div = document.createElement("div");
  div.textContent = text;
  $("#toast").appendChild(div);
  setTimeout(() => div.remove(), 6000);
}

// ---- sign-in -------------------------------------------------------------------------------

async function signIn(key) {
  state.key = key;
  state.me = await api("/v1/me");
  sessionStorage.setItem(KEY, key);
  $("#who").textContent = `${state.me.name} (${state.me.role})`;
  $("#logout").hidden = false;
  // A page only its roles may read is offered only to them.
  for (const a of document.querySelectorAll("nav a[data-roles]")) a.hidden = !can(...a.dataset.roles.split(","));
  startStream();
}

function showLogin(message = "") {
  $("#main").innerHTML = `<form id="login" class="card login"><h2>API key</h2>
    <p>Paste a key from <code>precursor apikey create --role ROLE --name NAME</code>. It is kept
    for this browser session only.</p>
    <input id="key" type="password" autocomplete="off" placeholder="prc_..." aria-label="API key">
    <button type="submit">Sign in</button><p id="login-error" class="error" role="alert">${esc(message)}</p></form>`;
  $("#login").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await signIn($("#key").value.trim());
      route();
    } catch (error) {
      showLogin(error.status === 401 ? "That key is unknown or revoked." : error.message);
    }
  });
}

// ---- the alert stream (fetch, since EventSource cannot send the key) ------------------------

async function startStream() {
  if (state.stream) return;
  state.stream = true;
  const live = $("#live");
  for (;;) {
    try {
      const headers = { Authorization: `Bearer ${state.key}` };
      if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
      const response = await fetch("/v1/alerts/stream", { headers });
      if (!response.ok) throw new Error(`stream: ${response.status}`);
      live.textContent = "● live";
      live.classList.add("on");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r/g, "");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = {};
          for (const line of block.split("\n")) {
            const i = line.indexOf(":");
            if (i > 0) event[line.slice(0, i)] = line.slice(i + 1).trimStart();
          }
          if (event.id) state.lastEventId = event.id;
          if (event.event && event.data && event.event !== "ready") onAlertEvent(event);
        }
      }
    } catch (error) {
      // network hiccup or server restart: reconnect and resume from the last event id
    }
    live.textContent = "○ reconnecting";
    live.classList.remove("on");
    if (!state.key) return;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function onAlertEvent(event) {
  const alert = JSON.parse(event.data);
  // A closed alert's rating is the low score that closed it; what it was about is its peak.
  const told = event.event === "closed" ? `peak ${alert.peak_rating}` : alert.rating;
  toast(`${alert.asset_id}: alert ${event.event} (${told})`);
  if (currentView() === "alerts") renderAlerts(alert.alert_id);
  // Whoever watches the asset sees its alert change there too, not only on the list.
  else if (currentView() === "asset" && currentArg() === alert.asset_id) renderAsset(alert.asset_id);
}

// ---- charts (inline SVG) -------------------------------------------------------------------

// Points split where the data stops (an asset is not scored while it is down): a gap wider
// than three usual steps ends a line, so no line is drawn across hours that have no data.
function runs(points) {
  const steps = points.slice(1).map((p, i) => p[0] - points[i][0]).sort((a, b) => a - b);
  const gap = 3 * (steps[Math.floor(steps.length / 2)] || Infinity);
  const out = [];
  points.forEach((p, i) => {
    if (i === 0 || p[0] - points[i - 1][0] > gap) out.push([]);
    out[out.length - 1].push(p);
  });
  return out;
}

function lineChart(series, { width = 640, height = 180, markers = [], levels = [], yLabel = "" } = {}) {
  const all = series.flatMap((s) => s.points);
  if (!all.length) return `<p class="muted">no data</p>`;
  const xs = all.map((p) => p[0]);
  // A level (the asset's alert level) is always in view: how far below it the line runs is
  // what an operator reads off the chart.
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p[1], p[2] ?? p[1], p[3] ?? p[1]]))
    .concat(levels.map((l) => l.y));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const pad = 50;  // room for a y label such as "0.00727" left of the plot
  const X = (x) => pad + ((x - x0) / (x1 - x0)) * (width - pad - 8);
  const Y = (y) => height - 18 - ((y - y0) / (y1 - y0)) * (height - 30);
  const parts = [`<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${esc(yLabel)}">`,
    `<line class="axis" x1="${pad}" y1="${height - 18}" x2="${width}" y2="${height - 18}"/>`,
    `<text x="2" y="12">${esc(y1.toPrecision(3))}</text><text x="2" y="${height - 20}">${esc(y0.toPrecision(3))}</text>`,
    `<text x="${pad}" y="${height - 4}">${esc(when(x0))}</text>`,
    `<text x="${width - 110}" y="${height - 4}">${esc(when(x1))}</text>`];
  for (const run of series.flatMap((s) => runs(s.points))) {
    if (run[0].length > 2) {
      const up = run.map((p) => `${X(p[0])},${Y(p[3])}`);
      const down = run.slice().reverse().map((p) => `${X(p[0])},${Y(p[2])}`);
      parts.push(`<polygon class="band" points="${up.concat(down).join(" ")}"/>`);
    }
    parts.push(`<polyline class="line" points="${run.map((p) => `${X(p[0])},${Y(p[1])}`).join(" ")}"/>`);
  }
  for (const l of levels) {
    const y = Y(l.y);  // its label above the line, or below it when the line tops the chart
    parts.push(`<line class="level" x1="${pad}" y1="${y}" x2="${width - 8}" y2="${y}"/>`,
      `<text class="level" x="${width - 8}" y="${y < 16 ? y + 12 : y - 4}" text-anchor="end">${esc(l.label)}</text>`);
  }
  for (const m of markers) {
    if (m.t >= x0 && m.t <= x1) {
      parts.push(`<line class="marker" x1="${X(m.t)}" y1="4" x2="${X(m.t)}" y2="${height - 18}"/>`,
        `<text x="${X(m.t) + 4}" y="14">${esc(m.label)}</text>`);
    }
  }
  parts.push("</svg>");
  return parts.join("");
}

function paretoChart(rows) {
  // Room below and to the right for the 50-degree labels (up to 14 characters), which were
  // clipped by the viewBox when the axis sat 60 units from the bottom.
  const width = 760, height = 320, pad = 40, right = 70, bottom = 100, n = Math.max(rows.length, 1);
  const max = Math.max(...rows.map((r) => r.hours), 1);
  const bw = (width - pad - right) / n;
  const axis = height - bottom;
  const Y = (v) => axis - (v / max) * (axis - 20);
  const parts = [`<svg id="pareto" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="downtime Pareto">`,
    `<line class="axis" x1="${pad}" y1="${axis}" x2="${width - right}" y2="${axis}"/>`,
    `<text x="2" y="20">${max.toFixed(1)} h</text>`];
  rows.forEach((r, i) => {
    const x = pad + i * bw;
    parts.push(`<rect class="bar" data-key="${esc(r.key ?? "")}" x="${x + 2}" y="${Y(r.hours)}" width="${Math.max(bw - 4, 1)}" height="${axis - Y(r.hours)}"><title>${esc(r.key ?? "(none)")}: ${r.hours.toFixed(1)} h, ${r.count} stops</title></rect>`,
      `<text transform="translate(${x + bw / 2},${axis + 4}) rotate(50)">${esc((r.key ?? "(none)").slice(0, 14))}</text>`);
  });
  const cum = rows.map((r, i) => `${pad + i * bw + bw / 2},${axis - r.cumulative_share * (axis - 20)}`);
  parts.push(`<polyline class="cum" points="${cum.join(" ")}"/><text x="${width - right - 60}" y="14">cumulative</text></svg>`);
  return parts.join("");
}

// ---- views -----------------------------------------------------------------------------------

function currentView() {
  return (location.hash.replace(/^#\//, "") || "alerts").split("/")[0];
}

// The view's argument, e.g. the asset of #/asset/CV-01.
function currentArg() {
  const arg = location.hash.replace(/^#\//, "").split("/")[1];
  return arg ? decodeURIComponent(arg) : null;
}

// An alert carries the rating and probability of its asset's latest score, and a closed alert
// those of the score that closed it (so it reads "low"): the list leads with the peak the alert
// reached, as the register entry it fed does, and shows the latest beside it.
const latestOf = (a) => `${SYMBOL[a.rating] || ""} ${esc(a.rating)} · ${pct(a.probability)}`;
// An open alert whose risk has fallen back says since when: it closes once it stays there for
// the cool-down, and until then an operator should not read it as still climbing.
const statusOf = (a) => `${esc(a.status)}${a.status !== "closed" && a.below_since
  ? ` <span class="muted easing" title="it closes once the rating stays below the alert level for the cool-down">· below alert level since ${when(a.below_since)}</span>` : ""}`;

async function renderAlerts(highlight) {
  const status = sessionStorage.getItem("precursor.alerts.status") || "";
  const peak = sessionStorage.getItem("precursor.alerts.peak") || "";
  const page = await api(`/v1/alerts?limit=200${status ? `&status=${status}` : ""}${peak ? `&peak_rating=${peak}` : ""}`);
  if (currentView() !== "alerts") return;
  const rows = page.items.map((a) => `<tr data-alert="${esc(a.alert_id)}" class="${a.alert_id === highlight ? "flash" : ""}">
    <td class="peak">${rating(a.peak_rating)}</td><td><a href="#/asset/${encodeURIComponent(a.asset_id)}">${esc(a.asset_id)}</a></td>
    <td>${statusOf(a)}${a.outcome ? ` · ${esc(OUTCOMES[a.outcome] || a.outcome)}` : ""}</td><td>${when(a.opened_at)}</td><td class="latest">${latestOf(a)}</td>
    <td>${(a.contributions || []).slice(0, 3).map((c) => signal(c.signal)).join(", ")}</td>
    <td>${a.status === "open" && can("operator") ? `<button class="ack" data-id="${esc(a.alert_id)}">Acknowledge</button>`
      : a.acknowledged_by ? `by ${esc(a.acknowledged_by)}` : ""}</td></tr>`).join("");
  $("#main").innerHTML = `<section class="card"><h2>Alerts</h2>
    <label>Status <select id="status">${["", "open", "acknowledged", "closed"].map((s) =>
      `<option value="${s}" ${s === status ? "selected" : ""}>${s || "all"}</option>`).join("")}</select></label>
    <label>Peak <select id="peak">${["", "high", "critical"].map((s) =>
      `<option value="${s}" ${s === peak ? "selected" : ""}>${s || "any"}</option>`).join("")}</select></label>
    <table id="alerts"><thead><tr><th title="the highest rating the alert reached">Peak</th><th>Asset</th><th>Status</th><th>Opened</th>
    <th title="the asset's latest score while the alert is open; for a closed alert, the score that closed it">Latest</th>
    <th>Top signals</th><th></th></tr></thead><tbody>${rows || `<tr><td colspan="7" class="muted">no alerts</td></tr>`}</tbody></table></section>`;
  $("#status").addEventListener("change", (e) => {
    sessionStorage.setItem("precursor.alerts.status", e.target.value);
    renderAlerts();
  });
  // HSE leads look back at the alerts that went critical, whatever they read now.
  $("#peak").addEventListener("change", (e) => {
    sessionStorage.setItem("precursor.alerts.peak", e.target.value);
    renderAlerts();
  });
  for (const button of document.querySelectorAll("button.ack")) {
    button.addEventListener("click", async () => {
      const comment = prompt("Comment (optional)") || null;
      try {
        await api(`/v1/alerts/${encodeURIComponent(button.dataset.id)}/ack`, {
          method: "POST", body: JSON.stringify({ comment }) });
        toast("Acknowledged");
      } catch (error) { toast(error.message); }
      renderAlerts();
    });
  }
}

async function renderAsset(assetId) {
  const asset = await api(`/v1/assets/${encodeURIComponent(assetId)}`);
  const history = await api(`/v1/assets/${encodeURIComponent(assetId)}/risk?limit=2000`);
  const alerts = (await api(`/v1/alerts?asset_id=${encodeURIComponent(assetId)}&limit=10`)).items;
  const alert = alerts[0];
  const t = (s) => new Date(s).getTime();
  const risk = [{ points: history.points.map((p) => [t(p.ts), p.probability]) }];
  let signalsHtml = `<p class="muted">no alert on this asset yet</p>`;
  let contribHtml = signalsHtml;
  if (alert) {
    const opened = t(alert.opened_at);
    const from = new Date(opened - 24 * 3600e3).toISOString();
    const to = new Date(opened + 6 * 3600e3).toISOString();
    const signals = await api(`/v1/assets/${encodeURIComponent(assetId)}/signals?from=${from}&to=${to}&points=200`);
    const detail = await api(`/v1/alerts/${encodeURIComponent(alert.alert_id)}`);
    const moved = new Map(detail.deviations.map((d) => [d.tag, d]));
    // The signals the alert named come first, in its order; an operator reads from the top.
    const rank = new Map((alert.contributions || []).map((c, i) => [c.signal, i]));
    const named = (tag) => rank.get(tag) ?? Infinity;
    const series = signals.series.slice().sort((a, b) => named(a.tag) - named(b.tag) || a.tag.localeCompare(b.tag));
    signalsHtml = series.map((s) => `<h4>${esc(s.tag)}</h4>${lineChart(
      [{ points: s.points.map((p) => [t(p[0]), p[1], p[2], p[3]]) }],
      // Full-width panel: a wider drawing keeps its text the size of the half-width charts'.
      { width: 1100, height: 130, markers: [{ t: opened, label: "alert opened" }], yLabel: s.tag })}`).join("")
      || `<p class="muted">no signals around the alert</p>`;
    const max = Math.max(...(alert.contributions || []).map((c) => Math.abs(c.contribution)), 1e-9);
    // A signal that moved the odds by under 5 % (×1.0) is not part of the explanation.
    const weighty = (alert.contributions || []).filter((c) => Math.abs(c.contribution) >= Math.log(1.05));
    const slight = (alert.contributions || []).length - weighty.length;
    // A contribution is SHAP log-odds; e^c is the factor by which that signal multiplied the
    // model's odds, which an operator can read ("x2.2 odds") where "0.800" means nothing.
    contribHtml = `<p>${rating(alert.peak_rating)} at its peak · ${statusOf(alert)} · opened ${when(alert.opened_at)}${alert.closed_at ? `, closed ${when(alert.closed_at)}` : ""}
      ${alert.status === "open" && can("operator") ? `<button id="ack-here">Acknowledge</button>` : ""}
      ${alert.acknowledged_by ? `<span class="muted" id="acked">acknowledged by ${esc(alert.acknowledged_by)} ${when(alert.acknowledged_at)}${alert.ack_comment ? `: ${esc(alert.ack_comment)}` : ""}</span>` : ""}</p>
      <p class="muted">how much each signal raised the odds of an incident, as last explained (scores near or above the alert level are explained)</p>` +
      weighty.map((c) => `<div class="contrib"><span style="min-width:14em">${signal(c.signal)}</span>
        <span class="b" style="width:${(10 * Math.abs(c.contribution)) / max}em"></span>
        <span title="${c.contribution.toFixed(3)} log-odds (SHAP)">×${Math.exp(c.contribution).toFixed(1)} odds</span>
        ${movedText(moved.get(c.signal))}</div>`).join("") +
      (slight ? `<p class="muted">and ${slight} more that moved the odds by less than 5 %</p>` : "") +
      outcomeForm(alert);
  }
  const latest = asset.latest;
  $("#main").innerHTML = `<section class="card"><h2>${esc(asset.name || asset.asset_id)} <span class="muted">${esc(asset.kind || "")}
    · ${esc(asset.site || "")} / ${esc(asset.area || "")} · criticality ${asset.criticality}</span></h2>
    <p>Latest: ${latest ? `${rating(latest.rating)} ${pct(latest.probability)} at ${when(latest.ts)}` : "not scored yet"}</p></section>
    <div class="grid2"><section class="card"><h3>Risk trend (probability of an incident within the horizon)</h3>
    ${lineChart(risk, { markers: alert ? [{ t: t(alert.opened_at), label: "alert" }] : [], yLabel: "risk",
      levels: history.alert_level ? [{ y: history.alert_level, label: `alert level ${pct(history.alert_level)}` }] : [] })}</section>
    <section class="card" id="contributions"><h3>Why: top contributions of the latest alert</h3>${contribHtml}</section></div>
    <section class="card" id="signals"><h3>Signals around the alert (24 h before, 6 h after; the ones it named first)</h3>${signalsHtml}</section>
    ${alerts.length > 1 ? earlierAlerts(alerts.slice(1)) : ""}`;
  // Operators acknowledge where they read why the alert was raised, as on the alert list.
  $("#ack-here")?.addEventListener("click", async () => {
    const comment = prompt("Comment (optional)") || null;
    try {
      await api(`/v1/alerts/${encodeURIComponent(alert.alert_id)}/ack`, { method: "POST", body: JSON.stringify({ comment }) });
      toast("Acknowledged");
    } catch (error) { toast(error.message); }
    renderAsset(assetId);
  });
  $("#outcome")?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { outcome: form.outcome.value, comment: form.comment.value.trim() || null };
    try {
      await api(`/v1/alerts/${encodeURIComponent(alert.alert_id)}/outcome`, { method: "POST", body: JSON.stringify(body) });
      toast("Outcome recorded");
      renderAsset(assetId);
    } catch (error) { $("#outcome-status").textContent = error.message; }
  });
}

// A signal's value as people read it off a panel: three significant digits.
const sig3 = (v) => (v == null ? "–" : String(Number(v.toPrecision(3))));

// What a named tag did in the 6 h before the alert opened, in its own units, against its usual
// (the 7 days before): "3.61 (usual 3 ± 0.49, +1.2σ; rising 3.7σ across them)". The odds say
// how much it counted; this says what the operator would see on the panel.
function movedText(d) {
  if (!d || d.window_mean == null || d.baseline_mean == null) return "";
  const z = d.level_z == null ? "" : `, ${d.level_z >= 0 ? "+" : ""}${d.level_z.toFixed(1)}σ`;
  // A wearing part often shows as a drift before its mean leaves the usual band.
  const drift = d.slope_z != null && Math.abs(d.slope_z) >= 1
    ? `; ${d.slope_z > 0 ? "rising" : "falling"} ${Math.abs(d.slope_z).toFixed(1)}σ across them` : "";
  return `<span class="muted moved" title="mean of the 6 h before the alert opened, against the 7 days before that">6 h before: ${sig3(d.window_mean)} (usual ${sig3(d.baseline_mean)} ± ${sig3(d.baseline_std ?? 0)}${z}${drift})</span>`;
}

// The asset's alerts before the latest: whether it has cried wolf before, or warned in time.
function earlierAlerts(alerts) {
  const rows = alerts.map((a) => `<tr><td>${rating(a.peak_rating)}</td><td>${when(a.opened_at)}</td>
    <td>${when(a.closed_at)}</td><td>${a.outcome ? esc(OUTCOMES[a.outcome] || a.outcome) : "–"}</td>
    <td>${(a.contributions || []).slice(0, 3).map((c) => signal(c.signal)).join(", ")}</td></tr>`).join("");
  return `<section class="card"><h3>Earlier alerts on this asset</h3><table id="earlier"><thead><tr><th>Peak</th>
    <th>Opened</th><th>Closed</th><th>Outcome</th><th>Top signals</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

// What an alert turned out to be: the next training uses it as a label, so reliability and HSE
// record it where they read the alert.
const OUTCOMES = { true_positive: "an incident followed", false_alarm: "false alarm",
  too_late: "came too late to act" };
function outcomeForm(alert) {
  const now = alert.outcome ? `Outcome: ${esc(OUTCOMES[alert.outcome] || alert.outcome)}` : "No outcome recorded yet.";
  if (!can("reliability", "hse")) return `<p class="muted" id="outcome-now">${now}</p>`;
  return `<form id="outcome" class="row-form"><span id="outcome-now">${now}</span>
    <select name="outcome" aria-label="outcome">${Object.entries(OUTCOMES).map(([value, words]) =>
      `<option value="${value}" ${value === alert.outcome ? "selected" : ""}>${words}</option>`).join("")}</select>
    <input type="text" name="comment" placeholder="comment (optional)" maxlength="2000">
    <button type="submit">${alert.outcome ? "Change outcome" : "Record outcome"}</button>
    <span id="outcome-status" role="status"></span></form>`;
}

async function renderForecast() {
  const horizon = sessionStorage.getItem("precursor.horizon") || "day";
  const f = await api(`/v1/forecast?horizon=${horizon}`);
  const tiles = f.areas.map((a) => `<div class="tile r-${esc(a.worst_rating)}"><div class="name">${esc(a.area || "(no area)")}</div>
    <div>${esc(a.site || "")}</div><div>${SYMBOL[a.worst_rating]} worst: ${esc(a.worst_rating)}</div>
    <div>${a.high_or_critical} of ${a.assets} high or critical</div></div>`).join("");
  const rows = f.items.map((i, n) => `<tr><td>${n + 1}</td><td>${rating(i.rating)}</td>
    <td><a href="#/asset/${encodeURIComponent(i.asset_id)}">${esc(i.asset_id)}</a></td><td>${esc(i.area || "")}</td>
    <td>${pct(i.probability)}</td><td>${esc(i.trend)}</td><td>${i.open_alert_id ? `<a class="open-alert" href="#/asset/${encodeURIComponent(i.asset_id)}">alert open</a>` : ""}</td></tr>`).join("");
  $("#main").innerHTML = `<section class="card"><h2>Forecast</h2><label>Horizon <select id="horizon">
    ${["shift", "day", "week"].map((h) => `<option ${h === horizon ? "selected" : ""}>${h}</option>`).join("")}</select></label>
    <h3>By area</h3><div class="heat" id="heat">${tiles || `<p class="muted">nothing scored yet</p>`}</div></section>
    <section class="card"><h3>Assets ranked by risk</h3><table id="ranked"><thead><tr><th>#</th><th>Rating</th><th>Asset</th><th>Area</th>
    <th>Probability (${esc(horizon)})</th><th>Trend vs 24 h ago</th><th>Alert</th></tr></thead><tbody>${rows}</tbody></table></section>`;
  $("#horizon").addEventListener("change", (e) => {
    sessionStorage.setItem("precursor.horizon", e.target.value);
    renderForecast();
  });
}

async function renderDowntime() {
  const by = sessionStorage.getItem("precursor.pareto.by") || "reason_code";
  const p = await api(`/v1/downtime/pareto?by=${by}&planned=false`);
  $("#main").innerHTML = `<section class="card"><h2>Unplanned downtime Pareto</h2>
    <label>By <select id="by">${["reason_code", "asset_id", "crew", "shift"].map((b) =>
      `<option ${b === by ? "selected" : ""}>${b}</option>`).join("")}</select></label>
    <span class="muted">${p.total_hours.toFixed(1)} h in all · click a bar for its stops</span>
    ${paretoChart(p.rows)}</section><section class="card" id="stops"><p class="muted">Select a bar.</p></section>`;
  $("#by").addEventListener("change", (e) => {
    sessionStorage.setItem("precursor.pareto.by", e.target.value);
    renderDowntime();
  });
  for (const bar of document.querySelectorAll("#pareto .bar")) {
    bar.addEventListener("click", async () => {
      document.querySelectorAll("#pareto .bar").forEach((b) => b.classList.remove("sel"));
      bar.classList.add("sel");
      const key = bar.dataset.key;
      const query = by === "asset_id" ? `&asset_id=${encodeURIComponent(key)}` : "";
      const stops = (await api(`/v1/downtime?planned=false&limit=500${query}`))
        .filter((s) => String(s[by] ?? "") === key);
      $("#stops").innerHTML = `<h3>${esc(key || "(none)")}: ${stops.length} stops (newest 500 searched)</h3>
        <table><thead><tr><th>Stop</th><th>Asset</th><th>Started</th><th>Hours</th><th>Reason</th><th>Crew</th></tr></thead><tbody>
        ${stops.map((s) => `<tr><td><a href="#/stop/${encodeURIComponent(s.event_id)}">${esc(s.event_id)}</a></td>
        <td>${esc(s.asset_id)}</td><td>${when(s.started_at)}</td><td>${s.duration_s == null ? "ongoing" : (s.duration_s / 3600).toFixed(2)}</td>
        <td>${esc(s.reason_code || "")}</td><td>${esc(s.crew || "")}</td></tr>`).join("")}</tbody></table>`;
    });
  }
}

function treeToText(node, depth = 0) {
  if (!node) return "";
  return ["  ".repeat(depth) + node.cause, ...(node.children || []).map((c) => treeToText(c, depth + 1))].join("\n");
}

function textToTree(text) {
  const lines = text.split("\n").filter((l) => l.trim());
  if (!lines.length) return null;
  const root = { cause: lines[0].trim(), children: [] };
  const stack = [{ node: root, depth: 0 }];
  for (const line of lines.slice(1)) {
    const depth = Math.max(1, Math.floor((line.length - line.trimStart().length) / 2));
    const node = { cause: line.trim(), children: [] };
    while (stack.length > 1 && stack[stack.length - 1].depth >= depth) stack.pop();
    stack[stack.length - 1].node.children.push(node);
    stack.push({ node, depth });
  }
  return root;
}

async function renderStop(eventId) {
  const rc = await api(`/v1/downtime/${encodeURIComponent(eventId)}/root-cause`);
  const rca = rc.rca ? await api(`/v1/downtime/${encodeURIComponent(eventId)}/rca`) : null;
  const s = rc.stop;
  const whys = (rca?.five_whys?.length ? rca.five_whys : [{ why: "", because: "" }]);
  const actions = rca?.actions || [];
  const pa = rc.preceding_alert;
  $("#main").innerHTML = `<section class="card"><h2>Stop ${esc(s.event_id)} on <a href="#/asset/${encodeURIComponent(s.asset_id)}">${esc(s.asset_id)}</a></h2>
    <p>${when(s.started_at)} · ${s.duration_s == null ? "ongoing" : `${(s.duration_s / 3600).toFixed(2)} h`} · ${esc(s.reason_code || "")}
    · crew ${esc(s.crew || "–")} · ${esc(s.shift)} shift</p>
    <p>${pa ? `Warned ${pa.lead_h.toFixed(1)} h ahead by alert ${esc(pa.alert_id)} (${rating(pa.peak_rating)})` : "No alert preceded this stop."}</p></section>
    <div class="grid2"><section class="card"><h3>Signals by deviation (${rc.lookback_h} h before vs the 7 days before that)</h3>
    <table id="deviations"><thead><tr><th>Tag</th><th>Score</th><th>Level z</th><th>Drift z</th>
    <th title="mean over the lookback">Before the stop</th><th title="mean ± standard deviation of the 7 days before">Usual</th></tr></thead><tbody>
    ${rc.signals.map((g) => `<tr><td>${esc(g.tag)}</td><td>${g.score.toFixed(2)}</td><td>${g.level_z?.toFixed(2) ?? "–"}</td><td>${g.slope_z?.toFixed(2) ?? "–"}</td>
      <td>${sig3(g.window_mean)}</td><td>${g.baseline_mean == null ? "–" : `${sig3(g.baseline_mean)} ± ${sig3(g.baseline_std ?? 0)}`}</td></tr>`).join("")}
    </tbody></table></section><section class="card"><h3>Alarms and dispatch in the lookback</h3>
    <ul>${rc.alarms.map((a) => `<li>${when(a.ts)} ${esc(a.kind)} ${esc(a.tag || "")} ${esc(a.state)}</li>`).join("") || "<li class='muted'>no alarms</li>"}</ul>
    <ul>${rc.dispatch.map((d) => `<li>${when(d.ts)} ${esc(d.state)} ${esc(d.reason_code || "")}</li>`).join("")}</ul>
    <h3>Similar past stops</h3><ul>${rc.similar.map((m) => `<li><a href="#/stop/${encodeURIComponent(m.event_id)}">${esc(m.event_id)}</a>
    ${esc(m.asset_id)} ${when(m.started_at)} ${esc(m.reason_code || "")} (distance ${m.distance})</li>`).join("") || "<li class='muted'>none</li>"}</ul></section></div>
    <form class="card" id="rca"><h3>Root-cause analysis ${rca ? `<span class="muted">revision ${rca.revision} by ${esc(rca.updated_by)}</span>` : ""}</h3>
    <label class="field"><span>Summary</span><input type="text" name="summary" value="${esc(rca?.summary || "")}" style="width:70%"></label>
    <h4>Five whys</h4><div id="whys">${whys.map((w) => `<div class="row-form why"><input type="text" placeholder="why" value="${esc(w.why)}">
    <input type="text" placeholder="because" value="${esc(w.because)}"></div>`).join("")}</div>
    <button type="button" class="secondary" id="add-why">+ why</button>
    <h4>Cause tree <span class="muted">(one cause per line, indent two spaces per level)</span></h4>
    <textarea name="tree" rows="5" style="width:100%">${esc(treeToText(rca?.cause_tree))}</textarea>
    <h4>Actions</h4><div id="actions">${actions.map((a) => `<div class="row-form action"><input type="text" placeholder="action" value="${esc(a.description)}">
    <input type="text" placeholder="owner" value="${esc(a.owner)}"><input type="date" value="${esc(a.due_date)}"></div>`).join("")}</div>
    <button type="button" class="secondary" id="add-action">+ action</button>
    <p>${can("reliability") ? `<button type="submit">Save RCA</button>` : `<span class="muted">reliability engineers record RCAs</span>`}
    <span id="rca-status" role="status"></span></p></form>`;
  $("#add-why").addEventListener("click", () => $("#whys").insertAdjacentHTML("beforeend",
    `<div class="row-form why"><input type="text" placeholder="why"><input type="text" placeholder="because"></div>`));
  $("#add-action").addEventListener("click", () => $("#actions").insertAdjacentHTML("beforeend",
    `<div class="row-form action"><input type="text" placeholder="action"><input type="text" placeholder="owner"><input type="date"></div>`));
  $("#rca").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = {
      summary: form.summary.value.trim() || null,
      five_whys: [...document.querySelectorAll(".why")].map((r) => r.querySelectorAll("input"))
        .map(([w, b]) => ({ why: w.value.trim(), because: b.value.trim() })).filter((w) => w.why && w.because),
      cause_tree: textToTree(form.tree.value),
      actions: [...document.querySelectorAll(".action")].map((r) => r.querySelectorAll("input"))
        .map(([d, o, due]) => ({ description: d.value.trim(), owner: o.value.trim(), due_date: due.value }))
        .filter((a) => a.description && a.owner && a.due_date),
    };
    try {
      const saved = await api(`/v1/downtime/${encodeURIComponent(eventId)}/rca`, { method: "POST", body: JSON.stringify(body) });
      $("#rca-status").textContent = `saved (revision ${saved.revision})`;
    } catch (error) { $("#rca-status").textContent = error.message; }
  });
}

async function renderRegister() {
  const entries = (await api("/v1/risk-register?limit=500")).items;
  $("#main").innerHTML = `<section class="card"><h2>Risk register</h2>
    <table id="register"><thead><tr><th>Entry</th><th>Title</th><th>Asset / area</th><th>Rating</th><th>Residual</th>
    <th>Status</th><th>Owner</th><th>Due</th><th>Alerts</th></tr></thead><tbody>
    ${entries.map((e) => `<tr><td><a href="#/entry/${encodeURIComponent(e.entry_id)}">${esc(e.entry_id)}</a></td><td>${esc(e.title)}</td>
    <td>${esc(e.asset_id || "")} ${esc(e.area || "")}</td><td>${rating(e.rating)} <span class="muted">${e.likelihood}×${e.consequence}</span></td>
    <td>${rating(e.residual_rating)}</td><td>${esc(e.status)}</td><td>${esc(e.owner || "")}</td><td>${esc(e.due_date || "")}</td>
    <td>${e.alert_ids.length}</td></tr>`).join("") || `<tr><td colspan="9" class="muted">no entries</td></tr>`}</tbody></table></section>`;
}

async function renderEntry(entryId) {
  const e = await api(`/v1/risk-register/${encodeURIComponent(entryId)}`);
  const history = await api(`/v1/risk-register/${encodeURIComponent(entryId)}/history`);
  const editable = can("hse");
  const opt = (values, current) => values.map((v) => `<option ${String(v) === String(current) ? "selected" : ""}>${v}</option>`).join("");
  const measureRow = (m = {}) => `<div class="row-form measure"><input type="text" placeholder="measure" value="${esc(m.description || "")}">
    <select>${opt(["planned", "in_progress", "done"], m.status || "planned")}</select>
    <select>${opt(["likelihood", "consequence"], m.reduces || "likelihood")}</select>
    <select>${opt([1, 2, 3, 4], m.steps || 1)}</select><input type="hidden" value="${esc(m.id || "")}"></div>`;
  $("#main").innerHTML = `<form class="card" id="entry"><h2>${esc(e.entry_id)}: ${esc(e.title)}</h2>
    <p>${rating(e.rating)} now · residual ${rating(e.residual_rating)} · source ${esc(e.source)} · version <span id="version">${e.version}</span>
    · alerts: ${e.alert_ids.map((a) => (e.asset_id ? `<a class="alert-link" href="#/asset/${encodeURIComponent(e.asset_id)}">${esc(a)}</a>` : esc(a))).join(", ") || "none"}</p>
    <label class="field"><span>Title</span><input type="text" name="title" value="${esc(e.title)}" style="width:60%"></label>
    <label class="field"><span>Hazard</span><input type="text" name="hazard" value="${esc(e.hazard)}"></label>
    <label class="field"><span>Likelihood</span><select name="likelihood">${opt([1, 2, 3, 4, 5], e.likelihood)}</select></label>
    <label class="field"><span>Consequence</span><select name="consequence">${opt([1, 2, 3, 4, 5], e.consequence)}</select></label>
    <label class="field"><span>Status</span><select name="status">${opt(["identified", "assessed", "mitigating", "closed"], e.status)}</select></label>
    <label class="field"><span>Owner</span><input type="text" name="owner" value="${esc(e.owner || "")}"></label>
    <label class="field"><span>Due date</span><input type="date" name="due_date" value="${esc(e.due_date || "")}"></label>
    <h4>Compensating measures <span class="muted">(measure, status, lowers, by steps)</span></h4>
    <div id="measures">${e.measures.map(measureRow).join("")}</div>
    <button type="button" class="secondary" id="add-measure">+ measure</button>
    <p>${editable ? `<button type="submit">Save</button>` : `<span class="muted">HSE leads edit the register</span>`}
    <span id="entry-status" role="status"></span></p></form>
    <section class="card"><h3>History</h3><table id="history"><thead><tr><th>When</th><th>Who</th><th>What</th><th>Changed</th></tr></thead><tbody>
    ${history.slice().reverse().map((h) => `<tr><td>${when(h.at)}</td><td>${esc(h.actor)}</td><td>${esc(h.action)} (v${h.version})</td>
    <td>${h.before ? Object.keys(h.after).filter((k) => JSON.stringify(h.after[k]) !== JSON.stringify(h.before[k]) && !["version", "updated_at"].includes(k))
      .map((k) => `${esc(k)}: ${esc(JSON.stringify(h.before[k]))} → ${esc(JSON.stringify(h.after[k]))}`).join("<br>") : "created"}</td></tr>`).join("")}
    </tbody></table></section>`;
  $("#add-measure").addEventListener("click", () => $("#measures").insertAdjacentHTML("beforeend", measureRow()));
  $("#entry").addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = event.target;
    const measures = [...document.querySelectorAll(".measure")].map((row) => {
      const [d, status, reduces, steps, id] = row.querySelectorAll("input, select");
      return { ...(id.value ? { id: id.value } : {}), description: d.value.trim(), status: status.value,
        reduces: reduces.value, steps: Number(steps.value) };
    }).filter((m) => m.description);
    const body = { version: e.version, title: f.title.value.trim(), hazard: f.hazard.value.trim(),
      likelihood: Number(f.likelihood.value), consequence: Number(f.consequence.value), status: f.status.value,
      owner: f.owner.value.trim() || null, due_date: f.due_date.value || null, measures };
    try {
      await api(`/v1/risk-register/${encodeURIComponent(entryId)}`, { method: "PATCH", body: JSON.stringify(body) });
      toast("Saved");
      renderEntry(entryId);
    } catch (error) {
      $("#entry-status").textContent = error.status === 409 ? `${error.message}` : error.message;
    }
  });
}

// Proactive indicators for HSE leads over a period of the plant's time: how alerts are answered,
// how much of the register has measures, downtime and incidents, and the least reliable assets.
const PERIODS = { "7": "last 7 days", "30": "last 30 days", "": "all time" };

// The model that scores the plant and what it did on data it was not trained on (its test
// window, as `precursor train` measured it, beside the two baselines at the same alert budget):
// whether to trust an alert starts with how often such alerts came early, and how often falsely.
const MODEL_ROWS = [
  ["incidents warned at least 1 h ahead", (m) => m.incidents == null ? "–"
    : `${m.warned_1h ?? Math.round(m.recall_at_1h * m.incidents)} of ${m.incidents} (${pct(m.recall_at_1h)})`],
  ["of those with a precursor", (m) => pct(m.recall_at_1h_precursor)],
  ["median lead (h)", (m) => num(m.median_lead_h)],
  ["false alerts per asset-week", (m) => num(m.false_alerts_per_asset_week, 2)],
  ["alerts per shift", (m) => num(m.alerts_per_shift, 2)],
  ["PR-AUC per row", (m) => num(m.pr_auc, 3)],
];
const num = (v, digits = 1) => (v == null ? "–" : Number(v).toFixed(digits));

// "test.median_lead_h" -> {median_lead_h: ...} for one prefix of an MLflow run's metrics.
function metricsOf(metrics, prefix) {
  return Object.fromEntries(Object.entries(metrics).filter(([k]) => k.startsWith(prefix))
    .map(([k, v]) => [k.slice(prefix.length), v]));
}

async function renderModel() {
  const m = await api("/v1/models");
  if (currentView() !== "model") return;
  const champion = m.versions.find((v) => v.champion);
  const trained = (v) => (v.created_at ? when(new Date(v.created_at).toISOString()) : "–");
  let figures = `<p class="muted">no figures: this version was not registered by \`precursor train\`</p>`;
  const test = champion ? metricsOf(champion.metrics, "test.") : {};
  if (Object.keys(test).length) {
    const bases = [["static thresholds", "baseline.threshold."], ["IsolationForest", "baseline.isolation_forest."]]
      .map(([name, prefix]) => [name, metricsOf(champion.metrics, prefix)]);
    figures = `<table id="model-figures"><thead><tr><th>On its test window</th><th>the model</th>
      ${bases.map(([name]) => `<th>${esc(name)}</th>`).join("")}</tr></thead><tbody>
      ${MODEL_ROWS.map(([label, show]) => `<tr><td>${esc(label)}</td><td>${show(test)}</td>
        ${bases.map(([, b]) => `<td>${show(b)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
  }
  const versions = m.versions.map((v) => {
    const t = metricsOf(v.metrics, "test.");
    return `<tr><td>${esc(v.version)}${v.champion ? " (champion)" : ""}</td><td>${trained(v)}</td>
      <td>${v.threshold == null ? "–" : pct(v.threshold)}</td><td>${MODEL_ROWS[0][1](t)}</td><td>${num(t.median_lead_h)}</td>
      <td>${num(t.false_alerts_per_asset_week, 2)}</td></tr>`;
  }).join("");
  $("#main").innerHTML = `<section class="card"><h2>Model</h2>
    <p id="champion">${champion ? `${esc(m.name)} version ${esc(champion.version)}, trained ${trained(champion)}; alerts are
      judged against its threshold of ${champion.threshold == null ? "–" : pct(champion.threshold)} (the likelihood bands are multiples of it)`
      : "No model yet: nothing is scored until `precursor train` registers one."}</p>${champion ? figures : ""}
    <p class="muted">Each version is measured on the test window of the data it was trained on, after a gap
      of at least the horizon; a new version replaces the champion only when it does better than the champion on that same window.</p></section>
    <section class="card"><h3>Versions</h3><table id="versions"><thead><tr><th>Version</th><th>Trained</th><th>Threshold</th>
    <th>Warned ≥ 1 h</th><th>Median lead (h)</th><th>False alerts / asset-week</th></tr></thead><tbody>${versions
    || `<tr><td colspan="6" class="muted">none registered</td></tr>`}</tbody></table></section>`;
}

async function renderKpis() {
  const days = sessionStorage.getItem("precursor.kpis.days") ?? "30";
  // The period ends at the newest score, not the wall clock: a simulated or replayed plant's
  // time is not the browser's.
  const assets = await api("/v1/assets");
  const end = assets.map((a) => a.latest?.ts).filter(Boolean).sort().pop();
  const from = days && end ? new Date(new Date(end).getTime() - days * 86400e3).toISOString() : null;
  const k = await api(`/v1/kpis${from ? `?from=${encodeURIComponent(from)}` : ""}`);
  const tiles = [
    ["alerts raised", k.alerts_raised], ["acknowledged", k.alerts_acknowledged],
    ["median minutes to acknowledge", num(k.median_time_to_ack_min)],
    ["register entries with measures", k.register_entries ? `${Math.round(100 * k.register_with_measures_share)} % of ${k.register_entries}` : "–"],
    ["unplanned downtime (h)", num(k.unplanned_downtime_hours)], ["downtime (h)", num(k.downtime_hours)],
    ["HSE incidents", k.incidents],
  ].map(([label, value]) => `<div class="kpi"><div class="value">${esc(value)}</div><div class="muted">${esc(label)}</div></div>`).join("");
  // Least reliable first: shortest mean time between failures, then most short stops.
  const rows = k.assets.slice().sort((a, b) => (a.mtbf_h ?? Infinity) - (b.mtbf_h ?? Infinity)
    || b.short_stops - a.short_stops).map((a) =>
    `<tr><td><a href="#/asset/${encodeURIComponent(a.asset_id)}">${esc(a.asset_id)}</a></td><td>${a.failures}</td><td>${a.short_stops}</td>
    <td>${num(a.mtbf_h)}</td><td>${num(a.mttr_h, 2)}</td><td>${num(a.running_hours, 0)}</td><td>${num(a.downtime_hours)}</td></tr>`).join("");
  $("#main").innerHTML = `<section class="card"><h2>KPIs</h2><label>Period <select id="period">
    ${Object.entries(PERIODS).map(([v, words]) => `<option value="${v}" ${v === days ? "selected" : ""}>${words}</option>`).join("")}</select></label>
    <span class="muted">${from ? `from ${when(from)} to the newest score (${when(end)})` : "everything stored"}</span>
    <div class="kpis" id="kpi-tiles">${tiles}</div></section>
    <section class="card"><h3>Assets, least reliable first</h3><table id="reliability"><thead><tr><th>Asset</th>
    <th title="unplanned stops as long as an incident (PRECURSOR_MIN_DOWNTIME_MIN, 30 min by default)">Failures</th>
    <th title="unplanned stops shorter than that: not failures, and not in MTBF or MTTR">Short stops</th><th>MTBF (h)</th><th>MTTR (h)</th><th>Running (h)</th><th>Down (h)</th></tr></thead><tbody>${rows
    || `<tr><td colspan="7" class="muted">no stops in the period</td></tr>`}</tbody></table></section>`;
  $("#period").addEventListener("change", (e) => {
    sessionStorage.setItem("precursor.kpis.days", e.target.value);
    renderKpis();
  });
}

// ---- routing -------------------------------------------------------------------------------

async function route() {
  if (!state.key || !state.me) return showLogin();
  const [view, id] = [currentView(), currentArg()];
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.view === view);
  try {
    if (view === "asset") await renderAsset(id);
    else if (view === "forecast") await renderForecast();
    else if (view === "downtime") await renderDowntime();
    else if (view === "stop") await renderStop(id);
    else if (view === "register") await renderRegister();
    else if (view === "entry") await renderEntry(id);
    else if (view === "kpis") await renderKpis();
    else if (view === "model") await renderModel();
    else await renderAlerts();
  } catch (error) {
    if (error.status === 401) {
      sessionStorage.removeItem(KEY);
      state.key = null;
      return showLogin("The key was revoked or is unknown.");
    }
    $("#main").innerHTML = `<section class="card"><p class="error">${error.status === 403
      ? `Your role (${esc(state.me.role)}) may not see this page.` : esc(error.message)}</p></section>`;
  }
}

window.addEventListener("hashchange", route);
$("#wall").addEventListener("change", (e) => document.body.classList.toggle("wall", e.target.checked));
$("#logout").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  location.reload();
});
(async () => {
  // `up --demo` prints the console's address with its key after #key=: taken out of the address
  // bar and the history at once, so that it is not left on screen or in a bookmark.
  const given = location.hash.match(/^#key=(prc_[\w-]+)$/);
  if (given) history.replaceState(null, "", `${location.pathname}#/alerts`);
  if (given || state.key) {
    try {
      await signIn(given ? given[1] : state.key);
    } catch (error) {
      state.key = null;
      sessionStorage.removeItem(KEY);
      if (given) return showLogin(error.status === 401 ? "The key in that link is unknown or revoked." : error.message);
    }
  }
  route();
})();
