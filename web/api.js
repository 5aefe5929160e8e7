// The JSON API as the pages use it: the signed-in person's token, calls with it, refusals as
// {message, hint}, and the live event stream.
//
// Authentication, two ways:
// - a token entered once and kept in sessionStorage (this tab only, gone when the tab closes),
//   sent as `Authorization: Bearer`: no ambient credential, hence no CSRF surface;
// - with [auth.oidc], a sign-in at the organisation's provider: the server keeps the session and
//   the browser holds it in an HttpOnly, SameSite=Lax cookie that every tab (and every link from
//   a notification) shares. Being ambient, the cookie needs a CSRF defence: every call sends the
//   session's CSRF token (from /auth/session) as X-CSRF-Token, which the server checks on every
//   state-changing call along with the Origin.
//
// Live events: EventSource cannot send an Authorization header, and the events route
// authenticates with the bearer token like every other route. Rather than put a token (or a
// ticket) in a URL, where logs and history keep it, watch() reads the text/event-stream with
// fetch() and a stream reader, sending the header as usual, and reconnects when the stream ends.

const TOKEN_KEY = 'datafix.token';
let csrfToken = '';
let signInOptions = null;

// The server's sign-in options ({oidc, provider}) and, with a session cookie, its person and
// CSRF token. True when a cookie session is signed in.
export async function cookieSession() {
  try {
    const res = await fetch('/auth/session', { credentials: 'same-origin', cache: 'no-store' });
    signInOptions = res.ok ? await res.json() : { oidc: false };
  } catch (e) {
    signInOptions = { oidc: false };
  }
  csrfToken = signInOptions.csrf_token || '';
  return Boolean(signInOptions.person);
}

export function providerSignIn() {
  return signInOptions && signInOptions.oidc ? signInOptions.provider : '';
}

export async function signOutSession() {
  if (csrfToken) {
    await call('/auth/logout', { method: 'POST', body: {} });
    csrfToken = '';
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// A refusal or failure: the API's message and HINT, its rule and the HTTP status.
export class ApiError extends Error {
  constructor(status, body) {
    const known = body && typeof body === 'object' && typeof body.message === 'string';
    super(known ? body.message : `the server answered ${status}`);
    this.status = status;
    this.rule = known ? body.rule : '';
    this.hint = known && body.hint ? body.hint : '';
  }
}

function headers(withBody) {
  const h = { Accept: 'application/json' };
  if (token() || !csrfToken) {
    h.Authorization = `Bearer ${token() || ''}`;
  } else {
    h['X-CSRF-Token'] = csrfToken;
  }
  if (withBody) {
    h['Content-Type'] = 'application/json';
  }
  return h;
}

export async function call(path, { method = 'GET', body } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, {
      message: 'the datafix server cannot be reached',
      hint: 'check the network, then reload the page',
    });
  }
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = null;
  }
  if (!res.ok) {
    throw new ApiError(res.status, data);
  }
  return data;
}

export const get = (path) => call(path);
export const post = (path, body = {}) => call(path, { method: 'POST', body });

// Calls onEvent({type, data}) for each server-sent event of `path` until `signal` aborts;
// onState('live' | 'reconnecting' | 'stopped', error) tells the page how the stream is doing.
export async function watch(path, onEvent, onState, signal) {
  const decoder = new TextDecoder();
  while (!signal.aborted) {
    try {
      const res = await fetch(path, {
        headers: token() || !csrfToken
          ? { Accept: 'text/event-stream', Authorization: `Bearer ${token() || ''}` }
          : { Accept: 'text/event-stream' },
        credentials: 'same-origin',
        cache: 'no-store',
        signal,
      });
      if (!res.ok) {
        let body = null;
        try {
          body = await res.json();
        } catch (e) {
          body = null;
        }
        // A refused token or a missing request will not get better by retrying.
        if (res.status >= 400 && res.status < 500) {
          onState('stopped', new ApiError(res.status, body));
          return;
        }
        throw new ApiError(res.status, body);
      }
      onState('live');
      const reader = res.body.getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          break;
        }
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseFrame(frame);
          if (event) {
            onEvent(event);
          }
        }
      }
    } catch (e) {
      if (signal.aborted) {
        return;
      }
    }
    onState('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

// One SSE frame ("event: x\ndata: {...}"); comment-only frames (keep-alives) give null.
function parseFrame(frame) {
  let type = 'message';
  const data = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith(':') || line === '') {
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') {
      type = value;
    } else if (field === 'data') {
      data.push(value);
    }
  }
  if (data.length === 0) {
    return null;
  }
  let parsed;
  try {
    parsed = JSON.parse(data.join('\n'));
  } catch (e) {
    parsed = data.join('\n');
  }
  return { type, data: parsed };
}
