// Drives Debian's Chromium through the Textbird dashboard with playwright-core. Run by
// crates/textbird/tests/dashboard_browser.rs as `node dashboard.js <scenario>`, with the server
// and accounts in the environment:
//   TB_BASE        http://127.0.0.1:PORT
//   TB_USER_A, TB_PASS_A, TB_USER_B, TB_PASS_B   two accounts' dashboard logins
//   TB_FOREIGN_ID  (isolation) a message id of account A
//   TB_SHOTS       (optional) a folder for screenshots of the main pages
// Prints one JSON line per observation ({"step": ..., ...}) and exits 0 when the scenario
// held, 1 (with {"error": ...}) when it did not.
'use strict';

const { chromium } = require('playwright-core');
const path = require('path');

const BASE = process.env.TB_BASE;
const A = { user: process.env.TB_USER_A, pass: process.env.TB_PASS_A };
const B = { user: process.env.TB_USER_B, pass: process.env.TB_PASS_B };
const SHOTS = process.env.TB_SHOTS || '';
const EXECUTABLE = process.env.TB_CHROMIUM || '/usr/bin/chromium';

function say(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}

async function signIn(page, who) {
  await page.goto(BASE + '/login');
  await page.fill('input[name=username]', who.user);
  await page.fill('input[name=password]', who.pass);
  // The form submits on Enter.
  await Promise.all([page.waitForNavigation(), page.press('input[name=password]', 'Enter')]);
}

/// Fetches `path` with the page's cookies (same origin), without following redirects.
async function fetchIn(page, path, init) {
  return page.evaluate(
    async ([url, init]) => {
      const r = await fetch(url, { redirect: 'manual', ...init });
      return { status: r.status, type: r.type, text: await r.text() };
    },
    [BASE + path, init || {}],
  );
}

const scenarios = {
  // GET / when signed out goes to /login; sign in with Enter; send with the live counter;
  // the message turns delivered in the log without a reload; sign out.
  async send_and_watch_delivered(browser) {
    const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
    const r = await page.goto(BASE + '/');
    check(new URL(page.url()).pathname === '/login', 'signed out, / leads to /login, got ' + page.url());
    say({ step: 'redirected', url: page.url(), status: r.status() });
    await shot(page, 'login');
    await signIn(page, A);
    check(new URL(page.url()).pathname === '/', 'after sign-in the overview, got ' + page.url());
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'tb_session');
    check(session && session.httpOnly && session.sameSite === 'Strict', 'session cookie HttpOnly, SameSite=Strict');
    say({ step: 'signed_in', cookie: { httpOnly: session.httpOnly, sameSite: session.sameSite } });

    await page.goto(BASE + '/send');
    await page.fill('input[name=to]', '+31612345678');
    await page.fill('input[name=from]', 'Acme');
    await page.locator('textarea[name=body]').pressSequentially('Hello from the dashboard', { delay: 5 });
    await page.waitForFunction(() => document.querySelector('#chars').textContent === '24');
    const counter = {
      chars: await page.textContent('#chars'),
      encoding: await page.textContent('#encoding'),
      parts: await page.textContent('#parts'),
      price: await page.textContent('#price'),
    };
    say({ step: 'counter', ...counter });
    // A long Unicode text: the counter says UCS-2 and more parts.
    await page.fill('textarea[name=body]', '');
    await page.locator('textarea[name=body]').pressSequentially('Привет! '.repeat(10), { delay: 1 });
    await page.waitForFunction(() => document.querySelector('#chars').textContent === '80');
    const unicode = { encoding: await page.textContent('#encoding'), parts: await page.textContent('#parts') };
    say({ step: 'counter_unicode', ...unicode });
    await page.fill('textarea[name=body]', 'Hello from the dashboard');
    await shot(page, 'send');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]:has-text("Send")')]);
    const link = page.locator('.notice a').first();
    const id = new URL(await link.getAttribute('href'), BASE).pathname.split('/').pop();
    say({ step: 'sent', id });

    await page.goto(BASE + '/messages');
    const row = page.locator(`tr[data-id="${id}"] .status`);
    await row.waitFor();
    say({ step: 'listed', status: await row.textContent() });
    // htmx refreshes the log every two seconds: no reload here.
    await page.waitForFunction(
      (id) => {
        const cell = document.querySelector(`tr[data-id="${id}"] .status`);
        return cell && cell.textContent.trim() === 'delivered';
      },
      id,
      { timeout: 30000 },
    );
    say({ step: 'delivered', id });
    await shot(page, 'messages');
    await page.goto(BASE + '/messages/' + id);
    const timeline = await page.locator('ol.timeline li').allTextContents();
    say({ step: 'timeline', events: timeline.map((t) => t.trim().split(/\s+/)[0]) });
    await shot(page, 'message');
    await page.goto(BASE + '/');
    await shot(page, 'overview');

    await Promise.all([page.waitForNavigation(), page.click('text=Sign out')]);
    check(new URL(page.url()).pathname === '/login', 'signed out to /login');
    await page.goto(BASE + '/send');
    check(new URL(page.url()).pathname === '/login', 'after sign-out /send leads to /login');
    say({ step: 'signed_out' });
  },

  // Create an API key with a name and expiry, shown once; it works; revoke it; it stops.
  async api_key(browser) {
    const page = await browser.newPage();
    await signIn(page, A);
    await page.goto(BASE + '/keys');
    await page.fill('input[name=name]', 'billing server');
    await page.fill('input[name=expiry_days]', '7');
    await Promise.all([page.waitForNavigation(), page.click('button:has-text("Create key")')]);
    const key = (await page.textContent('#new-key')).trim();
    check(key.startsWith('tbk_'), 'a key is shown: ' + key);
    await shot(page, 'keys');
    const works = await fetch(BASE + '/v1/account', { headers: { authorization: 'Bearer ' + key } });
    say({ step: 'created', status: works.status });
    await page.goto(BASE + '/keys');
    const shownAgain = (await page.content()).includes(key);
    say({ step: 'listed', shown_again: shownAgain, name: await page.textContent('td.key-name') });
    await Promise.all([page.waitForNavigation(), page.click('tr:has-text("billing server") button:has-text("Revoke")')]);
    const state = await page.textContent('tr:has-text("billing server") .key-state');
    const after = await fetch(BASE + '/v1/account', { headers: { authorization: 'Bearer ' + key } });
    say({ step: 'revoked', state: state.trim(), status: after.status });
  },

  // A form post without its CSRF token (or with another's) is refused with 403; so is a
  // sign-in without the sign-in form's token.
  async csrf(browser) {
    const page = await browser.newPage();
    await signIn(page, A);
    await page.goto(BASE + '/send');
    await page.fill('input[name=to]', '+31612345678');
    await page.fill('textarea[name=body]', 'forged');
    await page.evaluate(() => document.querySelector('#send-form input[name=_csrf]').remove());
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.click('button[type=submit]:has-text("Send")'),
    ]);
    say({ step: 'form_without_token', status: response.status() });
    const wrong = await fetchIn(page, '/send', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '_csrf=' + 'f'.repeat(64) + '&to=%2B31612345678&body=forged',
    });
    say({ step: 'wrong_token', status: wrong.status });
    const key = await fetchIn(page, '/keys', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=forged&expiry_days=3',
    });
    say({ step: 'keys_without_token', status: key.status });
    const fresh = await browser.newPage();
    await fresh.goto(BASE + '/login');
    const login = await fetchIn(fresh, '/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `username=${encodeURIComponent(A.user)}&password=${encodeURIComponent(A.pass)}`,
    });
    say({ step: 'login_without_token', status: login.status });
  },

  // Wrong passwords up to the limit, then the right one is refused too.
  async throttling(browser) {
    const page = await browser.newPage();
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      await page.goto(BASE + '/login');
      await page.fill('input[name=username]', A.user);
      await page.fill('input[name=password]', 'wrong-' + i);
      const [r] = await Promise.all([page.waitForNavigation(), page.press('input[name=password]', 'Enter')]);
      statuses.push(r.status());
    }
    const wrongText = await page.textContent('[role=alert]');
    say({ step: 'wrong', statuses, alert: wrongText.trim() });
    await page.goto(BASE + '/login');
    await page.fill('input[name=username]', A.user);
    await page.fill('input[name=password]', A.pass);
    const [r] = await Promise.all([page.waitForNavigation(), page.press('input[name=password]', 'Enter')]);
    const alert = await page.textContent('[role=alert]');
    say({ step: 'right_password_refused', status: r.status(), path: new URL(page.url()).pathname, alert: alert.trim() });
  },

  // B never sees A's messages or keys.
  async isolation(browser) {
    const a = await (await browser.newContext()).newPage();
    await signIn(a, A);
    await a.goto(BASE + '/keys');
    await a.fill('input[name=name]', 'a-key');
    await Promise.all([a.waitForNavigation(), a.click('button:has-text("Create key")')]);
    const keyA = (await a.textContent('#new-key')).trim();
    const keyId = await a.locator('tr[data-key]').first().getAttribute('data-key');

    const b = await (await browser.newContext()).newPage();
    await signIn(b, B);
    const foreign = process.env.TB_FOREIGN_ID;
    const r = await b.goto(BASE + '/messages/' + foreign);
    say({ step: 'foreign_message', status: r.status() });
    await b.goto(BASE + '/messages');
    const log = await b.content();
    say({ step: 'log', lists_foreign: log.includes(foreign), rows: await b.locator('tr[data-id]').count() });
    await b.goto(BASE + '/keys');
    const keysB = await b.content();
    say({ step: 'keys', lists_foreign: keysB.includes(keyId) });
    const csrf = await b.getAttribute('input[name=_csrf]', 'value');
    const revoke = await fetchIn(b, `/keys/${keyId}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '_csrf=' + csrf,
    });
    const still = await fetch(BASE + '/v1/account', { headers: { authorization: 'Bearer ' + keyA } });
    say({ step: 'foreign_revoke', status: revoke.status, key_still_works: still.status === 200 });
    await a.goto(BASE + '/messages');
    say({ step: 'own_log', lists_own: (await a.content()).includes(foreign) });
  },
};

(async () => {
  const name = process.argv[2];
  const scenario = scenarios[name];
  if (!scenario) {
    say({ error: 'unknown scenario ' + name });
    process.exit(2);
  }
  const browser = await chromium.launch({
    executablePath: EXECUTABLE,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    await scenario(browser);
    say({ done: name });
  } catch (e) {
    say({ error: String(e && e.stack ? e.stack : e) });
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
