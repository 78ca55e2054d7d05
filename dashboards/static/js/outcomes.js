// outcomes.js — the Outcomes page for one instrument: mean by week with 95%
// CIs per arm (observed, and the mixed model's), individual trajectories,
// severity bands by week, the claim table as a forest plot, the pre/post
// table, and the Jacobson–Truax plot. Axes run over the instrument's whole
// range (GAD-7 0–21), never a range cut to fit the data.
import {
  COLORS, alpha, armColor, byId, chart, clear, el, fmt, fmtCI, fmtInt, fmtPct, getJSON,
  isResearcher, live, numbers, provenance, setupPage, showError, table,
} from './common.js';

const params = new URLSearchParams(window.location.search);
let population = 'completers';
let show = { observed: true, model: true };

function armsOf(doc) {
  return [...new Set(doc.observed.map((o) => o.arm))];
}

function weekTicks(doc, arms) {
  // Each week's label says how many scores it rests on, per arm.
  return (value) => {
    if (!Number.isInteger(value)) return '';
    const ns = arms.map((a) => {
      const o = doc.observed.find((x) => x.arm === a && x.week === value);
      return o ? o.n : 0;
    });
    return [`wk ${value}`, `n ${ns.join('/')}`];
  };
}

function means(doc) {
  const inst = doc.instrument;
  const arms = armsOf(doc);
  const step = 0.09;
  const datasets = [];
  arms.forEach((arm, i) => {
    const color = armColor(arms, arm);
    const obs = doc.observed.filter((o) => o.arm === arm);
    const off = (i - (arms.length - 1) / 2) * 2 * step;
    if (show.observed) {
      datasets.push({
        label: `${arm}: observed`, data: obs.map((o) => ({ x: o.week + off - step / 2, y: o.mean })),
        errorBars: obs.map((o) => o.ci95), borderColor: color, backgroundColor: '#fff',
        pointStyle: 'circle', pointRadius: 4, pointBorderWidth: 2, borderDash: [4, 3], borderWidth: 1.2,
        kind: 'observed', arm,
      });
    }
    const model = (doc.model.means || []).filter((m) => (m.arm || 'all') === arm);
    if (show.model && model.length) {
      datasets.push({
        label: `${arm}: mixed model`, data: model.map((m) => ({ x: m.week + off + step / 2, y: m.estimate })),
        errorBars: model.map((m) => m.ci95), borderColor: color, backgroundColor: color,
        pointStyle: 'rect', pointRadius: 4, borderWidth: 2, kind: 'model', arm,
      });
    }
  });
  const weeks = inst.weeks;
  byId('means-note').textContent = `${inst.score_label}, possible range ${inst.min} to ${inst.max}. Circles: observed means of those who answered that week (t interval). Squares: the mixed model's means (${doc.model.model ? doc.model.model.formula : 'unavailable'}; ${doc.model.population || ''}). Below each week: n per arm (${arms.join('/')}).`;
  chart(byId('means-chart'), {
    type: 'line',
    data: { datasets },
    options: {
      parsing: true,
      scales: {
        x: { type: 'linear', min: weeks[0] - 0.5, max: weeks[weeks.length - 1] + 0.5,
          afterBuildTicks: (axis) => { axis.ticks = weeks.map((w) => ({ value: w })); },
          ticks: { callback: weekTicks(doc, arms), autoSkip: false, maxRotation: 0 },
          title: { display: true, text: 'study week' } },
        y: { min: inst.min, max: inst.max, title: { display: true, text: `${inst.title} mean score` } },
      },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt(c.parsed.y)}` } } },
    },
  }, `${inst.title} mean by week and arm with 95% confidence intervals`);
  const rows = [];
  for (const arm of arms) {
    for (const w of weeks) {
      const o = doc.observed.find((x) => x.arm === arm && x.week === w) || {};
      const m = (doc.model.means || []).find((x) => (x.arm || 'all') === arm && x.week === w) || {};
      rows.push({ arm, week: w, n: o.n, mean: o.mean, ci: o.ci95, sd: o.sd, model: m.estimate, mci: m.ci95 });
    }
  }
  clear(byId('means-table')).append(numbers('means by week', table({
    caption: `${inst.title}: observed and model-based means by arm and week`,
    id: 'means-numbers',
    columns: [
      { label: 'arm', key: 'arm', text: true }, { label: 'week', key: 'week' }, { label: 'n', key: 'n', fmt: fmtInt },
      { label: 'observed mean', key: 'mean', fmt: (v) => fmt(v) }, { label: 'SD', key: 'sd', fmt: (v) => fmt(v) },
      { label: '95% CI', key: 'ci', fmt: (v) => fmtCI(v) },
      { label: 'model mean', key: 'model', fmt: (v) => fmt(v) }, { label: 'model 95% CI', key: 'mci', fmt: (v) => fmtCI(v) },
    ],
    rows,
  })));
  const ctl = clear(byId('means-controls'));
  for (const k of ['observed', 'model']) {
    const cb = el('input', { type: 'checkbox', checked: show[k] || null, id: `show-${k}` });
    cb.addEventListener('change', () => { show[k] = cb.checked; means(doc); });
    ctl.append(el('label', {}, cb, k === 'model' ? 'mixed model' : 'observed'));
  }
}

function trajectories(doc, priv) {
  const inst = doc.instrument;
  const arms = armsOf(doc);
  byId('traj-panel').classList.remove('hidden');
  byId('traj-note').textContent = `${priv.trajectories_shown} participants: ${priv.trajectories_rule}. Each line is one participant's observed ${inst.title} scores.`;
  const datasets = priv.trajectories.map((t) => ({
    label: t.arm, data: t.points.map(([x, y]) => ({ x, y })), borderColor: alpha(armColor(arms, t.arm), 0.45),
    backgroundColor: alpha(armColor(arms, t.arm), 0.45), borderWidth: 1, pointRadius: 1.5, arm: t.arm, code: t.code,
  }));
  chart(byId('traj-chart'), {
    type: 'line',
    data: { datasets },
    options: {
      scales: {
        x: { type: 'linear', min: inst.weeks[0] - 0.3, max: inst.weeks[inst.weeks.length - 1] + 0.3,
          afterBuildTicks: (axis) => { axis.ticks = inst.weeks.map((w) => ({ value: w })); },
          ticks: { callback: (v) => `wk ${v}`, autoSkip: false, maxRotation: 0 }, title: { display: true, text: 'study week' } },
        y: { min: inst.min, max: inst.max, title: { display: true, text: `${inst.title} score` } },
      },
      plugins: {
        legend: { labels: { filter: (item, data) => data.datasets.findIndex((d) => d.arm === data.datasets[item.datasetIndex].arm) === item.datasetIndex } },
        tooltip: { callbacks: { label: (c) => `${c.dataset.code}: ${c.parsed.y}` } },
      },
    },
  }, `Individual ${inst.title} trajectories, coloured by arm`);
  const rows = priv.trajectories.map((t) => {
    const r = { code: t.code, arm: t.arm };
    for (const [w, y] of t.points) r[`w${w}`] = y;
    return r;
  });
  clear(byId('traj-table')).append(numbers('trajectories', () => table({
    caption: `${inst.title} scores of the participants drawn`,
    columns: [{ label: 'participant', key: 'code', text: true }, { label: 'arm', key: 'arm', text: true }]
      .concat(inst.weeks.map((w) => ({ label: `wk ${w}`, key: `w${w}`, fmt: (v) => fmt(v, 0) }))),
    rows,
  })));
}

function bands(doc) {
  const inst = doc.instrument;
  const arms = armsOf(doc);
  const order = inst.bands.map((b) => b.label);
  const seen = [...new Set(doc.severity.map((s) => s.band))];
  const labels = order.concat(seen.filter((b) => !order.includes(b)));
  byId('bands-note').textContent = labels.length
    ? `Scored ${inst.title} responses by band (${inst.bands.map((b) => `${b.label} ${b.min}–${b.max}`).join(', ')}), stacked; the bar's height is the number who answered that week.`
    : `${inst.title} has no severity bands.`;
  const node = clear(byId('bands-charts'));
  const rows = [];
  for (const arm of arms) {
    const holder = el('div', {}, el('h3', {}, `Arm ${arm}`), el('div', { class: 'chart', id: `bands-${arm}` }));
    node.append(holder);
    const cells = doc.severity.filter((s) => s.arm === arm);
    chart(holder.querySelector('.chart'), {
      type: 'bar',
      data: {
        labels: inst.weeks.map((w) => `wk ${w}`),
        datasets: labels.map((b, i) => ({
          label: b, backgroundColor: COLORS.ordered[Math.round(i * (COLORS.ordered.length - 1) / Math.max(1, labels.length - 1))],
          data: inst.weeks.map((w) => (cells.find((c) => c.week === w && c.band === b) || { n: 0 }).n),
        })),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'responses' } } } },
    }, `${inst.title} severity bands by week, arm ${arm}`);
    for (const w of inst.weeks) {
      const r = { arm, week: w };
      for (const b of labels) r[b] = (cells.find((c) => c.week === w && c.band === b) || { n: 0 }).n;
      rows.push(r);
    }
  }
  clear(byId('bands-table')).append(numbers('severity bands', table({
    caption: `${inst.title}: responses by severity band, arm and week`,
    columns: [{ label: 'arm', key: 'arm', text: true }, { label: 'week', key: 'week' }].concat(labels.map((b) => ({ label: b, key: b, fmt: fmtInt }))),
    rows,
  })));
}

function claims(doc) {
  const rows = doc.claims.filter((c) => c.value !== null && c.value !== undefined);
  const label = (c) => `${c.arm || 'all'} · ${c.population} (n ${fmtInt(c.n)})`;
  // The axis includes 0 (no change) and every interval, on round numbers.
  const lo = Math.floor(Math.min(0, ...rows.map((c) => (c.ci95 ? c.ci95[0] : c.value))) / 5) * 5;
  const hi = Math.ceil(Math.max(0, ...rows.map((c) => (c.ci95 ? c.ci95[1] : c.value))) / 5) * 5;
  const pad = 0;
  const arms = [...new Set(rows.map((c) => c.arm || 'all'))];
  chart(byId('claims-chart'), {
    type: 'scatter',
    data: {
      datasets: arms.map((arm) => {
        const mine = rows.map((c, i) => ({ c, i })).filter((x) => (x.c.arm || 'all') === arm);
        const color = arm === 'all' ? '#1b1f24' : armColor(arms.filter((a) => a !== 'all'), arm);
        return {
          label: arm, data: mine.map((x) => ({ x: x.c.value, y: x.i })), errorBars: mine.map((x) => x.c.ci95),
          errorBarsAxis: 'x', borderColor: color, backgroundColor: color, pointRadius: 5,
          pointStyle: mine.map((x) => (x.c.population === 'mixed model' ? 'rectRot' : 'circle')),
        };
      }),
    },
    options: {
      scales: {
        x: { min: lo - pad, max: hi + pad, title: { display: true, text: `% reduction of the ${doc.instrument.title} mean, week ${doc.pre} to ${doc.post} (95% CI)` } },
        y: { reverse: true, min: -0.5, max: rows.length - 0.5,
          afterBuildTicks: (axis) => { axis.ticks = rows.map((r, i) => ({ value: i })); },
          ticks: { autoSkip: false, callback: (v) => (rows[v] ? label(rows[v]) : '') } },
      },
      plugins: { tooltip: { callbacks: { label: (c) => `${label(rows[c.parsed.y])}: ${fmtPct(c.parsed.x)}` } } },
    },
  }, 'Percentage reduction by population and arm with 95% confidence intervals');
  clear(byId('claims-table')).append(table({
    caption: 'The reduction every defensible way',
    id: 'claims-numbers',
    columns: [
      { label: 'arm', key: 'arm', text: true, fmt: (v) => v || 'all' }, { label: 'population', key: 'population', text: true },
      { label: 'n', key: 'n', fmt: fmtInt }, { label: '% reduction', key: 'value', fmt: (v) => fmtPct(v) },
      { label: '95% CI', key: 'ci95', fmt: (v) => fmtCI(v, 1) }, { label: 'CI method', key: 'ci_method', text: true },
      { label: 'definition', key: 'definition', text: true, cellClass: () => 'wrap' },
    ],
    rows: doc.claims,
  }));
}

function prepost(doc) {
  const groups = doc.prepost.filter((g) => g.population_name === population);
  const g0 = groups[0];
  byId('prepost-note').textContent = `Week ${doc.pre} against week ${doc.post}; difference = pre − post, so positive means the score went down. Effect sizes and intervals as \`attune analyze prepost\` computes them (d_z: exact noncentral-t interval; % reduction: bootstrap percentile interval, ${g0 && g0.pct_reduction_group_means && g0.pct_reduction_group_means.bootstrap ? g0.pct_reduction_group_means.bootstrap.resamples : 2000} resamples). Instrument facts: ${doc.facts_source || 'none'}.`;
  const rc = (g) => g.reliable_change || {};
  clear(byId('prepost-table')).append(table({
    caption: `Pre/post by arm, ${population}`,
    id: 'prepost-numbers',
    columns: [
      { label: 'arm', key: 'arm', text: true },
      { label: 'n', key: 'n', fmt: fmtInt },
      { label: 'excluded: no baseline', get: (g) => g.population && g.population.excluded.no_baseline, fmt: fmtInt },
      { label: population === 'completers' ? 'excluded: no follow-up' : 'follow-ups imputed', get: (g) => (g.population ? (population === 'completers' ? g.population.excluded.no_followup : g.population.imputed) : null), fmt: fmtInt },
      { label: 'mean pre', key: 'mean_pre', fmt: (v) => fmt(v) },
      { label: 'SD pre', key: 'sd_pre', fmt: (v) => fmt(v) },
      { label: 'mean post', key: 'mean_post', fmt: (v) => fmt(v) },
      { label: 'SD post', key: 'sd_post', fmt: (v) => fmt(v) },
      { label: 'mean difference', key: 'mean_diff', fmt: (v) => fmt(v) },
      { label: '95% CI', get: (g) => g.paired_t && g.paired_t.mean_diff_ci95, fmt: (v) => fmtCI(v) },
      { label: 'paired t p', get: (g) => g.paired_t && g.paired_t.p, fmt: (v) => (v === null || v === undefined ? '–' : v < 0.001 ? '<0.001' : fmt(v, 3)) },
      { label: 'd_z', get: (g) => g.d_z && g.d_z.value, fmt: (v) => fmt(v) },
      { label: 'd_z 95% CI', get: (g) => g.d_z && g.d_z.ci95, fmt: (v) => fmtCI(v) },
      { label: 'g_av', key: 'g_av', fmt: (v) => fmt(v) },
      { label: '% reduction', get: (g) => g.pct_reduction_group_means && g.pct_reduction_group_means.value, fmt: (v) => fmtPct(v) },
      { label: '95% CI', get: (g) => g.pct_reduction_group_means && g.pct_reduction_group_means.ci95, fmt: (v) => fmtCI(v, 1) },
      { label: 'responders', get: (g) => g.responders && g.responders.count, fmt: fmtInt },
      { label: 'responders share', get: (g) => g.responders && g.responders.share, fmt: (v) => (v === null || v === undefined ? '–' : fmtPct(100 * v)) },
      { label: 'remitted', get: (g) => g.remission && g.remission.count, fmt: fmtInt },
      { label: 'reliably improved', get: (g) => rc(g).improved, fmt: fmtInt },
      { label: 'no reliable change', get: (g) => rc(g).unchanged, fmt: fmtInt },
      { label: 'reliably worse', get: (g) => rc(g).deteriorated, fmt: fmtInt },
    ],
    rows: groups,
  }));
}

function jtGeometry(g) {
  const r = g.reliable_change;
  return r ? { mrc: r.min_reliable_change, cutoff: r.clinically_significant.cutoff, criterion: r.clinically_significant.criterion } : null;
}

function jacobsonTruax(doc, priv) {
  const inst = doc.instrument;
  const groups = doc.prepost.filter((g) => g.population_name === 'completers' && g.arm !== 'all');
  const cats = ['recovered', 'improved', 'unchanged', 'deteriorated'];
  const shapes = { recovered: 'triangle', improved: 'circle', unchanged: 'rect', deteriorated: 'crossRot' };
  const any = groups.find((g) => g.reliable_change);
  byId('jt-note').textContent = any
    ? `Completers, week ${doc.pre} (x) against week ${doc.post} (y). Diagonal: no change; dashed lines: the smallest reliable change (1.96 × SE of the difference, reliability ${fmt(any.reliable_change.reliability)}); dotted lines: the clinical cut-off (criterion ${any.reliable_change.clinically_significant.criterion}). Points are jittered by at most ±0.2 so that equal scores do not hide each other.${priv && priv.jacobson_truax_rule ? ` Points drawn: ${priv.jacobson_truax_rule}.` : ''}`
    : 'Reliable change needs the instrument\'s reliability; none is known for this instrument.';
  const rows = groups.map((g) => ({ arm: g.arm, n: g.n, ...(g.reliable_change ? g.reliable_change.clinically_significant : {}), mrc: g.reliable_change && g.reliable_change.min_reliable_change }));
  clear(byId('jt-table')).append(table({
    caption: 'Jacobson–Truax categories of completers by arm',
    id: 'jt-numbers',
    columns: [{ label: 'arm', key: 'arm', text: true }, { label: 'n', key: 'n', fmt: fmtInt }]
      .concat(cats.map((c) => ({ label: c, key: c, fmt: fmtInt })))
      .concat([{ label: 'cut-off', key: 'cutoff', fmt: (v) => fmt(v) }, { label: 'smallest reliable change', key: 'mrc', fmt: (v) => fmt(v) }]),
    rows,
  }));
  const holder = byId('jt-chart');
  if (!priv || !any) { holder.classList.add('hidden'); return; }
  holder.classList.remove('hidden');
  holder.classList.remove('chart', 'square');
  clear(holder).classList.add('grid');
  const jitter = (code, k) => {
    let h = 2166136261;
    for (const ch of code + k) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    return ((h >>> 0) / 4294967295 - 0.5) * 0.4;
  };
  for (const g of groups) {
    const geo = jtGeometry(g);
    if (!geo) continue;
    const box = el('div', { class: 'chart square', id: `jt-${g.arm}` });
    holder.append(el('div', {}, el('h3', {}, `Arm ${g.arm}`), box));
    const pts = priv.jacobson_truax.filter((p) => p.arm === g.arm);
    const lo = inst.min;
    const hi = inst.max;
    const line = (label, pts2, dash, color) => ({ type: 'line', label, data: pts2, borderColor: color, borderDash: dash, borderWidth: 1.2, pointRadius: 0, fill: false, guide: true });
    chart(box, {
      type: 'scatter',
      data: {
        datasets: cats.map((c) => ({
          label: c, data: pts.filter((p) => p.category === c).map((p) => ({ x: p.pre + jitter(p.code, 'x'), y: p.post + jitter(p.code, 'y'), code: p.code })),
          backgroundColor: alpha(COLORS.jt[c], 0.8), borderColor: COLORS.jt[c], pointStyle: shapes[c], pointRadius: 4, category: c,
        })).concat([
          line('no change', [{ x: lo, y: lo }, { x: hi, y: hi }], [], '#555'),
          line('reliable change band', [{ x: lo, y: lo - geo.mrc }, { x: hi, y: hi - geo.mrc }], [6, 4], '#555'),
          line('reliable change band (worse)', [{ x: lo, y: lo + geo.mrc }, { x: hi, y: hi + geo.mrc }], [6, 4], '#555'),
          line('clinical cut-off', [{ x: lo, y: geo.cutoff }, { x: hi, y: geo.cutoff }], [2, 3], '#7a1f1f'),
          line('clinical cut-off (baseline)', [{ x: geo.cutoff, y: lo }, { x: geo.cutoff, y: hi }], [2, 3], '#7a1f1f'),
        ]),
      },
      options: {
        scales: {
          x: { min: lo, max: hi, title: { display: true, text: `${inst.title} at week ${doc.pre}` } },
          y: { min: lo, max: hi, title: { display: true, text: `${inst.title} at week ${doc.post}` } },
        },
        plugins: {
          legend: { labels: { filter: (item, data) => !data.datasets[item.datasetIndex].label.includes('(') } },
          tooltip: { callbacks: { label: (c) => (c.raw.code ? `${c.raw.code}: ${c.dataset.label}` : c.dataset.label) } },
        },
      },
    }, `Jacobson–Truax plot, arm ${g.arm}: baseline against final score, coloured by category`);
  }
  holder.append(el('div', { class: 'panel wide' }, numbers('each completer', () => table({
    caption: 'Completers drawn in the Jacobson–Truax plots',
    columns: [{ label: 'participant', key: 'code', text: true }, { label: 'arm', key: 'arm', text: true },
      { label: `week ${doc.pre}`, key: 'pre', fmt: (v) => fmt(v, 0) }, { label: `week ${doc.post}`, key: 'post', fmt: (v) => fmt(v, 0) },
      { label: 'RCI', key: 'rci', fmt: (v) => fmt(v) }, { label: 'category', key: 'category', text: true }],
    rows: priv.jacobson_truax,
  }))));
}

async function main() {
  const { study, session } = await setupPage('outcomes');
  const researcher = isResearcher(session);
  const base = `/api/v1/studies/${study}/dashboard`;
  // The instrument list comes with the overview; the outcomes document does
  // not wait for it (without ?instrument= the server picks the weekly one).
  const asked = params.get('instrument');
  const q = asked ? `?instrument=${encodeURIComponent(asked)}` : '';
  getJSON(`${base}/overview`).then((overview) => {
    byId('study-title').textContent = overview.data.study.title;
    const instrument = asked || overview.data.primary_instrument;
    const sel = byId('instrument');
    for (const i of overview.data.instruments) sel.append(el('option', { value: i.id, selected: i.id === instrument || null }, i.title));
    sel.addEventListener('change', () => { window.location.search = `?instrument=${encodeURIComponent(sel.value)}`; });
  }).catch((e) => showError(byId('error'), e));
  let last = null;
  byId('population').addEventListener('change', (e) => { population = e.target.value; if (last) prepost(last[0].data); });
  live(study, async () => Promise.all([getJSON(`${base}/outcomes${q}`)].concat(
    researcher ? [getJSON(`${base}/outcomes/individual${q}`)] : [])), (docs) => {
    last = docs;
    const doc = docs[0].data;
    const priv = docs[1] ? docs[1].data : null;
    clear(byId('error'));
    provenance(byId('provenance'), docs);
    means(doc);
    if (priv) trajectories(doc, priv);
    bands(doc);
    claims(doc);
    prepost(doc);
    jacobsonTruax(doc, priv);
  }, { errorNode: byId('error') });
}

main().catch((e) => showError(byId('error'), e));
