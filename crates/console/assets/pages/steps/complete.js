// Step 5, complete: enabled when every topic is Completed; a summary of the migration (its
// clusters, times, topics and every step taken, with who took it and any checks ignored), and
// the way out of Ferry: topics Direct, relays emptied, clients pointed at the target.
// CLI: `ferry migrate complete ID`, `ferry migrate show ID`, `ferry migrate history ID`,
// `ferry migrate leave ID`.

import { get, post } from '../../api.js';
import { badge, dialog, errorBox, fill, fmtTime, h, table } from '../../dom.js';

const POLL_MS = 3000;

export function render(body, ctx) {
  const id = ctx.id;
  const head = h('div', { testid: 'complete-state' });
  const summary = h('div', { testid: 'summary' });
  const history = h('div', { testid: 'history' });
  const leave = h('div', { testid: 'leave' });
  const error = h('div');
  const button = h('button', { type: 'button', class: 'primary', testid: 'complete', disabled: true }, 'Complete the migration');
  let drawn = '';

  button.addEventListener('click', async () => {
    const ok = await dialog({
      title: 'Complete the migration',
      testid: 'complete-dialog',
      body: h('p', null, 'Every topic is Completed: clients read and write the target only, through Ferry. Completing records the end of the migration; routes keep pointing at the target.'),
      actions: [
        { label: 'Cancel', value: false },
        { label: 'Complete', value: true, kind: 'primary', testid: 'complete-confirm' },
      ],
    });
    if (!ok) return;
    try {
      await post(`/api/migrations/${id}/complete`);
      await refresh();
    } catch (e) {
      fill(error, errorBox(e));
    }
  });

  async function refresh() {
    let detail;
    let transitions;
    try {
      detail = await ctx.refresh();
      transitions = (await get(`/api/migrations/${id}/history`)).transitions;
      drawLeave(await get(`/api/migrations/${id}/leave`));
    } catch (e) {
      fill(error, h('div', { class: 'alert error' }, e.message));
      return;
    }
    const signature = JSON.stringify([detail, transitions]);
    if (signature === drawn) return;
    drawn = signature;
    const m = detail.migration;
    const topics = detail.topics;
    const done = topics.filter((t) => t.stage === 'Completed' || t.stage === 'Direct').length;
    const finished = m.status === 'completed';
    button.disabled = finished || topics.length === 0 || done < topics.length;
    button.hidden = finished;
    fill(
      head,
      finished
        ? h('div', { class: 'alert ok' }, h('strong', null, `Migration completed ${fmtTime(m.completedAt)}.`), ' Every client reads and writes the target.')
        : done === topics.length && topics.length
          ? h('div', { class: 'alert ok' }, `All ${topics.length} topics are Completed: the migration can be completed.`)
          : h('div', { class: 'alert warn' }, `${done} of ${topics.length} topics are Completed: the migration can be completed once all are.`),
    );
    const steps = transitions.filter((t) => t.from && t.to && t.from !== t.to);
    const ignored = transitions.filter((t) => t.ignored.length).length;
    fill(
      summary,
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'Status'),
        h('dd', null, badge(finished ? 'Completed' : 'Active', finished ? 'ok' : 'info', 'summary-status')),
        h('dt', null, 'Source'),
        h('dd', null, `${m.source.cluster} (${m.source.namesrv})`),
        h('dt', null, 'Target'),
        h('dd', null, `${m.target.cluster} (${m.target.namesrv})`),
        h('dt', null, 'Clients use'),
        h('dd', null, h('code', null, detail.ferryNamesrv)),
        h('dt', null, 'Started'),
        h('dd', null, fmtTime(m.createdAt)),
        h('dt', null, 'Completed'),
        h('dd', null, fmtTime(m.completedAt)),
        h('dt', null, 'Topics'),
        h('dd', { testid: 'summary-topics' }, `${done} of ${topics.length} Completed`),
        h('dt', null, 'Steps taken'),
        h('dd', { testid: 'summary-steps' }, `${steps.length} (${steps.filter((t) => t.kind === 'rollback').length} rollbacks, ${ignored} with checks ignored)`),
      ),
      table(
        [
          { title: 'Topic', render: (t) => t.topic },
          { title: 'Stage', render: (t) => badge(t.stage, t.stage === 'Completed' || t.stage === 'Direct' ? 'ok' : 'info') },
          { title: 'Groups', render: (t) => t.groups.join(', ') },
          { title: 'Strict order', render: (t) => (t.strictOrder ? 'yes' : 'no') },
          { title: 'Last change', render: (t) => fmtTime(t.updatedAt) },
        ],
        topics,
        { rowTestid: (t) => `summary-${t.topic}` },
      ),
    );
    fill(
      history,
      table(
        [
          { title: 'When', class: 'nowrap', render: (t) => fmtTime(t.at) },
          { title: 'Topic', class: 'nowrap', render: (t) => t.topic },
          { title: 'What', render: (t) => t.kind },
          { title: 'From → to', render: (t) => `${t.from || '—'} → ${t.to || '—'}` },
          { title: 'Who', render: (t) => t.actor },
          {
            title: 'Reason and checks ignored',
            render: (t) => [
              t.reason ? h('div', null, t.reason) : null,
              ...t.ignored.map((c) => h('div', { class: 'warn-text' }, `${c.name}: ${c.detail}`)),
            ],
          },
        ],
        transitions,
        { empty: 'Nothing happened yet.' },
      ),
    );
  }

  let leaveDrawn = '';
  function drawLeave(r) {
    const signature = JSON.stringify(r);
    if (signature === leaveDrawn) return;
    leaveDrawn = signature;
    const kind = r.verdict === 'safe_to_stop' || r.verdict === 'point_clients_at_target' ? 'ok' : 'warn';
    fill(
      leave,
      h('div', { class: `alert ${kind}`, testid: 'leave-verdict', 'data-verdict': r.verdict }, r.say),
      r.relaysInUse.length
        ? table(
            [
              { title: 'Relay', render: (x) => `${x.side} ${x.broker} (port ${x.port})` },
              { title: 'Connections', class: 'num', render: (x) => String(x.connections) },
            ],
            r.relaysInUse,
            { rowTestid: (x) => `relay-${x.port}` },
          )
        : null,
      r.clientsOnRelays.length
        ? table(
            [
              { title: 'Client still on a relay', render: (x) => x.clientId },
              { title: 'Host', render: (x) => x.addr },
              { title: 'Connections', class: 'num', render: (x) => String(x.connections) },
            ],
            r.clientsOnRelays,
          )
        : null,
      h('p', { class: 'hint' }, `Connections asking Ferry for routes: ${r.frontConnections}.`),
    );
  }

  fill(
    body,
    error,
    h('section', { class: 'card' }, head, h('div', { class: 'actions' }, button)),
    h('section', { class: 'card' }, h('h2', null, 'Summary'), summary),
    h('section', { class: 'card' }, h('h2', null, 'Leaving Ferry'), leave),
    h('section', { class: 'card' }, h('h2', null, 'History'), history),
  );
  refresh();
  const timer = setInterval(refresh, POLL_MS);
  return () => clearInterval(timer);
}
