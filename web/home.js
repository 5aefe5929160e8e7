// The home page: the inbox (what waits on you, your requests, every open request, each with its
// next step in words and who owns it, as the server's workflow decides; closed requests with data
// to put back apart, under "To tidy up"), a product owner's form to file a request, and the list
// of all requests.
import * as api from './api.js';
import { badge, clear, el, hash, personName } from './dom.js';

const $ = (id) => document.getElementById(id);

// Who owns the next step, by name: "Sam Pair (pair)", "any developer".
export function ownerText(next, me) {
  const name = next.person ? personName(next.person) : '';
  const you = next.person && me && next.person.id === me.id;
  switch (next.owner) {
    case 'developer':
      return 'any developer';
    case 'nobody':
      return '—';
    case 'running':
      return name ? `the server (started by ${name})` : 'the server';
    default: {
      const role = next.owner === 'product_owner' ? 'product owner' : next.owner;
      if (you) {
        return `you (${role})`;
      }
      return name ? `${name} (${role})` : `the ${role}`;
    }
  }
}

function inboxItem(r, me) {
  return el('li', { dataset: { request: String(r.number), step: r.next.step } },
    el('div', { className: 'inbox-title' },
      el('span', { className: 'muted' }, `#${r.number} `),
      el('a', { href: `/requests/${r.number}` }, r.title),
      ' ', r.status !== 'open' ? badge(r.status) : null),
    el('div', { className: 'inbox-next' },
      el('span', { className: 'label' }, 'Next: '),
      el('span', { className: 'what' }, r.next.what),
      el('span', { className: 'owner' }, ` · ${ownerText(r.next, me)}`)),
    el('div', { className: 'inbox-meta muted' },
      `requested by ${personName(r.requested_by)}`,
      r.requested_date ? ` for ${r.requested_date}` : '',
      r.revision ? ` · revision ${r.revision}` : ''));
}

function fillSection(id, items, me, none) {
  const section = $(id);
  section.querySelector('.count').textContent = String(items.length);
  const list = section.querySelector('ul');
  clear(list);
  for (const r of items) {
    list.appendChild(inboxItem(r, me));
  }
  section.querySelector('.none').textContent = none;
  section.querySelector('.none').hidden = items.length > 0;
}

async function showInbox(me, showProblem) {
  let inbox;
  try {
    inbox = await api.get('/api/inbox');
  } catch (e) {
    showProblem(e);
    return;
  }
  fillSection('inbox-waiting', inbox.waiting_on_you, me, 'Nothing waits on you.');
  fillSection('inbox-yours', inbox.yours, me, 'You are on no request yet.');
  fillSection('inbox-open', inbox.open, me, 'No open requests.');
  // Closed requests with data to put back: a to-do of their own, shown only when there is one.
  const tidy = inbox.to_tidy_up || [];
  fillSection('inbox-tidy', tidy, me, '');
  $('inbox-tidy').hidden = tidy.length === 0;
}

async function showAllRequests(showProblem) {
  const data = await api.get('/api/requests?limit=200').catch((e) => {
    showProblem(e);
    return { requests: [] };
  });
  const body = $('requests').querySelector('tbody');
  clear(body);
  for (const r of data.requests) {
    body.appendChild(el('tr', { dataset: { request: String(r.number) } },
      el('td', {}, String(r.number)),
      el('td', {}, el('a', { href: `/requests/${r.number}` }, r.title)),
      el('td', {}, badge(r.status)),
      el('td', {}, personName(r.requested_by)),
      el('td', {}, r.requested_date || '—'),
      el('td', {}, personName(r.driver)),
      el('td', {}, personName(r.pair)),
      el('td', {}, r.revision ? el('span', {}, `r${r.revision} `, hash(r.revision_hash)) : '—')));
  }
  $('no-requests').hidden = data.requests.length > 0;
}

// ---- filing a request ----------------------------------------------------------------------

const isoDate = /^\d{4}-\d{2}-\d{2}$/;

function formProblem(error) {
  const box = $('new-request-problem');
  box.querySelector('.message').textContent = error ? error.message : '';
  box.querySelector('.hint').textContent = error && error.hint ? `HINT: ${error.hint}` : '';
  box.hidden = !error;
}

async function fileRequest(event) {
  event.preventDefault();
  const form = $('new-request-form');
  const button = form.querySelector('button[type=submit]');
  const date = $('nr-date').value.trim();
  formProblem(null);
  // A date input holds an ISO 8601 date or nothing; the server checks it again.
  if (date && !isoDate.test(date)) {
    formProblem({ message: `the requested date '${date}' is not a date written YYYY-MM-DD`,
      hint: 'give it as year-month-day, e.g. 2026-12-15' });
    return;
  }
  button.disabled = true;
  try {
    const created = await api.post('/api/requests', {
      title: $('nr-title').value.trim(),
      requested_date: date,
      ticket: $('nr-ticket').value.trim(),
      reason: $('nr-reason').value,
    });
    window.location.assign(`/requests/${created.number}`);
  } catch (e) {
    formProblem(e);
    button.disabled = false;
  }
}

let wired = false;

function wireForm(me) {
  // Product owners file requests in their own name (developers name one with the CLI's --for).
  const mayFile = me.role === 'product_owner';
  $('new-request-open').hidden = !mayFile;
  if (wired) {
    return;
  }
  wired = true;
  $('new-request-open').addEventListener('click', () => {
    $('new-request').hidden = false;
    $('new-request-open').hidden = true;
    $('nr-title').focus();
  });
  $('new-request-cancel').addEventListener('click', () => {
    $('new-request').hidden = true;
    $('new-request-open').hidden = false;
    formProblem(null);
  });
  $('new-request-form').addEventListener('submit', fileRequest);
}

export async function showHome(me, showProblem) {
  document.title = 'Inbox · datafix';
  wireForm(me);
  await Promise.all([showInbox(me, showProblem), showAllRequests(showProblem)]);
}
