// quality.js — the Data quality page: missed and late questionnaires by
// week, submissions refused by reason, duplicates absorbed, scores voided
// or prorated, and participants without any app event.
import {
  COLORS, byId, chart, clear, el, fmtInt, getJSON, isResearcher, live, numbers, provenance,
  setupPage, showError, table,
} from './common.js';

const COUNTED = ['stored', 'retry', 'duplicate'];

function kpis(doc) {
  const total = (status) => (doc.statuses.find((s) => s.instrument === 'all' && s.week === -1 && s.status === status) || { n: 0 }).n;
  const items = [
    ['Questionnaires missed', total('missed'), 'missed'],
    ['Answered late', total('late'), 'late'],
    ['Completed on time', total('completed'), 'completed'],
    ['Participants with no app events', doc.no_app_events, 'silent'],
  ];
  const ul = clear(byId('kpis'));
  for (const [k, v, id] of items) ul.append(el('li', { dataset: { kpi: id } }, el('span', { class: 'v' }, fmtInt(v)), el('span', { class: 'k' }, k)));
}

function missedLate(doc) {
  const all = doc.statuses.filter((s) => s.instrument === 'all' && s.week >= 0);
  const weeks = [...new Set(all.map((s) => s.week))].sort((a, b) => a - b);
  const n = (w, st) => (all.find((s) => s.week === w && s.status === st) || { n: 0 }).n;
  chart(byId('ml-chart'), {
    type: 'bar',
    data: {
      labels: weeks.map((w) => `wk ${w}`),
      datasets: [
        { label: 'missed', data: weeks.map((w) => n(w, 'missed')), backgroundColor: COLORS.status.missed },
        { label: 'late', data: weeks.map((w) => n(w, 'late')), backgroundColor: COLORS.status.late, borderColor: '#8a7d00', borderWidth: 1 },
      ],
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'questionnaires' } }, x: { title: { display: true, text: 'study week' } } } },
  }, 'Missed and late questionnaires by study week, every instrument');
  const rows = [];
  const keyed = {};
  for (const s of doc.statuses.filter((x) => x.week >= 0)) {
    const k = `${s.instrument}|${s.week}`;
    if (!keyed[k]) { keyed[k] = { instrument: s.instrument, week: s.week }; rows.push(keyed[k]); }
    keyed[k][s.status] = s.n;
  }
  const cols = [{ label: 'instrument', key: 'instrument', text: true }, { label: 'week', key: 'week' }]
    .concat(['completed', 'late', 'missed', 'open', 'upcoming', 'withdrawn'].map((st) => ({ label: st, key: st, fmt: (v) => fmtInt(v || 0) })));
  clear(byId('ml-table')).append(numbers('statuses by instrument and week', table({ caption: 'Questionnaires by instrument, week and status', id: 'ml-numbers', columns: cols, rows })));
}

function intake(doc) {
  const refused = doc.intake.filter((r) => !COUNTED.includes(r.outcome));
  byId('rej-note').textContent = `${doc.definitions.intake}.`;
  const label = (r) => `${r.channel}: ${r.outcome}`;
  byId('rej-chart').classList.toggle('hidden', refused.length === 0);
  if (refused.length) chart(byId('rej-chart'), {
    type: 'bar',
    data: { labels: refused.map(label), datasets: [{ label: 'refused submissions', data: refused.map((r) => r.requests), backgroundColor: COLORS.status.missed }] },
    options: { indexAxis: 'y', scales: { x: { beginAtZero: true, title: { display: true, text: 'requests' } } }, plugins: { legend: { display: false } } },
  }, 'Refused submissions by channel and reason');
  const cols = [{ label: 'channel', key: 'channel', text: true }, { label: 'outcome', key: 'outcome', text: true },
    { label: 'requests', key: 'requests', fmt: fmtInt }, { label: 'items', key: 'items', fmt: fmtInt }];
  clear(byId('rej-table')).append(refused.length ? table({ caption: 'Refused submissions', id: 'rej-numbers', columns: cols, rows: refused })
    : el('p', {}, 'No refused submissions were counted.'));
  const dup = doc.intake.filter((r) => r.outcome === 'retry' || r.outcome === 'duplicate');
  byId('dup-chart').classList.toggle('hidden', dup.length === 0);
  if (dup.length) chart(byId('dup-chart'), {
    type: 'bar',
    data: { labels: dup.map(label), datasets: [{ label: 'absorbed', data: dup.map((r) => r.items), backgroundColor: COLORS.status.open }] },
    options: { indexAxis: 'y', scales: { x: { beginAtZero: true, title: { display: true, text: 'questionnaires or events' } } }, plugins: { legend: { display: false } } },
  }, 'Duplicate uploads absorbed by channel');
  clear(byId('dup-table')).append(doc.intake.length
    ? table({ caption: 'Every counted outcome', id: 'intake-numbers', columns: cols, rows: doc.intake })
    : el('p', {}, 'Nothing has been counted yet.'));
}

function scores(doc) {
  clear(byId('sc-table')).append(table({
    caption: 'Responses by instrument',
    id: 'scores-numbers',
    columns: [{ label: 'instrument', key: 'instrument', text: true }, { label: 'responses', key: 'responses', fmt: fmtInt },
      { label: 'voided (no score)', key: 'voided', fmt: fmtInt }, { label: 'prorated', key: 'prorated', fmt: fmtInt },
      { label: 'late', key: 'late', fmt: fmtInt }, { label: 'items left blank', key: 'items_missing', fmt: fmtInt }],
    rows: doc.scores,
  }), el('p', { class: 'note' }, `Voided: ${doc.definitions.voided}.`));
}

function silent(study, doc, priv) {
  const node = clear(byId('silent'));
  node.append(el('p', {}, `${fmtInt(doc.no_app_events)} participant(s) have not a single app event.`));
  if (priv && priv.no_app_events.length) {
    node.append(numbers('who', table({
      caption: 'Participants without app events',
      columns: [{ label: 'participant', key: 'code', text: true, node: (v) => el('a', { href: `/dashboards/${study}/participants/${encodeURIComponent(v)}` }, v) },
        { label: 'arm', key: 'arm', text: true }, { label: 'status', key: 'status', text: true }, { label: 'enrolled', key: 'enrolled_at', text: true }],
      rows: priv.no_app_events,
    })));
  }
}

async function main() {
  const { study, session } = await setupPage('quality');
  const researcher = isResearcher(session);
  const base = `/api/v1/studies/${study}/dashboard`;
  getJSON(`${base}/overview`).then((o) => { byId('study-title').textContent = o.data.study.title; }).catch(() => {});
  live(study, async () => Promise.all([getJSON(`${base}/quality`)].concat(
    researcher ? [getJSON(`${base}/quality/participants`)] : [])), (docs) => {
    const doc = docs[0].data;
    clear(byId('error'));
    provenance(byId('provenance'), docs);
    kpis(doc);
    missedLate(doc);
    intake(doc);
    scores(doc);
    silent(study, doc, docs[1] ? docs[1].data : null);
  }, { errorNode: byId('error') });
}

main().catch((e) => showError(byId('error'), e));
