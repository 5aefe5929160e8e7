// Drives datafix's web pages in Debian's headless Chromium (playwright-core; no browser is
// downloaded). Started by pages_test.cpp with a running server and a request walked to a step:
//   node pages.test.mjs pair   the pair signs in, watches a new preview arrive live, checks the
//                              fingerprint and revision hash on the card, approves dev evidence
//   node pages.test.mjs po     after the test apply: the product owner reads in words what prod
//                              approval changes (display key, trigger columns quiet), approves
//                              production through a confirmation and sees what happens next, the
//                              timeline survives a reload, the page fits a 390 px phone; an
//                              outsider sees no canary
//   node pages.test.mjs large  a 40-row preview: the summary sentence first, the diff in pages
//                              named by application number, at 1280 px and 390 px
//   node pages.test.mjs file   the product owner files a request with the home page's form (an
//                              incomplete one first: the server's refusal shows, nothing filed)
//   node pages.test.mjs inbox  the pair's home page lists the evidence waiting for their
//                              approval under "Waiting on you"; screenshots at 1280 and 390 px;
//                              the pair sends the request back to its driver with "Request
//                              changes" and it leaves their list
//   node pages.test.mjs journey the product owner's whole path in one browser session: files a
//                              request in the form; while the developers walk dev and test with
//                              datafix's command line (pages_test.cpp runs it), the page follows
//                              them; the request waits in the inbox, the product owner reads the
//                              summary sentence, approves prod through a confirmation, sees the
//                              result, and then sees the request done once prod is applied
//   node pages.test.mjs tidy   the driver's home page lists the done request under "To tidy up",
//                              not among what waits on them
// Both phases first check that a wrong token shows the API's message and HINT. Exits non-zero
// with the first failed check.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
};

const url = env('DATAFIX_URL');
const request = process.env.DATAFIX_REQUEST || '';
const canary = env('DATAFIX_CANARY');
const screenshots = env('DATAFIX_SCREENSHOT_DIR');
const phase = process.argv[2];
const timeout = 20000;
// How long the journey waits for the developers' side (runs on a loaded two-core machine); the
// test writes DATAFIX_ABORT_FILE when that side fails, so the browser stops waiting at once.
const walkLimit = 15 * 60 * 1000;
const abortFile = process.env.DATAFIX_ABORT_FILE || '';

async function api(token, method, route, body) {
  const res = await fetch(url + route, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json();
  assert.ok(res.ok, `${method} ${route}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

// Waits until `check` returns something, as a person waits for the others' part of the work.
async function until(what, check) {
  const end = Date.now() + walkLimit;
  for (;;) {
    if (abortFile && fs.existsSync(abortFile)) {
      throw new Error(`the developers' side failed while the browser waited for ${what}: ` +
        fs.readFileSync(abortFile, 'utf8'));
    }
    const value = await check();
    if (value) {
      return value;
    }
    if (Date.now() > end) {
      throw new Error(`gave up waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function withBrowser(work) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'datafix-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const problems = [];
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(timeout);
    // A CSP violation or a script error fails the test: the pages must work under the policy.
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // The browser logs every refused API call; the pages show those refusals themselves
      // (checked where a phase provokes one: 400 for an incomplete request, 401, 403).
      if (m.type() === 'error' && !/status of 40[013]/.test(m.text())) {
        problems.push(`console: ${m.text()} (${m.location().url})`);
      }
    });
    await work(page);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  assert.deepEqual(problems, []);
}

async function signIn(page, token) {
  await page.goto(`${url}/`);
  await page.locator('#sign-in').waitFor();
  await page.fill('#token', token);
  await page.click('#sign-in-form button[type=submit]');
}

async function wrongTokenShowsTheRefusal(page) {
  const res = await page.goto(`${url}/`);
  const headers = res.headers();
  assert.match(headers['content-security-policy'], /default-src 'self'/);
  assert.doesNotMatch(headers['content-security-policy'], /unsafe-inline/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  await signIn(page, 'not-a-real-token');
  const problem = page.locator('#problem');
  await problem.waitFor();
  assert.match(await problem.textContent(), /the token is unknown, revoked or belongs to a deactivated person/);
  assert.match(await problem.locator('.hint').textContent(), /^HINT: ask an administrator/);
  assert.ok(await page.locator('#sign-in').isVisible(), 'the sign-in form is shown again');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('datafix.token')), null);
}

async function listHasNoCanary(page) {
  await page.locator(`#requests tr[data-request="${request}"]`).waitFor();
  const html = await page.content();
  assert.ok(!html.includes(canary), 'the canary is in the list page');
}

async function pairPhase() {
  const pair = env('DATAFIX_TOKEN_PAIR');
  const driver = env('DATAFIX_TOKEN_DRIVER');
  await withBrowser(async (page) => {
    await wrongTokenShowsTheRefusal(page);
    await signIn(page, pair);
    await listHasNoCanary(page);
    await page.click(`#requests tr[data-request="${request}"] a`);
    await page.waitForURL(`${url}/requests/${request}`);
    await page.locator('#request-title').waitFor();
    await page.locator('#live .dot-live').waitFor();
    assert.match(await page.locator('#request').textContent(), /Dana Driver/);
    assert.match(await page.locator('#request').textContent(), /Sam Pair/);

    // The driver previews again; the pair's page shows the new run without a reload.
    await api(driver, 'POST', `/api/requests/${request}/environments/dev/preview`, {});
    await page.locator('#runs tr[data-run="2"] .badge-succeeded').waitFor();
    // The history says it in words, with a time, as soon as it happens.
    const previewed = page.locator('#timeline-list li[data-action="preview.succeeded"]');
    await previewed.nth(1).waitFor();
    assert.match(await previewed.first().textContent(), /Dana Driver previewed in dev \(run #2\)/);
    assert.equal(await previewed.first().locator('time').count(), 1);

    const state = await api(pair, 'GET', `/api/requests/${request}`);
    const dev = state.progress.environments.find((e) => e.name === 'dev');
    assert.equal(dev.stage, 'previewed');
    assert.equal(await page.locator('[data-testid=approve-fingerprint]').textContent(), dev.fingerprint);
    assert.equal(await page.locator('[data-testid=approve-revision-hash]').textContent(),
      state.progress.revision_hash);
    assert.equal(await page.locator('[data-testid=revision-hash]').textContent(), state.revision.hash);

    // The pair sees the evidence's rows, with the changed cell highlighted.
    await page.locator('#diff td.changed').first().waitFor();
    assert.match(await page.locator('#diff td.changed ins').first().textContent(), new RegExp(canary));

    // Approving asks first; nothing is approved until the person confirms.
    await page.click('[data-testid=approve-evidence-dev]');
    await page.locator('[data-testid=confirm-approve-evidence-dev]').waitFor();
    assert.equal((await api(pair, 'GET', `/api/requests/${request}`)).approvals.length, 0);
    await page.click('[data-testid=confirm-approve-evidence-dev]');
    await page.locator('#approvals tr[data-approval="evidence"][data-environment="dev"]').waitFor();
    assert.match(await page.locator('[data-testid=approval-result]').textContent(),
      /You approved the evidence in dev\..*Dana Driver can now apply revision r1 in dev/);
    await page.locator('#environments tr[data-environment="dev"] .badge-approved').waitFor();
    assert.equal(await page.locator('[data-testid=approve-evidence-dev]').count(), 0);
    await page.screenshot({ path: path.join(screenshots, 'web-pair-approved.png'), fullPage: true });
  });
}

// The page is no wider than the phone's screen: nothing to scroll sideways but the tables that
// scroll inside their own box.
async function fitsThePhone(page) {
  const widths = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    screen: window.innerWidth,
  }));
  assert.ok(widths.page <= widths.screen && widths.body <= widths.screen,
    `the page is wider than the phone: ${JSON.stringify(widths)}`);
}

async function productOwnerPhase() {
  const po = env('DATAFIX_TOKEN_PO');
  const outsider = env('DATAFIX_TOKEN_OUTSIDER');
  const userKey = env('DATAFIX_USER_KEY');
  const oldName = env('DATAFIX_OLD_NAME');
  await withBrowser(async (page) => {
    await wrongTokenShowsTheRefusal(page);
    await signIn(page, po);
    await listHasNoCanary(page);
    await page.screenshot({ path: path.join(screenshots, 'web-list.png') });
    await page.goto(`${url}/requests/${request}`);
    await page.locator('#diff td.changed').first().waitFor();
    assert.match(await page.locator('#diff').textContent(), new RegExp(canary));

    // The card says in words what prod approval changes, where it was checked, what comes next.
    const card = page.locator('[data-card=approve-production]');
    await card.locator('[data-testid=summary-production] .sentence').first().waitFor();
    const loud = await card.locator('[data-testid=summary-production] .sentence:not(.quiet)').allTextContents();
    assert.deepEqual(loud, [`app_user: family_name ${oldName} → ${canary} on 1 row (${userKey})`]);
    const quiet = (await card.locator('.sentence.quiet').allTextContents()).join('\n');
    assert.match(quiet, /app_user: updated_at .* on 1 row/, 'trigger columns are shown quietly');
    assert.match(quiet, /record_version: 1 row inserted/, 'tables only triggers write are quiet');
    assert.match(await card.locator('[data-testid=po-approves]').textContent(),
      /You approve that Dana Driver runs revision r1 of this request in prod/);
    assert.match(await card.textContent(), /Checked in test: applied by Dana Driver on .* \(apply run #\d+\)/);
    assert.match(await card.locator('[data-testid=po-next]').textContent(),
      /^What happens next: Dana Driver previews the change in prod, Sam Pair checks that preview/);
    // The diff names the row by its display key; the timestamp the trigger sets is not loud.
    assert.ok((await page.locator('#diff th.row-name').allTextContents()).some((t) => t.startsWith(userKey)));
    assert.ok(await page.locator('#diff td.changed.quiet').count() > 0);

    const state = await api(po, 'GET', `/api/requests/${request}`);
    assert.equal(await page.locator('[data-testid=approve-production-hash]').textContent(),
      state.progress.revision_hash);
    await page.screenshot({ path: path.join(screenshots, 'web-request.png'), fullPage: true });

    // A confirmation first: the question, and nothing approved until "Yes".
    await page.click('[data-testid=approve-production]');
    const confirm = page.locator('[data-testid=confirm-approve-production]');
    await confirm.waitFor();
    assert.match(await card.locator('.confirm .question').textContent(), /^Approve running revision r1 in prod\?/);
    await page.click('[data-testid=cancel-approve-production]');
    assert.ok(await confirm.isHidden());
    assert.equal((await api(po, 'GET', `/api/requests/${request}`)).progress.product_owner_approved, false);
    await page.click('[data-testid=approve-production]');
    await page.click('[data-testid=confirm-approve-production]');
    // Then the result, and what happens next.
    const result = page.locator('[data-testid=approval-result]');
    await result.waitFor();
    assert.match(await result.textContent(),
      /You approved prod for revision r1\..*Dana Driver now previews and applies it in prod with Sam Pair; you will be notified when it is done/);
    await page.locator('#approvals tr[data-approval="product_owner"]').waitFor();
    assert.equal(await page.locator('[data-testid=approve-production]').count(), 0);
    await page.screenshot({ path: path.join(screenshots, 'web-request-approved.png'), fullPage: true });

    // The history in words, with times, is still there after a reload.
    await page.reload();
    const approvedEntry = page.locator('#timeline-list li[data-action="production.approved"]');
    await approvedEntry.waitFor();
    assert.match(await approvedEntry.textContent(), /Priya Owner approved in prod for revision r1/);
    assert.ok(await approvedEntry.locator('time').count() === 1);
    assert.match(await page.locator('#timeline-list').textContent(), /Dana Driver applied in test \(run #\d+\)/);
    assert.doesNotMatch(await page.locator('#timeline-list').textContent(), /finish-run|in_flight/);

    // On a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.locator('#diff td.changed').first().waitFor();
    await page.locator('#timeline-list').waitFor();
    await fitsThePhone(page);
    await page.screenshot({ path: path.join(screenshots, 'web-request-phone.png'), fullPage: true });
  });
  // Someone who is not a person of the request sees the request but never its rows.
  await withBrowser(async (page) => {
    await signIn(page, outsider);
    await listHasNoCanary(page);
    await page.goto(`${url}/requests/${request}`);
    await page.locator('#runs').waitFor();
    await page.locator('#diff-card').waitFor();
    assert.match(await page.locator('#diff-card').textContent(), /shown to the driver, the pair and the requesting product owner only/);
    assert.match(await page.locator('#history').textContent(), /for the request's people/);
    await page.waitForTimeout(300);
    assert.ok(!(await page.content()).includes(canary), 'the canary is on an outsider\'s page');
  });
}

async function filePhase() {
  const po = env('DATAFIX_TOKEN_PO');
  const reason = env('DATAFIX_REASON');
  const title = env('DATAFIX_TITLE');
  const before = (await api(po, 'GET', '/api/requests')).requests.length;
  await withBrowser(async (page) => {
    await signIn(page, po);
    await page.locator('#inbox-waiting').waitFor();
    await page.click('#new-request-open');
    await page.locator('#new-request-form').waitFor();
    // Incomplete: the server's refusal and its HINT show in the form; nothing is filed.
    await page.fill('#nr-title', title);
    await page.click('#new-request-form button[type=submit]');
    const problem = page.locator('#new-request-problem');
    await problem.waitFor();
    assert.match(await problem.locator('.message').textContent(), /a request needs a title and a reason/);
    assert.match(await problem.locator('.hint').textContent(), /^HINT: say what should change and why/);
    assert.equal((await api(po, 'GET', '/api/requests')).requests.length, before);

    await page.fill('#nr-date', '2026-12-15');
    await page.fill('#nr-ticket', 'https://tickets.example.com/DF-42');
    await page.fill('#nr-reason', reason);
    await page.click('#new-request-form button[type=submit]');
    await page.waitForURL(/\/requests\/\d+$/);
    await page.locator('#request-title').waitFor();
    assert.equal(await page.locator('#request-title').textContent(), title);
    // The product owner is one of the request's people: the sealed reason is shown to them.
    assert.match(await page.locator('#request').textContent(), new RegExp(reason));
    assert.match(await page.locator('#request').textContent(), /2026-12-15/);
  });
  const after = (await api(po, 'GET', '/api/requests')).requests;
  assert.equal(after.length, before + 1);
  const filed = after.find((r) => r.title === title);
  assert.ok(filed, 'the filed request is listed');
  assert.equal(filed.requested_date, '2026-12-15');
  assert.equal(filed.ticket, 'https://tickets.example.com/DF-42');
  console.log(`filed request ${filed.number}`);
}

async function inboxPhase() {
  const pair = env('DATAFIX_TOKEN_PAIR');
  const title = env('DATAFIX_TITLE');
  const reason = env('DATAFIX_REASON');
  const inbox = await api(pair, 'GET', '/api/inbox');
  const waiting = inbox.waiting_on_you.find((r) => r.title === title);
  assert.ok(waiting, `the pair's inbox waits on them: ${JSON.stringify(inbox.waiting_on_you)}`);
  await withBrowser(async (page) => {
    await signIn(page, pair);
    const item = page.locator(`#inbox-waiting li[data-request="${waiting.number}"]`);
    await item.waitFor();
    assert.equal(await item.getAttribute('data-step'), 'approve');
    assert.match(await item.locator('.what').textContent(), /^approve the evidence of preview #\d+ in dev$/);
    assert.equal(await item.locator('.owner').textContent(), ' · you (pair)');
    assert.match(await item.locator('.inbox-meta').textContent(), /requested by Priya Owner for 2026-12-15/);
    // Also among the pair's own requests and every open one, with the same next step.
    await page.locator(`#inbox-yours li[data-request="${waiting.number}"]`).waitFor();
    await page.locator(`#inbox-open li[data-request="${waiting.number}"]`).waitFor();
    assert.ok(!(await page.content()).includes(reason), 'the reason is on the home page');
    assert.ok(!(await page.content()).includes(canary), 'the canary is on the home page');
    await page.screenshot({ path: path.join(screenshots, 'web-home-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await item.waitFor();
    // Nothing wider than the phone's screen: no sideways scrolling of the page itself.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the home page is ${overflow} px wider than a 390 px screen`);
    await page.screenshot({ path: path.join(screenshots, 'web-home-390.png'), fullPage: true });
    await item.locator('a').click();
    await page.waitForURL(`${url}/requests/${waiting.number}`);
    await page.locator('[data-testid=approve-evidence-dev]').waitFor();

    // Until then nothing waits on the driver: the approval is the pair's.
    const driverBefore = await api(env('DATAFIX_TOKEN_DRIVER'), 'GET', '/api/inbox');
    assert.deepEqual(driverBefore.waiting_on_you, []);
    // Something is not right: the pair sends it back to the driver, with a confirmation first.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.click('[data-testid=request-changes]');
    await page.locator('[data-testid=confirm-request-changes]').waitFor();
    assert.match(await page.locator('[data-card=request-changes] .confirm .question').textContent(),
      new RegExp(`^Send request #${waiting.number} back to Dana Driver\\?`));
    await page.fill('[data-testid=request-changes-reason]', 'the WHERE should name the e-mail address');
    await page.click('[data-testid=confirm-request-changes]');
    const result = page.locator('[data-testid=approval-result]');
    await result.waitFor();
    assert.match(await result.textContent(), /You sent the request back to Dana Driver\./);
    // The approval is no longer offered, and the request left what waits on the pair.
    assert.equal(await page.locator('[data-testid=approve-evidence-dev]').count(), 0);
    const after = await api(pair, 'GET', '/api/inbox');
    assert.ok(!after.waiting_on_you.some((r) => r.number === waiting.number),
      `still waiting on the pair: ${JSON.stringify(after.waiting_on_you)}`);
    await page.goto(`${url}/`);
    await page.locator(`#inbox-yours li[data-request="${waiting.number}"][data-step="preview"]`).waitFor();
    assert.equal(await page.locator(`#inbox-waiting li[data-request="${waiting.number}"]`).count(), 0);
  });
}

// The product owner's whole path, one browser session from the form to production.
async function journeyPhase() {
  const po = env('DATAFIX_TOKEN_PO');
  const title = env('DATAFIX_TITLE');
  const reason = env('DATAFIX_REASON');
  const userKey = env('DATAFIX_USER_KEY');
  const oldName = env('DATAFIX_OLD_NAME');
  await withBrowser(async (page) => {
    await signIn(page, po);
    await page.locator('#inbox-waiting').waitFor();
    await page.click('#new-request-open');
    await page.fill('#nr-title', title);
    await page.fill('#nr-date', '2026-12-15');
    await page.fill('#nr-ticket', 'https://tickets.example.com/DF-77');
    await page.fill('#nr-reason', reason);
    await page.click('#new-request-form button[type=submit]');
    await page.waitForURL(/\/requests\/\d+$/);
    const number = Number(new URL(page.url()).pathname.split('/').pop());
    await page.locator('#request-title').waitFor();
    assert.equal(await page.locator('#request-title').textContent(), title);
    await page.locator('#live .dot-live').waitFor();
    console.log(`filed request ${number}`);

    // The developers claim, pair, attach, and walk dev and test; the open page follows them.
    await until('test to be applied', async () => {
      const state = await api(po, 'GET', `/api/requests/${number}`);
      return state.next.step === 'approve-prod';
    });
    await page.locator('#environments tr[data-environment="test"] .badge-applied').waitFor();
    assert.match(await page.locator('#request').textContent(), /Dana Driver/);
    assert.match(await page.locator('#request').textContent(), /Sam Pair/);

    // The inbox: the approval waits on the product owner, by name and in words.
    await page.click('.crumbs a');
    const item = page.locator(`#inbox-waiting li[data-request="${number}"]`);
    await item.waitFor();
    assert.equal(await item.getAttribute('data-step'), 'approve-prod');
    assert.equal(await item.locator('.what').textContent(), 'verify the change in test, then approve prod for revision 1');
    assert.equal(await item.locator('.owner').textContent(), ' · you (product owner)');
    await page.screenshot({ path: path.join(screenshots, 'web-journey-inbox-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await item.waitFor();
    await fitsThePhone(page);
    await page.screenshot({ path: path.join(screenshots, 'web-journey-inbox-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    await item.locator('a').click();
    await page.waitForURL(`${url}/requests/${number}`);

    // The summary sentence says what prod approval changes, by the row's display key.
    const card = page.locator('[data-card=approve-production]');
    await card.locator('[data-testid=summary-production] .sentence').first().waitFor();
    assert.deepEqual(await card.locator('[data-testid=summary-production] .sentence:not(.quiet)').allTextContents(),
      [`app_user: family_name ${oldName} → ${canary} on 1 row (${userKey})`]);
    assert.match(await card.locator('[data-testid=po-approves]').textContent(),
      /You approve that Dana Driver runs revision r1 of this request in prod/);
    assert.match(await card.textContent(), /Checked in test: applied by Dana Driver on .* \(apply run #\d+\)/);

    // Approving asks first; nothing is approved until "Yes".
    await page.click('[data-testid=approve-production]');
    await page.locator('[data-testid=confirm-approve-production]').waitFor();
    assert.match(await card.locator('.confirm .question').textContent(), /^Approve running revision r1 in prod\?/);
    assert.equal((await api(po, 'GET', `/api/requests/${number}`)).progress.product_owner_approved, false);
    await page.click('[data-testid=confirm-approve-production]');
    const result = page.locator('[data-testid=approval-result]');
    await result.waitFor();
    assert.match(await result.textContent(),
      /You approved prod for revision r1\..*Dana Driver now previews and applies it in prod with Sam Pair/);
    await page.screenshot({ path: path.join(screenshots, 'web-journey-approved.png'), fullPage: true });

    // The developers apply prod; the page shows the request done without a reload.
    await until('prod to be applied', async () =>
      (await api(po, 'GET', `/api/requests/${number}`)).status === 'done');
    await page.locator('.title-row .badge-done').waitFor();
    await page.locator('#environments tr[data-environment="prod"] .badge-applied').waitFor();
    await page.locator('#timeline-list li', { hasText: /Dana Driver applied in prod \(run #\d+\)/ }).first().waitFor();
    await page.screenshot({ path: path.join(screenshots, 'web-journey-done-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('.title-row .badge-done').waitFor();
    await fitsThePhone(page);
    await page.screenshot({ path: path.join(screenshots, 'web-journey-done-390.png'), fullPage: true });
    // Done: nothing waits on the product owner any more.
    await page.click('.crumbs a');
    await page.locator('#inbox-waiting .none').waitFor();
    assert.equal(await page.locator(`#inbox-waiting li[data-request="${number}"]`).count(), 0);
    assert.ok(!(await page.content()).includes(reason), 'the reason is on the home page');
  });
}

// After the end, test data still holds the change: the driver's home lists it apart.
async function tidyPhase() {
  const driver = env('DATAFIX_TOKEN_DRIVER');
  await withBrowser(async (page) => {
    await signIn(page, driver);
    const item = page.locator(`#inbox-tidy li[data-request="${request}"]`);
    await item.waitFor();
    assert.equal(await item.getAttribute('data-step'), 'revert');
    assert.equal(await item.locator('.what').textContent(), 'put the data in dev and test back: revert test');
    assert.equal(await item.locator('.owner').textContent(), ' · you (driver)');
    assert.match(await item.locator('.inbox-title').textContent(), /done/);
    assert.equal(await page.locator('#inbox-tidy .count').textContent(), '1');
    assert.equal(await page.locator(`#inbox-waiting li[data-request="${request}"]`).count(), 0);
    assert.equal(await page.locator(`#inbox-yours li[data-request="${request}"]`).count(), 0);
    await page.locator('#inbox-waiting .none').waitFor();
    // Quiet: after the three lists, not in the grid of what waits.
    const after = await page.evaluate(() => {
      const grid = document.querySelector('.inbox');
      const tidy = document.getElementById('inbox-tidy');
      return Boolean(grid.compareDocumentPosition(tidy) & Node.DOCUMENT_POSITION_FOLLOWING) &&
        !grid.contains(tidy);
    });
    assert.ok(after, 'the tidy list comes after the inbox grid');
    await page.screenshot({ path: path.join(screenshots, 'web-home-tidy-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await item.waitFor();
    await fitsThePhone(page);
    await page.screenshot({ path: path.join(screenshots, 'web-home-tidy-390.png'), fullPage: true });
  });
}

// A preview of 40 rows: one sentence says it all, and the rows come 20 to a page, each named by
// its application number.
async function largePhase() {
  const pair = env('DATAFIX_TOKEN_PAIR');
  await withBrowser(async (page) => {
    await signIn(page, pair);
    await page.locator('#sign-out').waitFor();
    await page.goto(`${url}/requests/${request}`);
    const summary = page.locator('[data-testid=diff-summary]');
    await summary.waitFor();
    assert.deepEqual(await summary.locator('.sentence:not(.quiet)').allTextContents(),
      ['application: form_data changed on 40 rows, 40 different changes (APP-0000001, APP-0000002, APP-0000003 and 37 more)']);
    const table = page.locator('#diff .statement-diff[data-table="app_public.application"]');
    assert.equal(await table.locator('tbody tr').count(), 20);
    assert.equal(await table.locator('thead th.row-name').textContent(), 'application_number');
    assert.match(await table.locator('tbody th.row-name').first().textContent(), /^APP-0000001 updated$/);
    assert.match(await table.locator('.pager').textContent(), /rows 1–20 of 40/);
    // The summary comes before the rows.
    const order = await page.evaluate(() => {
      const s = document.querySelector('[data-testid=diff-summary]');
      const t = document.querySelector('#diff .statement-diff');
      return Boolean(s.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING);
    });
    assert.ok(order, 'the summary is above the table');
    await page.screenshot({ path: path.join(screenshots, 'web-large.png'), fullPage: true });
    await table.locator('[data-testid=page-next]').click();
    assert.match(await table.locator('.pager').textContent(), /rows 21–40 of 40/);
    assert.match(await table.locator('tbody th.row-name').first().textContent(), /^APP-0000021 updated$/);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.locator('[data-testid=diff-summary]').waitFor();
    await fitsThePhone(page);
    await page.screenshot({ path: path.join(screenshots, 'web-large-phone.png'), fullPage: true });
  });
}

const phases = {
  pair: pairPhase, po: productOwnerPhase, file: filePhase, inbox: inboxPhase, large: largePhase,
  journey: journeyPhase, tidy: tidyPhase,
};
if (!phases[phase]) {
  console.error('usage: node pages.test.mjs pair|po|file|inbox|large|journey|tidy');
  process.exit(2);
}
try {
  await phases[phase]();
  console.log(`pages.test.mjs ${phase}: ok`);
} catch (e) {
  console.error(`pages.test.mjs ${phase}: ${e.stack || e}`);
  process.exit(1);
}
