// engagement.js — the Engagement page: daily active participants, app
// events by type over time, minutes and sessions per week by arm (means with
// 95% CIs), and engagement against the change in the weekly outcome with the
// least-squares line and the correlations (researchers also see each
// participant's point).
import {
  COLORS, alpha, armColor, byId, chart, clear, el, fmt, fmtCI, fmtInt, getJSON, isResearcher,
  live, numbers, provenance, setupPage, showError, table,
} from './common.js';

const TYPE_COLORS = COLORS.okabeIto.concat(['#999999', '#332288', '#882255', '#44AA99', '#AA4499', '#117733']);
const METRIC_LABEL = {
  sessions: 'sessions', minutes: 'minutes in sessions', active_days: 'active days',
  exercises: 'exercises completed', trigger_logs: 'trigger-log entries',
};
let metric = 'minutes';

function armList(doc) {
  return [...new Set(doc.weekly.map((w) => w.arm))];
}

function dau(doc) {
  const arms = [...new Set(doc.daily_active.map((d) => d.arm))];
  const days = [...new Set(doc.daily_active.map((d) => d.day))].sort();
  const val = (day, arm) => (doc.daily_active.find((d) => d.day === day && d.arm === arm) || { active: 0 }).active;
  chart(byId('dau-chart'), {
    type: 'line',
    data: {
      labels: days,
      datasets: arms.map((arm) => ({ label: arm, data: days.map((d) => val(d, arm)), borderColor: armColor(arms, arm), backgroundColor: armColor(arms, arm), pointRadius: 0, borderWidth: 1.5 })),
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'active participants' } }, x: { ticks: { maxTicksLimit: 12 } } } },
  }, 'Daily active participants by arm');
  const rows = days.map((d) => { const r = { day: d }; for (const a of arms) r[a] = val(d, a); return r; });
  clear(byId('dau-table')).append(numbers('daily active participants', () => table({
    caption: 'Active participants by day and arm',
    columns: [{ label: 'day', key: 'day', text: true }].concat(arms.map((a) => ({ label: a, key: a, fmt: fmtInt }))),
    rows,
  })));
}

function types(doc) {
  const weeks = [...new Set(doc.events_by_type.map((r) => r.week_start))].sort();
  const totals = {};
  for (const r of doc.events_by_type) totals[r.type] = (totals[r.type] || 0) + r.events;
  const names = Object.keys(totals).sort((a, b) => totals[b] - totals[a]);
  const val = (w, t) => (doc.events_by_type.find((r) => r.week_start === w && r.type === t) || { events: 0 }).events;
  chart(byId('types-chart'), {
    type: 'bar',
    data: {
      labels: weeks,
      datasets: names.map((t, i) => ({ label: t, data: weeks.map((w) => val(w, t)), backgroundColor: TYPE_COLORS[i % TYPE_COLORS.length] })),
    },
    options: { scales: { x: { stacked: true, title: { display: true, text: 'week starting' } }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'events' } } } },
  }, 'App events per calendar week, stacked by event type');
  const rows = weeks.map((w) => { const r = { week_start: w }; for (const t of names) r[t] = val(w, t); return r; });
  clear(byId('types-table')).append(numbers('events by type', table({
    caption: 'App events by calendar week and type',
    columns: [{ label: 'week starting', key: 'week_start', text: true }].concat(names.map((t) => ({ label: t, key: t, fmt: fmtInt }))),
    rows,
  })));
}

function weekly(doc, which, node, tableNode) {
  const arms = armList(doc);
  const rows = doc.weekly.filter((w) => w.metric === which);
  const weeks = [...new Set(rows.map((r) => r.week))].sort((a, b) => a - b);
  chart(byId(node), {
    type: 'line',
    data: {
      datasets: arms.map((arm, i) => {
        const mine = rows.filter((r) => r.arm === arm);
        const off = (i - (arms.length - 1) / 2) * 0.12;
        return {
          label: arm, data: mine.map((r) => ({ x: r.week + off, y: r.mean })), errorBars: mine.map((r) => r.ci95),
          borderColor: armColor(arms, arm), backgroundColor: armColor(arms, arm), pointRadius: 3,
        };
      }),
    },
    options: {
      scales: {
        x: { type: 'linear', min: -0.5, max: weeks.length - 0.5, afterBuildTicks: (a) => { a.ticks = weeks.map((w) => ({ value: w })); },
          ticks: { callback: (v) => `wk ${v}`, autoSkip: false, maxRotation: 0 }, title: { display: true, text: 'study week' } },
        y: { beginAtZero: true, title: { display: true, text: `${METRIC_LABEL[which]} per participant` } },
      },
    },
  }, `${METRIC_LABEL[which]} per participant by study week and arm, mean with 95% CI`);
  clear(byId(tableNode)).append(numbers(METRIC_LABEL[which], table({
    caption: `${METRIC_LABEL[which]} per participant by week and arm`,
    id: `${which}-numbers`,
    columns: [{ label: 'arm', key: 'arm', text: true }, { label: 'week', key: 'week' }, { label: 'n', key: 'n', fmt: fmtInt },
      { label: 'mean', key: 'mean', fmt: (v) => fmt(v) }, { label: '95% CI', key: 'ci95', fmt: (v) => fmtCI(v) }],
    rows,
  })));
}

function association(doc, priv) {
  const rows = doc.association.filter((a) => a.metric === metric);
  const arms = rows.map((r) => r.arm).filter((a) => a !== 'all');
  const color = (arm) => (arm === 'all' ? '#1b1f24' : armColor(arms, arm));
  byId('assoc-note').textContent = `Change in ${doc.outcome} from week ${doc.change.pre} to week ${doc.change.post} (${doc.change.definition}) among completers (n ${fmtInt(doc.change.n)}), against ${METRIC_LABEL[metric]} over the study weeks. Lines: ${doc.line_rule}.${priv ? ` Points: ${priv.points_rule}.` : ' Researchers also see each participant\'s point.'}`;
  const datasets = [];
  if (priv) {
    for (const arm of arms) {
      datasets.push({
        label: `${arm}: participants`, data: priv.points.filter((p) => p.arm === arm).map((p) => ({ x: p[metric], y: p.change, code: p.code })),
        backgroundColor: alpha(color(arm), 0.45), borderColor: color(arm), pointRadius: 3, kind: 'points', arm,
      });
    }
  }
  for (const r of rows) {
    if (!r.line || r.line.x_min === null) continue;
    const p = r.pearson;
    datasets.push({
      type: 'line', label: `${r.arm}: fit, r = ${fmt(p.r)} [${fmt(p.ci95[0])}, ${fmt(p.ci95[1])}], n ${r.n}`,
      data: [{ x: r.line.x_min, y: r.line.y_at_min }, { x: r.line.x_max, y: r.line.y_at_max }],
      borderColor: color(r.arm), borderWidth: r.arm === 'all' ? 2.5 : 2, borderDash: r.arm === 'all' ? [6, 4] : [], pointRadius: 0, kind: 'line', arm: r.arm,
    });
  }
  chart(byId('assoc-chart'), {
    type: 'scatter',
    data: { datasets },
    options: {
      scales: {
        x: { beginAtZero: true, title: { display: true, text: `${METRIC_LABEL[metric]}, study total` } },
        y: { title: { display: true, text: `change in ${doc.outcome} (baseline − final)` } },
      },
      plugins: { tooltip: { callbacks: { label: (c) => (c.raw.code ? `${c.raw.code}: ${fmt(c.parsed.x, 1)}, ${fmt(c.parsed.y, 0)}` : c.dataset.label) } } },
    },
  }, `Change in ${doc.outcome} against ${METRIC_LABEL[metric]}, with least-squares lines`);
  clear(byId('assoc-table')).append(table({
    caption: `Correlation of ${METRIC_LABEL[metric]} with the change score`,
    id: 'assoc-numbers',
    columns: [
      { label: 'arm', key: 'arm', text: true }, { label: 'n', key: 'n', fmt: fmtInt },
      { label: 'Pearson r', get: (r) => r.pearson && r.pearson.r, fmt: (v) => fmt(v, 3) },
      { label: '95% CI', get: (r) => r.pearson && r.pearson.ci95, fmt: (v) => fmtCI(v, 3) },
      { label: 'p', get: (r) => r.pearson && r.pearson.p, fmt: (v) => (v === null || v === undefined ? '–' : v < 0.001 ? '<0.001' : fmt(v, 3)) },
      { label: 'Spearman rho', get: (r) => r.spearman && r.spearman.r, fmt: (v) => fmt(v, 3) },
      { label: '95% CI (Bonett–Wright)', get: (r) => r.spearman && r.spearman.ci95, fmt: (v) => fmtCI(v, 3) },
      { label: 'slope', get: (r) => r.line && r.line.slope, fmt: (v) => fmt(v, 4) },
      { label: 'intercept', get: (r) => r.line && r.line.intercept, fmt: (v) => fmt(v, 3) },
    ],
    rows,
  }));
  clear(byId('points-table'));
  if (priv) {
    byId('points-table').append(numbers('each completer', () => table({
      caption: `Completers drawn: ${METRIC_LABEL[metric]} and change in ${doc.outcome}`,
      columns: [{ label: 'participant', key: 'code', text: true }, { label: 'arm', key: 'arm', text: true },
        { label: METRIC_LABEL[metric], key: metric, fmt: (v) => fmt(v, 1) }, { label: 'change', key: 'change', fmt: (v) => fmt(v, 0) }],
      rows: priv.points,
    })));
  }
  const trows = [];
  for (const r of rows) for (const t of r.tertiles || []) trows.push({ arm: r.arm, ...t });
  clear(byId('tertile-table')).append(table({
    caption: `Change by tertile of ${METRIC_LABEL[metric]} (R's type-7 quantiles; t intervals)`,
    columns: [{ label: 'arm', key: 'arm', text: true }, { label: 'tertile', key: 'tertile' }, { label: 'n', key: 'n', fmt: fmtInt },
      { label: `${METRIC_LABEL[metric]} from`, key: 'x_min', fmt: (v) => fmt(v, 1) }, { label: 'to', key: 'x_max', fmt: (v) => fmt(v, 1) },
      { label: 'mean change', key: 'mean_change', fmt: (v) => fmt(v) }, { label: '95% CI', key: 'ci95', fmt: (v) => fmtCI(v) }],
    rows: trows,
  }));
}

async function main() {
  const { study, session } = await setupPage('engagement');
  const researcher = isResearcher(session);
  const base = `/api/v1/studies/${study}/dashboard`;
  const sel = byId('metric');
  for (const [k, l] of Object.entries(METRIC_LABEL)) sel.append(el('option', { value: k, selected: k === metric || null }, l));
  let last = null;
  sel.addEventListener('change', () => { metric = sel.value; if (last) association(last[0].data, last[1] ? last[1].data : null); });
  getJSON(`${base}/overview`).then((o) => { byId('study-title').textContent = o.data.study.title; }).catch(() => {});
  live(study, async () => Promise.all([getJSON(`${base}/engagement`)].concat(
    researcher ? [getJSON(`${base}/engagement/points`)] : [])), (docs) => {
    last = docs;
    const doc = docs[0].data;
    clear(byId('error'));
    provenance(byId('provenance'), docs);
    const d = doc.definitions;
    byId('weekly-note').textContent = `Mean per participant exposed that week, with its 95% CI. A session: ${d.session}; cap ${fmt(d.session_cap_minutes, 0)} minutes (${fmtInt(d.sessions.paired)} paired, ${fmtInt(d.sessions.unpaired_start)} unpaired starts, ${fmtInt(d.sessions.unpaired_end)} unpaired ends dropped). Exposure: ${d.exposure}.`;
    dau(doc);
    types(doc);
    weekly(doc, 'minutes', 'minutes-chart', 'minutes-table');
    weekly(doc, 'sessions', 'sessions-chart', 'sessions-table');
    association(doc, docs[1] ? docs[1].data : null);
  }, { errorNode: byId('error') });
}

main().catch((e) => showError(byId('error'), e));
