// studies.js — the Studies page: every study the user can see, with its
// enrolment, retention and latest headline result, each figure naming the
// analysis run it comes from.
import { byId, clear, el, fmt, fmtCI, fmtInt, fmtTime, getJSON, isResearcher, setupPage, showError } from './common.js';

function card(s, researcher) {
  const p = s.participants;
  const dl = el('dl', {},
    el('dt', {}, 'Enrolled'), el('dd', { dataset: { kpi: 'enrolled' } }, fmtInt(p.enrolled)),
    el('dt', {}, 'Active / withdrawn'), el('dd', {}, `${fmtInt(p.active)} / ${fmtInt(p.withdrawn)}`),
    el('dt', {}, 'Retention'), el('dd', {}, s.retention && s.retention.value
      ? [`${fmt(100 * s.retention.value.share, 1)}% completers (${fmtInt(s.retention.value.completers)} of ${fmtInt(s.retention.value.enrolled)}); run `, el('code', {}, s.retention.run_id), `, ${fmtTime(s.retention.run_at)}`]
      : 'not computed yet (open the overview)'));
  const head = el('div', { class: 'headline' });
  if (s.headline && s.headline.claims) {
    const mixed = s.headline.claims.filter((c) => c.population === 'mixed model');
    const comp = s.headline.claims.filter((c) => c.population === 'completers' && c.arm !== 'all');
    head.append(el('p', {}, `Headline (${s.headline.instrument}), run `, el('code', {}, s.headline.run_id), `, ${fmtTime(s.headline.run_at)}:`));
    const ul = el('ul');
    for (const c of mixed.concat(comp)) {
      ul.append(el('li', {}, `${c.arm}: ${fmt(c.value, 1)}% reduction ${fmtCI(c.ci95, 1)} — ${c.population}, n ${fmtInt(c.n)}`));
    }
    head.append(ul);
  } else {
    head.append(el('p', { class: 'note' }, 'No outcome analysis yet: open the Outcomes page.'));
  }
  return el('article', { class: 'panel study-card', dataset: { study: s.id } },
    el('h2', {}, el('a', { href: `/dashboards/${s.id}/overview` }, s.title)),
    el('p', { class: 'note' }, `${s.id} · ${s.status} · ${s.weeks} weeks`),
    dl, head,
    el('p', {}, el('a', { href: `/dashboards/${s.id}/outcomes` }, 'Outcomes'), ' · ',
      el('a', { href: `/dashboards/${s.id}/engagement` }, 'Engagement'), ' · ',
      el('a', { href: `/dashboards/${s.id}/quality` }, 'Data quality'),
      researcher ? [' · ', el('a', { href: `/dashboards/${s.id}/exports` }, 'Exports')] : null));
}

async function main() {
  const { session } = await setupPage('studies');
  // Counts are live and the figures come from the newest runs: redraw every
  // 15 seconds while the page is visible.
  const draw = async () => {
    const { studies } = await getJSON('/api/v1/dashboard/studies');
    const node = clear(byId('studies'));
    if (studies.length === 0) node.append(el('p', {}, 'You are not a member of any study yet.'));
    for (const s of studies) node.append(card(s, isResearcher(session)));
    document.body.dataset.loaded = '1';
  };
  await draw();
  setInterval(() => { if (!document.hidden) draw().catch(() => {}); }, 15000);
}

main().catch((e) => { showError(byId('error'), e); document.body.dataset.loaded = 'error'; });
