#!/usr/bin/env node
/*
 * tests/browser/run.mjs — the real-browser test of mcert's web pages.
 *
 * Why: the login page (password and QR login) and the CA绑定与解绑 page are
 * what users touch; only a real browser shows that the long poll wakes the
 * page, that the pages work under the server's strict CSP, and that server
 * text is shown as text.
 *
 * Design: starts everything itself — a redis-server on a free loopback port
 * with its own temp dir, a CA, an organisation and accounts made with
 * mcertctl, mcertd serving server/web, and two phone stores (P-256, SM2) made
 * with mcert-phone, which also answers the QR codes — then drives Debian's
 * Chromium with playwright-core. Each scenario is a named check printed as
 * `ok - name` / `not ok - name`; the run ends with `N passed, M failed` and
 * exits non-zero if any failed. Scenarios run in order and share the browser
 * contexts (a later one may depend on an earlier one's binding). Every child
 * process is killed on exit, failure or signal.
 *
 * Environment: MCERT_BIN_DIR (default: <repo>/build, built with cmake if the
 * binaries are missing), MCERT_CHROMIUM (default /usr/bin/chromium),
 * MCERT_KEEP_TMP=1 keeps the temp dir. Screenshots go to tests/browser/out/.
 *
 * Non-goals: timing assertions (scripts/bench measures), browsers other than
 * Chromium, downloading any browser.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const BIN = process.env.MCERT_BIN_DIR || path.join(ROOT, 'build');
const WEB = path.join(ROOT, 'server', 'web');
const OUT = path.join(HERE, 'out');
const CHROMIUM = process.env.MCERT_CHROMIUM || '/usr/bin/chromium';
const USCC = '91330100MA2DEM001H';
const PIN = '123456';
const STEP_TIMEOUT = 15000; /* ms, one browser wait; below the 25 s long poll */
const XSS_NAME = '<img src=x onerror=alert(1)>&amp;"';

const log = (...a) => console.error('#', ...a);

/* ---- child processes: all tracked, all killed on exit ---- */

const children = new Set();

function killAll() {
  for (const c of children) {
    try {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    } catch (e) {
      /* already gone */
    }
  }
  children.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    process.exit(128 + (os.constants.signals[sig] || 1));
  });
}

/* A long-running child; stderr/stdout kept (last 64 KiB) for diagnostics. */
function startDaemon(name, cmd, args) {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(c);
  c.output = '';
  const keep = (d) => {
    c.output = (c.output + d.toString()).slice(-65536);
  };
  c.stdout.on('data', keep);
  c.stderr.on('data', keep);
  c.on('exit', (code, sig) => {
    children.delete(c);
    c.exited = { code, sig };
  });
  c.on('error', (e) => {
    c.exited = { code: -1, sig: null, error: e };
  });
  c.label = name;
  return c;
}

/* Run a command to completion; resolves {code, stdout, stderr}. */
function run(cmd, args, { timeout = 30000 } = {}) {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(c);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => c.kill('SIGKILL'), timeout);
    c.on('error', (e) => {
      clearTimeout(t);
      children.delete(c);
      resolve({ code: -1, stdout, stderr: stderr + String(e) });
    });
    c.on('close', (code, sig) => {
      clearTimeout(t);
      children.delete(c);
      resolve({ code: code === null ? -1 : code, sig, stdout, stderr });
    });
  });
}

async function mustRun(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${r.code}${r.sig ? ' (' + r.sig + ')' : ''}:\n` +
      `${r.stdout}${r.stderr}`);
  }
  return r;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function redisPing(port) {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: '127.0.0.1', port });
    let buf = '';
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) {
        s.end();
        resolve(buf.startsWith('+PONG'));
      }
    });
  });
}

async function waitFor(what, fn, child, ms = 10000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child && child.exited) {
      throw new Error(`${child.label} exited (${JSON.stringify(child.exited)}) before ${what}:\n${child.output}`);
    }
    try {
      if (await fn()) return;
    } catch (e) {
      /* not yet */
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${child ? ':\n' + child.output : ''}`);
}

/* ---- prerequisites: npm package, Chromium, our binaries ---- */

async function loadPlaywright() {
  if (!existsSync(path.join(HERE, 'node_modules', 'playwright-core', 'package.json'))) {
    log('installing playwright-core (npm ci) in', HERE);
    let r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: HERE, stdio: ['ignore', 2, 2] });
    if (r.status !== 0) {
      r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: HERE, stdio: ['ignore', 2, 2] });
      if (r.status !== 0) throw new Error('npm could not install playwright-core');
    }
  }
  return import('playwright-core');
}

function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  if (process.env.MCERT_CHROMIUM || typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)`);
  }
  log('installing Debian chromium (apt-get)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 2, 2], env });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: ['ignore', 2, 2], env });
  if (r.status !== 0 || !existsSync(CHROMIUM)) throw new Error('could not install chromium');
}

function ensureBinaries() {
  const need = ['mcertd', 'mcertctl', 'mcert-phone'];
  if (need.every((b) => existsSync(path.join(BIN, b)))) return;
  log('building mcert into', BIN);
  let r = spawnSync('cmake', ['-S', ROOT, '-B', BIN], { stdio: ['ignore', 2, 2] });
  if (r.status === 0) r = spawnSync('cmake', ['--build', BIN, '-j2'], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error('cmake build failed');
  for (const b of need) if (!existsSync(path.join(BIN, b))) throw new Error(`${b} missing in ${BIN} after build`);
}

/* ---- the world: redis, CA, accounts, mcertd, phones ---- */

const W = {}; /* tmp, redisPort, base, passwords, phones, ... */

function ctl(...args) {
  return mustRun(path.join(BIN, 'mcertctl'), ['--data', path.join(W.tmp, 'var'), '--redis', `127.0.0.1:${W.redisPort}`, ...args]);
}

async function addAccount(login, name, role) {
  const r = await ctl('account', 'add', '--login', login, '--name', name, '--org', USCC, '--role', role);
  const m = /password: (\S+)\s*$/.exec(r.stdout.trim());
  if (!m) throw new Error(`no password in mcertctl output: ${r.stdout}`);
  return m[1];
}

async function startMcertd(port, extra = []) {
  const d = startDaemon(`mcertd:${port}`, path.join(BIN, 'mcertd'), [
    '--listen', `127.0.0.1:${port}`, '--redis', `127.0.0.1:${W.redisPort}`,
    '--data', path.join(W.tmp, 'var'), '--web', WEB, '--threads', '1', '--quiet', ...extra]);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/healthz`, async () => {
    const r = await fetch(`${base}/healthz`);
    return r.status === 200 && (await r.json()).store === true;
  }, d);
  return { proc: d, base };
}

/* A phone store: key, CSR, issued certificate, imported. Returns {dir, serial}. */
async function makePhone(name, alg, cn) {
  const dir = path.join(W.tmp, name);
  const phone = path.join(BIN, 'mcert-phone');
  await mustRun(phone, ['--store', dir, 'init', '--alg', alg, '--pin', PIN, '--cn', cn, '--org-name', 'Demo', '--uscc', USCC]);
  const csr = path.join(dir, 'device.csr');
  if (!existsSync(csr)) throw new Error(`mcert-phone init wrote no ${csr}`);
  await ctl('issue', '--csr', csr, '--out', path.join(dir, 'cert.pem'));
  await mustRun(phone, ['--store', dir, 'import', path.join(dir, 'cert.pem')]);
  const show = await mustRun(phone, ['--store', dir, 'show']);
  const m = /serial:\s+([0-9A-Fa-f]+)/.exec(show.stdout);
  if (!m) throw new Error(`no serial in mcert-phone show: ${show.stdout}`);
  return { dir, serial: m[1].toUpperCase(), alg };
}

/* The phone answers a QR payload; resolves the run result (code 0 = ok). */
function phoneScan(phone, payload, answer, number) {
  const args = ['--store', phone.dir, 'scan', '--payload', payload, '--pin', PIN];
  if (answer === 'approve') args.push('--approve', '--number', String(number));
  else args.push('--reject');
  return run(path.join(BIN, 'mcert-phone'), args, { timeout: 20000 });
}

async function setup() {
  W.tmp = mkdtempSync(path.join(os.tmpdir(), 'mcert-browser-'));
  W.redisPort = await freePort();
  const redis = startDaemon('redis-server', 'redis-server', [
    '--port', String(W.redisPort), '--bind', '127.0.0.1', '--dir', W.tmp,
    '--save', '', '--appendonly', 'no']);
  await waitFor('redis-server', () => redisPing(W.redisPort), redis);

  await ctl('ca', 'init');
  await ctl('org', 'add', '--uscc', USCC, '--name', 'Demo');
  W.pw = {
    admin: await addAccount('admin', '管理员', 'admin'),
    alice: await addAccount('alice', 'Alice 李', 'staff'),
    mallory: await addAccount('mallory', XSS_NAME, 'staff'),
  };
  const main = await startMcertd(await freePort());
  W.base = main.base;
  W.mcertd = main.proc;
  W.phones = {
    admin: await makePhone('phone-admin', 'p256', '管理员'),
    alice: await makePhone('phone-alice', 'sm2', 'Alice 李'),
  };
}

/* ---- browser helpers ---- */

const consoleProblems = []; /* {where, text} — unexpected console errors / page errors */
const expectedHttpErrors = []; /* console lines for API failures a scenario caused on purpose */
const EXPECTED_API_FAILURE = /^Failed to load resource: the server responded with a status of 401 \(Unauthorized\)$/;

async function newContext(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  ctx.setDefaultTimeout(STEP_TIMEOUT);
  /* Report CSP violations even where Chromium would log nothing. */
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });
  ctx.on('page', watchPage);
  return ctx;
}

function watchPage(page) {
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const loc = m.location() || {};
    const text = m.text();
    const item = { where: `${loc.url || page.url()}:${loc.lineNumber ?? ''}`, text };
    if (m.type() === 'warning') {
      if (/Content[- ]Security[- ]Policy|CSP/i.test(text)) consoleProblems.push(item);
      return;
    }
    /* A 401 on /api/v1/* is how the server says "session over" — expected in
     * the wrong-password and unbind scenarios; anything else is a problem. */
    if (EXPECTED_API_FAILURE.test(text) && /\/api\/v1\//.test(loc.url || '')) expectedHttpErrors.push(item);
    else consoleProblems.push(item);
  });
  page.on('pageerror', (e) => consoleProblems.push({ where: page.url(), text: `pageerror: ${e.message}` }));
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function text(locator) {
  return ((await locator.textContent()) || '').trim();
}

async function passwordLogin(page, account, password) {
  await page.goto(W.base + '/');
  await page.fill('#login-account', account);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
}

/* The QR box on a page (login panel or bind dialog): wait until pending, then
 * read the payload and the match number the user would compare. */
async function readQr(page, boxSel) {
  const box = page.locator(boxSel);
  await box.locator('[data-testid="qr-state"]').waitFor();
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'pending', boxSel);
  const img = box.locator('img[data-testid="qr-img"]');
  const payload = await img.getAttribute('data-payload');
  const src = await img.getAttribute('src');
  const match = await text(box.locator('[data-testid="qr-match"]'));
  assert(payload && /\/M\//.test(payload), `no QR payload on the page (got ${payload})`);
  assert(src && src.startsWith('data:image/png;base64,'), 'QR image is not a data: PNG');
  assert(/^\d{2}$/.test(match), `match number is not two digits: "${match}"`);
  const loaded = await img.evaluate((el) => el.complete && el.naturalWidth > 0);
  assert(loaded, 'the QR PNG did not render');
  return { payload, match: Number(match) };
}

async function waitState(page, boxSel, want, timeout = STEP_TIMEOUT) {
  try {
    await page.waitForFunction(([sel, st]) => document.querySelector(sel)?.dataset.state === st,
      [boxSel, want], { timeout });
  } catch (e) {
    const got = await page.evaluate((sel) => {
      const b = document.querySelector(sel);
      return b ? `${b.dataset.state}: ${b.querySelector('[data-role="state"]')?.textContent}` : 'no box';
    }, boxSel).catch(() => '?');
    throw new Error(`${boxSel} did not reach "${want}" within ${timeout} ms (now ${got})`);
  }
}

function row(page, account) {
  return page.locator(`tr[data-testid="binding-row"][data-account="${account}"]`);
}

/* ---- scenarios ---- */

const results = [];

async function check(name, fn) {
  const t0 = Date.now();
  let timer;
  try {
    await Promise.race([
      fn(),
      new Promise((resolve, reject) => {
        timer = setTimeout(() => reject(new Error('scenario timed out after 90 s')), 90000);
      }),
    ]);
    results.push(true);
    console.log(`ok - ${name}`);
  } catch (e) {
    results.push(false);
    console.log(`not ok - ${name}`);
    for (const l of String(e && e.stack ? e.stack : e).split('\n').slice(0, 12)) log('  ', l);
  } finally {
    clearTimeout(timer);
  }
  log(`   (${Date.now() - t0} ms)`);
}

async function scenarios(chromium) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(OUT, { recursive: true });
  const S = {}; /* pages shared between scenarios */
  try {
    await check('password login: admin lands on /bindings with its name; a wrong password shows the error', async () => {
      const ctx = await newContext(browser);
      const page = await ctx.newPage();
      await passwordLogin(page, 'admin', 'not-the-password');
      const err = page.locator('#login-error');
      await err.waitFor({ state: 'visible' });
      const msg = await text(err);
      assert(/账号或密码错误/.test(msg), `unexpected error text: ${msg}`);
      assert(new URL(page.url()).pathname === '/', 'a wrong password left the login page');

      await page.fill('#login-password', W.pw.admin);
      await page.click('#login-submit');
      await page.waitForURL(W.base + '/bindings');
      await page.locator('#me-name').filter({ hasText: '管理员' }).waitFor();
      assert((await page.getAttribute('#me-via', 'data-via')) === 'password', 'via is not password');
      assert(/Demo/.test(await text(page.locator('#me-org'))), 'org_name not shown');
      assert(await page.locator('#bind-other').isVisible(), 'admin does not see 给其他账号绑定CA');
      await row(page, 'alice').waitFor();
      const rows = await page.locator('tr[data-testid="binding-row"]').count();
      assert(rows === 3, `admin should see the 3 accounts of the org, saw ${rows}`);
      S.adminCtx = ctx;
      S.admin = page;
    });

    await check('server text is escaped (an account named like HTML shows as text)', async () => {
      const page = S.admin;
      const r = row(page, 'mallory');
      await r.waitFor();
      const name = await text(r.locator('[data-testid="row-name"]'));
      assert(name.startsWith(XSS_NAME), `name not shown literally: ${name}`);
      assert((await r.locator('img').count()) === 0, 'the name was parsed as HTML');
    });

    await check('bind self: phone approves, dialog shows success without reload, table shows the serial', async () => {
      const page = S.admin;
      await page.evaluate(() => { window.__noReload = 'still here'; });
      await page.click('#bind-self');
      await page.locator('#bind-dialog').waitFor({ state: 'visible' });
      const { payload, match } = await readQr(page, '#bind-qr');
      const cd = await text(page.locator('#bind-qr [data-testid="qr-countdown"]'));
      assert(/剩余 \d+:\d\d/.test(cd), `no countdown shown: "${cd}"`);
      await page.screenshot({ path: path.join(OUT, 'bind-dialog.png') });
      const r = await phoneScan(W.phones.admin, payload, 'approve', match);
      assert(r.code === 0, `mcert-phone approve exited ${r.code}: ${r.stdout}${r.stderr}`);
      /* The long poll waits 25 s; seeing "approved" well before that proves the wake. */
      await waitState(page, '#bind-qr', 'approved');
      assert(/绑定成功/.test(await text(page.locator('#bind-qr [data-testid="qr-state"]'))), 'no success text');
      assert(await page.evaluate(() => window.__noReload) === 'still here', 'the page was reloaded');
      const serial = row(page, 'admin').locator('[data-testid="cert-serial"]');
      await serial.waitFor();
      const got = (await text(serial)).toUpperCase();
      assert(got === W.phones.admin.serial, `serial in table ${got} != ${W.phones.admin.serial}`);
      assert((await text(row(page, 'admin').locator('[data-testid="row-bound-by"]'))) === 'admin', 'bound_by not admin');
      assert(await page.locator('#bind-self').isDisabled(), '给当前账号绑定CA still enabled once bound');
      await page.click('#bind-close');
      await page.locator('#bind-dialog').waitFor({ state: 'hidden' });
    });

    await check('QR login: phone approves the right number, the page lands on /bindings via certificate', async () => {
      const ctx = await newContext(browser);
      const page = await ctx.newPage();
      await page.goto(W.base + '/');
      await page.click('#tab-qr');
      const { payload, match } = await readQr(page, '#login-qr');
      await page.screenshot({ path: path.join(OUT, 'login-qr.png') });
      const r = await phoneScan(W.phones.admin, payload, 'approve', match);
      assert(r.code === 0, `mcert-phone approve exited ${r.code}: ${r.stdout}${r.stderr}`);
      await page.waitForURL(W.base + '/bindings');
      await page.locator('#me-name').filter({ hasText: '管理员' }).waitFor();
      await page.waitForFunction(() => document.querySelector('#me-via')?.dataset.via === 'certificate');
      S.certCtx = ctx;
      S.cert = page;
    });

    await check('QR login rejected on the phone: the page shows 已拒绝 and a refresh button', async () => {
      const ctx = await newContext(browser);
      const page = await ctx.newPage();
      await page.goto(W.base + '/');
      await page.click('#tab-qr');
      const { payload } = await readQr(page, '#login-qr');
      const r = await phoneScan(W.phones.admin, payload, 'reject');
      assert(r.code === 0, `mcert-phone reject exited ${r.code}: ${r.stdout}${r.stderr}`);
      await waitState(page, '#login-qr', 'rejected');
      assert(/已拒绝/.test(await text(page.locator('#login-qr [data-testid="qr-state"]'))), 'no 已拒绝 text');
      assert(await page.locator('#login-qr [data-testid="qr-refresh"]').isVisible(), 'no refresh button');
      assert(new URL(page.url()).pathname === '/', 'a rejected login left the login page');
      await ctx.close();
    });

    await check('admin binds alice (给其他账号绑定CA) with an SM2 phone: the table shows alice bound', async () => {
      const page = S.admin;
      await page.click('#bind-other');
      await page.locator('#bind-pick').waitFor({ state: 'visible' });
      const options = await page.locator('#bind-account option').evaluateAll((os) => os.map((o) => o.value));
      assert(!options.includes('admin'), `bound account offered: ${options}`);
      assert(options.includes('alice'), `alice not offered: ${options}`);
      await page.selectOption('#bind-account', 'alice');
      await page.click('#bind-start');
      assert(/alice/.test(await text(page.locator('[data-testid="bind-target"]'))), 'dialog does not name alice');
      const { payload, match } = await readQr(page, '#bind-qr');
      const r = await phoneScan(W.phones.alice, payload, 'approve', match);
      assert(r.code === 0, `mcert-phone approve exited ${r.code}: ${r.stdout}${r.stderr}`);
      await waitState(page, '#bind-qr', 'approved');
      await page.click('#bind-close');
      const arow = row(page, 'alice');
      await page.waitForFunction(() =>
        document.querySelector('tr[data-account="alice"]')?.dataset.bound === 'yes');
      const got = (await text(arow.locator('[data-testid="cert-serial"]'))).toUpperCase();
      assert(got === W.phones.alice.serial, `alice's serial ${got} != ${W.phones.alice.serial}`);
      assert(/SM2/.test(await text(arow)), 'alice row does not say SM2');
      assert((await text(arow.locator('[data-testid="row-bound-by"]'))) === 'admin', 'alice bound_by not admin');
      await page.screenshot({ path: path.join(OUT, 'bindings.png'), fullPage: true });
    });

    await check('staff (alice) sees only her own row and cannot bind others', async () => {
      const ctx = await newContext(browser);
      const page = await ctx.newPage();
      await passwordLogin(page, 'alice', W.pw.alice);
      await page.waitForURL(W.base + '/bindings');
      await row(page, 'alice').waitFor();
      assert((await page.locator('tr[data-testid="binding-row"]').count()) === 1, 'staff sees other accounts');
      assert(!(await page.locator('#bind-other').isVisible()), 'staff sees 给其他账号绑定CA');
      await page.click('#logout');
      await page.waitForURL(W.base + '/');
      await page.locator('#login-form').waitFor();
      await ctx.close();
    });

    await check('unbind the cert the session came from: after confirming, the page returns to login', async () => {
      const page = S.cert;
      assert(page, 'no certificate-logged-in page (QR login scenario failed)');
      await page.reload();
      const unbind = row(page, 'admin').locator('[data-testid="unbind"]');
      await unbind.click();
      await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
      assert(/admin/.test(await text(page.locator('#confirm-account'))), 'confirm dialog does not name admin');
      await page.screenshot({ path: path.join(OUT, 'confirm-unbind.png') });
      await page.click('#confirm-ok');
      await page.waitForURL(W.base + '/');
      await page.locator('#login-form').waitFor();
      await page.locator('#notice').waitFor({ state: 'visible' });
      const tok = await page.evaluate(() => sessionStorage.getItem('mcert.token'));
      assert(tok === null, 'token still in sessionStorage');
      /* The password session is untouched and sees admin unbound. */
      await S.admin.reload();
      await S.admin.waitForFunction(() =>
        document.querySelector('tr[data-account="admin"]')?.dataset.bound === 'no');
      assert(new URL(S.admin.url()).pathname === '/bindings', 'password session was ended too');
    });

    await check('an expired QR shows 二维码已过期 and a refresh button that makes a new one', async () => {
      /* a second node on the same Redis, with a 2 s session lifetime */
      const short = await startMcertd(await freePort(), ['--session-ttl', '2']);
      const ctx = await newContext(browser);
      const page = await ctx.newPage();
      try {
        await page.goto(short.base + '/');
        await page.click('#tab-qr');
        const first = await readQr(page, '#login-qr');
        await waitState(page, '#login-qr', 'expired', 10000);
        assert(/二维码已过期/.test(await text(page.locator('#login-qr [data-testid="qr-state"]'))), 'no 二维码已过期');
        const refresh = page.locator('#login-qr [data-testid="qr-refresh"]');
        assert(await refresh.isVisible(), 'no refresh button');
        await refresh.click();
        const second = await readQr(page, '#login-qr');
        assert(second.payload !== first.payload, 'refresh did not open a new session');
      } finally {
        await ctx.close();
        short.proc.kill('SIGTERM');
      }
    });

    await check('no console errors and no CSP violations on any page', async () => {
      /* Visit both pages once more, fresh, and check that the CSP is sent
       * and that style.css and app.js did their work under it. */
      const ctx = await newContext(browser);
      const page = await ctx.newPage();
      const resp = await page.goto(W.base + '/');
      const csp = resp.headers()['content-security-policy'] || '';
      assert(/default-src 'self'/.test(csp), `no strict CSP on /: "${csp}"`);
      const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.topbar')).backgroundColor);
      assert(bg !== 'rgba(0, 0, 0, 0)', 'style.css not applied');
      await passwordLogin(page, 'admin', W.pw.admin);
      await page.waitForURL(W.base + '/bindings');
      await row(page, 'alice').waitFor();
      await ctx.close();
      log(`   expected 401 lines seen: ${expectedHttpErrors.length}`);
      assert(consoleProblems.length === 0,
        'console problems:\n' + consoleProblems.map((p) => `  ${p.where}: ${p.text}`).join('\n'));
    });
  } finally {
    await browser.close().catch(() => {});
  }
}

/* ---- main ---- */

async function main() {
  let pw;
  try {
    pw = await loadPlaywright();
    ensureChromium();
    ensureBinaries();
    await setup();
  } catch (e) {
    console.log('not ok - setup (redis, mcertd, accounts, phones, browser)');
    for (const l of String(e && e.stack ? e.stack : e).split('\n').slice(0, 30)) log('  ', l);
    console.log('0 passed, 1 failed');
    return 1;
  }
  log(`mcertd at ${W.base}, temp dir ${W.tmp}`);
  try {
    await scenarios(pw.chromium);
  } catch (e) {
    results.push(false);
    console.log('not ok - browser');
    log('  ', e && e.stack ? e.stack : e);
  }
  if (W.mcertd && W.mcertd.exited) {
    results.push(false);
    console.log(`not ok - mcertd kept running (it exited: ${JSON.stringify(W.mcertd.exited)})`);
    log(W.mcertd.output);
  }
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

const code = await main();
killAll();
if (W.tmp && !process.env.MCERT_KEEP_TMP) rmSync(W.tmp, { recursive: true, force: true });
else if (W.tmp) log('kept', W.tmp);
process.exit(code);
