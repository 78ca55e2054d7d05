// exports.js — the Exports page: the study's files, each streamed and
// audited by the server.
import { byId, clear, el, getJSON, setupPage, showError } from './common.js';

const FILES = [
  ['responses-long.csv', 'Responses, tidy long', 'One row per participant, questionnaire and variable: every item answer, every score (total and subscales) and the severity band. Columns: code, arm, instrument, version, week, completed_at, timing, variable, value.'],
  ['responses-wide.csv', 'Responses, wide', 'One row per participant; a column per instrument, week and variable (gad7_total_w0, gad7_1_w0, …). Empty when not answered or voided.'],
  ['codebook.csv', 'Codebook', 'Every column of both response files: instrument, version, week, kind, label (the item\'s text), type and allowed values with their labels.'],
  ['events.csv', 'App events', 'One row per event: code, arm, event id, type, time, study week, duration, received time and its properties (JSON).'],
  ['analysis.json', 'Analysis runs (JSON)', 'The newest recorded run of each kind: options, input fingerprint, instrument versions, program version and the full result, so that every number can be traced and repeated.'],
  ['report.html', 'The claim report', 'What `attune report` prints for the weekly outcome: the flow and the analysis populations (and that they add up), baseline characteristics by arm, the reduction computed every defensible way with n and 95% CIs, effect sizes, engagement and outcome, and the provenance of every number. Opens in the browser; add ?claim=… to check a written claim.'],
  ['report.json', 'The claim report (JSON)', 'The same report as the document the analysis run recorded.'],
  ['claims.csv', 'The claim table', 'The reduction in each instrument computed every defensible way (completers, BOCF, LOCF, mixed model), with n, 95% CI and the run it comes from.'],
];

async function main() {
  const { study } = await setupPage('exports');
  getJSON(`/api/v1/studies/${study}/dashboard/overview`).then((o) => { byId('study-title').textContent = o.data.study.title; }).catch(() => {});
  const ul = clear(byId('exports'));
  for (const [file, title, what] of FILES) {
    ul.append(el('li', {}, el('a', { href: `/api/v1/studies/${study}/export/${file}`, download: `${study}-${file}`, dataset: { file } }, title),
      ` (${file})`, el('p', { class: 'note' }, what)));
  }
  document.body.dataset.loaded = '1';
}

main().catch((e) => { showError(byId('error'), e); document.body.dataset.loaded = 'error'; });
