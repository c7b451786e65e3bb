// The finance dashboard. It reads only the public JSON API (the same one the
// CLI and other clients use) and draws plain SVG; no network beyond the daemon.
"use strict";

const COLORS = { marketing: "#4e79a7", utility: "#f28e2b", authentication: "#59a14f",
  authentication_international: "#b07aa1", service: "#e15759", none: "#9c9c9c" };
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1));

function headers() {
  const t = $("token").value || sessionStorage.getItem("coexist-token") || "";
  return t ? { Authorization: "Bearer " + t } : {};
}

async function api(path, init) {
  const r = await fetch(path, Object.assign({ headers: headers() }, init || {}));
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch (_) { body = text; }
  if (!r.ok) {
    const e = body && body.error ? body.error.code + ": " + body.error.message : r.status + " " + text;
    throw new Error(path + " → " + e);
  }
  return body;
}

// Decimal strings are summed as integers of minor units so the page never
// adds money in floating point.
function toUnits(s, dp) {
  const neg = s.startsWith("-"); if (neg) s = s.slice(1);
  const [i, f = ""] = s.split(".");
  const v = BigInt(i + (f + "0".repeat(dp)).slice(0, dp));
  return neg ? -v : v;
}
function fromUnits(v, dp) {
  const neg = v < 0n; if (neg) v = -v;
  let s = v.toString().padStart(dp + 1, "0");
  s = dp ? s.slice(0, -dp) + "." + s.slice(-dp) : s;
  return (neg ? "-" : "") + s;
}
function sum(values, dp) { return fromUnits(values.reduce((a, v) => a + toUnits(v, dp), 0n), dp); }
function dpOf(s) { const i = s.indexOf("."); return i < 0 ? 0 : s.length - i - 1; }

// The current month in a time zone, as YYYY-MM.
function monthIn(tz, date) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit" }).formatToParts(date || new Date());
  return parts.find((p) => p.type === "year").value + "-" + parts.find((p) => p.type === "month").value;
}
function addMonths(ym, n) {
  let [y, m] = ym.split("-").map(Number);
  m += n; y += Math.floor((m - 1) / 12); m = ((m - 1) % 12 + 12) % 12 + 1;
  return y + "-" + String(m).padStart(2, "0");
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
function table(id, head, rows, foot) {
  const t = $(id); t.replaceChildren();
  t.append(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { class: h.num ? "num" : "" }, h.label)))));
  const body = el("tbody");
  for (const r of rows) body.append(el("tr", {}, ...r.map((c) => c instanceof Node ? el("td", {}, c) :
    el("td", Object.assign({ class: c.num ? "num" : "" }, c.key ? { "data-key": c.key } : {}), c.text))));
  t.append(body);
  if (foot) t.append(el("tfoot", {}, el("tr", {}, ...foot.map((c) => el("td", Object.assign({ class: c.num ? "num" : "" }, c.key ? { "data-key": c.key } : {}), c.text)))));
}

// A stacked bar chart: groups (x) × series (stacked), values as decimal strings.
function bars(target, groups, series, value, label) {
  const W = 560, H = 240, L = 60, B = 36, T = 24;
  const totals = groups.map((g) => series.reduce((a, s) => a + Number(value(g, s) || 0), 0));
  const max = Math.max(1e-9, ...totals);
  const slot = (W - L - 10) / Math.max(1, groups.length), bw = Math.max(6, slot * 0.6);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" font-size="10">`;
  svg += `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/><text x="2" y="${T + 4}">${max.toFixed(2)}</text><text x="2" y="${H - B}">0</text>`;
  groups.forEach((g, i) => {
    const x = L + 8 + i * slot; let y = H - B;
    for (const s of series) {
      const v = value(g, s); if (!v || Number(v) === 0) continue;
      const h = Number(v) / max * (H - B - T); y -= h;
      svg += `<rect class="bar" data-group="${g}" data-series="${s}" data-value="${v}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[s] || "#999"}"><title>${g} ${s}: ${v}</title></rect>`;
    }
    svg += `<text x="${x.toFixed(1)}" y="${H - B + 12}">${label(g)}</text>`;
  });
  series.forEach((s, i) => { svg += `<rect x="${L + i * 105}" y="4" width="9" height="9" fill="${COLORS[s] || "#999"}"/><text x="${L + 12 + i * 105}" y="12">${s}</text>`; });
  target.innerHTML = svg + "</svg>";
}

async function load() {
  const waba = $("waba").value.trim();
  let month = $("month").value;
  $("status").textContent = "Loading…"; $("status").className = "muted";
  try {
    // The month picker follows the WABA's time zone: the invoice names it.
    const probe = await api(`/v1/invoices/${encodeURIComponent(waba)}/${month || monthIn("UTC")}`);
    const tz = probe.timezone;
    if (!month) { month = monthIn(tz); $("month").value = month; }
    $("tz").textContent = `${probe.currency} · ${tz} · now ${monthIn(tz)}`;
    location.hash = new URLSearchParams({ waba, month }).toString();
    document.querySelectorAll(".month-label, #month-label").forEach((e) => { e.textContent = month; });

    // Six months up to the chosen one.
    const months = [...Array(6).keys()].map((k) => addMonths(month, k - 5));
    const invoices = await Promise.all(months.map((m) => api(`/v1/invoices/${encodeURIComponent(waba)}/${m}`)));
    const current = invoices[invoices.length - 1];
    const cats = [...new Set(invoices.flatMap((i) => i.lines.map((l) => l.category)))].sort();
    const dp = Math.max(2, ...invoices.flatMap((i) => i.lines.map((l) => dpOf(l.cost))));
    const byCat = (inv, c) => sum(inv.lines.filter((l) => l.category === c).map((l) => l.cost), dp);
    bars($("months-chart"), months, cats, (m, c) => byCat(invoices[months.indexOf(m)], c), (m) => m);
    table("months-table",
      [{ label: "month" }, ...cats.map((c) => ({ label: c, num: true })), { label: "total", num: true }],
      invoices.map((inv, i) => [{ text: months[i] }, ...cats.map((c) => ({ text: byCat(inv, c), num: true, key: `month:${months[i]}:${c}` })),
        { text: inv.totals.length ? inv.totals.map((t) => t.cost).join(" + ") : "0", num: true, key: `month:${months[i]}:total` }]));

    // The chosen month by market and category.
    const markets = [...new Set(current.lines.map((l) => l.market))].sort();
    const mcat = (m, c) => sum(current.lines.filter((l) => l.market === m && l.category === c).map((l) => l.cost), dp);
    bars($("markets-chart"), markets, cats, mcat, (m) => m.length > 12 ? m.slice(0, 11) + "…" : m);
    table("invoice-table",
      [{ label: "market" }, { label: "category" }, { label: "pricing type" }, { label: "volume", num: true },
        { label: "cost", num: true }, { label: "residual", num: true }, { label: "entries" }],
      current.lines.map((l) => [{ text: l.market }, { text: l.category }, { text: l.pricing_type },
        { text: String(l.volume), num: true, key: `line:${l.market}:${l.category}:${l.pricing_type}:volume` },
        { text: l.cost, num: true, key: `line:${l.market}:${l.category}:${l.pricing_type}:cost` },
        { text: l.rounding_residual, num: true }, el("a", { href: l.entries }, "ledger")]),
      current.totals.length ? [{ text: "total" }, { text: current.totals.map((t) => t.currency).join(", ") }, { text: "" },
        { text: current.totals.map((t) => t.volume).join(" + "), num: true },
        { text: current.totals.map((t) => t.cost).join(" + "), num: true, key: "invoice:total" },
        { text: current.totals.map((t) => t.rounding_residual).join(" + "), num: true }, { text: "" }] : null);
    $("invoice-csv").href = `/v1/invoices/${encodeURIComponent(waba)}/${month}?format=csv`;

    // The forecast for the three months after the chosen one (by default the
    // current month in the WABA's time zone), from the ledger's last 28 days.
    const start = addMonths(month, 1);
    const scenario = { waba, start, months: 3, baseline: { window_days: 28, until: start + "-01" } };
    const post = { method: "POST", headers: Object.assign({ "content-type": "application/json" }, headers()), body: JSON.stringify(scenario) };
    const f = await api("/v1/forecasts", post);
    const fcats = [...new Set(f.lines.map((l) => l.category))].sort();
    bars($("forecast-chart"), f.months.map((m) => m.month), fcats, (m, c) => (f.months.find((x) => x.month === m).by_category[c]), (m) => m);
    table("forecast-table",
      [{ label: "month" }, { label: "regime" }, { label: "rate card" }, { label: "low", num: true }, { label: "expected", num: true }, { label: "high", num: true }, { label: "app-side savings", num: true }],
      f.months.map((m) => [{ text: m.month }, { text: m.regime }, { text: m.rate_card || "none" },
        { text: m.cost_low || m.cost, num: true, key: `forecast:${m.month}:low` }, { text: m.cost, num: true, key: `forecast:${m.month}:expected` },
        { text: m.cost_high || m.cost, num: true, key: `forecast:${m.month}:high` }, { text: m.savings_from_app_side_replies, num: true }]));
    $("forecast-warnings").replaceChildren(...f.warnings.map((w) => el("li", {}, w)));

    // Reconciliation mismatches for the chosen month (the invoice's instants).
    const recon = await api(`/v1/reconciliation?waba=${encodeURIComponent(waba)}&from=${encodeURIComponent(current.from)}&to=${encodeURIComponent(current.to)}`);
    table("recon-table", [{ label: "message" }, { label: "time" }, { label: "ours" }, { label: "Meta" }, { label: "differs" }],
      recon.mismatches.length ? recon.mismatches.map((m) => [{ text: m.id }, { text: m.timestamp },
        { text: `${m.ours.category}/${m.ours.pricing_type}` }, { text: `${m.meta.category || ""}/${m.meta.type || ""}` }, { text: m.differs.join(", ") }])
        : [[{ text: `none (${recon.checked} checked)`, key: "recon:none" }, { text: "" }, { text: "" }, { text: "" }, { text: "" }]]);
    // Numbers of this WABA that need a human, from the lifecycle's lists.
    const kinds = ["stale", "warning", "missed"];
    const lists = await Promise.all(kinds.map((k) => api(`/v1/numbers?status=${k}&waba=${encodeURIComponent(waba)}&limit=1000`)));
    const attention = new Map();
    lists.forEach((l, i) => l.numbers.forEach((n) => {
      const row = attention.get(n.number) || { n, why: [] };
      row.why.push(kinds[i]);
      attention.set(n.number, row);
    }));
    const sync = (s) => s.state + (s.hours_late != null ? ` (${s.hours_late} h late)` : s.hours_left != null ? ` (${s.hours_left} h left)` : "");
    table("attention-table",
      [{ label: "number" }, { label: "needs" }, { label: "last app activity" }, { label: "days since", num: true },
        { label: "days left", num: true }, { label: "contacts sync" }, { label: "history sync" }],
      attention.size ? [...attention.values()].sort((a, b) => a.n.number.localeCompare(b.n.number)).map(({ n, why }) => [
        { text: n.number, key: `attention:${n.number}` }, { text: why.join(", "), key: `attention:${n.number}:needs` },
        { text: n.keep_alive.last_app_activity }, { text: String(n.keep_alive.days_since), num: true },
        { text: String(n.keep_alive.days_left), num: true, key: `attention:${n.number}:days_left` },
        { text: sync(n.sync.contacts) }, { text: sync(n.sync.history) }])
        : [[{ text: "none: every number is active and synced in time", key: "attention:none" }, { text: "" }, { text: "" },
          { text: "" }, { text: "" }, { text: "" }, { text: "" }]]);
    $("status").textContent = `Loaded ${waba} ${month}.`;
    document.body.dataset.loaded = "true";
  } catch (e) {
    $("status").textContent = e.message; $("status").className = "error";
    document.body.dataset.loaded = "error";
  }
}

$("controls").addEventListener("submit", (ev) => {
  ev.preventDefault();
  if ($("token").value) sessionStorage.setItem("coexist-token", $("token").value);
  load();
});
$("waba").value = params.get("waba") || "W1";
$("month").value = params.get("month") || "";
load();
