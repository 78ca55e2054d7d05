// common.js — what every dashboard page shares: fetching the JSON API,
// the navigation, building DOM safely (text only, never HTML from data),
// accessible tables with each number's full value in data-value, Chart.js
// defaults and an error-bar plugin, the provenance line, and live refresh by
// polling the study's cheap "changes" endpoint.
//
// No number is computed here: every value shown comes from the server's
// documents, which come from the analysis library (docs/dashboards.md).

export const COLORS = {
  // Okabe–Ito (colour-blind safe); arms take them in order.
  arms: ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00'],
  okabeIto: ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#000000'],
  status: {
    completed: '#009E73', late: '#F0E442', missed: '#D55E00', open: '#56B4E9',
    upcoming: '#E7E7E7', withdrawn: '#8C8C8C',
  },
  // viridis, for ordered categories (severity bands), light to dark.
  ordered: ['#FDE725', '#7AD151', '#22A884', '#2A788E', '#414487', '#440154'],
  jt: { recovered: '#009E73', improved: '#56B4E9', unchanged: '#8C8C8C', deteriorated: '#D55E00' },
};

export const STATUS_GLYPH = {
  completed: '✓', late: 'L', missed: '✗', open: '○', upcoming: '·', withdrawn: '–',
};

export const STATUS_ORDER = ['completed', 'late', 'missed', 'open', 'upcoming', 'withdrawn'];

// ---- the study and the API ----

export function studyFromPath() {
  const m = /^\/dashboards\/([a-z0-9][a-z0-9_-]{0,62})(?:\/|$)/.exec(window.location.pathname);
  return m ? m[1] : null;
}

export function pathPart(i) {
  return decodeURIComponent(window.location.pathname.split('/')[i] || '');
}

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function getJSON(url) {
  const r = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

export async function postJSON(url, body) {
  const s = await session();
  const r = await fetch(url, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token, Accept: 'application/json' },
    body: JSON.stringify(body || {}),
  });
  let out = null;
  try { out = await r.json(); } catch (e) { out = null; }
  if (!r.ok) throw new ApiError(r.status, out);
  return out;
}

let sessionPromise = null;
export function session() {
  if (!sessionPromise) sessionPromise = getJSON('/api/v1/session');
  return sessionPromise;
}

export function isResearcher(s) {
  return s && (s.role === 'researcher' || s.role === 'admin');
}

// ---- DOM ----

// el('td', {class: 'x', dataset: {value: 1}}, 'text', child...)
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function byId(id) {
  return document.getElementById(id);
}

// ---- numbers ----

export function fmt(v, digits = 2) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (typeof v !== 'number') return String(v);
  return v.toLocaleString('en-GB', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtInt(v) {
  if (v === null || v === undefined) return '–';
  return Number(v).toLocaleString('en-GB');
}

export function fmtCI(ci, digits = 2) {
  if (!ci || ci[0] === null || ci[0] === undefined) return '–';
  return `[${fmt(ci[0], digits)}, ${fmt(ci[1], digits)}]`;
}

export function fmtPct(v, digits = 1) {
  return v === null || v === undefined ? '–' : `${fmt(v, digits)}%`;
}

export function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/:\d\dZ$/, ' UTC').replace('Z', ' UTC');
}

// ---- tables ----

// columns: [{label, key | get(row), fmt(value, row), text: true (left-aligned)}]
// Each numeric cell carries its full value in data-value, so that anyone can
// copy the exact number and tests can compare it with the API.
export function table({ caption, columns, rows, className = 'data', id }) {
  const thead = el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col', class: c.text ? 'text' : null }, c.label))));
  const tbody = el('tbody');
  for (const row of rows) {
    const tr = el('tr', { class: row.__class || null });
    columns.forEach((c, i) => {
      const v = c.get ? c.get(row) : row[c.key];
      const header = i === 0 && c.rowHeader !== false;
      const cell = el(header ? 'th' : 'td', header ? { scope: 'row', class: 'text' } : { class: c.text ? 'text' : null });
      if (typeof v === 'number') cell.dataset.value = String(v);
      if (c.cellClass) cell.classList.add(...String(c.cellClass(v, row)).split(' ').filter(Boolean));
      if (c.node) cell.append(c.node(v, row));
      else cell.textContent = c.fmt ? c.fmt(v, row) : (v === null || v === undefined ? '–' : String(v));
      if (c.title) cell.title = c.title(v, row);
      tr.append(cell);
    });
    tbody.append(tr);
  }
  return el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    el('table', { class: className, id }, el('caption', {}, caption), thead, tbody));
}

// The numbers under a chart, in a <details>. `content` is a node, or a
// function making one, called when the reader first opens it (thousands of
// rows on a large study need not be built for a page view).
export function numbers(title, content, open = false) {
  const d = el('details', { class: 'numbers', open: open || null }, el('summary', {}, `Numbers as a table: ${title}`));
  if (typeof content !== 'function') {
    d.append(content);
  } else if (open) {
    d.append(content());
  } else {
    d.addEventListener('toggle', () => { if (d.open && d.children.length === 1) d.append(content()); });
  }
  return d;
}

// ---- charts ----

// Error bars: a dataset with errorBars: [[lo, hi], ...] gets a whisker at each point.
export const errorBarsPlugin = {
  id: 'errorBars',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    chart.data.datasets.forEach((ds, i) => {
      if (!ds.errorBars || !chart.isDatasetVisible(i)) return;
      const meta = chart.getDatasetMeta(i);
      const horizontal = ds.errorBarsAxis === 'x';
      const scale = chart.scales[horizontal ? meta.xAxisID : meta.yAxisID];
      ctx.save();
      ctx.strokeStyle = ds.errorBarsColor || ds.borderColor;
      ctx.lineWidth = 1.4;
      meta.data.forEach((pt, j) => {
        const eb = ds.errorBars[j];
        if (!eb || eb[0] === null || eb[1] === null || eb[0] === undefined) return;
        const a = scale.getPixelForValue(eb[0]);
        const b = scale.getPixelForValue(eb[1]);
        ctx.beginPath();
        if (horizontal) {
          ctx.moveTo(a, pt.y); ctx.lineTo(b, pt.y);
          ctx.moveTo(a, pt.y - 4); ctx.lineTo(a, pt.y + 4);
          ctx.moveTo(b, pt.y - 4); ctx.lineTo(b, pt.y + 4);
        } else {
          ctx.moveTo(pt.x, a); ctx.lineTo(pt.x, b);
          ctx.moveTo(pt.x - 4, a); ctx.lineTo(pt.x + 4, a);
          ctx.moveTo(pt.x - 4, b); ctx.lineTo(pt.x + 4, b);
        }
        ctx.stroke();
      });
      ctx.restore();
    });
  },
};

let chartsReady = false;
function setupCharts() {
  if (chartsReady || !window.Chart) return Boolean(window.Chart);
  const C = window.Chart;
  C.register(errorBarsPlugin);
  C.defaults.animation = false;
  C.defaults.responsive = true;
  C.defaults.maintainAspectRatio = false;
  C.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  C.defaults.color = '#1b1f24';
  C.defaults.plugins.legend.labels.boxWidth = 14;
  C.defaults.plugins.tooltip.mode = 'nearest';
  chartsReady = true;
  return true;
}

// Draws a chart into a .chart container (replacing what was there). The
// canvas is an image for assistive technology; the table is its text.
export function chart(container, config, label) {
  if (!setupCharts()) {
    clear(container).append(el('p', { class: 'status-msg' }, 'The charting library did not load; the numbers are in the tables.'));
    return null;
  }
  const old = container.querySelector('canvas');
  if (old) {
    const c = window.Chart.getChart(old);
    if (c) c.destroy();
  }
  clear(container);
  const canvas = el('canvas', { role: 'img', 'aria-label': label });
  container.append(canvas);
  return new window.Chart(canvas, config);
}

export function armColor(arms, arm) {
  const i = arms.indexOf(arm);
  return COLORS.arms[(i >= 0 ? i : arms.length) % COLORS.arms.length];
}

export function alpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

// ---- navigation, provenance, status ----

const PAGES = [
  ['overview', 'Overview'], ['outcomes', 'Outcomes'], ['engagement', 'Engagement'],
  ['quality', 'Data quality'], ['exports', 'Exports'],
];

export async function setupPage(page) {
  const study = studyFromPath();
  const s = await session();
  const nav = byId('study-nav');
  if (nav) {
    clear(nav);
    if (study) {
      for (const [p, label] of PAGES) {
        if (p === 'exports' && !isResearcher(s)) continue;
        nav.append(el('a', { href: `/dashboards/${study}/${p}`, 'aria-current': p === page ? 'page' : null }, label));
      }
    }
  }
  const who = byId('who');
  if (who) who.textContent = `${s.user} (${s.role})`;
  return { study, session: s };
}

// The line every page shows: which analysis runs, how fresh.
export function provenance(node, docs) {
  clear(node);
  const runs = [];
  let stale = false;
  let built = null;
  let changed = null;
  for (const d of docs) {
    if (!d) continue;
    for (const r of (d.data && d.data.runs) || []) {
      if (!runs.some((x) => x.id === r.id)) runs.push(r);
    }
    stale = stale || (d.meta && d.meta.stale);
    if (d.meta) {
      if (!built || d.meta.built_at > built) built = d.meta.built_at;
      const c = d.meta.current_changed_at || d.meta.data_changed_at;
      if (c && (!changed || c > changed)) changed = c;
    }
    if (d.data && d.data.data_updated_at && (!changed || d.data.data_updated_at > changed)) changed = d.data.data_updated_at;
  }
  node.append('Analysis runs: ');
  if (runs.length === 0) node.append('none');
  runs.forEach((r, i) => {
    if (i > 0) node.append(' · ');
    node.append(`${r.kind} `, el('code', { class: 'run-id', dataset: { kind: r.kind } }, r.id));
  });
  node.append(el('br'), `Computed ${fmtTime(built)}; data last updated ${fmtTime(changed)}. `);
  if (stale) node.append(el('span', { class: 'stale' }, 'Newer data have arrived; recomputing…'));
  else node.append('Refreshes by itself when new data arrive.');
}

export function showError(node, err) {
  const msg = err instanceof ApiError
    ? (err.status === 403 ? `You do not have access to this (${err.message})`
      : err.status === 404 ? `Not found: ${err.message}` : err.message)
    : String(err && err.message ? err.message : err);
  clear(node).append(el('p', { class: 'status-msg', role: 'alert' }, msg));
}

// Loads documents and renders them; re-renders when the study's data
// version moves past what is shown, or again shortly while a document is
// stale (the server is rebuilding it). `load` returns the documents.
export function live(study, load, render, { errorNode } = {}) {
  const params = new URLSearchParams(window.location.search);
  const every = Math.min(60, Math.max(1, Number(params.get('poll')) || 5)) * 1000;
  let shown = -1;
  let seen = -1;
  let busy = false;
  let again = null;
  document.body.dataset.renders = '0';

  async function run() {
    if (busy) return;
    busy = true;
    try {
      const docs = await load();
      render(docs);
      const versions = docs.filter((d) => d && d.meta).map((d) => d.meta.version);
      // Documents carry the data version they were built from; a page read
      // live (a participant's timeline) is as new as the last poll.
      shown = versions.length ? Math.min(...versions) : seen;
      document.body.dataset.version = String(shown);
      document.body.dataset.renders = String(Number(document.body.dataset.renders) + 1);
      document.body.dataset.loaded = '1';
      clearTimeout(again);
      if (docs.some((d) => d && d.meta && d.meta.stale)) again = setTimeout(run, 2000);
    } catch (e) {
      if (errorNode) showError(errorNode, e);
      document.body.dataset.loaded = 'error';
      if (e instanceof ApiError && e.status === 503) again = setTimeout(run, 4000);
    } finally {
      busy = false;
    }
  }

  async function poll() {
    if (!document.hidden && study) {
      try {
        const c = await getJSON(`/api/v1/studies/${study}/dashboard/changes`);
        const before = seen;
        seen = c.version;
        if ((shown >= 0 && c.version > shown) || (shown < 0 && before >= 0 && c.version > before)) await run();
      } catch (e) { /* the next poll tries again */ }
    }
    setTimeout(poll, every);
  }

  run();
  setTimeout(poll, every);
  return run;
}
