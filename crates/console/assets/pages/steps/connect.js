// Step 1, connect to the source: NameServer addresses, the cluster, ACL credentials if enabled,
// and the target the same way. Ferry contacts both before it records the migration; what goes
// wrong is said in words. Secret keys are typed into password fields and never shown again.
// CLI: `ferry migrate create --name N --source-namesrv ... --source-cluster ... --target-...`.

import { post } from '../../api.js';
import { errorBox, field, fill, fmtTime, h } from '../../dom.js';

function clusterFields(side) {
  const namesrv = h('input', { type: 'text', placeholder: '10.0.0.1:9876;10.0.0.2:9876', testid: `${side}-namesrv`, required: true });
  const cluster = h('input', { type: 'text', placeholder: 'DefaultCluster', testid: `${side}-cluster`, required: true });
  const acl = h('input', { type: 'checkbox', testid: `${side}-acl` });
  const accessKey = h('input', { type: 'text', autocomplete: 'off', testid: `${side}-access-key` });
  const secretKey = h('input', { type: 'password', autocomplete: 'new-password', testid: `${side}-secret-key` });
  const aclFields = h('div', { class: 'row', hidden: true }, field('Access key', accessKey), field('Secret key', secretKey, 'Kept by Ferry for its checks, never shown again.'));
  acl.addEventListener('change', () => (aclFields.hidden = !acl.checked));
  return {
    el: h(
      'div',
      null,
      h('div', { class: 'row' }, field('NameServer addresses', namesrv, 'host:port, several separated by ;'), field('Cluster', cluster)),
      h('label', { class: 'inline' }, acl, ' ACL is enabled on this cluster'),
      aclFields,
    ),
    value() {
      const v = { namesrv: namesrv.value.trim(), cluster: cluster.value.trim() };
      if (acl.checked) {
        v.accessKey = accessKey.value.trim();
        v.secretKey = secretKey.value;
      }
      return v;
    },
    forget() {
      secretKey.value = '';
    },
  };
}

function endpoint(e) {
  return [
    h('dt', null, 'NameServer'),
    h('dd', null, h('code', null, e.namesrv)),
    h('dt', null, 'Cluster'),
    h('dd', null, e.cluster),
    h('dt', null, 'ACL'),
    h('dd', null, e.accessKey ? `access key ${e.accessKey}, secret key kept by Ferry (not shown)` : 'not used'),
  ];
}

export function render(body, ctx) {
  if (ctx.id) {
    const m = ctx.detail.migration;
    fill(
      body,
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'Connected'),
        h('p', { class: 'muted' }, 'Ferry reached both clusters when the migration was created, and fronts the source for clients.'),
        h('div', { class: 'columns' },
          h('div', null, h('h3', null, 'Source'), h('dl', { class: 'facts', testid: 'source-facts' }, endpoint(m.source))),
          h('div', null, h('h3', null, 'Target'), h('dl', { class: 'facts', testid: 'target-facts' }, endpoint(m.target))),
        ),
        h('p', null, 'Created ', fmtTime(m.createdAt), '.'),
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => ctx.go(2) }, 'Next: metadata import')),
      ),
    );
    return null;
  }
  const name = h('input', { type: 'text', placeholder: 'orders to the new cluster', testid: 'migration-name-input', required: true });
  const source = clusterFields('source');
  const target = clusterFields('target');
  const error = h('div');
  const submit = h('button', { type: 'submit', class: 'primary', testid: 'connect' }, 'Connect');
  fill(
    body,
    h(
      'form',
      {
        class: 'card',
        onsubmit: async (e) => {
          e.preventDefault();
          fill(error);
          submit.disabled = true;
          submit.textContent = 'Connecting…';
          try {
            const m = await post('/api/migrations', { name: name.value.trim(), source: source.value(), target: target.value() });
            source.forget();
            target.forget();
            location.hash = `#/migrations/${m.id}/2`;
          } catch (err) {
            fill(error, errorBox(err, 'connect-error'));
          } finally {
            submit.disabled = false;
            submit.textContent = 'Connect';
          }
        },
      },
      field('Name', name),
      h('h2', null, 'Source cluster'),
      h('p', { class: 'muted' }, 'The cluster clients use today.'),
      source.el,
      h('h2', null, 'Target cluster'),
      h('p', { class: 'muted' }, 'The cluster they move to.'),
      target.el,
      error,
      h('div', { class: 'actions' }, submit),
    ),
  );
  return null;
}
