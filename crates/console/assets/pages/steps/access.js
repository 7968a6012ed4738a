// Step 3, access point: what clients must change (their NameServer address, to Ferry's), per
// consumer group the consumers on the source versus those through Ferry (groups not switched
// first), per topic the clients seen through Ferry and their last contact; a warning before moving
// on while any client is not switched. Live. CLI: `ferry migrate clients ID`.

import { get } from '../../api.js';
import { ago, badge, dialog, fill, h, table } from '../../dom.js';

const POLL_MS = 3000;

function ids(list) {
  return list.length ? h('div', { class: 'hint' }, list.join(', ')) : null;
}

/** A group with no consumer anywhere: nothing to switch, nothing switched either. */
function isIdle(g) {
  return [g.sourceDirect, g.sourceThroughFerry, g.targetThroughFerry, g.targetDirect].every((l) => l.length === 0);
}

function role(c, topic) {
  const out = [];
  for (const [group, topics] of Object.entries(c.consumerGroups || {})) {
    if (topics.includes(topic)) out.push(`consumer (${group})`);
  }
  for (const [group, t] of c.produced || []) {
    if (t === topic) out.push(`producer (${group})`);
  }
  return out.join(', ') || 'route reader';
}

export function render(body, ctx) {
  const id = ctx.id;
  let ap = null;
  const address = h('div', { testid: 'ferry-address' });
  const groups = h('div', { testid: 'groups' });
  const topics = h('div', { testid: 'topic-clients' });
  const error = h('div');
  const next = h('button', { type: 'button', class: 'primary', testid: 'next' }, 'Next: topic migration');

  async function refresh() {
    try {
      ap = await get(`/api/migrations/${id}/clients`);
    } catch (e) {
      fill(error, h('div', { class: 'alert error' }, e.message));
      return;
    }
    fill(error);
    fill(
      address,
      h('code', { class: 'address', testid: 'ferry-namesrv' }, ap.ferryNamesrv),
      h(
        'button',
        {
          type: 'button',
          class: 'small',
          onclick: (e) => {
            navigator.clipboard && navigator.clipboard.writeText(ap.ferryNamesrv);
            e.target.textContent = 'Copied';
          },
        },
        'Copy',
      ),
    );
    const unswitched = ap.groups.filter((g) => !g.switched).length;
    const idle = ap.groups.filter(isIdle).length;
    fill(
      groups,
      h(
        'p',
        { class: unswitched || idle ? 'alert warn' : 'alert ok', testid: 'switch-summary' },
        unswitched
          ? `${unswitched} of ${ap.groups.length} consumer groups still have clients that do not go through Ferry.`
          : idle
            ? `No client bypasses Ferry, but ${idle} of ${ap.groups.length} consumer groups have no consumer online.`
            : `All ${ap.groups.length} consumer groups go through Ferry.`,
      ),
      table(
        [
          { title: 'Consumer group', render: (g) => g.group },
          { title: 'Source, directly', class: 'num', render: (g) => [String(g.sourceDirect.length), ids(g.sourceDirect)] },
          { title: 'Source, through Ferry', class: 'num', render: (g) => [String(g.sourceThroughFerry.length), ids(g.sourceThroughFerry)] },
          { title: 'Target, through Ferry', class: 'num', render: (g) => [String(g.targetThroughFerry.length), ids(g.targetThroughFerry)] },
          { title: 'Target, directly', class: 'num', render: (g) => [String(g.targetDirect.length), ids(g.targetDirect)] },
          {
            title: 'Status',
            render: (g) => (!g.switched ? badge('Not switched', 'bad') : isIdle(g) ? badge('No consumer online', 'neutral') : badge('Switched', 'ok')),
          },
        ],
        ap.groups,
        { empty: 'The migration checks no consumer group.', rowTestid: (g) => `group-${g.group}`, rowClass: (g) => (g.switched ? '' : 'attention') },
      ),
    );
    const rows = ap.topics.flatMap((t) =>
      t.clients.length ? t.clients.map((c) => ({ topic: t.topic, c })) : [{ topic: t.topic, c: null }],
    );
    fill(
      topics,
      table(
        [
          { title: 'Topic', render: (r) => r.topic },
          { title: 'Client', render: (r) => (r.c ? h('code', null, r.c.clientId) : h('span', { class: 'muted' }, 'no client seen through Ferry yet')) },
          { title: 'Address', render: (r) => (r.c ? r.c.addr : '') },
          { title: 'Role', render: (r) => (r.c ? role(r.c, r.topic) : '') },
          { title: 'Reaches', render: (r) => (r.c ? r.c.sides.join(' and ') : '') },
          { title: 'Last contact', render: (r) => (r.c ? ago(r.c.lastSeen) : '') },
        ],
        rows,
        { rowTestid: (r) => `clients-${r.topic}` },
      ),
    );
  }

  next.addEventListener('click', async () => {
    const waiting = ap ? ap.groups.filter((g) => !g.switched) : [];
    if (waiting.length) {
      const go = await dialog({
        title: 'Not every client is switched',
        testid: 'unswitched-warning',
        body: [
          h('p', null, 'These consumer groups still have clients that reach a cluster without Ferry:'),
          h('ul', null, waiting.map((g) => h('li', null, h('strong', null, g.group), `: ${[...g.sourceDirect, ...g.targetDirect].join(', ')}`))),
          h('p', null, 'Ferry cannot steer them: their topics will not pass the checks of the first step until they are pointed at ', h('code', null, ap.ferryNamesrv), '.'),
        ],
        actions: [
          { label: 'Stay here', value: false, testid: 'stay' },
          { label: 'Continue anyway', value: true, kind: 'danger', testid: 'continue-anyway' },
        ],
      });
      if (!go) return;
    }
    ctx.go(4);
  });

  fill(
    body,
    error,
    h(
      'section',
      { class: 'card' },
      h('h2', null, 'What clients must change'),
      h(
        'p',
        null,
        'Set every producer’s and consumer’s NameServer address (namesrvAddr, -Drocketmq.namesrv.addr or NAMESRV_ADDR) to Ferry’s, and restart it. Nothing else changes: topics, groups and credentials stay as they are.',
      ),
      address,
    ),
    h('section', { class: 'card' }, h('h2', null, 'Consumer groups: source versus Ferry'), groups),
    h('section', { class: 'card' }, h('h2', null, 'Clients seen through Ferry, per topic'), topics),
    h('div', { class: 'actions' }, next),
  );
  refresh();
  const timer = setInterval(refresh, POLL_MS);
  return () => clearInterval(timer);
}
