// The pages: sign-in, the home page with the inbox (/, home.js) and one request (/requests/{n}) with its live
// events, its before/after images and the approvals its people give here.
import * as api from './api.js';
import { badge, clear, el, hash, link, personName } from './dom.js';
import { quietColumnsOf, renderStatementDiff, renderSummary, renderVerify } from './diff.js';
import { showHome } from './home.js';
import { renderTimeline, when } from './timeline.js';

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
  images: new Map(),  // run number -> the images route's answer (summary, rows)
  timeline: null,     // {entries, comments} for the request's people
  result: null,       // what the last approval did and what happens next, until the next action
  live: 'connecting',
  stream: null,       // AbortController of the event stream
};

function isPeopleOfRequest(state, me) {
  if (typeof state.member === 'boolean') {
    return state.member;
  }
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
  loadTimeline();
  startWatching();
}

async function reload() {
  try {
    page.state = await api.get(`/api/requests/${page.number}`);
    renderRequest();
    loadTimeline();
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
    reload();
  }, (state, error) => {
    page.live = state;
    renderLive();
    if (error) {
      showProblem(error);
    }
  }, page.stream.signal);
}

// ---- words ---------------------------------------------------------------------------------

function envStage(state, name) {
  return state.progress.environments.find((e) => e.name === name);
}

function runOf(state, number) {
  return state.runs.find((r) => r.number === number);
}

function driverName(state) {
  return state.claim ? personName(state.claim.driver) : 'the driver';
}

function pairName(state) {
  return state.pair ? personName(state.pair.pair) : 'the pair';
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

// An open live run (live mode): its transaction stays open until the pair approves, the driver
// or the pair cancels, or its deadline passes; the count goes down every second.
function liveCountdown(live) {
  const node = el('span', { className: 'muted', dataset: { testid: 'live-countdown' } });
  const deadline = Date.parse(live.deadline) || (Date.now() + live.seconds_left * 1000);
  const tick = () => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    node.textContent = ` · live run #${live.run} open, ${left} s left`;
    return left;
  };
  tick();
  const timer = setInterval(() => {
    if (!node.isConnected || tick() === 0) {
      clearInterval(timer);
    }
  }, 1000);
  return node;
}

function environmentsTable(state) {
  return el('div', { className: 'scroll' }, el('table', { className: 'grid', id: 'environments' },
    el('thead', {}, el('tr', {}, ['Environment', 'Stage', 'Preview run', 'Evidence fingerprint', 'Apply run']
      .map((h) => el('th', {}, h)))),
    el('tbody', {}, state.progress.environments.map((e) => el('tr', { dataset: { environment: e.name } },
      el('td', {}, el('strong', {}, e.name)),
      el('td', {}, badge(e.stage), e.live ? liveCountdown(e.live) : null),
      el('td', {}, e.preview_run ? `#${e.preview_run}` : '—'),
      el('td', {}, hash(e.fingerprint, 16)),
      el('td', {}, e.apply_run ? `#${e.apply_run}` : '—'))))));
}

function statementsList(state) {
  if (!state.revision) {
    return el('p', { className: 'muted' }, 'No change attached yet.');
  }
  return el('ol', { className: 'statements' }, state.revision.statements.map((s) =>
    el('li', {}, el('code', { className: 'sql' }, s.normalized),
      el('span', { className: 'muted' }, ` · expects ${s.expected_rows} row${s.expected_rows === 1 ? '' : 's'}`))));
}

// The summary sentences of a run, loaded with its images (the request's people only).
function summaryOfRun(run, testid) {
  const box = el('div', { className: 'run-summary' });
  const data = page.images.get(run);
  if (data && data.summary) {
    box.appendChild(renderSummary(data.summary, testid));
  } else if (data && data.error) {
    box.appendChild(problemBox(data.error));
  } else if (data && !data.loading) {
    box.appendChild(el('p', { className: 'muted' }, 'This run captured no row images.'));
  } else {
    box.appendChild(el('p', { className: 'muted reading' }, 'Reading what the change does…'));
    loadImages(run);
  }
  return box;
}

// A run's images, read once: a finished run's images never change. Whoever waits for them on
// the page (a card's summary) is drawn again when they arrive.
function loadImages(run) {
  const known = page.images.get(run);
  if (known) {
    return known.loading || Promise.resolve(known);
  }
  const loading = api.get(`/api/requests/${page.number}/runs/${run}/images`)
    .catch((e) => ({ error: e }))
    .then((data) => {
      page.images.set(run, data);
      if (document.querySelector('#actions .reading')) {
        renderRequest();
      }
      return data;
    });
  page.images.set(run, { loading });
  return loading;
}

// ---- approvals: say what is approved, confirm, then say what happened and what comes next ---

// An action card. `what`: nodes saying in words what the person approves; `details`: the exact
// hashes, folded away; `confirm`: the question asked before anything is sent; `perform` sends
// it; `done(state)` gives {title, next} for the result shown after it.
function actionCard({ title, what, details, buttonText, testid, confirm, perform, done, kind = 'approve' }) {
  const outcome = el('div', { className: 'outcome' });
  const confirmBox = el('div', { className: 'confirm', hidden: true, role: 'group', 'aria-label': 'confirm' });
  const button = el('button', { type: 'button', dataset: { testid } }, buttonText);
  const yes = el('button', { type: 'button', dataset: { testid: `confirm-${testid}` } }, confirm.yes);
  const no = el('button', { type: 'button', className: 'secondary', dataset: { testid: `cancel-${testid}` } }, 'Cancel');
  confirmBox.appendChild(el('p', { className: 'question' }, confirm.question));
  let input = null;
  if (confirm.reason) {
    input = el('textarea', { id: `${testid}-reason`, rows: 3, maxLength: 8000, placeholder: confirm.reason, dataset: { testid: `${testid}-reason` } });
    confirmBox.appendChild(el('label', { htmlFor: `${testid}-reason` }, confirm.reason));
    confirmBox.appendChild(input);
  }
  confirmBox.appendChild(el('div', { className: 'buttons' }, yes, no));
  button.addEventListener('click', () => {
    clear(outcome);
    confirmBox.hidden = false;
    button.hidden = true;
    (input || yes).focus();
  });
  no.addEventListener('click', () => {
    confirmBox.hidden = true;
    button.hidden = false;
  });
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    clear(outcome);
    try {
      const state = await perform(input ? input.value : undefined);
      page.result = { ...done(state), kind };
      page.state = state;
      renderRequest();
      loadTimeline();
      const result = $('result');
      if (result) {
        result.scrollIntoView({ block: 'nearest' });
      }
    } catch (e) {
      outcome.appendChild(problemBox(e));
      yes.disabled = false;
    }
  });
  return el('div', { className: `action card action-${kind}`, dataset: { card: testid } }, el('h3', {}, title),
    el('div', { className: 'what' }, what),
    details && details.length > 0 ? el('details', { className: 'technical' }, el('summary', {}, 'Exact hashes'),
      el('dl', { className: 'facts' }, details.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))) : null,
    button, confirmBox, outcome);
}

function fullHash(value, testid) {
  return el('code', { className: 'hash full', dataset: { testid } }, value);
}

function appliedWords(state, env) {
  const run = env && env.apply_run ? runOf(state, env.apply_run) : null;
  if (!run) {
    return env ? `${env.name}` : '';
  }
  return `${env.name}: applied by ${personName(run.started_by)} on ${new Date(run.finished_at || run.started_at).toLocaleString()} (apply run #${run.number})`;
}

function actions(state, me) {
  const cards = [];
  const progress = state.progress;
  const envs = progress.environments;
  const isPair = state.pair && state.pair.pair && state.pair.pair.id === me.id;
  const isRequester = state.requested_by && state.requested_by.id === me.id;
  const changesAsked = Boolean(state.changes_requested);
  if (isPair && !changesAsked) {
    envs.forEach((e, i) => {
      if (e.stage !== 'previewed' || !e.fingerprint) {
        return;
      }
      const next = envs[i + 1];
      cards.push(actionCard({
        title: `Approve what preview #${e.preview_run} did in ${e.name}`,
        what: [el('p', {}, `You confirm that revision r${progress.revision}, rehearsed in ${e.name} and rolled back, changes exactly this:`),
          summaryOfRun(e.preview_run, `summary-evidence-${e.name}`),
          el('p', { className: 'next' }, `Then ${driverName(state)} may apply it in ${e.name}; the apply commits only if it finds the same rows as this preview.`)],
        details: [
          ['Environment', e.name],
          ['Evidence fingerprint', fullHash(e.fingerprint, 'approve-fingerprint')],
          ['Revision hash', fullHash(progress.revision_hash, 'approve-revision-hash')],
        ],
        buttonText: `Approve evidence in ${e.name}…`,
        testid: `approve-evidence-${e.name}`,
        confirm: { question: `Approve the evidence of preview #${e.preview_run} in ${e.name}?`, yes: `Yes, approve ${e.name} evidence` },
        perform: () => api.post(`/api/requests/${state.number}/environments/${encodeURIComponent(e.name)}/approve`,
          { revision_hash: progress.revision_hash, fingerprint: e.fingerprint }),
        done: () => ({
          title: `You approved the evidence in ${e.name}.`,
          next: `${driverName(state)} can now apply revision r${progress.revision} in ${e.name}.` +
            (next ? ` After that comes ${next.name}.` : ''),
        }),
      }));
    });
  }
  // Production comes last in promotion order; the product owner approves it once the
  // environment before it (test) is applied with the current revision.
  const beforeLast = envs.length >= 2 ? envs[envs.length - 2] : null;
  if (isRequester && me.role === 'product_owner' && state.status === 'open' && progress.revision_hash &&
      !progress.product_owner_approved && beforeLast && beforeLast.stage === 'applied' && !changesAsked) {
    const last = envs[envs.length - 1];
    cards.push(actionCard({
      title: `Approve changing ${last.name}`,
      what: [
        el('p', { dataset: { testid: 'po-approves' } },
          `You approve that ${driverName(state)} runs revision r${progress.revision} of this request in ${last.name}, the live data. It changes:`),
        summaryOfRun(beforeLast.apply_run, 'summary-production'),
        el('p', {}, el('strong', {}, 'Checked in '), appliedWords(state, beforeLast),
          '. Please look at it there before you approve.'),
        el('p', { className: 'next', dataset: { testid: 'po-next' } },
          `What happens next: ${driverName(state)} previews the change in ${last.name}, ${pairName(state)} checks that preview, ` +
          `then ${driverName(state)} applies it (with a verified backup first where ${last.name} requires one). ` +
          'You are notified when it is done, and it can be reverted from the before-images.'),
      ],
      details: [
        ['Revision', `r${progress.revision}`],
        ['Revision hash', fullHash(progress.revision_hash, 'approve-production-hash')],
      ],
      buttonText: `Approve ${last.name}…`,
      testid: 'approve-production',
      confirm: { question: `Approve running revision r${progress.revision} in ${last.name}? This cannot be undone by you; only a revert by the developers undoes it.`, yes: `Yes, approve ${last.name}` },
      perform: () => api.post(`/api/requests/${state.number}/approve-production`, { revision_hash: progress.revision_hash }),
      done: () => ({
        title: `You approved ${last.name} for revision r${progress.revision}.`,
        next: `${driverName(state)} now previews and applies it in ${last.name} with ${pairName(state)}; you will be notified when it is done.`,
      }),
    }));
  }
  if (state.status === 'open' && state.revision && (isPair || isRequester) &&
      !(state.claim && state.claim.driver && state.claim.driver.id === me.id)) {
    cards.push(actionCard({
      title: 'Something is not right?',
      what: [el('p', {}, `Send the request back to ${driverName(state)} with what should change. Approvals still waiting are withdrawn until ${driverName(state)} previews again or attaches a new revision.`)],
      details: [],
      buttonText: 'Request changes…',
      testid: 'request-changes',
      kind: 'changes',
      confirm: { question: `Send request #${state.number} back to ${driverName(state)}?`, yes: 'Send back to the driver', reason: 'What should change (only the request\'s people read it)' },
      perform: (reason) => api.post(`/api/requests/${state.number}/request-changes`, { reason: reason || '' }),
      done: () => ({
        title: `You sent the request back to ${driverName(state)}.`,
        next: `Approvals still waiting are withdrawn. ${driverName(state)} previews again or attaches a new revision; you will see it here.`,
      }),
    }));
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
  return el('div', { className: 'scroll' }, el('table', { className: 'grid', id: 'approvals' },
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
    el('td', {}, when(a.approved_at)),
    el('td', {}, a.voided ? badge('voided') : ''))))));
}

function runsTable(state, mayView) {
  if (state.runs.length === 0) {
    return el('p', { className: 'muted' }, 'No runs yet.');
  }
  return el('div', { className: 'scroll' }, el('table', { className: 'grid', id: 'runs' },
    el('thead', {}, el('tr', {}, ['#', 'Environment', 'Kind', 'State', 'Started by', 'Started', 'Counts', 'Fingerprint', 'Revision', '']
      .map((h) => el('th', {}, h)))),
    el('tbody', {}, state.runs.map((r) => el('tr', { dataset: { run: String(r.number) } },
      el('td', {}, String(r.number)),
      el('td', {}, r.environment),
      el('td', {}, r.kind),
      el('td', {}, badge(r.state), r.failure ? el('span', { className: 'muted' }, ` ${r.failure}`) : null),
      el('td', {}, personName(r.started_by)),
      el('td', {}, when(r.started_at)),
      el('td', {}, Array.isArray(r.counts) ? r.counts.join(', ') : String(r.counts ?? '—')),
      el('td', {}, hash(r.fingerprint)),
      el('td', {}, `r${r.revision} `, hash(r.revision_hash, 8)),
      el('td', {}, mayView && r.kind !== 'revert' ? el('button', {
        type: 'button',
        className: page.diffRun === r.number ? 'quiet selected' : 'quiet',
        onclick: () => { page.diffRun = r.number; renderRequest(); loadDiff(); },
      }, 'Before / after') : null))))));
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
}

// ---- conversation and history --------------------------------------------------------------

async function loadTimeline() {
  if (!page.state || !isPeopleOfRequest(page.state, page.me)) {
    return;
  }
  try {
    page.timeline = await api.get(`/api/requests/${page.number}/timeline`);
  } catch (e) {
    page.timeline = { error: e };
  }
  renderTimelineCard();
  renderChangesBanner();
}

function renderTimelineCard() {
  const box = $('timeline');
  if (!box) {
    return;
  }
  clear(box);
  if (!page.timeline) {
    box.appendChild(el('p', { className: 'muted' }, 'Loading the history…'));
  } else if (page.timeline.error) {
    box.appendChild(problemBox(page.timeline.error));
  } else {
    box.appendChild(renderTimeline(page.timeline));
  }
}

function commentForm(state) {
  const text = el('textarea', { id: 'comment-text', rows: 3, maxLength: 8000, placeholder: 'Write a comment for the request\'s people' });
  const outcome = el('div', { className: 'outcome' });
  const send = el('button', { type: 'submit', dataset: { testid: 'add-comment' } }, 'Comment');
  return el('form', {
    className: 'comment-form',
    onsubmit: async (event) => {
      event.preventDefault();
      clear(outcome);
      send.disabled = true;
      try {
        page.state = await api.post(`/api/requests/${state.number}/comments`, { text: text.value });
        text.value = '';
        await loadTimeline();
      } catch (e) {
        outcome.appendChild(problemBox(e));
      }
      send.disabled = false;
    },
  }, el('label', { htmlFor: 'comment-text' }, 'Add to the conversation'), text, send, outcome);
}

function renderChangesBanner() {
  const box = $('changes-banner');
  if (!box) {
    return;
  }
  clear(box);
  const asked = page.state && page.state.changes_requested;
  box.hidden = !asked;
  if (!asked) {
    return;
  }
  const comment = page.timeline && page.timeline.comments
    ? page.timeline.comments.find((c) => c.number === asked.comment) : null;
  box.appendChild(el('strong', {}, `Changes requested by ${personName(asked.by)} `));
  box.appendChild(when(asked.at));
  box.appendChild(el('span', {}, ` · back with ${driverName(page.state)}, who previews again or attaches a new revision.`));
  if (comment) {
    box.appendChild(el('blockquote', { className: 'comment changes' }, comment.text));
  }
}

function resultBox() {
  if (!page.result) {
    return null;
  }
  return el('div', { id: 'result', className: `result result-${page.result.kind}`, role: 'status', dataset: { testid: 'approval-result' } },
    el('strong', {}, page.result.title), ' ',
    el('span', { className: 'next' }, page.result.next),
    el('button', { type: 'button', className: 'quiet', onclick: () => { page.result = null; renderRequest(); } }, 'Dismiss'));
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
  root.appendChild(el('div', { id: 'changes-banner', className: 'changes-banner', role: 'status', hidden: true }));
  const result = resultBox();
  if (result) {
    root.appendChild(result);
  }
  root.appendChild(el('section', { className: 'card', id: 'actions' }, el('h2', {}, 'Your part'), actions(state, me)));
  root.appendChild(el('div', { className: 'columns' },
    el('section', { className: 'card' }, el('h2', {}, 'Request'), facts(state),
      el('details', { className: 'technical' }, el('summary', {}, 'Statements as SQL (values as $1, $2, …)'), statementsList(state))),
    el('section', { className: 'card', id: 'history' }, el('h2', {}, 'History and conversation'),
      mayView ? [commentForm(state), el('div', { id: 'timeline' })]
        : el('p', { className: 'muted' }, 'The history and the conversation are for the request\'s people.'))));
  const diffCard = el('section', { className: 'card', id: 'diff-card' }, el('h2', {}, 'What changes, row by row'));
  if (mayView) {
    diffCard.appendChild(keptDiff);
  } else {
    diffCard.appendChild(el('p', { className: 'muted' },
      'Row images are shown to the driver, the pair and the requesting product owner only.'));
  }
  root.appendChild(diffCard);
  root.appendChild(el('section', { className: 'card' }, el('h2', {}, 'Environments'), environmentsTable(state)));
  root.appendChild(el('section', { className: 'card' }, el('h2', {}, 'Runs'), runsTable(state, mayView)));
  root.appendChild(el('section', { className: 'card' }, el('h2', {}, 'Approvals given'), approvalsTable(state)));
  renderLive();
  renderTimelineCard();
  renderChangesBanner();
}

async function loadDiff() {
  const box = $('diff');
  if (!box || !page.diffRun) {
    return;
  }
  const run = page.diffRun;
  clear(box);
  box.appendChild(el('p', { className: 'muted' }, `Loading run #${run}…`));
  const data = await loadImages(run);
  if (page.diffRun !== run || !$('diff')) {
    return;  // another run was chosen meanwhile
  }
  const target = $('diff');
  clear(target);
  if (data.error) {
    target.appendChild(problemBox(data.error));
    return;
  }
  target.dataset.run = String(run);
  const r = data.run;
  target.appendChild(el('p', {}, `Run #${r.number}: ${r.kind} in ${r.environment}, ${r.state} · fingerprint `,
    hash(r.fingerprint, 16)));
  if (!data.images) {
    target.appendChild(el('p', { className: 'muted' }, 'This run captured no row images.'));
    return;
  }
  // The summary first: a large diff is read as sentences, then page by page.
  target.appendChild(el('h3', {}, 'In short'));
  target.appendChild(renderSummary(data.summary, 'diff-summary'));
  const quiet = quietColumnsOf(data.summary);
  const hasClosure = Array.isArray(data.closure) && data.closure.length > 0;
  if (!hasClosure) {
    for (const statement of data.images) {
      target.appendChild(renderStatementDiff(statement, quiet.get(statement.table)));
    }
  } else {
    target.appendChild(el('h4', {}, 'Every row the change writes, by table and cause'));
    for (const table of data.closure) {
      target.appendChild(renderStatementDiff(table, quiet.get(table.table)));
    }
  }
  const verify = renderVerify(data.verify && data.verify.verify);
  if (verify) {
    target.appendChild(verify);
  }
}

// ---- start ---------------------------------------------------------------------------------

$('sign-in-form').addEventListener('submit', signIn);
$('sign-out').addEventListener('click', signOut);
start();
