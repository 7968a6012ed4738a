// Migration tasks: the seamless migrations and the metadata import tasks, with their status,
// counts and creation time, filtered by status and refreshed live; and one import task's items.
// CLI: `ferry migrate list`, `ferry tasks`, `ferry task show ID [--status S]`.

import { get } from '../api.js';
import { badge, fill, fmtTime, h, table } from '../dom.js';

const POLL_MS = 3000;

const TASK_STATUS = {
  running: ['Running', 'info'],
  succeeded: ['Succeeded', 'ok'],
  someFailed: ['Some failed', 'warn'],
  allFailed: ['All failed', 'bad'],
};

const ITEM_STATUS = {
  created: ['Created', 'ok'],
  updated: ['Updated', 'ok'],
  unchanged: ['Exists, unchanged', 'neutral'],
  failed: ['Failed', 'bad'],
};

function counts(c) {
  if (!c || c.total === 0) return '—';
  return `${c.succeeded}/${c.total}` + (c.failed ? ` (${c.failed} failed)` : '');
}

function select(options, value, onChange, testid) {
  return h(
    'select',
    { testid, onchange: (e) => onChange(e.target.value) },
    options.map(([v, label]) => h('option', { value: v, selected: v === value ? true : undefined }, label)),
  );
}

export function render(main) {
  let migrationStatus = '';
  let taskStatus = '';
  const migrations = h('div', { testid: 'migrations' });
  const tasks = h('div', { testid: 'tasks' });
  const error = h('div');
  fill(
    main,
    h('h1', null, 'Migration tasks'),
    error,
    h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'toolbar' },
        h('h2', null, 'Seamless migrations'),
        h('div', { class: 'spacer' }),
        h('label', { class: 'inline' }, 'Status ', select([['', 'All'], ['active', 'Active'], ['completed', 'Completed']], '', (v) => {
          migrationStatus = v;
          refresh();
        }, 'migration-status-filter')),
        h('a', { class: 'button primary', href: '#/migrations/new' }, 'New seamless migration'),
      ),
      migrations,
    ),
    h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'toolbar' },
        h('h2', null, 'Metadata import tasks'),
        h('div', { class: 'spacer' }),
        h('label', { class: 'inline' }, 'Status ', select([['', 'All'], ...Object.entries(TASK_STATUS).map(([k, [label]]) => [k, label])], '', (v) => {
          taskStatus = v;
          refresh();
        }, 'task-status-filter')),
        h('a', { class: 'button primary', href: '#/import' }, 'New metadata import'),
      ),
      tasks,
    ),
  );

  async function refresh() {
    try {
      const [m, t] = await Promise.all([
        get(`/api/migrations${migrationStatus ? `?status=${migrationStatus}` : ''}`),
        get(`/api/tasks${taskStatus ? `?status=${taskStatus}` : ''}`),
      ]);
      fill(error);
      fill(
        migrations,
        table(
          [
            { title: 'Name', render: (r) => h('a', { href: `#/migrations/${r.id}` }, r.name) },
            { title: 'Source', render: (r) => `${r.source.cluster} (${r.source.namesrv})` },
            { title: 'Target', render: (r) => `${r.target.cluster} (${r.target.namesrv})` },
            { title: 'Status', render: (r) => badge(r.status === 'active' ? 'Active' : 'Completed', r.status === 'active' ? 'info' : 'ok') },
            { title: 'Topics Completed', class: 'num', render: (r) => `${r.completedTopics}/${r.topicCount}` },
            { title: 'Created', class: 'nowrap', render: (r) => fmtTime(r.createdAt) },
          ],
          m.migrations,
          { empty: 'No seamless migration yet.', rowTestid: (r) => `migration-${r.id}` },
        ),
      );
      fill(
        tasks,
        table(
          [
            { title: 'Task', render: (r) => h('a', { href: `#/tasks/${r.id}` }, `#${r.id}`) },
            { title: 'Target', render: (r) => `${r.targetCluster} (${r.targetNamesrv})` },
            { title: 'Source', render: (r) => r.source },
            { title: 'Mode', render: (r) => r.mode },
            { title: 'Status', render: (r) => badge(...(TASK_STATUS[r.status] || [r.status, 'neutral'])) },
            { title: 'Topics', class: 'num', render: (r) => counts(r.topics) },
            { title: 'Groups', class: 'num', render: (r) => counts(r.groups) },
            { title: 'Accounts', class: 'num', render: (r) => counts(r.accounts) },
            { title: 'Created', class: 'nowrap', render: (r) => fmtTime(r.createdAt) },
          ],
          t.tasks,
          { empty: 'No import task yet.', rowTestid: (r) => `task-${r.id}` },
        ),
      );
    } catch (e) {
      fill(error, h('div', { class: 'alert error' }, e.message));
    }
  }

  refresh();
  const timer = setInterval(refresh, POLL_MS);
  return () => clearInterval(timer);
}

export function renderTask(main, { id }) {
  let status = '';
  const summary = h('div', { testid: 'task-summary' });
  const items = h('div', { testid: 'task-items' });
  const error = h('div');
  fill(
    main,
    h('p', null, h('a', { href: '#/tasks' }, '← Migration tasks')),
    h('h1', null, `Import task #${id}`),
    error,
    h('section', { class: 'card' }, summary),
    h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'toolbar' },
        h('h2', null, 'Items'),
        h('div', { class: 'spacer' }),
        h('label', { class: 'inline' }, 'Status ', select([['', 'All'], ...Object.entries(ITEM_STATUS).map(([k, [label]]) => [k, label])], '', (v) => {
          status = v;
          refresh();
        }, 'item-status-filter')),
      ),
      items,
    ),
  );
  let timer = null;

  async function refresh() {
    try {
      const t = await get(`/api/tasks/${id}${status ? `?status=${status}` : ''}`);
      const task = t.task;
      fill(error);
      fill(
        summary,
        h(
          'dl',
          { class: 'facts' },
          h('dt', null, 'Status'),
          h('dd', null, badge(...(TASK_STATUS[task.status] || [task.status, 'neutral']), 'task-status')),
          h('dt', null, 'Target'),
          h('dd', null, `${task.targetCluster} (${task.targetNamesrv})`),
          h('dt', null, 'Source'),
          h('dd', null, task.source),
          h('dt', null, 'Mode'),
          h('dd', null, task.mode),
          h('dt', null, 'Topics'),
          h('dd', null, counts(task.topics)),
          h('dt', null, 'Groups'),
          h('dd', null, counts(task.groups)),
          h('dt', null, 'Accounts'),
          h('dd', null, counts(task.accounts)),
          h('dt', null, 'Created'),
          h('dd', null, fmtTime(task.createdAt)),
          h('dt', null, 'Finished'),
          h('dd', null, fmtTime(task.finishedAt)),
        ),
      );
      fill(
        items,
        table(
          [
            { title: 'Kind', render: (r) => r.kind },
            { title: 'Source name', render: (r) => r.sourceName },
            { title: 'Target name', render: (r) => h('code', null, r.targetName) },
            { title: 'Namespace', render: (r) => r.namespace },
            { title: 'Status', render: (r) => badge(...(ITEM_STATUS[r.status] || [r.status, 'neutral'])) },
            {
              title: 'Cause and warnings',
              render: (r) => [
                r.cause ? h('div', { class: 'error-text' }, r.cause) : null,
                ...(r.warnings || []).map((w) => h('div', { class: 'warn-text' }, w)),
              ],
            },
            { title: 'Updated', class: 'nowrap', render: (r) => fmtTime(r.updatedAt) },
          ],
          t.items,
          { empty: task.status === 'running' ? 'Working…' : 'No items.', rowTestid: (r) => `item-${r.kind}-${r.targetName}` },
        ),
      );
      if (task.status !== 'running' && timer) {
        clearInterval(timer);
        timer = null;
      }
    } catch (e) {
      fill(error, h('div', { class: 'alert error' }, e.message));
    }
  }
  refresh();
  timer = setInterval(refresh, POLL_MS);
  return () => timer && clearInterval(timer);
}
