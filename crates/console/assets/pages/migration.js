// Seamless migration, in the five steps of the seed with the step bar always on top: 1. connect
// to the source, 2. metadata import, 3. access point, 4. topic migration, 5. complete. The bar
// follows the migration live (`GET /api/migrations/{id}` every few seconds).

import { get } from '../api.js';
import { fill, h } from '../dom.js';
import * as connect from './steps/connect.js';
import * as metadata from './steps/metadata.js';
import * as access from './steps/access.js';
import * as topics from './steps/topics.js';
import * as complete from './steps/complete.js';

const POLL_MS = 3000;

export const STEPS = [
  { n: 1, title: 'Connect to the source', page: connect },
  { n: 2, title: 'Metadata import', page: metadata },
  { n: 3, title: 'Access point', page: access },
  { n: 4, title: 'Topic migration', page: topics },
  { n: 5, title: 'Complete', page: complete },
];

/** Which steps are done and which may be opened, from the migration's detail. */
function states(detail) {
  if (!detail) return STEPS.map((s) => ({ done: false, open: s.n === 1 }));
  const t = detail.topics;
  const allCompleted = t.length > 0 && t.every((x) => x.stage === 'Completed');
  const moved = t.some((x) => x.stage !== 'Initial');
  const finished = detail.migration.status === 'completed';
  return [
    { done: true, open: true },
    { done: t.length > 0, open: true },
    { done: moved, open: t.length > 0 },
    { done: allCompleted, open: t.length > 0 },
    { done: finished, open: allCompleted || finished },
  ];
}

function stepBar(detail, current) {
  const s = states(detail);
  const id = detail && detail.migration.id;
  return h(
    'ol',
    { class: 'steps', testid: 'step-bar' },
    STEPS.map((step, i) => {
      const cls = ['step', s[i].done ? 'done' : '', step.n === current ? 'current' : '', s[i].open ? '' : 'locked'].join(' ');
      const label = h('span', { class: 'num' }, s[i].done && step.n !== current ? '✓' : String(step.n));
      const body = [label, h('span', { class: 'title' }, step.title)];
      return h(
        'li',
        { class: cls, testid: `step-${step.n}`, 'aria-current': step.n === current ? 'step' : undefined },
        s[i].open && id ? h('a', { href: `#/migrations/${id}/${step.n}` }, body) : h('span', null, body),
      );
    }),
  );
}

export function render(main, { id, step }) {
  const bar = h('div', { class: 'sticky' });
  const header = h('div');
  const body = h('div');
  fill(main, bar, header, body);
  let detail = null;
  let pageCleanup = null;
  let current = step || 1;
  let stopped = false;

  const ctx = {
    id,
    get detail() {
      return detail;
    },
    /** Reads the migration again (after a change) and redraws the bar. */
    async refresh() {
      if (!id) return null;
      detail = await get(`/api/migrations/${id}`);
      drawBar();
      return detail;
    },
    go(n) {
      location.hash = `#/migrations/${id}/${n}`;
    },
  };

  function drawBar() {
    fill(bar, stepBar(detail, current));
    if (detail) {
      const m = detail.migration;
      fill(
        header,
        h(
          'div',
          { class: 'toolbar' },
          h('h1', { testid: 'migration-name' }, m.name),
          h('span', { class: 'muted' }, `${m.source.cluster} → ${m.target.cluster}`),
          h('div', { class: 'spacer' }),
          h('span', { class: `badge ${m.status === 'active' ? 'info' : 'ok'}`, testid: 'migration-status' }, m.status === 'active' ? 'Active' : 'Completed'),
        ),
      );
    } else {
      fill(header, h('h1', null, 'New seamless migration'));
    }
  }

  async function start() {
    if (id) {
      try {
        await ctx.refresh();
      } catch (e) {
        fill(body, h('div', { class: 'alert error' }, e.message));
        return;
      }
      if (!step) {
        // Where the migration stands.
        const s = states(detail);
        current = s[4].open ? 5 : s[3].done || s[2].done ? 4 : s[1].done ? 3 : 2;
        location.replace(`#/migrations/${id}/${current}`);
        return;
      }
    }
    drawBar();
    if (stopped) return;
    pageCleanup = STEPS[current - 1].page.render(body, ctx) || null;
  }

  start();
  const timer = setInterval(() => {
    if (id) ctx.refresh().catch(() => {});
  }, POLL_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
    if (pageCleanup) pageCleanup();
  };
}
