// Step 2, metadata import: the source's topics and groups read live, each with its status
// ("to be imported after confirmation" or "imported"), queue-number warnings and the target's
// objections; refresh, confirm one or many (a topic joins the migration at Initial after its
// metadata and its groups' are imported; a group is imported), add a topic by hand, remove one
// still at Initial.
// CLI: `ferry import --source-namesrv ... --plan`, `ferry migrate add-topic ID TOPIC --group G`,
// `ferry import --source-namesrv ... --groups G --no-topics --no-accounts`, `ferry migrate remove-topic`.

import { del, get, post, seg } from '../../api.js';
import { badge, errorBox, field, fill, h, searchBox, tabs, toast } from '../../dom.js';

const STATUS = {
  imported: ['Imported', 'ok'],
  to_import: ['To be imported after confirmation', 'warn'],
};

function notes(plan) {
  return [
    plan.cause ? h('div', { class: 'error-text' }, plan.cause) : null,
    ...plan.warnings.map((w) => h('div', { class: 'warn-text' }, '⚠ ', w)),
  ];
}

export function render(body, ctx) {
  const id = ctx.id;
  let view = null;
  let kind = 'topics';
  let query = '';
  const chosen = { topics: new Set(), groups: new Set() };
  const status = h('div', { testid: 'metadata-status' });
  const panel = h('div');
  const results = h('div', { testid: 'confirm-result' });
  const refreshButton = h('button', { type: 'button', testid: 'refresh', onclick: () => load() }, 'Refresh');
  const confirmButton = h('button', { type: 'button', class: 'primary', testid: 'confirm', disabled: true, onclick: () => confirm() }, 'Confirm the import');
  const search = searchBox('Search by name', (q) => {
    query = q;
    draw();
  });
  const t = tabs(
    [
      { id: 'topics', title: 'Topics' },
      { id: 'groups', title: 'Groups' },
    ],
    'topics',
    (k) => {
      kind = k;
      draw();
    },
  );

  const byHand = h('input', { type: 'text', placeholder: 'topic name', testid: 'manual-topic' });
  const byHandGroups = h('input', { type: 'text', placeholder: 'group-a, group-b (default: groups with offsets on the source)', testid: 'manual-groups' });
  const byHandStrict = h('input', { type: 'checkbox', testid: 'manual-strict' });
  const byHandError = h('div');
  const next = h('button', { type: 'button', class: 'primary', testid: 'next', onclick: () => ctx.go(3) }, 'Next: access point');

  async function load() {
    refreshButton.disabled = true;
    fill(status, h('p', { class: 'muted' }, 'Reading the source and the target…'));
    try {
      view = await get(`/api/migrations/${id}/source`);
      fill(
        status,
        h('p', { class: 'muted', testid: 'source-summary' }, `${view.topics.length} topics and ${view.groups.length} groups on ${view.source}.`),
        view.warnings.map((w) => h('div', { class: 'alert warn' }, w)),
      );
      for (const k of ['topics', 'groups']) {
        const names = new Set(view[k].map((x) => (k === 'topics' ? x.topic : x.group)));
        for (const n of [...chosen[k]]) if (!names.has(n)) chosen[k].delete(n);
      }
      next.disabled = !view.topics.some((r) => r.stage);
      t.rename('topics', `Topics (${view.topics.length})`);
      t.rename('groups', `Groups (${view.groups.length})`);
      draw();
    } catch (e) {
      fill(status, errorBox(e));
    } finally {
      refreshButton.disabled = false;
    }
  }

  function selectable(row) {
    return kind === 'topics' ? !row.stage : row.status !== 'imported';
  }

  function draw() {
    if (!view) return;
    const rows = view[kind].filter((r) => !query || (r.topic || r.group).toLowerCase().includes(query));
    const set = chosen[kind];
    const all = h('input', {
      type: 'checkbox',
      'aria-label': 'Choose all shown',
      testid: `all-${kind}`,
      checked: rows.some(selectable) && rows.filter(selectable).every((r) => set.has(r.topic || r.group)),
      onchange: (e) => {
        for (const r of rows.filter(selectable)) {
          if (e.target.checked) set.add(r.topic || r.group);
          else set.delete(r.topic || r.group);
        }
        draw();
      },
    });
    const check = (name, row) =>
      h('input', {
        type: 'checkbox',
        'aria-label': `Choose ${name}`,
        checked: set.has(name),
        disabled: !selectable(row),
        onchange: (e) => {
          if (e.target.checked) set.add(name);
          else set.delete(name);
          draw();
        },
      });
    let head;
    let lines;
    if (kind === 'topics') {
      head = [all, 'Topic', 'Queues (read/write)', 'Consumer groups', 'Status', 'Migration', 'Notes', ''];
      lines = rows.map((r) =>
        h(
          'tr',
          { testid: `topic-${r.topic}` },
          h('td', null, check(r.topic, r)),
          h('td', null, r.topic, r.plan.topic && r.plan.topic.order ? h('div', { class: 'hint' }, 'ordered') : null),
          h('td', { class: 'num' }, r.plan.topic ? `${r.plan.topic.readQueueNums}/${r.plan.topic.writeQueueNums}` : '—'),
          h('td', null, (r.stage ? r.groups : r.consumerGroups).join(', ') || h('span', { class: 'muted' }, 'none seen')),
          h('td', null, badge(...STATUS[r.status], `status-${r.topic}`)),
          h('td', null, r.stage ? badge(r.stage, 'info') : h('span', { class: 'muted' }, 'not in it')),
          h('td', null, notes(r.plan)),
          h('td', null, r.stage === 'Initial' ? h('button', { type: 'button', class: 'small', onclick: () => remove(r.topic) }, 'Remove') : null),
        ),
      );
    } else {
      head = [all, 'Group', 'Consumes (on the source)', 'Status', 'Notes'];
      lines = rows.map((r) =>
        h(
          'tr',
          { testid: `group-${r.group}` },
          h('td', null, check(r.group, r)),
          h('td', null, r.group),
          h('td', null, r.topics.join(', ') || h('span', { class: 'muted' }, 'nothing yet')),
          h('td', null, badge(...STATUS[r.status], `status-${r.group}`)),
          h('td', null, notes(r.plan)),
        ),
      );
    }
    fill(
      panel,
      h(
        'table',
        { class: 'grid', testid: `source-${kind}` },
        h('thead', null, h('tr', null, head.map((x) => h('th', null, x)))),
        h('tbody', null, lines.length ? lines : h('tr', null, h('td', { class: 'empty', colspan: String(head.length) }, 'Nothing matches.'))),
      ),
    );
    const n = set.size;
    confirmButton.disabled = n === 0;
    confirmButton.textContent = n ? `Confirm the import (${n})` : 'Confirm the import';
  }

  async function confirm() {
    confirmButton.disabled = true;
    fill(results, h('p', { class: 'muted' }, 'Importing…'));
    try {
      if (kind === 'topics') {
        const names = [...chosen.topics];
        const list = names.map((topic) => {
          const row = view.topics.find((r) => r.topic === topic);
          return row && row.consumerGroups.length ? { topic, groups: row.consumerGroups } : { topic };
        });
        const added = await post(`/api/migrations/${id}/topics`, list);
        chosen.topics.clear();
        showImport(`Added to the migration at Initial: ${added.added.join(', ') || 'none'}`, added.importTask, added.items);
      } else {
        const answer = await post('/api/imports', { migration: Number(id), topics: [], groups: [...chosen.groups], accounts: [] });
        chosen.groups.clear();
        fill(results, h('div', { class: 'alert ok' }, 'Importing the groups: ', h('a', { href: `#/tasks/${answer.task.id}` }, `import task #${answer.task.id}`), '.'));
        setTimeout(load, 1500);
      }
      await ctx.refresh();
      await load();
    } catch (e) {
      fill(results, errorBox(e));
      draw();
    }
  }

  function showImport(title, task, items) {
    const failed = items.filter((i) => i.outcome.status === 'failed');
    fill(
      results,
      h(
        'div',
        { class: failed.length ? 'alert warn' : 'alert ok' },
        h('strong', null, title),
        h('div', null, `Metadata: `, h('a', { href: `#/tasks/${task}` }, `import task #${task}`), `, ${items.length - failed.length} of ${items.length} items imported.`),
        failed.map((i) => h('div', { class: 'error-text' }, `${i.targetName}: ${i.outcome.cause}`)),
      ),
    );
  }

  async function remove(topic) {
    try {
      await del(`/api/migrations/${id}/topics/${seg(topic)}`);
      toast(`${topic} removed from the migration.`);
      await ctx.refresh();
      await load();
    } catch (e) {
      fill(results, errorBox(e));
    }
  }

  async function addByHand(e) {
    e.preventDefault();
    fill(byHandError);
    const topic = byHand.value.trim();
    if (!topic) return;
    const groups = byHandGroups.value.split(',').map((g) => g.trim()).filter(Boolean);
    const item = { topic, strictOrder: byHandStrict.checked };
    if (groups.length) item.groups = groups;
    try {
      const added = await post(`/api/migrations/${id}/topics`, [item]);
      byHand.value = '';
      byHandGroups.value = '';
      showImport(`Added by hand: ${added.added.join(', ') || `${topic} was already in the migration`}`, added.importTask, added.items);
      await ctx.refresh();
      await load();
    } catch (err) {
      fill(byHandError, errorBox(err));
    }
  }

  fill(
    body,
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'toolbar' }, t.el, h('div', { class: 'spacer' }), search, refreshButton),
      status,
      panel,
      results,
      h('div', { class: 'actions' }, confirmButton),
    ),
    h(
      'form',
      { class: 'card', onsubmit: addByHand },
      h('h2', null, 'Add a topic by hand'),
      h('p', { class: 'muted' }, 'A topic the list does not show (created after the last refresh, say). Its metadata is imported from the source first.'),
      h('div', { class: 'row' }, field('Topic', byHand), field('Consumer groups', byHandGroups), h('label', { class: 'inline' }, byHandStrict, ' Strict order')),
      byHandError,
      h('div', { class: 'actions' }, h('button', { type: 'submit', testid: 'add-by-hand' }, 'Add')),
    ),
    h('div', { class: 'actions' }, next),
  );
  next.disabled = ctx.detail.topics.length === 0;
  load();
  return null;
}
