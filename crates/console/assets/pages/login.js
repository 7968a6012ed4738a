// The login: the API token (from ferry.toml's [api] token, or printed by the first `ferry serve`).

import { post, actor, setActor } from '../api.js';
import { fill, h } from '../dom.js';

export function render(main, onLoggedIn) {
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true, testid: 'token' });
  const name = h('input', { type: 'text', name: 'actor', value: actor() === 'console' ? '' : actor(), placeholder: 'console', testid: 'actor' });
  const error = h('div', { class: 'alert error', role: 'alert', hidden: true, testid: 'login-error' });
  const submit = h('button', { type: 'submit', class: 'primary', testid: 'login' }, 'Log in');
  const form = h(
    'form',
    {
      class: 'card login',
      onsubmit: async (e) => {
        e.preventDefault();
        error.hidden = true;
        submit.disabled = true;
        try {
          const session = await post('/api/login', { token: token.value.trim() });
          setActor(name.value);
          token.value = '';
          onLoggedIn(session);
        } catch (err) {
          fill(error, err.status === 401 ? 'Wrong API token.' : err.message);
          error.hidden = false;
          token.select();
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h1', null, 'Log in to Ferry'),
    h(
      'p',
      { class: 'muted' },
      'Use the API token: [api] token in ferry.toml, or the one the first ',
      h('code', null, 'ferry serve'),
      ' printed.',
    ),
    h('label', { class: 'field' }, h('span', { class: 'label' }, 'API token'), token),
    h('label', { class: 'field' }, h('span', { class: 'label' }, 'Your name'), name, h('span', { class: 'hint' }, 'Recorded with every step you take.')),
    error,
    h('div', { class: 'actions' }, submit),
  );
  fill(main, form);
  token.focus();
}
