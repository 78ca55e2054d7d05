// participant.js — one pseudonymous participant: scores over the weeks (each
// instrument on its own full scale), every scheduled questionnaire with its
// status, app use per week and by day, and, for admins, withdrawal. Every
// visit is an audit row on the server.
import {
  COLORS, STATUS_GLYPH, byId, chart, clear, el, fmt, fmtInt, fmtTime, getJSON, live, numbers,
  pathPart, postJSON, setupPage, showError, table,
} from './common.js';

function kpis(t) {
  const p = t.participant;
  const ul = clear(byId('kpis'));
  for (const [k, v] of [['Arm', p.arm], ['Status', p.status], ['Enrolled', fmtTime(p.enrolled_at)], ['Study week now', String(p.study_week)]]) {
    ul.append(el('li', {}, el('span', { class: 'v' }, v), el('span', { class: 'k' }, k)));
  }
}

function scores(t, instruments) {
  const node = clear(byId('score-charts'));
  for (const inst of instruments) {
    const rows = t.questionnaires.filter((q) => q.instrument === inst.id);
    if (!rows.length) continue;
    const box = el('div', { class: 'chart short', id: `score-${inst.id}` });
    node.append(el('div', {}, el('h3', {}, inst.title), box));
    const answered = rows.filter((q) => q.score !== null);
    chart(box, {
      type: 'line',
      data: { datasets: [{ label: inst.title, data: answered.map((q) => ({ x: q.week, y: q.score })), borderColor: COLORS.arms[0], backgroundColor: COLORS.arms[0], pointRadius: 4 }] },
      options: {
        scales: {
          x: { type: 'linear', min: -0.5, max: t.weeks + 0.5, afterBuildTicks: (a) => { a.ticks = inst.weeks.map((w) => ({ value: w })); }, ticks: { callback: (v) => `wk ${v}`, autoSkip: false, maxRotation: 0 } },
          y: { min: inst.min, max: inst.max, title: { display: true, text: inst.score_label } },
        },
        plugins: { legend: { display: false } },
      },
    }, `${inst.title} scores of this participant by week`);
  }
}

function questionnaires(t) {
  clear(byId('q-table')).append(table({
    caption: 'Every scheduled questionnaire',
    id: 'questionnaires',
    columns: [
      { label: 'instrument', key: 'instrument', text: true }, { label: 'week', key: 'week' },
      { label: 'status', key: 'status', text: true, fmt: (v) => `${STATUS_GLYPH[v] || ''} ${v}`, cellClass: (v) => `cell s-${v}` },
      { label: 'window opens', key: 'opens_at', text: true, fmt: fmtTime }, { label: 'closes', key: 'closes_at', text: true, fmt: fmtTime },
      { label: 'completed', key: 'completed_at', text: true, fmt: fmtTime }, { label: 'score', key: 'score', fmt: (v) => fmt(v, 0) },
      { label: 'band', key: 'severity', text: true }, { label: 'safety flags', key: 'flags', text: true, fmt: (v) => (v && v.length ? v.join(', ') : '') },
      { label: 'flag acknowledged', key: 'acknowledged_at', text: true, fmt: (v) => (v ? fmtTime(v) : '') },
    ],
    rows: t.questionnaires,
  }));
}

function use(t) {
  const rows = t.app_use_by_week || [];
  chart(byId('use-chart'), {
    type: 'bar',
    data: {
      labels: rows.map((r) => `wk ${r.week}`),
      datasets: [
        { label: 'sessions', data: rows.map((r) => r.sessions), backgroundColor: COLORS.arms[0], yAxisID: 'y' },
        { label: 'minutes in sessions', data: rows.map((r) => r.minutes), backgroundColor: COLORS.arms[1], yAxisID: 'y1' },
      ],
    },
    options: {
      scales: {
        y: { beginAtZero: true, position: 'left', title: { display: true, text: 'sessions' } },
        y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'minutes' } },
      },
    },
  }, 'Sessions and minutes per study week');
  clear(byId('use-table')).append(numbers('app use per week', table({
    caption: 'App use per study week',
    columns: [{ label: 'week', key: 'week' }, { label: 'sessions', key: 'sessions', fmt: fmtInt }, { label: 'minutes', key: 'minutes', fmt: (v) => fmt(v, 1) },
      { label: 'active days', key: 'active_days', fmt: fmtInt }, { label: 'exercises', key: 'exercises', fmt: fmtInt }, { label: 'trigger-log entries', key: 'trigger_logs', fmt: fmtInt }],
    rows,
  })));
  clear(byId('daily-table')).append(numbers('events by day', table({
    caption: 'App events by day and type',
    columns: [{ label: 'day', key: 'day', text: true }, { label: 'type', key: 'type', text: true }, { label: 'events', key: 'events', fmt: fmtInt }, { label: 'minutes', key: 'minutes', fmt: (v) => fmt(v, 1) }],
    rows: t.app_use_by_day,
  })));
}

function withdrawal(study, code, t, session, reload) {
  if (session.role !== 'admin') return;
  const panel = byId('withdraw-panel');
  panel.classList.remove('hidden');
  const button = byId('withdraw-button');
  const confirm = byId('withdraw-confirm');
  const result = byId('withdraw-result');
  if (t.participant.status === 'withdrawn') {
    button.disabled = true;
    confirm.disabled = true;
    result.textContent = `Withdrawn ${fmtTime(t.participant.withdrawn_at)}.`;
    return;
  }
  confirm.onchange = () => { button.disabled = !confirm.checked; };
  byId('withdraw-form').onsubmit = async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    const reason = byId('withdraw-reason').value.trim();
    try {
      const r = await postJSON(`/api/v1/studies/${study}/participants/${encodeURIComponent(code)}/withdraw`, reason ? { reason } : {});
      result.textContent = `Withdrawn at ${fmtTime(r.withdrawn_at)}.`;
      reload();
    } catch (e) {
      result.textContent = `Could not withdraw: ${e.message}`;
      button.disabled = false;
    }
  };
}

async function main() {
  const { study, session } = await setupPage('participant');
  const code = pathPart(4);
  const overview = await getJSON(`/api/v1/studies/${study}/dashboard/overview`);
  const instruments = overview.data.instruments;
  let reload = null;
  reload = live(study, async () => [await getJSON(`/api/v1/studies/${study}/participants/${encodeURIComponent(code)}/timeline`)], (docs) => {
    const t = docs[0];
    clear(byId('error'));
    byId('study-title').textContent = `${t.participant.code} · ${overview.data.study.title}`;
    byId('provenance').textContent = 'Read live from the study database (this participant\'s own rows; no analysis run). Your visit is recorded in the audit trail.';
    kpis(t);
    scores(t, instruments);
    questionnaires(t);
    use(t);
    withdrawal(study, code, t, session, () => reload());
  }, { errorNode: byId('error') });
}

main().catch((e) => showError(byId('error'), e));
