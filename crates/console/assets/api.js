// The API client: JSON in and out, the session's CSRF token on every change, the operator's name
// as X-Ferry-Actor (kept in each topic's history). Every button of the console is one of these
// calls; the console does nothing the API cannot.

let csrf = null;
let loggedOut = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.kind = body && body.kind;
    this.body = body || {};
  }
}

export function setCsrf(token) {
  csrf = token || null;
}

/** Called when the API answers 401 (the session ended): the app shows the login. */
export function onLoggedOut(fn) {
  loggedOut = fn;
}

export function actor() {
  return localStorage.getItem('ferry.actor') || 'console';
}

export function setActor(name) {
  if (name && name.trim()) localStorage.setItem('ferry.actor', name.trim());
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    if (csrf) headers['X-CSRF-Token'] = csrf;
    headers['X-Ferry-Actor'] = actor().replace(/[^\x20-\x7e]/g, '?');
  }
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text };
  }
  if (!response.ok) {
    const e = new ApiError(response.status, data);
    if (response.status === 401 && path !== '/api/login') loggedOut(e);
    throw e;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const del = (path) => api('DELETE', path);

/** A path segment: topic names may hold `%` (namespaces). */
export const seg = (s) => encodeURIComponent(s);

/** A file's bytes as base64, for `POST /api/imports`. */
export async function fileBase64(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
