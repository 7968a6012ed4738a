// New metadata import: the target and the mode, a JSON document or an .xlsx workbook (templates
// for 4.x and 5.x targets to download), a preview of the topics, groups and accounts it holds and
// what each would become, every problem of the file before anything is written; then the task.
// CLI: `ferry template --target 4.x`, `ferry import -n NS -c CLUSTER --from FILE --plan`, then
// without `--plan` (`--topics`, `--groups`, `--accounts` for the chosen items).

import { post, fileBase64 } from '../api.js';
import { badge, errorBox, field, fill, h, searchBox, tabs } from '../dom.js';

const ACTION = {
  create: ['Will be created', 'ok'],
  update: ['Will be updated', 'info'],
  unchanged: ['Exists, unchanged', 'neutral'],
  fail: ['Will fail', 'bad'],
};

export function render(main) {
  const namesrv = h('input', { type: 'text', placeholder: '10.0.0.1:9876;10.0.0.2:9876', testid: 'target-namesrv', required: true });
  const cluster = h('input', { type: 'text', placeholder: 'DefaultCluster', testid: 'target-cluster', required: true });
  const acl = h('input', { type: 'checkbox', testid: 'target-acl' });
  const accessKey = h('input', { type: 'text', autocomplete: 'off', testid: 'target-access-key' });
  const secretKey = h('input', { type: 'password', autocomplete: 'new-password', testid: 'target-secret-key' });
  const aclFields = h('div', { class: 'row', hidden: true }, field('Access key', accessKey), field('Secret key', secretKey, 'Sent once with each request, never shown again.'));
  acl.addEventListener('change', () => (aclFields.hidden = !acl.checked));
  const modeCluster = h('input', { type: 'radio', name: 'mode', value: 'cluster', checked: true, testid: 'mode-cluster' });
  const modeNamespace = h('input', { type: 'radio', name: 'mode', value: 'namespace', testid: 'mode-namespace' });
  const namespace = h('input', { type: 'text', placeholder: 'shop', testid: 'namespace', disabled: true });
  for (const r of [modeCluster, modeNamespace]) r.addEventListener('change', () => (namespace.disabled = !modeNamespace.checked));
  const overwrite = h('input', { type: 'checkbox', testid: 'overwrite' });
  overwrite.addEventListener('change', () => file.files[0] && check());
  const file = h('input', { type: 'file', accept: '.json,.xlsx,application/json', testid: 'file' });
  const validRowsOnly = h('input', { type: 'checkbox', testid: 'valid-rows-only' });
  const previewButton = h('button', { type: 'button', testid: 'preview' }, 'Check the file');
  const createButton = h('button', { type: 'button', class: 'primary', disabled: true, testid: 'create-import' }, 'Create the import task');
  const status = h('div', { testid: 'import-status' });
  const result = h('div', { testid: 'preview' });

  // The preview's items and which are chosen, by kind.
  let preview = null;
  const chosen = { topics: new Set(), groups: new Set(), accounts: new Set() };
  let content = null;

  function target() {
    const t = { namesrv: namesrv.value.trim(), cluster: cluster.value.trim() };
    if (acl.checked && accessKey.value.trim()) {
      t.accessKey = accessKey.value.trim();
      t.secretKey = secretKey.value;
    }
    return t;
  }

  function request(selection) {
    const body = {
      file: { name: file.files[0].name, content },
      target: target(),
      mode: modeNamespace.checked ? 'namespace' : 'cluster',
      validRowsOnly: validRowsOnly.checked,
      overwrite: overwrite.checked,
    };
    if (modeNamespace.checked) body.namespace = namespace.value.trim();
    if (selection) Object.assign(body, selection);
    return body;
  }

  async function check() {
    createButton.disabled = true;
    preview = null;
    fill(result);
    if (!file.files[0]) {
      fill(status, h('div', { class: 'alert warn' }, 'Choose a file first.'));
      return;
    }
    if (!namesrv.value.trim() || !cluster.value.trim()) {
      fill(status, h('div', { class: 'alert warn' }, 'Give the target NameServer addresses and cluster first.'));
      return;
    }
    fill(status, h('p', { class: 'muted' }, 'Reading the file and the target…'));
    try {
      content = await fileBase64(file.files[0]);
      preview = await post('/api/imports/preview', request());
    } catch (e) {
      fill(status, errorBox(e));
      return;
    }
    for (const kind of ['topics', 'groups', 'accounts']) {
      chosen[kind] = new Set(preview[kind].filter((i) => i.action !== 'fail').map((i) => i.sourceName));
    }
    showPreview();
  }

  function showPreview() {
    const p = preview;
    if (!p.valid) {
      fill(
        status,
        h(
          'div',
          { class: 'alert error', role: 'alert', testid: 'file-problems' },
          h('strong', null, `${p.problems.length} problem${p.problems.length === 1 ? '' : 's'} in ${p.source}: nothing can be imported until they are fixed.`),
          h('ul', { class: 'problems' }, p.problems.map((x) => h('li', null, x.place ? h('code', null, x.place) : null, ' ', x.problem))),
          p.problems.every((x) => x.rowOnly) ? h('p', null, 'Or tick “Only the valid rows” to import the rows without problems.') : null,
        ),
      );
      return;
    }
    const failing = [...p.topics, ...p.groups, ...p.accounts].filter((i) => i.action === 'fail').length;
    fill(
      status,
      h(
        'div',
        { class: failing || p.problems.length ? 'alert warn' : 'alert ok', testid: 'preview-summary' },
        h('strong', null, `${p.source}: ${p.topics.length} topics, ${p.groups.length} groups, ${p.accounts.length} accounts.`),
        failing ? h('div', null, `${failing} would fail (see their cause): not chosen, but you may choose them to have the failure recorded on the task, as ferry import does.`) : null,
        p.problems.length
          ? h('div', null, `${p.problems.length} rows left out:`, h('ul', { class: 'problems' }, p.problems.map((x) => h('li', null, h('code', null, x.place), ' ', x.problem))))
          : null,
        p.warnings.map((w) => h('div', { class: 'warn-text' }, w)),
      ),
    );
    const panel = h('div');
    const t = tabs(
      [
        { id: 'topics', title: `Topics (${p.topics.length})` },
        { id: 'groups', title: `Groups (${p.groups.length})` },
        { id: 'accounts', title: `Accounts (${p.accounts.length})` },
      ],
      'topics',
      (id) => fill(panel, itemList(id)),
    );
    fill(result, t.el, panel, p.queueMapping ? h('p', { class: 'hint' }, p.queueMapping) : null);
    updateCreate();
  }

  function itemList(kind) {
    const items = preview[kind];
    let query = '';
    const rows = h('tbody');
    const all = h('input', { type: 'checkbox', 'aria-label': 'Choose all shown', testid: `all-${kind}` });
    const shown = () => items.filter((i) => !query || i.sourceName.toLowerCase().includes(query) || i.targetName.toLowerCase().includes(query));
    function draw() {
      const list = shown();
      const selectable = list.filter((i) => i.action !== 'fail');
      all.checked = selectable.length > 0 && selectable.every((i) => chosen[kind].has(i.sourceName));
      fill(
        rows,
        list.length === 0
          ? h('tr', null, h('td', { colspan: '6', class: 'empty' }, items.length ? 'Nothing matches.' : 'The file has none.'))
          : list.map((i) =>
              h(
                'tr',
                { testid: `row-${kind}-${i.sourceName}` },
                h(
                  'td',
                  null,
                  h('input', {
                    type: 'checkbox',
                    'aria-label': `Import ${i.sourceName}`,
                    checked: chosen[kind].has(i.sourceName),
                    onchange: (e) => {
                      if (e.target.checked) chosen[kind].add(i.sourceName);
                      else chosen[kind].delete(i.sourceName);
                      draw();
                      updateCreate();
                    },
                  }),
                ),
                h('td', null, i.sourceName, i.targetName !== i.sourceName ? h('div', { class: 'hint' }, '→ ', i.targetName) : null),
                h('td', null, details(kind, i)),
                h('td', null, i.namespace),
                h('td', null, badge(...ACTION[i.action])),
                h(
                  'td',
                  null,
                  i.cause ? h('div', { class: 'error-text' }, i.cause) : null,
                  (i.differences || []).map((d) => h('div', null, d)),
                  i.warnings.map((w) => h('div', { class: 'warn-text' }, w)),
                ),
              ),
            ),
      );
    }
    all.addEventListener('change', () => {
      for (const i of shown()) {
        if (i.action === 'fail') continue;
        if (all.checked) chosen[kind].add(i.sourceName);
        else chosen[kind].delete(i.sourceName);
      }
      draw();
      updateCreate();
    });
    draw();
    const headers = ['', 'Name', kind === 'topics' ? 'Queues (read/write), order' : kind === 'groups' ? 'Consumption' : 'Kind', 'Namespace', 'Result', 'Cause and warnings'];
    return h(
      'div',
      null,
      h('div', { class: 'toolbar' }, searchBox(`Search ${kind}`, (q) => {
        query = q;
        draw();
      }, `search-${kind}`)),
      h('table', { class: 'grid', testid: `items-${kind}` }, h('thead', null, h('tr', null, headers.map((x, n) => h('th', null, n === 0 ? all : x)))), rows),
    );
  }

  function details(kind, i) {
    if (kind === 'topics' && i.topic) {
      return `${i.topic.readQueueNums}/${i.topic.writeQueueNums}${i.topic.order ? ', ordered' : ''}${i.topic.messageType ? `, ${i.topic.messageType}` : ''}`;
    }
    if (kind === 'groups' && i.group) {
      return `${i.group.consumeOrderly ? 'orderly' : 'concurrent'}${i.group.broadcast ? '' : ', clustering only'}, retries ${i.group.retryMaxTimes}`;
    }
    if (kind === 'accounts') return i.admin ? 'admin' : 'user';
    return '';
  }

  function updateCreate() {
    const n = chosen.topics.size + chosen.groups.size + chosen.accounts.size;
    createButton.disabled = !preview || !preview.valid || n === 0;
    createButton.textContent = n ? `Create the import task (${n} items)` : 'Create the import task';
  }

  async function create() {
    createButton.disabled = true;
    try {
      const answer = await post('/api/imports', request({
        topics: [...chosen.topics],
        groups: [...chosen.groups],
        accounts: [...chosen.accounts],
      }));
      secretKey.value = '';
      location.hash = `#/tasks/${answer.task.id}`;
    } catch (e) {
      fill(status, errorBox(e));
      updateCreate();
    }
  }

  // A preview holds for the target and mode it was made with: a change asks for a new one.
  for (const input of [namesrv, cluster, acl, accessKey, secretKey, modeCluster, modeNamespace, namespace]) {
    input.addEventListener('input', () => {
      if (!preview) return;
      preview = null;
      createButton.disabled = true;
      fill(result);
      fill(status, h('div', { class: 'alert warn' }, 'The target or the mode changed: check the file again.'));
    });
  }
  previewButton.addEventListener('click', check);
  createButton.addEventListener('click', create);
  file.addEventListener('change', check);
  validRowsOnly.addEventListener('change', () => file.files[0] && check());

  fill(
    main,
    h('h1', null, 'New metadata import'),
    h(
      'section',
      { class: 'card' },
      h('h2', null, '1. Target'),
      h('div', { class: 'row' }, field('NameServer addresses', namesrv), field('Cluster', cluster)),
      h('label', { class: 'inline' }, acl, ' The target has ACL enabled'),
      aclFields,
      h(
        'div',
        { class: 'row' },
        h('label', { class: 'inline' }, modeCluster, ' To the cluster: names keep their namespace'),
        h('label', { class: 'inline' }, modeNamespace, ' To a namespace: '),
        namespace,
      ),
      h('label', { class: 'inline' }, overwrite, ' Update items the target has with other settings (otherwise they fail, showing both sides)'),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', null, '2. File'),
      h(
        'p',
        { class: 'muted' },
        'A metadata document (ferry export, Apache export.sh or mqadmin exportMetadata JSON) or an .xlsx workbook. Templates to fill in: ',
        h('a', { href: '/api/templates/4.x.xlsx', download: 'ferry-template-4.x.xlsx', testid: 'template-4' }, '4.x target'),
        ', ',
        h('a', { href: '/api/templates/5.x.xlsx', download: 'ferry-template-5.x.xlsx', testid: 'template-5' }, '5.x target'),
        '.',
      ),
      h('div', { class: 'row' }, file, h('label', { class: 'inline' }, validRowsOnly, ' Only the valid rows (a workbook’s bad rows are left out and listed)'), previewButton),
    ),
    h('section', { class: 'card' }, h('h2', null, '3. Preview'), status, result, h('div', { class: 'actions' }, createButton)),
  );
}
