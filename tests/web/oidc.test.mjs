// Sign-in through a real OpenID Connect provider (tests/oidc/provider.mjs, npm's oidc-provider)
// in Debian's headless Chromium, started by oidc_test.cpp with a running server configured with
// [auth.oidc]:
//   node oidc.test.mjs po        a product owner follows an e-mail's deep link, signs in at the
//                                provider's own login page, lands on the request and approves
//                                production; CSRF refusals, a second tab, sign-out
//   node oidc.test.mjs refusals  forged, expired, wrong-audience, wrong-issuer, alg=none and
//                                HS256 ID tokens from the provider's token endpoint are refused,
//                                so are a replayed state and a person datafix does not know
//   node oidc.test.mjs rotate    the provider rotates its keys; sign-in still works (and ES256)
//   node oidc.test.mjs device    `datafix login` with the device grant, confirmed in the browser
//                                (as DATAFIX_LOGIN_AS, default dana)
//   node oidc.test.mjs expiry    a signed-in page, then the server's test clock (the file
//                                DATAFIX_TEST_CLOCK_FILE) moves past the session's lifetime: the
//                                cookie no longer acts, the page offers the sign-in, which works
//   node oidc.test.mjs roleless  someone datafix created with no role signs in, sees the home
//                                page, and is told to ask an administrator when they file
// Exits non-zero with the first failed check.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
const issuer = env('OIDC_ISSUER');
const phase = process.argv[2];
const timeout = 20000;

async function withBrowser(work) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'datafix-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // Only loopback: the provider's pages import a web font, and this machine reaches nothing else.
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
  const problems = [];
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(timeout);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await work(page, context);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  assert.deepEqual(problems, []);
}

async function control(route) {
  const res = await fetch(`${issuer}${route}`, { method: 'POST' });
  assert.equal(res.status, 200, `${route}: ${res.status}`);
}

// The provider's own pages: its login form (any password; the login is the person's id), then
// its consent, until the browser leaves the provider.
async function atProvider(page, login) {
  for (let step = 0; step < 6; step += 1) {
    await page.waitForLoadState('load');
    if (!page.url().startsWith(issuer)) {
      return;
    }
    if (await page.locator('input[name=login]').count()) {
      await page.fill('input[name=login]', login);
      await page.fill('input[name=password]', 'fabricated-password');
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    } else if (await page.locator('button[type=submit]').count()) {
      await Promise.all([page.waitForNavigation(), page.locator('button[type=submit]').first().click()]);
    } else {
      return;
    }
  }
}

// Starts a sign-in at datafix and returns datafix's answer to the provider's redirect.
async function signInThroughProvider(page, login, returnTo = '/') {
  const callback = page.waitForResponse((r) => r.url().startsWith(`${url}/auth/callback`));
  await page.goto(`${url}/auth/login?return_to=${encodeURIComponent(returnTo)}`);
  await atProvider(page, login);
  return callback;
}

async function sessionCookie(context) {
  return (await context.cookies(url)).find((c) => c.name === 'datafix_session');
}

async function productOwnerPhase() {
  const request = env('DATAFIX_REQUEST');
  await withBrowser(async (page, context) => {
    // The link of the "approve production" e-mail, opened in a browser with no session.
    await page.goto(`${url}/requests/${request}`);
    await page.locator('#sign-in').waitFor();
    await page.locator('#sso').waitFor();
    await page.click('#sso-link');
    await page.waitForURL(`${issuer}/**`);
    await atProvider(page, 'priya');
    await page.waitForURL(`${url}/requests/${request}`);
    await page.locator('#request-title').waitFor();
    assert.match(await page.locator('#who').textContent(), /Priya Owner/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('datafix.token')), null);

    const cookie = await sessionCookie(context);
    assert.ok(cookie, 'no session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.secure, false, 'public_url is plain http on 127.0.0.1: not Secure');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the cookie is readable by scripts');

    // A state-changing call with the cookie alone (what a forged cross-site form would send) is
    // refused, and so is one from another Origin.
    const refused = await page.evaluate(async (n) => {
      const res = await fetch(`/api/requests/${n}/approve-production`, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' }, body: '{}' });
      return { status: res.status, body: await res.json() };
    }, request);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.rule, 'csrf-token');
    const foreign = await fetch(`${url}/api/requests/${request}/approve-production`, {
      method: 'POST',
      headers: { Cookie: `datafix_session=${cookie.value}`, Origin: 'http://evil.example',
        'Content-Type': 'application/json' },
      body: '{}' });
    assert.equal(foreign.status, 403);
    assert.equal((await foreign.json()).rule, 'csrf-origin');

    await page.locator('[data-testid=approve-production]').waitFor();
    await page.click('[data-testid=approve-production]');
    // The page asks before it approves; the approval is a state-changing call with the cookie.
    await page.click('[data-testid=confirm-approve-production]');
    await page.locator('[data-testid=approval-result]').waitFor();
    await page.locator('#approvals tr[data-approval="product_owner"]').waitFor();
    assert.equal(await page.locator('[data-testid=approve-production]').count(), 0);

    // Another tab (another link from a notification) shares the session.
    const second = await context.newPage();
    await second.goto(`${url}/requests/${request}`);
    await second.locator('#request-title').waitFor();
    assert.ok(await second.locator('#sign-in').isHidden());
    await second.close();

    await page.click('#sign-out');
    await page.waitForURL(`${url}/`);
    await page.locator('#sign-in').waitFor();
    assert.equal(await sessionCookie(context), undefined, 'the cookie outlived the sign-out');
    const after = await fetch(`${url}/api/me`, { headers: { Cookie: `datafix_session=${cookie.value}` } });
    assert.equal(after.status, 401);
    assert.equal((await after.json()).rule, 'session-invalid');
  });
}

async function expectRefused(page, login, rule) {
  const answer = await signInThroughProvider(page, login);
  assert.equal(answer.status(), 401, `${rule}: datafix answered ${answer.status()}`);
  const body = await answer.json();
  assert.equal(body.rule, rule, JSON.stringify(body));
  assert.equal(await sessionCookie(page.context()), undefined, `${rule}: a cookie was set`);
}

async function refusalsPhase() {
  await withBrowser(async (page) => {
    for (const [mode, rule] of [['expired', 'id-token-expired'],
      ['wrong-audience', 'id-token-audience'], ['wrong-issuer', 'id-token-issuer'],
      ['forged', 'id-token-signature'], ['none', 'id-token-algorithm'],
      ['hs256', 'id-token-algorithm']]) {
      await control(`/_test/id_token/${mode}`);
      await expectRefused(page, 'priya', rule);
    }
    await control('/_test/id_token/genuine');
    // A genuine sign-in, then its redirect again: the state was taken by the first.
    let callbackUrl = '';
    page.on('request', (r) => {
      if (r.url().startsWith(`${url}/auth/callback`)) {
        callbackUrl = r.url();
      }
    });
    const ok = await signInThroughProvider(page, 'priya');
    assert.equal(ok.status(), 303);
    assert.ok(await sessionCookie(page.context()));
    await page.context().clearCookies();
    const replay = await page.goto(callbackUrl);
    assert.equal(replay.status(), 401);
    assert.equal((await replay.json()).rule, 'sign-in-state');
    assert.equal(await sessionCookie(page.context()), undefined);
  });
  // Someone the provider knows and datafix does not.
  await withBrowser(async (page) => {
    await expectRefused(page, 'olu', 'unknown-person');
  });
}

async function rotatePhase() {
  await withBrowser(async (page) => {
    const before = await signInThroughProvider(page, 'sam');
    assert.equal(before.status(), 303);
  });
  await control('/_test/rotate');
  await withBrowser(async (page) => {
    const after = await signInThroughProvider(page, 'sam');
    assert.equal(after.status(), 303, 'sign-in after the provider rotated its keys');
    await page.context().clearCookies();
    await control('/_test/id_token/es256');
    const es = await signInThroughProvider(page, 'sam');
    assert.equal(es.status(), 303, 'an ES256 ID token with the published P-256 key');
    await control('/_test/id_token/genuine');
  });
}

async function devicePhase() {
  const login = process.env.DATAFIX_LOGIN_AS || 'dana';
  const expected = new RegExp(process.env.DATAFIX_LOGIN_EXPECT
    || 'signed in as Dana Driver \\(developer\\); session stored in');
  const binary = env('DATAFIX_BINARY');
  const home = env('DATAFIX_LOGIN_HOME');
  const childEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: '' };
  delete childEnv.DATAFIX_TOKEN;
  const child = spawn(binary, ['login', '--server', url], { env: childEnv });
  let err = '';
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const prompt = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no device prompt: ${err}`)), timeout);
    child.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/open (\S+)\s+and confirm the code (\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ link: m[1], code: m[2] });
      }
    });
  });
  assert.ok(prompt.link.startsWith(issuer), prompt.link);
  await withBrowser(async (page) => {
    await page.goto(prompt.link);
    assert.match(await page.content(), new RegExp(prompt.code));
    await atProvider(page, login);
    assert.match(await page.content(), /Sign-in Success/i);
  });
  const code = await exited;
  assert.equal(code, 0, `datafix login: ${out} ${err}`);
  assert.match(out, expected);
}

// The session's CSRF token, read as the pages read it.
async function csrfToken(cookie) {
  const res = await fetch(`${url}/auth/session`, { headers: { Cookie: `datafix_session=${cookie}` } });
  const body = await res.json();
  assert.ok(body.csrf_token, `no CSRF token: ${JSON.stringify(body)}`);
  return body.csrf_token;
}

async function expiryPhase() {
  const clock = env('DATAFIX_TEST_CLOCK_FILE');
  const request = env('DATAFIX_REQUEST');
  await withBrowser(async (page, context) => {
    const first = await signInThroughProvider(page, 'priya', `/requests/${request}`);
    assert.equal(first.status(), 303);
    await page.locator('#request-title').waitFor();
    const cookie = (await sessionCookie(context)).value;
    const csrf = await csrfToken(cookie);
    const asCookie = { Cookie: `datafix_session=${cookie}` };
    assert.equal((await fetch(`${url}/api/me`, { headers: asCookie })).status, 200);

    // 40 days later on the server's clock: past the 12 hours a browser session lives.
    fs.writeFileSync(clock, '3456000\n');
    const me = await fetch(`${url}/api/me`, { headers: asCookie });
    assert.equal(me.status, 401);
    const refused = await me.json();
    assert.equal(refused.rule, 'session-expired', JSON.stringify(refused));
    assert.match(refused.message, /your sign-in session expired at /);
    assert.match(refused.hint, /sign in again/);
    // The expired cookie takes no step, even with its CSRF token from this server's pages.
    const comment = await fetch(`${url}/api/requests/${request}/comments`, {
      method: 'POST',
      headers: { ...asCookie, 'X-CSRF-Token': csrf, Origin: url, 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'written after the session expired' }) });
    assert.equal(comment.status, 401);
    assert.equal((await comment.json()).rule, 'session-expired');

    // The page forgets the cookie and offers the sign-in again, which works.
    await page.reload();
    await page.locator('#sign-in').waitFor();
    assert.equal(await sessionCookie(context), undefined, 'the expired cookie was kept');
    const again = await signInThroughProvider(page, 'priya', `/requests/${request}`);
    assert.equal(again.status(), 303);
    const renewed = (await sessionCookie(context)).value;
    assert.notEqual(renewed, cookie);
    assert.equal((await fetch(`${url}/api/me`, { headers: { Cookie: `datafix_session=${renewed}` } })).status, 200);
  });
}

async function rolelessPhase() {
  await withBrowser(async (page, context) => {
    const answer = await signInThroughProvider(page, 'olu', '/');
    assert.equal(answer.status(), 303);
    await page.waitForURL(`${url}/`);
    await page.locator('#who').waitFor();
    assert.match(await page.locator('#who').textContent(), /Olu Outsider/);
    // The home page lists no one else's requests and says why, with whom to ask.
    await page.locator('#problem .hint').filter({ hasText: /ask an administrator/ }).waitFor();
    assert.match(await page.locator('#problem .hint').textContent(),
      /HINT: ask an administrator to give you a role/);
    const cookie = (await sessionCookie(context)).value;
    const csrf = await csrfToken(cookie);
    const filed = await fetch(`${url}/api/requests`, {
      method: 'POST',
      headers: { Cookie: `datafix_session=${cookie}`, 'X-CSRF-Token': csrf, Origin: url,
        'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'from someone with no role', reason: 'fabricated' }) });
    assert.equal(filed.status, 403);
    const body = await filed.json();
    assert.equal(body.rule, 'no-role', JSON.stringify(body));
    assert.match(body.hint, /ask an administrator to give you a role \(datafix users set-role EMAIL ROLE\)/);
  });
}

const phases = { po: productOwnerPhase, refusals: refusalsPhase, rotate: rotatePhase,
  device: devicePhase, expiry: expiryPhase, roleless: rolelessPhase };
if (!phases[phase]) {
  console.error('usage: node oidc.test.mjs po|refusals|rotate|device|expiry|roleless');
  process.exit(2);
}
try {
  await phases[phase]();
  console.log(`oidc.test.mjs ${phase}: ok`);
} catch (e) {
  console.error(`oidc.test.mjs ${phase}: ${e.stack || e}`);
  process.exit(1);
}
