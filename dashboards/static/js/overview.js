// overview.js — the Overview page: key figures, the alerts that need a
// human (with the audited acknowledgement of a safety flag), enrolment over
// time, questionnaire statuses by week, the CONSORT-style flow by arm, and
// (researchers) the completion grid of participants by week.
import {
  COLORS, STATUS_GLYPH, STATUS_ORDER, alpha, armColor, byId, chart, clear, el, fmt, fmtInt,
  fmtTime, getJSON, isResearcher, live, numbers, postJSON, provenance, setupPage, showError,
  table,
} from './common.js';

const GRID_PAGE = 50;
let gridOffset = 0;
let inactiveDays = 7;

function kpis(doc, alerts) {
  const f = doc.flow.total;
  const arms = doc.study.arms;
  const sum = (k) => arms.reduce((a, x) => a + x.participants[k], 0);
  const items = [
    ['Enrolled', fmtInt(doc.enrolled), 'enrolled'],
    ['Active', fmtInt(sum('active')), 'active'],
    ['Withdrawn', fmtInt(sum('withdrawn')), 'withdrawn'],
    [`Completers (${doc.primary_instrument} weeks ${doc.flow.baseline_week} and ${doc.flow.final_week})`,
      `${fmtInt(f.completers)} (${doc.retention ? fmt(100 * doc.retention.share, 1) : '–'}%)`, 'completers'],
    ['Safety flags not yet acknowledged', fmtInt(doc.alerts.safety_unacknowledged), 'safety',
      doc.alerts.safety_unacknowledged > 0],
    ['In their study period, inactive 7+ days', fmtInt(doc.alerts.inactive_7d), 'inactive',
      doc.alerts.inactive_7d > 0],
  ];
  const ul = clear(byId('kpis'));
  for (const [k, v, id, attention] of items) {
    ul.append(el('li', { class: attention ? 'attention' : null, dataset: { kpi: id } },
      el('span', { class: 'v' }, v), el('span', { class: 'k' }, k)));
  }
  void alerts;
}

function enrolment(doc) {
  const arms = doc.study.arms.map((a) => a.id);
  const weeks = [...new Set(doc.enrolment.map((r) => r.week_start))].sort();
  const rows = weeks.map((w) => ({ week_start: w }));
  for (const arm of arms) {
    let cum = 0;
    for (const row of rows) {
      const hit = doc.enrolment.find((r) => r.week_start === row.week_start && r.arm === arm);
      if (hit) cum = hit.cumulative;
      row[`n_${arm}`] = hit ? hit.enrolled : 0;
      row[`c_${arm}`] = cum;
    }
  }
  chart(byId('enrol-chart'), {
    type: 'line',
    data: {
      labels: weeks,
      datasets: arms.map((arm) => ({
        label: arm, data: rows.map((r) => r[`c_${arm}`]), borderColor: armColor(arms, arm),
        backgroundColor: armColor(arms, arm), pointRadius: 2, stepped: true,
      })),
    },
    options: {
      scales: {
        y: { beginAtZero: true, title: { display: true, text: 'participants enrolled (cumulative)' } },
        x: { title: { display: true, text: 'week of enrolment (starting Monday)' } },
      },
    },
  }, 'Cumulative enrolment by arm over calendar weeks');
  const cols = [{ label: 'week starting', key: 'week_start', text: true }];
  for (const arm of arms) {
    cols.push({ label: `${arm}: enrolled`, key: `n_${arm}`, fmt: fmtInt });
    cols.push({ label: `${arm}: cumulative`, key: `c_${arm}`, fmt: fmtInt });
  }
  clear(byId('enrol-table')).append(numbers('enrolment', table({ caption: 'Participants enrolled by calendar week and arm', columns: cols, rows })));
}

function statuses(doc) {
  const weeks = doc.flow.weeks.filter((w) => w.arm === 'all');
  byId('status-note').textContent = `Every scheduled ${doc.primary_instrument} questionnaire by its status as of ${fmtTime(doc.flow.asof)}, all arms.`;
  chart(byId('status-chart'), {
    type: 'bar',
    data: {
      labels: weeks.map((w) => `wk ${w.week}`),
      datasets: STATUS_ORDER.map((s) => ({
        label: s, data: weeks.map((w) => w[s]), backgroundColor: COLORS.status[s],
        borderColor: '#555', borderWidth: s === 'upcoming' ? 1 : 0,
      })),
    },
    options: {
      scales: {
        x: { stacked: true, title: { display: true, text: 'study week' } },
        y: { stacked: true, beginAtZero: true, max: doc.enrolled || undefined, title: { display: true, text: 'participants' } },
      },
    },
  }, `${doc.primary_instrument} questionnaires by status and study week`);
  const cols = [{ label: 'week', key: 'week' }].concat(STATUS_ORDER.map((s) => ({ label: s, key: s, fmt: fmtInt })));
  clear(byId('status-table')).append(numbers('statuses', table({ caption: `${doc.primary_instrument}: questionnaires by status and week (all arms)`, columns: cols, rows: weeks })));
}

function flow(doc) {
  const f = doc.flow;
  byId('flow-note').textContent = `${f.instrument}, baseline week ${f.baseline_week} to final week ${f.final_week}, from the collector's derived statuses as of ${fmtTime(f.asof)}. Completers are the completers population of the pre/post analysis; everyone with a baseline score is in the BOCF and LOCF populations.`;
  const box = (label, n, outs) => el('li', { class: 'box' }, `${label}: `, el('span', { class: 'n' }, fmtInt(n)),
    ...(outs || []).filter((o) => o[1] > 0).map(([t, v]) => el('span', { class: 'out' }, `${t}: ${fmtInt(v)}`)));
  const node = clear(byId('flow'));
  for (const a of f.arms) {
    node.append(el('div', { class: 'arm' }, el('h3', {}, `Arm ${a.arm}`), el('ol', {},
      box('Enrolled', a.enrolled),
      box(`Baseline (week ${f.baseline_week}) scored`, a.baseline_done, [['no baseline score', a.no_baseline], ['of which answered but voided', a.no_baseline_void]]),
      box(`Final week ${f.final_week} scored (completers)`, a.completers, [
        ['withdrew before the final week', a.not_final_withdrawn], ['final questionnaire missed', a.not_final_missed],
        ['final answered but voided', a.not_final_void], ['final not yet due or open', a.not_final_pending]]),
      box('Analysed: completers', a.completers),
      box('Analysed: BOCF / LOCF (everyone with a baseline)', a.baseline_done))));
  }
  const keys = [['enrolled', 'enrolled'], ['baseline_done', 'baseline scored'], ['no_baseline', 'no baseline score'],
    ['completers', 'completers'], ['not_final_withdrawn', 'withdrew before final'], ['not_final_missed', 'final missed'],
    ['not_final_void', 'final voided'], ['not_final_pending', 'final pending'], ['final_without_baseline', 'final without baseline'],
    ['withdrawn', 'withdrawn (any time)']];
  const rows = f.arms.map((a) => ({ ...a })).concat([{ ...f.total, arm: 'total', __class: 'total' }]);
  const cols = [{ label: 'arm', key: 'arm', text: true }].concat(keys.map(([k, l]) => ({ label: l, key: k, fmt: fmtInt })));
  clear(byId('flow-table')).append(numbers('flow', table({ caption: 'Participant flow by arm', columns: cols, rows })));
}

function alertsViewer(doc) {
  const node = clear(byId('alerts'));
  node.append(el('p', {}, `${fmtInt(doc.alerts.safety_unacknowledged)} safety flag(s) not yet acknowledged; `,
    `${fmtInt(doc.alerts.inactive_7d)} participant(s) in their study period inactive for 7 days or more. `,
    'Researchers see who, and acknowledge the flags.'));
}

async function acknowledge(study, item, button, reload) {
  button.disabled = true;
  try {
    await postJSON(`/api/v1/studies/${study}/dashboard/alerts/${item.response_id}/acknowledge`, {});
    button.textContent = 'Acknowledged';
    reload();
  } catch (e) {
    button.disabled = false;
    button.textContent = `Failed: ${e.message}`;
  }
}

function alertsResearcher(study, doc, priv, reload) {
  const node = clear(byId('alerts'));
  node.append(el('h3', {}, `Safety flags not yet acknowledged (${fmtInt(priv.safety.length)})`),
    el('p', { class: 'note' }, priv.safety_rule));
  if (priv.safety.length === 0) node.append(el('p', {}, 'None.'));
  const ul = el('ul', { class: 'alerts', id: 'safety-list' });
  for (const a of priv.safety) {
    const b = el('button', { type: 'button', class: 'primary', dataset: { response: a.response_id } }, 'Acknowledge');
    b.addEventListener('click', () => acknowledge(study, a, b, reload));
    ul.append(el('li', { dataset: { response: a.response_id } },
      el('span', { class: 'what' }, el('span', { class: 'flag' }, a.flags.join(', ')), ' — ',
        el('a', { href: `/dashboards/${study}/participants/${encodeURIComponent(a.code)}` }, a.code),
        ` (${a.arm}), ${a.instrument} week ${a.week}, completed ${fmtTime(a.completed_at)}`), b));
  }
  node.append(ul);
  if (priv.acknowledged.length) {
    node.append(numbers('recently acknowledged', table({
      caption: 'Recently acknowledged safety flags',
      columns: [{ label: 'participant', key: 'code', text: true }, { label: 'instrument', key: 'instrument', text: true },
        { label: 'week', key: 'week' }, { label: 'acknowledged', key: 'acknowledged_at', fmt: fmtTime, text: true },
        { label: 'by', key: 'acknowledged_by', text: true }],
      rows: priv.acknowledged,
    })));
  }
  const sel = el('select', { id: 'inactive-days' }, [3, 7, 14, 28].map((d) => el('option', { value: d, selected: d === inactiveDays || null }, `${d} days`)));
  const list = el('div', { id: 'inactive-list' });
  const draw = () => {
    const rows = priv.inactive.filter((r) => r.days_inactive >= inactiveDays);
    clear(list).append(rows.length === 0 ? el('p', {}, 'None.') : table({
      caption: `Inactive for ${inactiveDays} days or more`,
      columns: [
        { label: 'participant', key: 'code', text: true, node: (v) => el('a', { href: `/dashboards/${study}/participants/${encodeURIComponent(v)}` }, v) },
        { label: 'arm', key: 'arm', text: true }, { label: 'study week', key: 'study_week' },
        { label: 'last activity', key: 'last_activity', fmt: fmtTime, text: true },
        { label: 'days inactive', key: 'days_inactive', fmt: (v) => fmt(v, 1) }],
      rows,
    }));
  };
  sel.addEventListener('change', () => { inactiveDays = Number(sel.value); draw(); });
  node.append(el('h3', {}, 'Participants gone quiet'), el('p', { class: 'note' }, priv.inactive_rule),
    el('div', { class: 'controls' }, el('label', {}, 'Inactive for at least ', sel)), list);
  draw();
}

function grid(study, doc, page) {
  byId('grid-panel').classList.remove('hidden');
  const weeks = doc.instruments.find((i) => i.id === doc.primary_instrument).weeks;
  byId('grid-note').textContent = `${page.instrument} questionnaires of ${fmtInt(page.total)} participants, newest enrolment first (${page.offset + 1}–${page.offset + page.participants.length}). Hover or focus a cell for its window.`;
  const legend = clear(byId('grid-legend'));
  for (const s of STATUS_ORDER) legend.append(el('li', {}, el('span', { class: `cell s-${s}`, 'aria-hidden': 'true' }, STATUS_GLYPH[s]), s));
  const cols = [
    { label: 'participant', key: 'code', text: true, node: (v) => el('a', { href: `/dashboards/${study}/participants/${encodeURIComponent(v)}` }, v) },
    { label: 'arm', key: 'arm', text: true },
  ].concat(weeks.map((w) => ({
    label: String(w),
    get: (r) => (r.weeks.find((x) => x.week === w) || {}).status || 'none',
    cellClass: (v) => `cell s-${v}`,
    fmt: (v) => STATUS_GLYPH[v] || '',
    title: (v, r) => { const x = r.weeks.find((y) => y.week === w); return x ? `${r.code}, week ${w}: ${v} (window ${fmtTime(x.opens_at)} to ${fmtTime(x.closes_at)})` : ''; },
  })));
  const t = table({ caption: 'Completion by participant and study week (columns: weeks 0, 1, …)', columns: cols, rows: page.participants, className: 'data grid-status', id: 'completion-grid' });
  // The glyph is for the eye; screen readers get the word.
  t.querySelectorAll('td.cell').forEach((td) => td.setAttribute('aria-label', td.className.replace(/.*s-/, '')));
  const node = clear(byId('grid'));
  node.append(t);
  const ctl = clear(byId('grid-controls'));
  const prev = el('button', { type: 'button', disabled: page.offset === 0 || null }, '← newer');
  const next = el('button', { type: 'button', disabled: page.offset + page.participants.length >= page.total || null }, 'older →');
  prev.addEventListener('click', () => { gridOffset = Math.max(0, gridOffset - GRID_PAGE); window.attuneReload(); });
  next.addEventListener('click', () => { gridOffset += GRID_PAGE; window.attuneReload(); });
  ctl.append(el('div', { class: 'pager' }, prev, next));
}

async function main() {
  const { study, session } = await setupPage('overview');
  const researcher = isResearcher(session);
  const base = `/api/v1/studies/${study}/dashboard`;
  let reload = null;
  reload = live(study, async () => {
    if (!researcher) return [await getJSON(`${base}/overview`)];
    const [o, a, page] = await Promise.all([getJSON(`${base}/overview`), getJSON(`${base}/alerts`),
      getJSON(`${base}/completion?limit=${GRID_PAGE}&offset=${gridOffset}`)]);
    return [o, a, { page }];
  }, (docs) => {
    const doc = docs[0].data;
    byId('study-title').textContent = doc.study.title;
    clear(byId('error'));
    provenance(byId('provenance'), docs.slice(0, 2));
    kpis(doc);
    if (researcher) alertsResearcher(study, doc, docs[1].data, () => reload());
    else alertsViewer(doc);
    enrolment(doc);
    statuses(doc);
    flow(doc);
    if (researcher) grid(study, doc, docs[2].page);
  }, { errorNode: byId('error') });
  window.attuneReload = reload;
}

main().catch((e) => showError(byId('error'), e));
void alpha;
