// The console's shell: the login, the navigation and a hash router. Each page module exports
// `render(main, params)`, which may return a cleanup function (the router calls it on leaving, to
// stop the page's polling).

import { get, post, setCsrf, onLoggedOut } from './api.js';
import { fill, h, toast } from './dom.js';
import * as login from './pages/login.js';
import * as tasks from './pages/tasks.js';
import * as importPage from './pages/import.js';
import * as migration from './pages/migration.js';

const main = document.getElementById('app');
const nav = document.getElementById('nav');
const logout = document.getElementById('logout');
let cleanup = null;
let loggedIn = false;

const routes = [
  [/^#\/tasks\/(\d+)$/, (m) => tasks.renderTask(main, { id: m[1] }), 'tasks'],
  [/^#\/tasks$/, () => tasks.render(main), 'tasks'],
  [/^#\/import$/, () => importPage.render(main), 'import'],
  [/^#\/migrations\/new$/, () => migration.render(main, { id: null, step: 1 }), 'migrations'],
  [/^#\/migrations\/(\d+)(?:\/(\d))?$/, (m) => migration.render(main, { id: m[1], step: m[2] ? Number(m[2]) : null }), 'migrations'],
];

function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  if (!loggedIn) {
    showLogin();
    return;
  }
  const hash = location.hash || '#/tasks';
  for (const [pattern, page, section] of routes) {
    const m = hash.match(pattern);
    if (m) {
      for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.nav === section);
      cleanup = page(m) || null;
      return;
    }
  }
  location.hash = '#/tasks';
}

function showLogin() {
  nav.hidden = true;
  logout.hidden = true;
  cleanup = login.render(main, async (session) => {
    setCsrf(session.csrfToken);
    enter();
  });
}

function enter() {
  loggedIn = true;
  nav.hidden = false;
  logout.hidden = false;
  if (!location.hash || location.hash === '#/login') location.hash = '#/tasks';
  else route();
}

onLoggedOut(() => {
  if (!loggedIn) return;
  loggedIn = false;
  setCsrf(null);
  toast('Your session has ended: log in again.', 'warn');
  route();
});

logout.addEventListener('click', async () => {
  try {
    await post('/api/logout');
  } catch {
    // Logged out either way.
  }
  loggedIn = false;
  setCsrf(null);
  route();
});

window.addEventListener('hashchange', route);

async function boot() {
  try {
    const session = await get('/api/session');
    setCsrf(session.csrfToken);
    loggedIn = true;
    nav.hidden = false;
    logout.hidden = false;
    route();
  } catch (e) {
    if (e.status === 401) {
      loggedIn = false;
      route();
    } else {
      fill(main, h('div', { class: 'alert error' }, `Ferry does not answer: ${e.message}`));
    }
  }
}

boot();
