// The pages: sign-in, the home page with the inbox (/, home.js) and one request (/requests/{n}) with its live
// events, its before/after images and the approvals its people give here.
import * as api from './api.js';
import { badge, clear, el, hash, link, personName } from './dom.js';
import { renderStatementDiff, renderVerify } from './diff.js';
import { showHome } from './home.js';

const $ = (id) => document.getElementById(id);

function showOnly(sectionId) {
  for (const id of ['sign-in', 'list', 'request']) {
    $(id).hidden = id !== sectionId;
  }
}

// A refusal as the CLI shows it: the message, then what to do.
function problemBox(error) {
  return el('div', { className: 'problem', role: 'alert' },
    el('strong', { className: 'message' }, error.message),
    error.hint ? el('div', { className: 'hint' }, `HINT: ${error.hint}`) : null);
}

function showProblem(error) {
  const box = $('problem');
  box.querySelector('.message').textContent = error ? error.message : '';
  box.querySelector('.hint').textContent = error && error.hint ? `HINT: ${error.hint}` : '';
  box.hidden = !error;
}

// ---- sign-in -------------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const value = $('token').value.trim();
  if (!value) {
    return;
  }
  api.setToken(value);
  $('token').value = '';
  await start();
}

async function signOut() {
  if (!api.token()) {
    await api.signOutSession().catch(() => {});
  }
  api.clearToken();
  window.location.assign('/');
}

// The token form, and with [auth.oidc] a link to the provider that brings the person back here.
function showSignIn() {
  showOnly('sign-in');
  const provider = api.providerSignIn();
  $('sso').hidden = !provider;
  if (provider) {
    $('sso-link').href = `/auth/login?return_to=${encodeURIComponent(window.location.pathname)}`;
  }
  $('token').focus();
}

async function start() {
  showProblem(null);
  if (!api.token() && !(await api.cookieSession())) {
    showSignIn();
    return;
  }
  let me;
  try {
    me = await api.get('/api/me');
  } catch (e) {
    if (e.status === 401) {
      api.clearToken();
      showSignIn();
    }
    showProblem(e);
    return;
  }
  $('who').textContent = `${me.name} · ${me.role.replace('_', ' ')}`;
  $('sign-out').hidden = false;
  const match = window.location.pathname.match(/^\/requests\/(\d+)$/);
  if (match) {
    await showRequest(Number(match[1]), me);
  } else {
    await showList(me);
  }
}

// ---- the list ------------------------------------------------------------------------------

async function showList(me) {
  showOnly('list');
  await showHome(me, showProblem);
}

// ---- one request ---------------------------------------------------------------------------

const page = {
  number: 0,
  me: null,
  state: null,
  diffRun: 0,         // the run whose images are shown
  events: [],         // the latest live events, newest first
  live: 'connecting',
  stream: null,       // AbortController of the event stream
};

function isPeopleOfRequest(state, me) {
  return (state.claim && state.claim.driver && state.claim.driver.id === me.id) ||
    (state.pair && state.pair.pair && state.pair.pair.id === me.id) ||
    (state.requested_by && state.requested_by.id === me.id);
}

async function showRequest(number, me) {
  showOnly('request');
  page.number = number;
  page.me = me;
  try {
    page.state = await api.get(`/api/requests/${number}`);
  } catch (e) {
    showProblem(e);
    return;
  }
  renderRequest();
  startWatching();
}

async function reload() {
  try {
    page.state = await api.get(`/api/requests/${page.number}`);
    renderRequest();
  } catch (e) {
    showProblem(e);
  }
}

function startWatching() {
  page.stream = new AbortController();
  api.watch(`/api/requests/${page.number}/events`, (event) => {
    if (event.type === 'watching') {
      return;
    }
    page.events.unshift(event);
    page.events.length = Math.min(page.events.length, 20);
    reload();
  }, (state, error) => {
    page.live = state;
    renderLive();
    if (error) {
      showProblem(error);
    }
  }, page.stream.signal);
}

function facts(state) {
  const driver = state.claim ? el('span', {}, personName(state.claim.driver),
    state.claim.active ? '' : el('span', { className: 'muted' }, ' (lease expired)')) : '—';
  const rows = [
    ['Requested by', personName(state.requested_by)],
    ['Requested date', state.requested_date || '—'],
    ['Ticket', link(state.ticket)],
    ['Driver', driver],
    ['Pair', state.pair ? personName(state.pair.pair) : '—'],
    ['Revision', state.revision
      ? el('span', {}, `r${state.revision.number} `,
        el('code', { className: 'hash full', dataset: { testid: 'revision-hash' } }, state.revision.hash))
      : '—'],
    ['Reason', state.reason_private ? '(only for the request\'s people)' : (state.reason || '—')],
  ];
  return el('dl', { className: 'facts' }, rows.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function environmentsTable(state) {
  return el('table', { className: 'grid', id: 'environments' },
    el('thead', {}, el('tr', {}, ['Environment', 'Stage', 'Preview run', 'Evidence fingerprint', 'Apply run']
      .map((h) => el('th', {}, h)))),
    el('tbody', {}, state.progress.environments.map((e) => el('tr', { dataset: { environment: e.name } },
      el('td', {}, el('strong', {}, e.name)),
      el('td', {}, badge(e.stage)),
      el('td', {}, e.preview_run ? `#${e.preview_run}` : '—'),
      el('td', {}, hash(e.fingerprint, 16)),
      el('td', {}, e.apply_run ? `#${e.apply_run}` : '—')))));
}

function statementsList(state) {
  if (!state.revision) {
    return el('p', { className: 'muted' }, 'No change attached yet.');
  }
  return el('ol', { className: 'statements' }, state.revision.statements.map((s) =>
    el('li', {}, el('code', { className: 'sql' }, s.normalized),
      el('span', { className: 'muted' }, ` · expects ${s.expected_rows} row${s.expected_rows === 1 ? '' : 's'}`))));
}

// An action card: what is approved, exactly, and the button; a refusal shows inside the card.
function actionCard(title, details, buttonText, testid, perform) {
  const outcome = el('div', { className: 'outcome' });
  const button = el('button', { type: 'button', dataset: { testid } }, buttonText);
  button.addEventListener('click', async () => {
    button.disabled = true;
    clear(outcome);
    try {
      page.state = await perform();
      renderRequest();
    } catch (e) {
      outcome.appendChild(problemBox(e));
      button.disabled = false;
    }
  });
  return el('div', { className: 'action card' }, el('h3', {}, title),
    el('dl', { className: 'facts' }, details.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
    button, outcome);
}

function fullHash(value, testid) {
  return el('code', { className: 'hash full', dataset: { testid } }, value);
}

function actions(state, me) {
  const cards = [];
  const progress = state.progress;
  const isPair = state.pair && state.pair.pair && state.pair.pair.id === me.id;
  if (isPair) {
    for (const e of progress.environments) {
      if (e.stage !== 'previewed' || !e.fingerprint) {
        continue;
      }
      cards.push(actionCard(`Approve the evidence of preview #${e.preview_run} in ${e.name}`, [
        ['Environment', e.name],
        ['Evidence fingerprint', fullHash(e.fingerprint, 'approve-fingerprint')],
        ['Revision hash', fullHash(progress.revision_hash, 'approve-revision-hash')],
      ], `Approve evidence in ${e.name}`, `approve-evidence-${e.name}`,
      () => api.post(`/api/requests/${state.number}/environments/${encodeURIComponent(e.name)}/approve`,
        { revision_hash: progress.revision_hash, fingerprint: e.fingerprint })));
    }
  }
  // Production comes last in promotion order; the product owner approves it once the
  // environment before it (test) is applied with the current revision.
  const envs = progress.environments;
  const beforeLast = envs.length >= 2 ? envs[envs.length - 2] : null;
  if (me.role === 'product_owner' && state.status === 'open' && progress.revision_hash &&
      !progress.product_owner_approved && beforeLast && beforeLast.stage === 'applied') {
    const last = envs[envs.length - 1];
    cards.push(actionCard(`Approve ${last.name} for revision r${progress.revision}`, [
      ['Checked in', `${beforeLast.name} (apply run #${beforeLast.apply_run})`],
      ['Revision hash', fullHash(progress.revision_hash, 'approve-production-hash')],
    ], `Approve ${last.name}`, 'approve-production',
    () => api.post(`/api/requests/${state.number}/approve-production`,
      { revision_hash: progress.revision_hash })));
  }
  if (cards.length === 0) {
    cards.push(el('p', { className: 'muted' }, 'Nothing for you to approve right now.'));
  }
  return cards;
}

function approvalsTable(state) {
  if (state.approvals.length === 0) {
    return el('p', { className: 'muted' }, 'No approvals yet.');
  }
  return el('table', { className: 'grid', id: 'approvals' },
    el('thead', {}, el('tr', {}, ['#', 'Kind', 'Environment', 'Revision hash', 'Fingerprint', 'By', 'At', '']
      .map((h) => el('th', {}, h)))),
    el('tbody', {}, state.approvals.map((a) => el('tr', {
      className: a.voided ? 'voided' : '',
      dataset: { approval: a.kind, environment: a.environment || '' },
    },
    el('td', {}, String(a.number)),
    el('td', {}, a.kind.replace('_', ' ')),
    el('td', {}, a.environment || '—'),
    el('td', {}, hash(a.revision_hash)),
    el('td', {}, hash(a.fingerprint)),
    el('td', {}, personName(a.approved_by)),
    el('td', {}, a.approved_at),
    el('td', {}, a.voided ? badge('voided') : '')))));
}

function runsTable(state, mayView) {
  if (state.runs.length === 0) {
    return el('p', { className: 'muted' }, 'No runs yet.');
  }
  return el('table', { className: 'grid', id: 'runs' },
    el('thead', {}, el('tr', {}, ['#', 'Environment', 'Kind', 'State', 'Started by', 'Started', 'Counts', 'Fingerprint', 'Revision', '']
      .map((h) => el('th', {}, h)))),
    el('tbody', {}, state.runs.map((r) => el('tr', { dataset: { run: String(r.number) } },
      el('td', {}, String(r.number)),
      el('td', {}, r.environment),
      el('td', {}, r.kind),
      el('td', {}, badge(r.state), r.failure ? el('span', { className: 'muted' }, ` ${r.failure}`) : null),
      el('td', {}, personName(r.started_by)),
      el('td', {}, r.started_at),
      el('td', {}, Array.isArray(r.counts) ? r.counts.join(', ') : String(r.counts ?? '—')),
      el('td', {}, hash(r.fingerprint)),
      el('td', {}, `r${r.revision} `, hash(r.revision_hash, 8)),
      el('td', {}, mayView && r.kind !== 'revert' ? el('button', {
        type: 'button',
        className: page.diffRun === r.number ? 'quiet selected' : 'quiet',
        onclick: () => { page.diffRun = r.number; renderRequest(); loadDiff(); },
      }, 'Before / after') : null)))));
}

function renderLive() {
  const box = $('live');
  if (!box) {
    return;
  }
  clear(box);
  const label = { live: 'live', reconnecting: 'reconnecting…', stopped: 'not live', connecting: 'connecting…' }[page.live] || page.live;
  box.appendChild(el('span', { className: `dot dot-${page.live}` }, ''));
  box.appendChild(el('span', {}, label));
  const log = $('event-log');
  clear(log);
  for (const e of page.events) {
    const d = e.data || {};
    log.appendChild(el('li', {},
      el('code', {}, e.type), ' ',
      d.step ? `${d.step} ` : '',
      d.environment ? `in ${d.environment} ` : '',
      d.actor && d.actor.name ? `by ${d.actor.name}` : ''));
  }
}

function renderRequest() {
  const state = page.state;
  const me = page.me;
  const mayView = isPeopleOfRequest(state, me);
  if (!page.diffRun && mayView) {
    const candidates = state.runs.filter((r) => r.kind !== 'revert' && r.fingerprint);
    if (candidates.length > 0) {
      page.diffRun = candidates[candidates.length - 1].number;
      queueMicrotask(loadDiff);
    }
  }
  document.title = `#${state.number} ${state.title} · datafix`;
  const root = $('request');
  const keptDiff = $('diff') || el('div', { id: 'diff' });
  clear(root);
  root.appendChild(el('p', { className: 'crumbs' }, el('a', { href: '/' }, '← all requests')));
  root.appendChild(el('div', { className: 'title-row' },
    el('h1', {}, `#${state.number} `, el('span', { id: 'request-title' }, state.title)),
    badge(state.status),
    el('span', { className: 'spacer' }),
    el('span', { id: 'live', className: 'live' })));
  root.appendChild(el('div', { className: 'columns' },
    el('section', { className: 'card' }, el('h2', {}, 'Request'), facts(state),
      el('h3', {}, 'Statements (normalized)'), statementsList(state)),
    el('section', { className: 'card', id: 'actions' }, el('h2', {}, 'Your approvals'), actions(state, me),
      el('h3', {}, 'Approvals given'), approvalsTable(state))));
  root.appendChild(el('section', { className: 'card' }, el('h2', {}, 'Environments'), environmentsTable(state)));
  root.appendChild(el('section', { className: 'card' }, el('h2', {}, 'Runs'), runsTable(state, mayView)));
  const diffCard = el('section', { className: 'card', id: 'diff-card' }, el('h2', {}, 'Before and after'));
  if (mayView) {
    diffCard.appendChild(keptDiff);
  } else {
    diffCard.appendChild(el('p', { className: 'muted' },
      'Row images are shown to the driver, the pair and the requesting product owner only.'));
  }
  root.appendChild(diffCard);
  root.appendChild(el('section', { className: 'card' }, el('h2', {}, 'Live events'),
    el('ul', { id: 'event-log', className: 'event-log' })));
  renderLive();
}

async function loadDiff() {
  const box = $('diff');
  if (!box || !page.diffRun) {
    return;
  }
  const run = page.diffRun;
  clear(box);
  box.appendChild(el('p', { className: 'muted' }, `Loading run #${run}…`));
  let data;
  try {
    data = await api.get(`/api/requests/${page.number}/runs/${run}/images`);
  } catch (e) {
    clear(box);
    box.appendChild(problemBox(e));
    return;
  }
  if (page.diffRun !== run) {
    return;  // another run was chosen meanwhile
  }
  clear(box);
  box.dataset.run = String(run);
  const r = data.run;
  box.appendChild(el('p', {}, `Run #${r.number}: ${r.kind} in ${r.environment}, ${r.state} · fingerprint `,
    hash(r.fingerprint, 16)));
  if (!data.images) {
    box.appendChild(el('p', { className: 'muted' }, 'This run captured no row images.'));
    return;
  }
  for (const statement of data.images) {
    box.appendChild(renderStatementDiff(statement));
  }
  if (Array.isArray(data.closure) && data.closure.length > 0) {
    box.appendChild(el('h4', {}, 'Every row the change writes, by table and cause'));
    for (const table of data.closure) {
      box.appendChild(renderStatementDiff(table));
    }
  }
  const verify = renderVerify(data.verify && data.verify.verify);
  if (verify) {
    box.appendChild(verify);
  }
}

// ---- start ---------------------------------------------------------------------------------

$('sign-in-form').addEventListener('submit', signIn);
$('sign-out').addEventListener('click', signOut);
start();
