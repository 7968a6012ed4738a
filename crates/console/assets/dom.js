// Small helpers to build the pages: elements, tables, tabs, dialogs, badges, times. No framework.

/**
 * An element: h('button', {class: 'primary', onclick: fn, testid: 'go'}, 'Go').
 * Props: class, text, testid (data-testid), on<event> handlers, hidden/disabled/checked/value and
 * any other attribute. Children: nodes, strings, arrays, null (skipped).
 */
export function h(tag, props, ...children) {
  const svg = ['svg', 'g', 'path', 'polyline', 'line', 'text', 'rect', 'circle', 'title'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden' || k === 'indeterminate') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

export function badge(text, kind = 'neutral', testid) {
  return h('span', { class: `badge ${kind}`, testid }, text);
}

/** `2025-01-31 14:03:12` in local time. */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = typeof iso === 'number' ? new Date(iso) : new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `3 s ago`, `5 min ago`. */
export function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function fmtRate(v) {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * A table. columns: [{title, render(row) -> node|string, class}]; rows: array; options: {empty,
 * testid, rowTestid(row), rowClass(row)}.
 */
export function table(columns, rows, options = {}) {
  const head = h('thead', null, h('tr', null, columns.map((c) => h('th', { class: c.class }, c.title))));
  const body = h(
    'tbody',
    null,
    rows.length === 0
      ? h('tr', null, h('td', { class: 'empty', colspan: String(columns.length) }, options.empty || 'Nothing here.'))
      : rows.map((row) =>
          h(
            'tr',
            { testid: options.rowTestid && options.rowTestid(row), class: options.rowClass && options.rowClass(row) },
            columns.map((c) => h('td', { class: c.class }, c.render(row))),
          ),
        ),
  );
  return h('table', { class: 'grid', testid: options.testid }, head, body);
}

/** Tabs: [{id, title}]; calls onChange(id) and marks the active one. Returns {el, set(id)}. */
export function tabs(items, active, onChange) {
  const buttons = items.map((t) =>
    h('button', { type: 'button', role: 'tab', class: 'tab', testid: `tab-${t.id}`, onclick: () => set(t.id) }, t.title),
  );
  const el = h('div', { class: 'tabs', role: 'tablist' }, buttons);
  function set(id) {
    items.forEach((t, i) => {
      buttons[i].classList.toggle('active', t.id === id);
      buttons[i].setAttribute('aria-selected', String(t.id === id));
    });
    onChange(id);
  }
  function rename(id, title) {
    const i = items.findIndex((t) => t.id === id);
    if (i >= 0) buttons[i].textContent = title;
  }
  queueMicrotask(() => set(active));
  return { el, set, rename };
}

/**
 * A dialog. body: node(s); actions: [{label, kind, value, testid}]. Resolves with the value of the
 * action chosen (`null` for Escape). `validate(value)` may return an error text to keep it open.
 */
export function dialog({ title, body, actions, validate, testid }) {
  return new Promise((resolve) => {
    const error = h('p', { class: 'error-text', hidden: true });
    const close = (value) => {
      backdrop.remove();
      document.removeEventListener('keydown', onKey);
      resolve(value);
    };
    const onKey = (e) => {
      if (e.key === 'Escape') close(null);
    };
    const buttons = actions.map((a) =>
      h(
        'button',
        {
          type: 'button',
          class: a.kind || '',
          testid: a.testid,
          onclick: () => {
            const problem = validate && a.value !== null ? validate(a.value) : null;
            if (problem) {
              fill(error, problem);
              error.hidden = false;
              return;
            }
            close(a.value);
          },
        },
        a.label,
      ),
    );
    const box = h(
      'div',
      { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-label': title, testid },
      h('h2', null, title),
      h('div', { class: 'dialog-body' }, body),
      error,
      h('div', { class: 'actions' }, buttons),
    );
    const backdrop = h('div', { class: 'backdrop' }, box);
    document.body.append(backdrop);
    document.addEventListener('keydown', onKey);
    const focus = box.querySelector('input, textarea') || buttons[buttons.length - 1];
    if (focus) focus.focus();
  });
}

/** A short message in the corner. */
export function toast(text, kind = 'ok') {
  const el = h('div', { class: `toast ${kind}`, role: 'status' }, text);
  document.getElementById('toasts').append(el);
  setTimeout(() => el.remove(), 6000);
}

/** An error from the API, in words (with a blocked step's failing checks, a file's problems). */
export function errorBox(err, testid = 'error') {
  const body = (err && err.body) || {};
  const failing = body.report ? body.report.checks.filter((c) => !c.passed) : [];
  // A blocked step: "topic: cannot move from A to B", then each failing check on its own line.
  const message = err.message || String(err);
  const title = failing.length ? message.split(': ').slice(0, 2).join(': ') : message;
  return h(
    'div',
    { class: 'alert error', role: 'alert', testid },
    h('strong', null, title),
    failing.length
      ? h('ul', { class: 'checks' }, failing.map((c) => h('li', null, h('code', null, c.name), ' ', c.detail)))
      : null,
    body.problems && body.problems.length
      ? h('ul', { class: 'problems' }, body.problems.map((p) => h('li', null, p.place ? h('code', null, p.place) : null, ' ', p.problem)))
      : null,
  );
}

/** A search box that calls onInput(text) as the operator types. */
export function searchBox(placeholder, onInput, testid = 'search') {
  return h('input', {
    type: 'search',
    class: 'search',
    placeholder,
    testid,
    'aria-label': placeholder,
    oninput: (e) => onInput(e.target.value.trim().toLowerCase()),
  });
}

/** A labelled form field. */
export function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), input, hint ? h('span', { class: 'hint' }, hint) : null);
}
