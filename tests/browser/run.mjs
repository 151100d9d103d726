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
 * Chromium with playwright-core. mcertd runs with a 1 s store deadline so
 * that a stopped redis (SIGSTOP) turns into 503 store_unavailable quickly;
 * every QR the page shows is read back from the browser's own pixels and
 * decoded with zbarimg. Each scenario is a named check printed as
 * `ok - name` / `not ok - name`; the run ends with `N passed, M failed` and
 * exits non-zero if any failed. Scenarios run in order, each in a fresh
 * browser context (withPage) unless it keeps its page for later ones (S; a
 * later one may depend on an earlier one's binding). Every child
 * process is killed on exit, failure or signal.
 *
 * The 签名 page: sm3.js against `openssl dgst -sm3` in the page itself;
 * files digested in the browser (SM3 for the SM2 holder, SHA-256 for the
 * P-256 one) equal openssl's; a sign request's QR (qr.svg, decoded from the
 * pixels) answered by mcert-phone (scan with the number, or sign from the
 * inbox), 已签名 reached live, the downloaded .p7s checked with
 * `openssl cms -verify` against the test CA (P-256) and the page's own
 * 验证签名 (有效, and 无效 for a changed file), the digests the page computed
 * equal to those the server signed, a rejection, 签名记录.
 *
 * CA续费与延期 and 发票: a bound certificate renewed (续费年限, the fee), paid at
 * the sandbox cashier, extended from the list (the 延期 QR decoded from the
 * page's pixels and answered by `mcert-phone renew --png`, 已延期 live with
 * the new serial and expiry), and again from the detail with a new key
 * (--rekey); an unbound certificate found by its serial, paid and refunded
 * (退款中 → 已退款 live); the list with redis stopped; an invoice with saved
 * titles (5 at most, a wrong 企业税号 caught in the page) through the
 * operator's 发票审核 (不通过, 上传发票, 作废, 开票) to 已开票 and its PDF.
 *
 * Screenshots of each state (pending QR, wrong number, retrying through a
 * database outage, rejected, expired, the errors in words, the console, the
 * 签名 page at 1366×768 and 390×844) go to tests/browser/out/; Chinese
 * text needs a CJK font (fonts-noto-cjk, installed by scripts/deps --test).
 *
 * Environment: MCERT_BIN_DIR (default: <repo>/build, built with cmake if the
 * binaries are missing), MCERT_CHROMIUM (default /usr/bin/chromium),
 * MCERT_KEEP_TMP=1 keeps the temp dir, MCERT_BROWSER_ONLY=<regex> runs only
 * the scenarios whose name matches (the 签名 ones stand alone). Screenshots
 * go to tests/browser/out/.
 *
 * Non-goals: timing assertions (scripts/bench measures), browsers other than
 * Chromium, downloading any browser.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
/* CA证书申领: an organisation with no certificate yet (its first one is
 * free), and the CA's own organisation, whose operator reviews. */
const USCC2 = '91330106MA27XF6T84';
const USCC_CA = '91110000600037341L';
const PIN = '123456';
const STEP_TIMEOUT = 15000; /* ms, one browser wait; below the 25 s long poll */
const XSS_NAME = '<img src=x onerror=alert(1)>&amp;"';
const STORE_DEADLINE = 1000; /* ms: mcertd's --store-deadline in this test */
const RETRY_MAX_MS = 10000; /* the page waits at most this long between poll tries */
/* the two window sizes the console must work at (shootBoth) */
const DESKTOP = { width: 1366, height: 768 };
const MOBILE = { width: 390, height: 844 };
const WRONG_NUMBER_TEXT = '手机上选择的数字与页面不一致，本次扫码已失效，请刷新二维码';

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

/* Screenshots show Chinese only with a CJK font (fonts-noto-cjk): say so. */
function checkCjkFont() {
  const r = spawnSync('fc-list', [':lang=zh', 'family'], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.trim()) {
    log('warning: no Chinese font (fc-list :lang=zh is empty): screenshots will show boxes; ' +
      'install fonts-noto-cjk (scripts/deps --test)');
  }
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

async function addAccount(login, name, role, org = USCC) {
  const r = await ctl('account', 'add', '--login', login, '--name', name, '--org', org, '--role', role);
  const m = /password: (\S+)\s*$/.exec(r.stdout.trim());
  if (!m) throw new Error(`no password in mcertctl output: ${r.stdout}`);
  return m[1];
}

async function startMcertd(port, extra = []) {
  const d = startDaemon(`mcertd:${port}`, path.join(BIN, 'mcertd'), [
    '--listen', `127.0.0.1:${port}`, '--redis', `127.0.0.1:${W.redisPort}`,
    '--data', path.join(W.tmp, 'var'), '--web', WEB, '--threads', '1', '--quiet',
    '--store-deadline', String(STORE_DEADLINE), ...extra]);
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

/* The phone answers a QR payload (or, with {png}, reads the QR from an image
 * file as a camera would); resolves the run result (code 0 = ok). */
function phoneScan(phone, payload, answer, number, { png } = {}) {
  const args = ['--store', phone.dir, 'scan', ...(png ? ['--png', png] : ['--payload', payload]), '--pin', PIN];
  if (answer === 'approve') args.push('--approve', '--number', String(number));
  else args.push('--reject');
  return run(path.join(BIN, 'mcert-phone'), args, { timeout: 20000 });
}

async function setup() {
  W.tmp = mkdtempSync(path.join(os.tmpdir(), 'mcert-browser-'));
  W.redisPort = await freePort();
  const redis = (W.redis = startDaemon('redis-server', 'redis-server', [
    '--port', String(W.redisPort), '--bind', '127.0.0.1', '--dir', W.tmp,
    '--save', '', '--appendonly', 'no']));
  await waitFor('redis-server', () => redisPing(W.redisPort), redis);

  await ctl('ca', 'init');
  await ctl('org', 'add', '--uscc', USCC, '--name', 'Demo');
  W.pw = {
    admin: await addAccount('admin', '管理员', 'admin'),
    alice: await addAccount('alice', 'Alice 李', 'staff'),
    mallory: await addAccount('mallory', XSS_NAME, 'staff'),
  };
  /* CA证书申领: the applicant's organisation (no certificate yet) and the
   * CA's operator (role operator: made by the scenarios that need it, so
   * that the rest runs on a build without it) */
  await ctl('org', 'add', '--uscc', USCC2, '--name', '杭州示例科技有限公司');
  W.pw.zhang = await addAccount('zhang', '张伟', 'admin', USCC2);
  await ctl('org', 'add', '--uscc', USCC_CA, '--name', 'mcert 本地CA');
  const main = await startMcertd(await freePort());
  W.base = main.base;
  W.mcertd = main.proc;
  W.phones = {
    admin: await makePhone('phone-admin', 'p256', '管理员'),
    alice: await makePhone('phone-alice', 'sm2', 'Alice 李'),
  };
}

/* The phone numbers a session offers: a scan with a number that cannot be
 * one of them prints the three and sends nothing (exit 2). */
async function phoneChoices(phone, payload) {
  const r = await phoneScan(phone, payload, 'approve', 999999);
  const m = /Numbers:\s+(\d+)\s+(\d+)\s+(\d+)/.exec(r.stdout);
  assert(r.code === 2 && m, `mcert-phone did not list the numbers (exit ${r.code}): ${r.stdout}${r.stderr}`);
  return m.slice(1, 4).map(Number);
}

/* Stop redis (SIGSTOP) so that mcertd's store calls hit their deadline, and
 * let it go again; redisResume is safe to call twice. */
function redisStop() {
  W.redis.kill('SIGSTOP');
  W.redisStopped = true;
}
function redisResume() {
  if (W.redisStopped) W.redis.kill('SIGCONT');
  W.redisStopped = false;
}

/* mcertd answers /readyz 200 again (its store is back). */
async function waitReady(base = W.base) {
  await waitFor(`${base}/readyz`, async () => (await fetch(`${base}/readyz`)).status === 200, W.mcertd, 15000);
}

/* ---- browser helpers ---- */

const consoleProblems = []; /* {where, text} — unexpected console errors / page errors */
const expectedHttpErrors = []; /* console lines for API failures a scenario caused on purpose */
/* The failures scenarios cause on purpose, by status and resource: 401 (a
 * session over, a wrong password), 429 (too many password failures), 503 on
 * the login and on the long poll (redis stopped). */
const EXPECTED_API_FAILURES = [
  { status: 401, url: /\/api\/v1\// },
  { status: 429, url: /\/api\/v1\/login$/ },
  { status: 503, url: /\/api\/v1\/login$/ },
  { status: 503, url: /\/api\/v1\/sessions\/[A-Z0-9]+\?/ },
  /* 签名: 发起签名 with redis stopped, and a client over its QR limits */
  { status: 503, url: /\/api\/v1\/sign-requests(\?|$)/ },
  { status: 429, url: /\/api\/v1\/sign-requests(\?|$)/ },
  /* CA续费与延期: the list (and its invoices) with redis stopped */
  { status: 503, url: /\/api\/v1\/(renewals|invoices)(\?|$)/ },
  /* 审核: revoking a certificate that is already revoked */
  { status: 409, url: /\/api\/v1\/certs\/[0-9a-f]{64}\/revoke$/ },
];
function expectedFailure(text, url) {
  const m = /^Failed to load resource: the server responded with a status of (\d+) /.exec(text);
  return !!m && EXPECTED_API_FAILURES.some((f) => f.status === Number(m[1]) && f.url.test(url || ''));
}

/* Every API and QR-image exchange of every page: {t, method, url, status,
 * type, retryAfter, body (JSON replies of interest)}; requests: {t, url}. */
const netLog = [];
const reqLog = [];

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
  ctx.on('request', (q) => {
    if (/\/api\/v1\//.test(q.url())) reqLog.push({ t: Date.now(), url: q.url(), method: q.method() });
  });
  ctx.on('response', (resp) => {
    const url = resp.url();
    if (!/\/api\/v1\//.test(url)) return;
    const e = {
      t: Date.now(), method: resp.request().method(), url, status: resp.status(),
      type: resp.headers()['content-type'] || '', retryAfter: resp.headers()['retry-after'],
    };
    netLog.push(e);
    if (/json/.test(e.type)) resp.json().then((b) => { e.body = b; }, () => {});
  });
  return ctx;
}

/* Pages shared between scenarios: S.<key> and its context S.<key>Ctx
 * (withPage's keep). */
const S = {};

/* A scenario's page: fn(page, ctx) in a fresh context (newContext), closed
 * after fn, also when it throws. opts.viewport: the page's size (else the
 * context's 1280×800); opts.keep: the page stays open for the scenarios
 * after this one, as S[keep] (its context S[keep + 'Ctx']), from the start. */
async function withPage(browser, { viewport, keep } = {}, fn) {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  if (viewport) await page.setViewportSize(viewport);
  if (keep) {
    S[keep + 'Ctx'] = ctx;
    S[keep] = page;
    return fn(page, ctx);
  }
  try {
    return await fn(page, ctx);
  } finally {
    await ctx.close();
  }
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
     * the wrong-password and unbind scenarios; 429/503 where a scenario
     * caused them (EXPECTED_API_FAILURES); anything else is a problem. */
    if (expectedFailure(text, loc.url)) expectedHttpErrors.push(item);
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
 * read the payload and the match number the user would compare, and check
 * the QR itself: the session was opened with ?qr=none (nothing drawn in the
 * reply, the payload in it), the <img> was loaded from the session's qr.png
 * route (200 image/png), and the pixels the browser shows decode (zbarimg)
 * to the payload. Returns {payload, match, sid, png} (png: a file of those
 * pixels, for the phone to scan). openRe: the open's route (the 延期 QR is
 * opened by POST /api/v1/renewals/<rid>/renew-session). */
let qrShots = 0;
async function readQr(page, boxSel, openRe = /\/api\/v1\/sessions(\?|$)/) {
  const box = page.locator(boxSel);
  await box.locator('[data-testid="qr-state"]').waitFor();
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'pending', boxSel);
  const img = box.locator('img[data-testid="qr-img"]');
  const payload = await img.getAttribute('data-payload');
  const src = await img.getAttribute('src');
  const sid = await box.getAttribute('data-sid');
  const match = await text(box.locator('[data-testid="qr-match"]'));
  assert(payload && /\/M\//.test(payload), `no QR payload on the page (got ${payload})`);
  assert(sid && payload.endsWith('/' + sid), `payload ${payload} does not name the session ${sid}`);
  assert(src === `/api/v1/sessions/${sid}/qr.png`, `QR image is not the session's qr.png route: ${src}`);
  assert(/^\d{2}$/.test(match), `match number is not two digits: "${match}"`);
  await page.waitForFunction((sel) => {
    const el = document.querySelector(`${sel} img.qr-img`);
    return el && el.complete && el.naturalWidth > 0;
  }, boxSel).catch(() => { throw new Error('the QR PNG did not render'); });

  /* the open: ?qr=none, a payload, no drawing */
  const opened = netLog.find((e) => e.method === 'POST' && openRe.test(e.url) &&
    e.body && e.body.sid === sid);
  assert(opened, `no POST ${openRe} reply seen for ${sid}`);
  assert(new URL(opened.url).searchParams.get('qr') === 'none', `the session was opened with ${opened.url}, not ?qr=none`);
  assert(opened.body.qr && opened.body.qr.payload === payload, 'the open reply does not carry the payload');
  assert(!('png' in opened.body.qr) && !('svg' in opened.body.qr) && !('text' in opened.body.qr),
    `?qr=none still drew: ${Object.keys(opened.body.qr)}`);
  /* the image: fetched from the route */
  const fetched = netLog.find((e) => e.method === 'GET' && new URL(e.url).pathname === src);
  assert(fetched && fetched.status === 200 && /^image\/png/.test(fetched.type),
    `no 200 image/png from ${src} (saw ${fetched ? fetched.status + ' ' + fetched.type : 'nothing'})`);
  /* the pixels shown decode to the payload */
  const dataUrl = await img.evaluate((el) => {
    const c = document.createElement('canvas');
    c.width = el.naturalWidth;
    c.height = el.naturalHeight;
    const g = c.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, c.width, c.height);
    g.drawImage(el, 0, 0);
    return c.toDataURL('image/png');
  });
  const png = path.join(W.tmp, `shown-qr-${++qrShots}.png`);
  writeFileSync(png, Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  const z = await run('zbarimg', ['--raw', '-q', png], { timeout: 10000 });
  assert(z.code === 0, `zbarimg could not read the QR the browser shows (exit ${z.code}): ${z.stderr}`);
  assert(z.stdout.trim() === payload, `the QR decodes to ${z.stdout.trim()}, the page says ${payload}`);
  return { payload, match: Number(match), sid, png };
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

/* ---- the 签名 page: helpers ---- */

/* A JSON call to the web API from the test itself (not the page). */
async function apiCall(method, p, { token, body, headers = {} } = {}) {
  const hd = { Accept: 'application/json', ...headers };
  if (token) hd.Authorization = 'Bearer ' + token;
  if (body !== undefined) hd['Content-Type'] = 'application/json';
  const r = await fetch(W.base + p, { method, headers: hd, body: body === undefined ? undefined : JSON.stringify(body) });
  let j = null;
  try {
    j = await r.json();
  } catch (e) {
    j = null;
  }
  return { status: r.status, body: j };
}

/* The account has the phone's certificate bound (binding it through the API
 * and the phone if it has none); returns a password-login token. */
async function ensureBound(account, phone) {
  const login = await apiCall('POST', '/api/v1/login', { body: { account, password: W.pw[account] } });
  assert(login.status === 200, `password login of ${account}: ${login.status} ${JSON.stringify(login.body)}`);
  const tok = login.body.token;
  let me = await apiCall('GET', '/api/v1/me', { token: tok });
  if (!me.body.cert) {
    const s = await apiCall('POST', '/api/v1/sessions?qr=none', { token: tok, body: { purpose: 'bind' } });
    assert(s.status === 201, `bind open for ${account}: ${s.status} ${JSON.stringify(s.body)}`);
    const r = await phoneScan(phone, s.body.qr.payload, 'approve', s.body.match);
    assert(r.code === 0, `bind ${account}: mcert-phone exited ${r.code}: ${r.stdout}${r.stderr}`);
    me = await apiCall('GET', '/api/v1/me', { token: tok });
  }
  assert(me.body.cert && String(me.body.cert.serial).toUpperCase() === phone.serial,
    `${account} is bound to ${JSON.stringify(me.body.cert)}, not the phone's ${phone.serial}`);
  return tok;
}

/* Digest of a file with the openssl CLI (sm3 | sha256), lower-case hex. */
async function opensslDigest(alg, file) {
  const r = await mustRun('openssl', ['dgst', '-' + alg, '-r', file]);
  return r.stdout.trim().split(/\s+/)[0].toLowerCase();
}

/* Test documents: name -> path, in the temp dir; sizes chosen to cross SM3's
 * block boundaries and to make a multi-slice read. */
function makeDocs(prefix, specs) {
  const dir = path.join(W.tmp, prefix);
  mkdirSync(dir, { recursive: true });
  return specs.map(({ name, bytes }) => {
    const p = path.join(dir, name);
    writeFileSync(p, bytes);
    return { name, path: p, size: bytes.length };
  });
}

/* The sign box: wait until the request is pending, read its match number,
 * and check its QR: the request was opened with ?qr=none, the <img> is the
 * session's qr.svg, and the pixels shown decode (zbarimg) to the payload. */
async function readSignQr(page) {
  await page.waitForFunction(() => document.querySelector('#sign-qr')?.dataset.state === 'pending');
  const img = page.locator('#sign-qr img[data-testid="qr-img"]');
  const sid = await page.getAttribute('#sign-qr', 'data-sid');
  const payload = await img.getAttribute('data-payload');
  const src = await img.getAttribute('src');
  const match = await text(page.locator('#sign-qr [data-testid="qr-match"]'));
  assert(sid && payload && payload.endsWith('/' + sid), `payload ${payload} does not name the request ${sid}`);
  assert(src === `/api/v1/sessions/${sid}/qr.svg`, `QR image is not the session's qr.svg: ${src}`);
  assert(/^\d{2}$/.test(match), `match number is not two digits: "${match}"`);
  const opened = netLog.find((e) => e.method === 'POST' && /\/api\/v1\/sign-requests(\?|$)/.test(e.url) &&
    e.body && e.body.sid === sid);
  assert(opened, `no POST /api/v1/sign-requests reply seen for ${sid}`);
  assert(new URL(opened.url).searchParams.get('qr') === 'none', `opened with ${opened.url}, not ?qr=none`);
  await page.waitForFunction(() => {
    const el = document.querySelector('#sign-qr img.qr-img');
    return el && el.complete && el.naturalWidth > 0;
  }).catch(() => { throw new Error('the QR SVG did not render'); });
  const dataUrl = await img.evaluate((el) => {
    const c = document.createElement('canvas');
    const scale = Math.max(1, Math.ceil(400 / el.naturalWidth));
    c.width = el.naturalWidth * scale;
    c.height = el.naturalHeight * scale;
    const g = c.getContext('2d');
    g.imageSmoothingEnabled = false;
    g.fillStyle = '#fff';
    g.fillRect(0, 0, c.width, c.height);
    g.drawImage(el, 0, 0, c.width, c.height);
    return c.toDataURL('image/png');
  });
  const png = path.join(W.tmp, `shown-sign-qr-${++qrShots}.png`);
  writeFileSync(png, Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  const z = await run('zbarimg', ['--raw', '-q', png], { timeout: 10000 });
  assert(z.code === 0, `zbarimg could not read the sign QR the browser shows (exit ${z.code}): ${z.stderr}`);
  assert(z.stdout.trim() === payload, `the QR decodes to ${z.stdout.trim()}, the page says ${payload}`);
  return { sid, payload, match: Number(match), png, opened: opened.body };
}

/* The phone answers a sign request: by scanning its QR (scan --payload, the
 * number read off the page), or from its inbox (sign --sid: no number). */
function phoneSign(phone, how, { payload, sid, number, answer = 'approve' }) {
  const args = ['--store', phone.dir];
  if (how === 'inbox') {
    args.push('sign', '--server', W.base, '--sid', sid, '--pin', PIN, answer === 'approve' ? '--approve' : '--reject');
  } else {
    args.push('scan', '--payload', payload, '--pin', PIN);
    if (answer === 'approve') args.push('--approve', '--number', String(number));
    else args.push('--reject');
  }
  return run(path.join(BIN, 'mcert-phone'), args, { timeout: 30000 });
}

async function waitSignState(page, want, timeout = STEP_TIMEOUT) {
  await waitState(page, '#sign-qr', want, timeout);
}

/* Log in with the password and open 签名 from the menu of 绑定与解绑. */
/* 签名 for account with its phone bound (ensureBound), reached from the
 * menu; the page's digest is alg (sha256 | sm3). */
async function openSignPage(page, account, alg) {
  await ensureBound(account, W.phones[account]);
  await passwordLogin(page, account, W.pw[account]);
  await page.waitForURL(W.base + '/bindings');
  await page.click('.sidebar a[href="/sign"]');
  await page.waitForURL(W.base + '/sign');
  await page.locator('#me-name').waitFor();
  await page.waitForFunction(() => document.body.dataset.alg !== undefined && document.querySelector('#me')?.hidden === false);
  await page.waitForFunction((a) => document.body.dataset.alg === a, alg);
}

/* Pick files in the page's chooser and wait for every digest. Returns the
 * rows' {name, size, digest, alg} in order. */
async function pickFiles(page, docs) {
  await page.setInputFiles('#file-input', docs.map((d) => d.path));
  return filesDigested(page, docs.length);
}

async function filesDigested(page, n) {
  await page.waitForFunction((k) => {
    const rows = document.querySelectorAll('tr[data-testid="file-row"]');
    return rows.length === k && Array.from(rows).every((r) => r.dataset.digest);
  }, n, { timeout: 30000 });
  return page.locator('tr[data-testid="file-row"]').evaluateAll((rows) => rows.map((r) => ({
    name: r.dataset.name, digest: r.dataset.digest, alg: r.dataset.alg,
    size: r.dataset.size, shown: r.querySelector('[data-testid="file-size"]').textContent,
  })));
}

/* Visible text with 4+ Latin letters, minus data (names, digests, serials). */
async function latinOnPage(page) {
  return page.evaluate(() => {
    const skip = (el) => el.closest('.mono, [data-testid="me-account"], [data-testid="me-name"], ' +
      '[data-testid="me-org"], [data-testid="file-name"], [data-testid="sign-cert-cn"], .result-name, ' +
      '.result-op .muted, .file-pick-name, .record-docs, .record-text, [data-testid="verify-cn"], [data-testid="verify-org"], ' +
      '[data-testid="verify-issuer"], .brand, option, script, style');
    const out = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const el = n.parentElement;
      if (!el || skip(el) || !n.textContent.trim() || el.closest('[hidden]')) continue;
      if (/[A-Za-z]{4,}/.test(n.textContent)) out.push(n.textContent.trim());
    }
    return out;
  });
}

/* Screenshots of the page at the two sizes the console must work at
 * (<name>-desktop.png, <name>-mobile.png), back at DESKTOP after; fullPage:
 * the whole page, not the window; checkWidth: assert that the page is no
 * wider than the window. */
async function shootBoth(page, name, { fullPage = true, checkWidth = true } = {}) {
  for (const [size, tag] of [[DESKTOP, 'desktop'], [MOBILE, 'mobile']]) {
    await page.setViewportSize(size);
    await sleep(150);
    if (checkWidth) {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(overflow <= 1, `${name} at ${size.width}x${size.height}: the page is ${overflow}px wider than the window`);
    }
    await page.screenshot({ path: path.join(OUT, `${name}-${tag}.png`), fullPage });
  }
  await page.setViewportSize(DESKTOP);
}

/* ---- CA证书申领 and 审核: helpers ---- */

/* The application the scenarios fill in (the applicant's organisation). */
const APPL = {
  org_name: '杭州示例科技有限公司', org_type: 'legal_person', uscc: USCC2, region: '330000',
  holder_name: '张伟', holder_id: '11010519491231002X', mobile: '13800138000',
  email: 'zhang.wei@example.com', alg: 'sm2',
};

/* Scans made the way a scanner would: a JPEG and a PNG drawn by the
 * browser's canvas (with Chinese text), a small PDF; a text file named
 * .png and a PNG over 5 MiB, which the page must refuse. Paths in W.scans. */
async function makeScans(page) {
  if (W.scans) return W.scans;
  const dir = path.join(W.tmp, 'scans');
  mkdirSync(dir, { recursive: true });
  const draw = (type, title, lines, bg) => page.evaluate(([type, title, lines, bg]) => {
    const c = document.createElement('canvas');
    c.width = 640;
    c.height = 400;
    const g = c.getContext('2d');
    g.fillStyle = bg;
    g.fillRect(0, 0, c.width, c.height);
    g.strokeStyle = '#9a3412';
    g.lineWidth = 6;
    g.strokeRect(14, 14, c.width - 28, c.height - 28);
    g.fillStyle = '#9a3412';
    g.font = 'bold 44px sans-serif';
    g.textAlign = 'center';
    g.fillText(title, c.width / 2, 90);
    g.textAlign = 'left';
    g.fillStyle = '#1f2937';
    g.font = '24px sans-serif';
    lines.forEach((l, i) => g.fillText(l, 50, 160 + i * 44));
    return c.toDataURL(type, 0.92);
  }, [type, title, lines, bg]);
  const bytes = (u) => Buffer.from(u.replace(/^data:[^,]+;base64,/, ''), 'base64');
  const licence = path.join(dir, '营业执照.jpg');
  writeFileSync(licence, bytes(await draw('image/jpeg', '营业执照',
    [`统一社会信用代码 ${USCC2}`, `名称 ${APPL.org_name}`, '类型 有限责任公司', '住所 浙江省杭州市西湖区'], '#fbf6e9')));
  const idScan = path.join(dir, '身份证.png');
  writeFileSync(idScan, bytes(await draw('image/png', '居民身份证',
    [`姓名 ${APPL.holder_name}`, `公民身份号码 ${APPL.holder_id}`, '（复印件 加盖公章）'], '#eef4fb')));
  const licence2 = path.join(dir, '营业执照-清晰.png');
  writeFileSync(licence2, bytes(await draw('image/png', '营业执照（副本）',
    [`统一社会信用代码 ${USCC2}`, `名称 ${APPL.org_name}`, '清晰扫描件'], '#f5fbef')));
  const pdf = path.join(dir, '授权委托书.pdf');
  const body = '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n' +
    '2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
    '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n';
  const xref = body.length;
  writeFileSync(pdf, body + 'xref\n0 4\n0000000000 65535 f \n' +
    [9, body.indexOf('2 0 obj'), body.indexOf('3 0 obj')].map((o) => String(o).padStart(10, '0') + ' 00000 n \n').join('') +
    `trailer<</Size 4/Root 1 0 R>>\nstartxref\n${xref}\n%%EOF\n`);
  const fake = path.join(dir, '不是图片.png');
  writeFileSync(fake, 'this is plain text, not an image\n');
  const big = path.join(dir, '过大的扫描件.png');
  const bigBytes = Buffer.alloc(5 * 1024 * 1024 + 1, 0x20);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bigBytes);
  writeFileSync(big, bigBytes);
  W.scans = { licence, idScan, licence2, pdf, fake, big };
  return W.scans;
}

function sha256File(p) {
  return createHash('sha256').update(readFileSync(p)).digest('hex');
}

/* Log in with the password and open a page from the menu of 绑定与解绑. */
async function openFromMenu(page, account, href) {
  await passwordLogin(page, account, W.pw[account]);
  await page.waitForURL(W.base + '/bindings');
  await page.click(`.sidebar a[href="${href}"]`);
  await page.waitForURL((u) => u.pathname === href);
  await page.locator('#me-name').waitFor();
}

/* The CA's operator: made once (mcertctl account add --role operator). */
async function ensureOperator() {
  if (!W.pw.op) W.pw.op = await addAccount('op', '审核员王', 'operator', USCC_CA);
  return W.pw.op;
}

/* A token for an account (password login), for the test's own API calls. */
async function tokenOf(account) {
  const r = await apiCall('POST', '/api/v1/login', { body: { account, password: W.pw[account] } });
  assert(r.status === 200, `login ${account}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

/* GET p as account (its token from a password login): the body of the
 * 200 reply, else the scenario fails. */
async function getAs(account, p) {
  const r = await apiCall('GET', p, { token: await tokenOf(account) });
  assert(r.status === 200, `GET ${p}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

function appOf(id, account = 'zhang') {
  return getAs(account, `/api/v1/applications/${id}`);
}

/* The list view is shown and its table (body: the tbody) has loaded: its
 * rows or 暂无数据 (加载失败 fails the scenario, with the page's words). */
async function listLoaded(page, body = '#apps-body') {
  await page.locator('#view-list').waitFor();
  await page.waitForFunction((sel) => {
    const b = document.querySelector(sel);
    return b && !/加载中/.test(b.textContent);
  }, body);
  const failed = await page.evaluate((sel) => /加载失败/.test(document.querySelector(sel).textContent) &&
    (document.querySelector('#page-error')?.textContent || '(no words)'), body);
  assert(!failed, `the list ${body} did not load: ${failed}`);
}

/* 申领CA → 申领 (the provider) → 阅读条款 → 我知道了: the form of a new application. */
async function startApplication(page, shots) {
  await listLoaded(page);
  await page.click('#apply-new');
  const dlg = page.locator('#provider-dialog');
  await dlg.waitFor({ state: 'visible' });
  await dlg.locator('[data-testid="provider-option"]').first().waitFor();
  const names = await dlg.locator('.provider-name').allTextContents();
  assert(names.length >= 1 && names.every((n) => n.trim()), `no CA provider offered: ${JSON.stringify(names)}`);
  if (shots) await page.screenshot({ path: path.join(OUT, 'apply-provider-dialog.png') });
  await page.click('#provider-ok');
  const terms = page.locator('#terms-dialog');
  await terms.waitFor({ state: 'visible' });
  const fee = await text(terms.locator('[data-testid="fee-table"]'));
  assert(/子证书/.test(fee) && /200元/.test(fee) && /免费/.test(fee), `the fee table is not the manual's: ${fee}`);
  if (shots) await shootBoth(page, 'apply-terms', { fullPage: false, checkWidth: false });
  await page.click('#terms-ok');
  await page.locator('#view-form').waitFor();
  await page.waitForFunction(() => document.querySelector('#f-provider')?.options.length > 0);
}

async function fillApplication(page, d = APPL) {
  await page.fill('#f-org_name', d.org_name);
  await page.selectOption('#f-org_type', d.org_type);
  await page.fill('#f-uscc', d.uscc);
  await page.selectOption('#f-region', d.region);
  await page.fill('#f-holder_name', d.holder_name);
  await page.fill('#f-holder_id', d.holder_id);
  await page.fill('#f-mobile', d.mobile);
  await page.fill('#f-email', d.email);
  await page.selectOption('#f-alg', d.alg);
}

/* Pick a scan in one upload box and wait until it is uploaded; returns
 * the upload id the page holds. */
async function uploadScan(page, kind, file) {
  await page.setInputFiles(`[data-testid="file-${kind}"]`, file);
  const item = page.locator(`[data-upload="${kind}"] .upload-item[data-state="done"]`);
  await item.waitFor();
  const id = await item.getAttribute('data-id');
  assert(/^[0-9a-f]{64}$/.test(id || ''), `upload ${kind}: no id on the page (${id})`);
  return id;
}

/* The detail view (#view-detail: an application's, a renewal's) is shown
 * at state `want`; else the error says what the page shows. */
async function detailState(page, want, timeout = STEP_TIMEOUT) {
  try {
    await page.waitForFunction((st) => {
      const v = document.querySelector('#view-detail');
      return v && !v.hidden && v.dataset.state === st;
    }, want, { timeout });
  } catch (e) {
    const got = await page.evaluate(() => {
      const v = document.querySelector('#view-detail');
      const said = ['#d-error', '#form-error', '#confirm-error', '#page-error'].map((s) => document.querySelector(s)?.textContent || '');
      return `${v?.hidden ? 'hidden' : 'shown'} ${v?.dataset.state} ${said.join(' ')}`;
    }).catch(() => '?');
    throw new Error(`the detail at ${new URL(page.url()).pathname} did not reach ${want} (now ${got})`);
  }
}

/* 提交 from the form: the face check (sandbox) when it is still to do, the
 * fee dialog; returns its text (the dialog is left open). */
async function submitForm(page) {
  await page.click('#form-submit');
  const face = page.locator('#face-dialog');
  const conf = page.locator('#confirm-dialog');
  await Promise.race([face.waitFor({ state: 'visible' }), conf.waitFor({ state: 'visible' })]).catch(async (e) => {
    const why = await page.evaluate(() => [document.querySelector('#form-error')?.textContent,
      ...Array.from(document.querySelectorAll('.field-error:not(:empty)')).map((x) => `${x.dataset.for}: ${x.textContent}`)].join(' | '));
    throw new Error(`提交 opened neither the face check nor the confirmation: ${why}`);
  });
  if (await face.isVisible()) {
    await page.click('#face-start');
    await conf.waitFor({ state: 'visible' });
  }
  return text(page.locator('#confirm-text'));
}

/* The activation code the sandbox SMS gateway sent for an application. */
async function activationCode(appId) {
  const r = await mustRun('redis-cli', ['-p', String(W.redisPort), '--raw', 'XRANGE', '{mc}:outbox', '-', '+']);
  const lines = r.stdout.split('\n');
  let code = null;
  let to = null;
  /* entries: id, then field, value pairs */
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === 'app' && lines[i + 1] === appId) {
      for (let j = i; j > Math.max(0, i - 14); j--) {
        if (lines[j] === 'text') {
          const m = /(?<![0-9A-Za-z])(\d{6,8})(?!\d)/.exec(lines[j + 1].replace(appId, ''));
          if (m) code = m[1];
        }
        if (lines[j] === 'to') to = lines[j + 1];
      }
    }
  }
  assert(code, `no activation SMS for ${appId} in the outbox:\n${r.stdout.slice(-2000)}`);
  return { code, to };
}

/* Visible Latin words (4+ letters) outside data. */
async function latinOnConsole(page) {
  return page.evaluate(() => {
    const skip = (el) => el.closest('.mono, .v, .app-info, [data-testid="me-account"], [data-testid="me-name"], ' +
      '[data-testid="me-org"], [data-testid="row-org"], [data-testid="row-holder"], .upload-name, .brand, option, ' +
      'input, textarea, .reason-v, .enroll-note, .confirm-text, [data-testid="page-notice"], script, style');
    const out = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const el = n.parentElement;
      if (!el || skip(el) || !n.textContent.trim() || el.closest('[hidden]') || el.closest('dialog:not([open])')) continue;
      if (/[A-Za-z]{4,}/.test(n.textContent)) out.push(n.textContent.trim());
    }
    return out;
  });
}

/* ---- CA续费与延期 and 发票: helpers ---- */

/* GB 32100: a 统一社会信用代码 from its first 17 characters (the check
 * character computed here, apart from the page's own check). */
function usccOf(prefix17) {
  const A = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += A.indexOf(prefix17[i]) * w[i];
  return prefix17 + A[(31 - (sum % 31)) % 31];
}

/* The renewal scenarios' own world, made once: an admin of the demo
 * organisation (renewer) with a bound P-256 phone, and an SM2 phone whose
 * certificate (issued to the same organisation) is bound to nobody. */
async function ensureRenewWorld() {
  if (W.ren) return W.ren;
  W.pw.renewer = await addAccount('renewer', '续费管理员', 'admin');
  const phone = await makePhone('phone-ren', 'p256', '续费测试');
  const free = await makePhone('phone-free', 'sm2', '未绑定证书');
  await ensureBound('renewer', phone);
  W.ren = { phone, free };
  return W.ren;
}

/* The renewal list is shown and has loaded (its rows or 暂无数据). */
function renewListLoaded(page) {
  return listLoaded(page, '#renew-body');
}

function renewRow(page, rid) {
  return page.locator(`tr[data-testid="renew-row"][data-id="${rid}"]`);
}

function renewalOf(rid, account = 'renewer') {
  return getAs(account, `/api/v1/renewals/${rid}`);
}

/* The renewal scenarios' page (S.renew, at DESKTOP): the first one's, or,
 * for a scenario run alone, renewer's /renew opened here. */
async function renewPage(browser) {
  if (!S.renew) await withPage(browser, { keep: 'renew' }, (page) => openFromMenu(page, 'renewer', '/renew'));
  await S.renew.setViewportSize(DESKTOP);
  return S.renew;
}

/* 新增CA续费 ▾ → 给已绑定CA续费 for the certificate with that serial,
 * 续费年限 years (200.00 元 a year), paid at the cashier: resolves the
 * renewal's id, its detail at 待延期. */
async function renewBound(page, serial, years = 1) {
  await page.goto(W.base + '/renew');
  await renewListLoaded(page);
  await page.click('#renew-new');
  await page.click('#renew-bound');
  const cand = page.locator(`#bound-dialog tr[data-testid="cand-row"][data-serial="${serial}"]`);
  await cand.waitFor();
  if (years !== 1) await page.locator(`#bound-dialog [data-testid="years-${years}"]`).check();
  await cand.locator('[data-testid="cand-renew"]').click();
  const rid = await payRenewal(page, (200 * years).toFixed(2));
  await detailState(page, 'pending_extension');
  return rid;
}

/* 收银台 (sandbox): the amount asked, 确认支付, back to the renewal's detail;
 * resolves the renewal id of the address it came back to. */
async function payRenewal(page, yuanText) {
  await page.waitForURL((u) => u.pathname === '/pay/sandbox');
  await page.locator('#cashier[data-state="pending"]').waitFor();
  const amount = await text(page.locator('#amount'));
  assert(amount === yuanText, `the cashier asks ${amount}, not ${yuanText}`);
  assert(/续费/.test(await text(page.locator('#order-name'))), `the order is named ${await text(page.locator('#order-name'))}`);
  await page.click('#pay-confirm');
  await page.locator('#pay-done').filter({ hasText: '正在返回续费页面' }).waitFor();
  await page.waitForURL((u) => u.pathname === '/renew' && !!u.searchParams.get('id'), { timeout: 20000 });
  const rid = new URL(page.url()).searchParams.get('id');
  assert(/^XF\d{18}$/.test(rid), `not a renewal id: ${rid}`);
  return rid;
}

/* The phone answers a renew QR as a camera would (the PNG of the page's
 * pixels) with the number read off the page. */
function phoneRenew(phone, { png, number, rekey = false }) {
  const args = ['--store', phone.dir, 'renew', '--server', W.base, '--png', png, '--pin', PIN, '--number', String(number)];
  if (rekey) args.push('--rekey');
  return run(path.join(BIN, 'mcert-phone'), args, { timeout: 30000 });
}

async function phoneSerial(phone) {
  const r = await mustRun(path.join(BIN, 'mcert-phone'), ['--store', phone.dir, 'show']);
  const m = /serial:\s+([0-9A-Fa-f]+)/.exec(r.stdout);
  assert(m, `no serial in mcert-phone show: ${r.stdout}`);
  return m[1].toUpperCase();
}

/* ---- scenarios ---- */

const results = [];

/* MCERT_BROWSER_ONLY=<regex>: run only the scenarios whose name matches
 * (for working on one page; the later ones may need the earlier ones). */
const ONLY = process.env.MCERT_BROWSER_ONLY ? new RegExp(process.env.MCERT_BROWSER_ONLY) : null;

async function check(name, fn) {
  if (ONLY && !ONLY.test(name)) return;
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
  try {
    await check('password login: admin lands on /bindings with its name; a wrong password shows the error', async () => {
      await withPage(browser, { keep: 'admin' }, async (page) => {
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
      });
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

    await check('QR login: the QR comes from qr.png and decodes to the payload; the phone scans it, approves the right number, the page lands on /bindings via certificate', async () => {
      await withPage(browser, { keep: 'cert' }, async (page) => {
        await page.goto(W.base + '/');
        await page.click('#tab-qr');
        const { payload, match, png } = await readQr(page, '#login-qr');
        await page.screenshot({ path: path.join(OUT, 'login-qr.png') });
        /* the phone's "camera" reads the pixels the browser shows */
        const r = await phoneScan(W.phones.admin, payload, 'approve', match, { png });
        assert(r.code === 0, `mcert-phone approve exited ${r.code}: ${r.stdout}${r.stderr}`);
        await page.waitForURL(W.base + '/bindings');
        await page.locator('#me-name').filter({ hasText: '管理员' }).waitFor();
        await page.waitForFunction(() => document.querySelector('#me-via')?.dataset.via === 'certificate');
      });
    });

    await check('QR login rejected on the phone: the page shows 已拒绝 and a refresh button', async () => {
      await withPage(browser, {}, async (page) => {
        await page.goto(W.base + '/');
        await page.click('#tab-qr');
        const { payload } = await readQr(page, '#login-qr');
        const r = await phoneScan(W.phones.admin, payload, 'reject');
        assert(r.code === 0, `mcert-phone reject exited ${r.code}: ${r.stdout}${r.stderr}`);
        await waitState(page, '#login-qr', 'rejected');
        const said = await text(page.locator('#login-qr [data-testid="qr-state"]'));
        assert(said === '已拒绝', `a plain rejection should say 已拒绝, said "${said}"`);
        assert((await page.getAttribute('#login-qr', 'data-reason')) === null, 'a plain rejection carries a reason');
        assert(await page.locator('#login-qr [data-testid="qr-refresh"]').isVisible(), 'no refresh button');
        await page.screenshot({ path: path.join(OUT, 'login-rejected.png') });
        assert(new URL(page.url()).pathname === '/', 'a rejected login left the login page');
      });
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

    await check('wrong number on the phone: the session ends, the page says so in Chinese, and a fresh QR is approved', async () => {
      await withPage(browser, {}, async (page) => {
        await page.goto(W.base + '/');
        await page.click('#tab-qr');
        const first = await readQr(page, '#login-qr');
        const choices = await phoneChoices(W.phones.alice, first.payload);
        assert(choices.includes(first.match), `the page's number ${first.match} is not among the phone's ${choices}`);
        const decoy = choices.find((n) => n !== first.match);
        const r = await phoneScan(W.phones.alice, first.payload, 'approve', decoy);
        assert(r.code === 1 && /wrong_number/.test(r.stdout + r.stderr),
          `a decoy number should be refused with wrong_number (exit ${r.code}): ${r.stdout}${r.stderr}`);
        await waitState(page, '#login-qr', 'rejected');
        assert((await page.getAttribute('#login-qr', 'data-reason')) === 'wrong_number', 'no data-reason=wrong_number');
        const said = await text(page.locator('#login-qr [data-testid="qr-state"]'));
        assert(said === WRONG_NUMBER_TEXT, `wrong-number text: "${said}"`);
        assert(!/wrong_number|rejected/.test(await text(page.locator('#login-qr'))), 'the raw code is shown');
        const refresh = page.locator('#login-qr [data-testid="qr-refresh"]');
        assert(await refresh.isVisible(), 'no refresh button after a wrong number');
        await page.screenshot({ path: path.join(OUT, 'login-wrong-number.png') });
        /* the session is over: even the right number no longer works */
        const late = await phoneScan(W.phones.alice, first.payload, 'approve', first.match);
        assert(late.code === 1, `the right number after a wrong one was accepted (exit ${late.code}): ${late.stdout}`);
        await refresh.click();
        const second = await readQr(page, '#login-qr');
        assert(second.sid !== first.sid, 'refresh did not open a new session');
        assert((await page.getAttribute('#login-qr', 'data-reason')) === null, 'the new code still says wrong number');
        const ok = await phoneScan(W.phones.alice, second.payload, 'approve', second.match, { png: second.png });
        assert(ok.code === 0, `approving the fresh code exited ${ok.code}: ${ok.stdout}${ok.stderr}`);
        await page.waitForURL(W.base + '/bindings');
        await page.waitForFunction(() => document.querySelector('#me-via')?.dataset.via === 'certificate');
        assert((await text(page.locator('#me-account'))).includes('alice'), 'not logged in as alice');
      });
    });

    await check('redis stopped during the long poll: the poll gets 503, says it is retrying, waits Retry-After, and the approval still reaches the page', async () => {
      await withPage(browser, {}, async (page) => {
        let sid = null;
        try {
          /* The page's first long poll is let through only once redis is
           * stopped: it reaches the real mcertd, whose store call times out
           * (--store-deadline) into a real 503. */
          let armed = true;
          let stoppedAt = 0;
          await page.route(/\/api\/v1\/sessions\/[A-Z0-9]+\?state=/, async (route) => {
            if (armed) {
              armed = false;
              redisStop();
              stoppedAt = Date.now();
            }
            await route.continue();
          });
          /* the page's own clock for each poll (when it was sent, when its
           * reply came): the gap the page waited, free of the test
           * process's event delays on a busy machine */
          await page.addInitScript(() => {
            const f = window.fetch;
            window.__polls = [];
            window.fetch = async (u, o) => {
              const e = { url: String(u), start: performance.now() };
              window.__polls.push(e);
              try {
                const r = await f(u, o);
                e.end = performance.now();
                e.status = r.status;
                e.retryAfter = r.headers.get('Retry-After');
                return r;
              } catch (x) {
                e.end = performance.now();
                e.status = 0;
                throw x;
              }
            };
          });
          await page.goto(W.base + '/');
          await page.click('#tab-qr');
          await page.waitForFunction(() => document.querySelector('#login-qr')?.dataset.retrying === 'yes',
            null, { timeout: STORE_DEADLINE + 5000 });
          sid = await page.getAttribute('#login-qr', 'data-sid');
          assert((await page.getAttribute('#login-qr', 'data-state')) === 'pending',
            'the box left "pending" while retrying');
          const said = await text(page.locator('#login-qr [data-testid="qr-state"]'));
          assert(/正在重试/.test(said) && !/store_unavailable|503/.test(said), `retry text: "${said}"`);
          await page.screenshot({ path: path.join(OUT, 'login-qr-retrying.png') });
          await sleep(Math.max(0, 3000 - (Date.now() - stoppedAt)));
          redisResume();
          await waitReady();
          /* the poll gets through again: pending, not retrying */
          await page.waitForFunction(() => {
            const b = document.querySelector('#login-qr');
            return b.dataset.state === 'pending' && b.dataset.retrying !== 'yes';
          }, null, { timeout: RETRY_MAX_MS + 5000 });
          await page.unroute(/\/api\/v1\/sessions\/[A-Z0-9]+\?state=/);

          const polls = netLog.filter((e) => e.method === 'GET' && e.url.includes(`/api/v1/sessions/${sid}?`));
          const failed = polls.filter((e) => e.status === 503);
          assert(failed.length >= 1, `no 503 on the poll (statuses: ${polls.map((e) => e.status)})`);
          for (const f of failed) {
            assert(f.body && f.body.code === 'store_unavailable', `503 body: ${JSON.stringify(f.body)}`);
            assert(Number(f.retryAfter) >= 1, `503 without Retry-After: ${f.retryAfter}`);
          }
          const seen = (await page.evaluate(() => window.__polls))
            .filter((e) => e.url.includes(`/api/v1/sessions/${sid}?`));
          const pageFailed = seen.filter((e) => e.status === 503);
          assert(pageFailed.length >= 1, `the page saw no 503 (statuses: ${seen.map((e) => e.status)})`);
          for (const f of pageFailed) {
            const next = seen.find((q) => q.start >= f.end);
            assert(next, 'the poll gave up after a 503');
            assert(next.start - f.end >= Number(f.retryAfter) * 1000 - 20,
              `asked again ${Math.round(next.start - f.end)} ms after a 503 with Retry-After ${f.retryAfter}`);
          }
          log(`   503s seen by the poll: ${failed.length}`);

          const { payload, match } = await readQr(page, '#login-qr');
          const r = await phoneScan(W.phones.alice, payload, 'approve', match);
          assert(r.code === 0, `mcert-phone approve exited ${r.code}: ${r.stdout}${r.stderr}`);
          await page.waitForURL(W.base + '/bindings');
          await page.waitForFunction(() => document.querySelector('#me-via')?.dataset.via === 'certificate');
        } finally {
          redisResume();
        }
      });
    });

    await check('staff (alice) sees only her own row and cannot bind others', async () => {
      await withPage(browser, {}, async (page) => {
        await passwordLogin(page, 'alice', W.pw.alice);
        await page.waitForURL(W.base + '/bindings');
        await row(page, 'alice').waitFor();
        assert((await page.locator('tr[data-testid="binding-row"]').count()) === 1, 'staff sees other accounts');
        assert(!(await page.locator('#bind-other').isVisible()), 'staff sees 给其他账号绑定CA');
        await page.click('#logout');
        await page.waitForURL(W.base + '/');
        await page.locator('#login-form').waitFor();
      });
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
      try {
        await withPage(browser, {}, async (page) => {
          await page.goto(short.base + '/');
          await page.click('#tab-qr');
          const first = await readQr(page, '#login-qr');
          await waitState(page, '#login-qr', 'expired', 10000);
          assert(/二维码已过期/.test(await text(page.locator('#login-qr [data-testid="qr-state"]'))), 'no 二维码已过期');
          await page.screenshot({ path: path.join(OUT, 'login-expired.png') });
          const refresh = page.locator('#login-qr [data-testid="qr-refresh"]');
          assert(await refresh.isVisible(), 'no refresh button');
          await refresh.click();
          const second = await readQr(page, '#login-qr');
          assert(second.payload !== first.payload, 'refresh did not open a new session');
        });
      } finally {
        short.proc.kill('SIGTERM');
      }
    });

    await check('database down at password login: the page says so in words, and the login works once it is back', async () => {
      await withPage(browser, {}, async (page) => {
        try {
          await page.goto(W.base + '/');
          await page.fill('#login-account', 'admin');
          await page.fill('#login-password', W.pw.admin);
          redisStop();
          await page.click('#login-submit');
          const err = page.locator('#login-error');
          await err.waitFor({ state: 'visible', timeout: STORE_DEADLINE + 5000 });
          const msg = await text(err);
          assert(msg === '系统暂时无法访问数据，请稍后重试', `store-down text: "${msg}"`);
          assert((await err.getAttribute('data-code')) === 'store_unavailable', 'not a store_unavailable reply');
          await page.screenshot({ path: path.join(OUT, 'login-store-down.png') });
          redisResume();
          await waitReady();
          await page.click('#login-submit');
          await page.waitForURL(W.base + '/bindings');
        } finally {
          redisResume();
        }
      });
    });

    await check('too many wrong passwords: 429 shows 登录失败次数过多 with the wait in minutes, not the code', async () => {
      await withPage(browser, {}, async (page) => {
        await page.goto(W.base + '/');
        const err = page.locator('#login-error');
        let msg = '';
        for (let i = 0; i < 12 && !/次数过多/.test(msg); i++) {
          await page.fill('#login-account', 'mallory');
          await page.fill('#login-password', `wrong-${i}`);
          const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/login'));
          await page.click('#login-submit');
          await answered;
          await page.waitForFunction(() => !document.querySelector('#login-submit').disabled);
          msg = await text(err);
        }
        assert(/^登录失败次数过多，请\d+分钟后再试$/.test(msg), `429 text: "${msg}"`);
        assert((await err.getAttribute('data-code')) === 'too_many_attempts', 'not a too_many_attempts reply');
        const last = netLog.filter((e) => e.url.endsWith('/api/v1/login')).pop();
        assert(last.status === 429 && Number(last.retryAfter) > 0, `last login reply ${last.status}, Retry-After ${last.retryAfter}`);
        await page.screenshot({ path: path.join(OUT, 'login-too-many.png') });

        /* 503 busy (the password-check pool full) cannot be provoked from
         * one browser: the server's documented reply is played to the page. */
        await page.route('**/api/v1/login', (route) => route.fulfill({
          status: 503, contentType: 'application/json', headers: { 'Retry-After': '1' },
          body: JSON.stringify({ code: 'busy', message: 'the server is busy; try again in a moment' }),
        }));
        await page.fill('#login-account', 'admin');
        await page.fill('#login-password', 'whatever');
        await page.click('#login-submit');
        await page.waitForFunction(() => document.querySelector('#login-error')?.dataset.code === 'busy');
        msg = await text(err);
        assert(msg === '系统繁忙，请稍后重试', `busy text: "${msg}"`);
      });
    });

    /* ---- the 签名 page ---- */

    await check('sm3.js in the browser equals openssl dgst -sm3 (empty, "abc", the 64-byte vector, 55/56/63/64/65 bytes, 1 MiB random; whole and in pieces)', async () => {
      await withPage(browser, {}, async (page) => {
        await page.goto(W.base + '/');
        await page.addScriptTag({ url: '/sm3.js' });
        const dir = path.join(W.tmp, 'sm3');
        mkdirSync(dir, { recursive: true });
        const inputs = [
          ['empty', Buffer.alloc(0)],
          ['abc', Buffer.from('abc')],
          ['abcd x16', Buffer.from('abcd'.repeat(16))],
          ...[55, 56, 63, 64, 65, 119, 120, 128].map((n) => [`${n} random bytes`, randomBytes(n)]),
          ['1 MiB random', randomBytes(1 << 20)],
        ];
        /* GB/T 32905-2016, appendix A */
        const known = {
          abc: '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
          'abcd x16': 'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732',
        };
        for (const [i, [label, bytes]] of inputs.entries()) {
          const f = path.join(dir, `in-${i}`);
          writeFileSync(f, bytes);
          const want = await opensslDigest('sm3', f);
          if (known[label]) assert(want === known[label], `openssl's SM3 of ${label} is ${want}, not the standard's`);
          const got = await page.evaluate((b64) => {
            const s = atob(b64);
            const u = new Uint8Array(s.length);
            for (let k = 0; k < s.length; k++) u[k] = s.charCodeAt(k);
            const whole = window.mcSm3.hex(window.mcSm3(u));
            const st = window.mcSm3.create();
            const steps = [1, 7, 63, 64, 65, 1000, 4096];
            for (let off = 0, k = 0; off < u.length; off += steps[k++ % steps.length]) {
              st.update(u.subarray(off, off + steps[k % steps.length]));
            }
            return { whole, pieces: window.mcSm3.hex(st.digest()) };
          }, bytes.toString('base64'));
          assert(got.whole === want, `SM3(${label}): page ${got.whole}, openssl ${want}`);
          assert(got.pieces === want, `SM3(${label}) in pieces: page ${got.pieces}, openssl ${want}`);
        }
        const ms = await page.evaluate(() => {
          const u = new Uint8Array(8 << 20);
          const t = performance.now();
          window.mcSm3(u);
          return performance.now() - t;
        });
        log(`   SM3 of 8 MiB in the page: ${ms.toFixed(0)} ms`);
      });
    });

    await check('签名 page (SM2 holder): reached from the menu; files picked and dropped are digested locally with SM3 (= openssl); name, size, digest shown; 32 at most', async () => {
      await withPage(browser, {}, async (page) => {
        const served = await fetch(W.base + '/sign');
        assert(/default-src 'self'/.test(served.headers.get('content-security-policy') || ''), 'no strict CSP on /sign');
        await openSignPage(page, 'alice', 'sm3');
        assert(/SM2/.test(await text(page.locator('#sign-cert-alg'))), 'the certificate is not shown as SM2');
        assert((await text(page.locator('#sign-cert-serial'))).toUpperCase() === W.phones.alice.serial, 'wrong serial shown');
        assert(await page.isDisabled('#sign-start'), '发起签名 enabled with no file');
        const docs = makeDocs('sm2-docs', [
          { name: '投标文件-商务标.pdf', bytes: randomBytes(9 * 1024 * 1024 + 17) }, /* two SM3 slices */
          { name: 'empty.txt', bytes: Buffer.alloc(0) },
          { name: '技术标 (第2包).docx', bytes: randomBytes(64) },
        ]);
        const rows = await pickFiles(page, docs.slice(0, 2));
        /* the third by drag and drop onto the zone */
        const third = docs[2];
        await page.evaluate(({ name, b64 }) => {
          const s = atob(b64);
          const u = new Uint8Array(s.length);
          for (let k = 0; k < s.length; k++) u[k] = s.charCodeAt(k);
          const dt = new DataTransfer();
          dt.items.add(new File([u], name));
          const zone = document.querySelector('#dropzone');
          for (const type of ['dragenter', 'dragover', 'drop']) {
            zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
          }
        }, { name: third.name, b64: readFileSync(third.path).toString('base64') });
        const all = await filesDigested(page, 3);
        assert(all[0].digest === rows[0].digest, 'a digest changed when a file was added');
        for (const [i, d] of docs.entries()) {
          const want = await opensslDigest('sm3', d.path);
          assert(all[i].name === d.name, `row ${i} is ${all[i].name}, not ${d.name}`);
          assert(all[i].alg === 'sm3', `row ${i} digested with ${all[i].alg}`);
          assert(all[i].digest === want, `SM3 of ${d.name}: page ${all[i].digest}, openssl ${want}`);
          assert(Number(all[i].size) === d.size, `size of ${d.name}: ${all[i].size}`);
        }
        assert(await page.isEnabled('#sign-start'), '发起签名 not enabled once digested');
        assert(/SM3/.test(await text(page.locator('#digest-alg-head'))), 'digest column does not say SM3');
        await page.fill('#sign-text', '项目编号 ZJCG-2025-001 第1标段');
        await shootBoth(page, 'sign-files');
        /* 33 files: the 33rd is refused in words */
        const many = makeDocs('many', Array.from({ length: 31 }, (_, i) => ({ name: `f${i}.txt`, bytes: Buffer.from(`doc ${i}`) })));
        await page.setInputFiles('#file-input', many.map((d) => d.path));
        await page.locator('#sign-error').waitFor({ state: 'visible' });
        assert(/最多签名32个文件/.test(await text(page.locator('#sign-error'))), 'no 32-file limit message');
        assert((await page.locator('tr[data-testid="file-row"]').count()) === 32, 'not exactly 32 files kept');
        await filesDigested(page, 32);
        await page.click('#files-clear');
        assert((await page.locator('tr[data-testid="file-row"]').count()) === 0, '清空文件 left rows');
        const bad = await latinOnPage(page);
        assert(bad.length === 0, `English text on /sign: ${JSON.stringify(bad)}`);
      });
    });

    await check('sign request end to end (P-256 holder): 3 files, QR + number, phone approves, 已签名 live, .p7s verifies with openssl cms against the test CA, the digests are the server\'s, 验证签名 says 有效 and 无效 for a changed file, 签名记录 lists it', async () => {
      await withPage(browser, {}, async (page) => {
        await openSignPage(page, 'admin', 'sha256');
        const docs = makeDocs('p256-docs', [
          { name: '投标文件.pdf', bytes: randomBytes(300 * 1024) },
          { name: '报价单.xlsx', bytes: randomBytes(4097) },
          { name: '资格证明.zip', bytes: randomBytes(65) },
        ]);
        const rows = await pickFiles(page, docs);
        for (const [i, d] of docs.entries()) {
          const want = await opensslDigest('sha256', d.path);
          assert(rows[i].alg === 'sha256' && rows[i].digest === want, `SHA-256 of ${d.name}: page ${rows[i].digest}, openssl ${want}`);
        }
        await page.fill('#sign-text', '项目编号 ZJCG-2025-001 第1标段');
        await page.selectOption('#sign-ttl', '900');
        await page.click('#sign-start');
        const q = await readSignQr(page);
        const sent = netLog.find((e) => e.method === 'POST' && e.body && e.body.sid === q.sid);
        assert(sent.body.ttl === 900, `ttl ${sent.body.ttl}, not the 15 minutes chosen`);
        assert((await text(page.locator('#sign-qr [data-testid="qr-state"]'))) === '待扫码', 'not 待扫码');
        assert(await page.isDisabled('#sign-start'), '发起签名 still enabled while the request is open');
        await shootBoth(page, 'sign-pending');

        const r = await phoneSign(W.phones.admin, 'scan', { payload: q.payload, number: q.match });
        assert(r.code === 0, `mcert-phone approve exited ${r.code}: ${r.stdout}${r.stderr}`);
        await waitSignState(page, 'approved');
        assert((await text(page.locator('#sign-qr [data-testid="qr-state"]'))) === '已签名', 'not 已签名');
        const items = page.locator('li[data-testid="result-item"]');
        assert((await items.count()) === 3, `${await items.count()} results, not 3`);
        /* the digests the page computed are those the server signed */
        const poll = netLog.filter((e) => e.url.includes(`/api/v1/sessions/${q.sid}?`) && e.body && e.body.state === 'approved').pop();
        assert(poll && Array.isArray(poll.body.documents), 'no approved poll reply with documents');
        for (const [i, d] of rows.entries()) {
          assert(poll.body.documents[i].digest.toLowerCase() === d.digest, `server digest ${poll.body.documents[i].digest} != page ${d.digest}`);
          assert((await items.nth(i).getAttribute('data-match')) === 'yes', `result ${i} not matched to its file`);
        }
        await shootBoth(page, 'sign-approved');

        /* download the second .p7s and check it with openssl against the test CA */
        const dl = page.waitForEvent('download');
        await items.nth(1).locator('[data-testid="download-p7s"]').click();
        const download = await dl;
        assert(download.suggestedFilename() === '报价单.xlsx.p7s', `file name ${download.suggestedFilename()}`);
        const p7s = path.join(W.tmp, 'download.p7s');
        await download.saveAs(p7s);
        const ca = path.join(W.tmp, 'var', 'trust', 'ca.crt');
        const v = await run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', p7s,
          '-content', docs[1].path, '-CAfile', ca, '-purpose', 'any', '-out', '/dev/null']);
        assert(v.code === 0, `openssl cms -verify failed (exit ${v.code}): ${v.stdout}${v.stderr}`);
        const vbad = await run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', p7s,
          '-content', docs[0].path, '-CAfile', ca, '-purpose', 'any', '-out', '/dev/null']);
        assert(vbad.code !== 0, 'openssl verified the .p7s against another file');

        /* 验证签名 in the page: 有效, then 无效 for a changed file */
        await page.setInputFiles('#verify-cms', p7s);
        await page.setInputFiles('#verify-doc', docs[1].path);
        await page.click('#verify-submit');
        await page.waitForFunction(() => document.querySelector('#verify-result')?.dataset.valid === 'yes');
        assert((await text(page.locator('[data-testid="verify-verdict-text"]'))) === '有效', 'not 有效');
        assert((await text(page.locator('[data-testid="verify-cn"]'))) === '管理员', 'signer name not shown');
        assert((await text(page.locator('[data-testid="verify-serial"]'))).toUpperCase() === W.phones.admin.serial, 'signer serial');
        assert(/有效/.test(await text(page.locator('[data-testid="verify-status-now"]'))), 'status now');
        assert(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(await text(page.locator('[data-testid="verify-time"]'))), 'no signing time');
        await shootBoth(page, 'sign-verify-valid');
        const changed = path.join(W.tmp, 'changed.xlsx');
        const cb = readFileSync(docs[1].path);
        cb[100] ^= 1;
        writeFileSync(changed, cb);
        await page.setInputFiles('#verify-doc', changed);
        await page.click('#verify-submit');
        await page.waitForFunction(() => document.querySelector('#verify-result')?.dataset.valid === 'no');
        assert((await text(page.locator('[data-testid="verify-verdict-text"]'))) === '无效', 'not 无效');
        assert((await page.getAttribute('#verify-result', 'data-reason')) === 'digest_mismatch', 'reason not digest_mismatch');
        assert(/不一致/.test(await text(page.locator('#verify-reason'))), 'reason not in words');
        await shootBoth(page, 'sign-verify-invalid');

        /* 签名记录: this request, 已签名, with its 3 files and text */
        const rec = page.locator(`tr[data-testid="record-row"][data-sid="${q.sid}"]`);
        await rec.waitFor();
        assert((await rec.getAttribute('data-state')) === 'approved', 'record not approved');
        assert((await text(rec.locator('[data-testid="record-state"]'))) === '已签名', 'record state text');
        assert(/投标文件\.pdf/.test(await text(rec)) && /ZJCG-2025-001/.test(await text(rec)), 'record lacks files or text');
        const bad = await latinOnPage(page);
        assert(bad.length === 0, `English text on /sign: ${JSON.stringify(bad)}`);
      });
    });

    await check('sign request (SM2 holder) approved from the phone\'s inbox: the SM3 .p7s verifies in the page; a rejected request says 已拒绝, a wrong number says so, each can be sent again', async () => {
      await withPage(browser, {}, async (page) => {
        await openSignPage(page, 'alice', 'sm3');
        const docs = makeDocs('sm2-flow', [
          { name: '投标函.pdf', bytes: randomBytes(70000) },
          { name: '附件.txt', bytes: Buffer.from('第1标段') },
        ]);
        const rows = await pickFiles(page, docs);
        await page.click('#sign-start');
        const q = await readSignQr(page);
        /* first: the phone rejects */
        let r = await phoneSign(W.phones.alice, 'scan', { payload: q.payload, answer: 'reject' });
        assert(r.code === 0, `mcert-phone reject exited ${r.code}: ${r.stdout}${r.stderr}`);
        await waitSignState(page, 'rejected');
        assert((await text(page.locator('#sign-qr [data-testid="qr-state"]'))) === '已拒绝', 'not 已拒绝');
        assert(await page.locator('#sign-again').isVisible(), 'no 重新发起');
        await page.screenshot({ path: path.join(OUT, 'sign-rejected.png') });
        /* again: a wrong number ends it, said in words */
        await page.click('#sign-again');
        const qw = await readSignQr(page);
        assert(qw.sid !== q.sid, '重新发起 did not open a new request');
        const choices = await phoneChoices(W.phones.alice, qw.payload);
        assert(choices.includes(qw.match), `the page's number ${qw.match} is not among the phone's ${choices}`);
        r = await phoneSign(W.phones.alice, 'scan', { payload: qw.payload, number: choices.find((n) => n !== qw.match) });
        assert(r.code === 1 && /wrong_number/.test(r.stdout + r.stderr), `a decoy number was not refused (exit ${r.code}): ${r.stdout}${r.stderr}`);
        await waitSignState(page, 'rejected');
        assert((await page.getAttribute('#sign-qr', 'data-reason')) === 'wrong_number', 'no data-reason=wrong_number');
        assert(/数字与页面不一致/.test(await text(page.locator('#sign-qr [data-testid="qr-state"]'))), 'wrong number not in words');
        /* and again, approved from the inbox (no QR, no number) */
        await page.click('#sign-again');
        const q2 = await readSignQr(page);
        assert(q2.sid !== qw.sid, '重新发起 did not open a new request');
        r = await phoneSign(W.phones.alice, 'inbox', { sid: q2.sid });
        assert(r.code === 0, `mcert-phone sign exited ${r.code}: ${r.stdout}${r.stderr}`);
        await waitSignState(page, 'approved');
        const items = page.locator('li[data-testid="result-item"]');
        for (const [i, d] of rows.entries()) assert((await items.nth(i).getAttribute('data-digest')) === d.digest, `result ${i} digest`);
        const dl = page.waitForEvent('download');
        await items.nth(0).locator('[data-testid="download-p7s"]').click();
        const p7s = path.join(W.tmp, 'sm2.p7s');
        await (await dl).saveAs(p7s);
        /* the SignedData names SM3 */
        const asn = await run('openssl', ['asn1parse', '-inform', 'DER', '-in', p7s]);
        assert(/sm3|1\.2\.156\.10197\.1\.401/i.test(asn.stdout), 'the .p7s does not name SM3');
        await page.setInputFiles('#verify-cms', p7s);
        await page.setInputFiles('#verify-doc', docs[0].path);
        await page.click('#verify-submit');
        await page.waitForFunction(() => document.querySelector('#verify-result')?.dataset.valid === 'yes');
        assert((await page.getAttribute('#verify-result', 'data-digest')) === rows[0].digest, 'verify used another digest');
        assert(/SM3/.test(await text(page.locator('[data-testid="verify-alg"]'))), 'verify does not say SM3');
        await page.setInputFiles('#verify-doc', docs[1].path);
        await page.click('#verify-submit');
        await page.waitForFunction(() => document.querySelector('#verify-result')?.dataset.valid === 'no');
        const states = await page.locator('tr[data-testid="record-row"]').evaluateAll((rs) => rs.map((x) => x.dataset.state));
        assert(states.includes('approved') && states.filter((x) => x === 'rejected').length >= 2, `records: ${states}`);
        /* signed: the list stays as signed until 签名其他文件 */
        assert(await page.isDisabled('#sign-start'), '发起签名 enabled again over the signed list');
        await page.click('#sign-new');
        assert((await page.locator('tr[data-testid="file-row"]').count()) === 0 && await page.locator('#sign-session').isHidden(),
          '签名其他文件 did not start afresh');
      });
    });

    /* ---- CA证书申领 and 审核 ---- */

    await check('签名 page, hostile answers to 发起签名: a 429 too_many_sessions gives the wait in words, 503 store_unavailable (redis stopped) says so and leaves the files to send again, a web session ended server-side mid-flow returns to the login page with a note', async () => {
      await withPage(browser, {}, async (page) => {
        await openSignPage(page, 'admin', 'sha256');
        const docs = makeDocs('hostile-sign', [{ name: '标书.pdf', bytes: randomBytes(5000) }]);
        await pickFiles(page, docs);
        const refused = async (what) => {
          await page.locator('#sign-error').waitFor({ state: 'visible' });
          assert(await page.locator('#sign-session').isHidden(), `${what}: the QR panel stayed open`);
          assert(await page.isEnabled('#sign-start'), `${what}: 发起签名 not enabled again`);
          assert((await page.locator('tr[data-testid="file-row"]').count()) === 1, `${what}: the files were dropped`);
          return [await text(page.locator('#sign-error')), await page.getAttribute('#sign-error', 'data-code')];
        };
        /* 429 too_many_sessions (the server's limit is per client address
         * and would hold back the later scenarios: answered here instead) */
        await page.route('**/api/v1/sign-requests?qr=none', (r) => r.fulfill({
          status: 429, contentType: 'application/json', headers: { 'Retry-After': '90' },
          body: JSON.stringify({ code: 'too_many_sessions', message: 'too many sessions' }),
        }));
        await page.click('#sign-start');
        let [msg, code] = await refused('429');
        assert(msg === '操作过于频繁，请2分钟后再试' && code === 'too_many_sessions', `429 says "${msg}" (${code})`);
        await page.unroute('**/api/v1/sign-requests?qr=none');
        /* 503 store_unavailable: redis stopped */
        redisStop();
        try {
          await page.click('#sign-start');
          [msg, code] = await refused('503');
        } finally {
          redisResume();
        }
        assert(msg === '系统暂时无法访问数据，请稍后重试' && code === 'store_unavailable', `503 says "${msg}" (${code})`);
        const sent = netLog.filter((e) => e.method === 'POST' && /\/api\/v1\/sign-requests\?/.test(e.url)).pop();
        assert(sent && sent.status === 503 && Number(sent.retryAfter) > 0, `the 503 reply: ${sent && sent.status}, Retry-After ${sent && sent.retryAfter}`);
        await page.screenshot({ path: path.join(OUT, 'sign-store-down.png') });
        await waitReady();
        /* the web session ends server-side (a logout in another tab) while
         * the page is open: the next 发起签名 goes to the login page */
        const tok = await page.evaluate(() => sessionStorage.getItem('mcert.token'));
        const out = await apiCall('POST', '/api/v1/logout', { token: tok });
        assert(out.status === 200, `logout: ${out.status}`);
        await page.click('#sign-start');
        await page.waitForURL(W.base + '/');
        await page.locator('#notice').waitFor({ state: 'visible' });
        assert((await text(page.locator('#notice'))) === '会话已结束，请重新登录', `the login page says "${await text(page.locator('#notice'))}"`);
        assert((await page.evaluate(() => sessionStorage.getItem('mcert.token'))) === null, 'the dead token was kept');
      });
    });

    await check('console menus: CA绑定与解绑 / CA证书申领 / CA续费与延期 / 签名 on every page, 审核 and 发票审核 hidden from a non-operator; CA续费与延期 lists the organisation\'s renewals (none yet)', async () => {
      await withPage(browser, {}, async (page) => {
        await openFromMenu(page, 'zhang', '/apply');
        for (const p of ['/bindings', '/apply', '/renew', '/sign']) {
          await page.goto(W.base + p);
          await page.locator('#me-name').waitFor();
          const items = (await page.locator('.sidebar .nav-item:visible').allTextContents()).map((t) => t.trim());
          assert(JSON.stringify(items) === JSON.stringify(['CA绑定与解绑', 'CA证书申领', 'CA续费与延期', '签名']),
            `menu of ${p} for an admin: ${JSON.stringify(items)}`);
          const active = await text(page.locator('.sidebar .nav-item.active'));
          assert(active === { '/bindings': 'CA绑定与解绑', '/apply': 'CA证书申领', '/renew': 'CA续费与延期', '/sign': '签名' }[p],
            `active menu entry of ${p}: ${active}`);
        }
        await page.goto(W.base + '/renew');
        await renewListLoaded(page);
        assert(/以下为所有续费记录，新增续费请点击右上角的按钮/.test(await text(page.locator('[data-testid="list-banner"]'))),
          'the list has not the manual\'s banner');
        assert(/暂无数据/.test(await text(page.locator('#renew-body'))), 'a new organisation already has renewals');
        await page.waitForFunction(() => document.querySelector('#me')?.hidden === false);
        await shootBoth(page, 'renew');
        /* the menu stays reachable on a phone-sized window */
        await page.setViewportSize(MOBILE);
        await page.click('.sidebar a[href="/apply"]');
        await page.waitForURL(W.base + '/apply');
        await page.setViewportSize(DESKTOP);
        await listLoaded(page);
        assert((await page.locator('tr[data-testid="app-row"]').count()) === 0, 'a new organisation already has applications');
        assert(/暂无数据/.test(await text(page.locator('#apps-body'))), 'the empty list does not say 暂无数据');
        await page.goto(W.base + '/review');
        await page.locator('#not-operator').waitFor();
        assert(await page.locator('#view-queue').isHidden(), 'a non-operator sees the review queue');
      });
    });

    await check('申领CA form: provider dialog, 阅读条款 with the 收费标准, the 34 provinces, the checks in the browser (GB 32100, GB 11643, mobile, email, required, scan type and size) before anything is sent', async () => {
      await withPage(browser, { viewport: DESKTOP }, async (page) => {
        await openFromMenu(page, 'zhang', '/apply');
        await startApplication(page, true);
        const regions = await page.locator('#f-region option').evaluateAll((os) => os.filter((o) => o.value).map((o) => o.value));
        assert(regions.length === 34 && regions.includes('330000') && regions.includes('820000'), `regions: ${regions.length}`);
        assert((await text(page.locator('[data-testid="f-delivery"]'))) === '在线发放', '寄送方式 is not 在线发放');
        const steps = (await page.locator('#form-steps .step-label').allTextContents()).join('→');
        assert(steps === '填写资料→平台审核→收取CA', `steps bar: ${steps}`);

        /* nothing filled: 提交 names every field and sends nothing */
        const before = reqLog.length;
        await page.click('#form-submit');
        await page.locator('#form-error').waitFor({ state: 'visible' });
        const req = await page.locator('.field-error:not(:empty)').count();
        /* the organisation's name and code come filled in from the account */
        assert(req === 9, `${req} fields say they are required, not the 9 left empty`);
        const wrong = [
          ['#f-uscc', USCC2.slice(0, 17) + (USCC2[17] === '4' ? '5' : '4'), 'uscc', /统一社会信用代码有误/],
          ['#f-uscc', '91330106MA27XF6TI4', 'uscc', /统一社会信用代码有误/],
          ['#f-holder_id', '110105194912310021', 'holder_id', /身份证号码有误/],
          ['#f-holder_id', '11010519490231002X'.slice(0, 17) + 'X', 'holder_id', /身份证号码有误/],
          ['#f-mobile', '12800138000', 'mobile', /手机号码/],
          ['#f-email', 'zhang..wei@example.com', 'email', /邮箱格式有误/],
          ['#f-email', 'zhang@localhost', 'email', /邮箱格式有误/],
        ];
        for (const [sel, val, name, re] of wrong) {
          await page.fill(sel, val);
          await page.locator(sel).blur();
          const msg = await text(page.locator(`.field-error[data-for="${name}"]`));
          assert(re.test(msg), `${sel} = ${val}: "${msg}"`);
        }
        await shootBoth(page, 'apply-form-errors', { checkWidth: false });
        /* valid values clear the errors; a valid code names the province */
        await page.selectOption('#f-region', '');
        await page.fill('#f-uscc', APPL.uscc);
        await page.locator('#f-uscc').dispatchEvent('change');
        await page.locator('#f-uscc').blur();
        assert((await page.inputValue('#f-region')) === '330000', 'the USCC did not name 浙江省');
        for (const [sel, v] of [['#f-holder_id', APPL.holder_id.toLowerCase()], ['#f-mobile', APPL.mobile], ['#f-email', APPL.email]]) {
          await page.fill(sel, v);
          await page.locator(sel).blur();
        }
        for (const n of ['uscc', 'holder_id', 'mobile', 'email']) {
          assert(!(await text(page.locator(`.field-error[data-for="${n}"]`))), `${n} still shows an error`);
        }
        /* scans: a text file named .png and a file over 5 MiB are refused in the page */
        const sc = await makeScans(page);
        await page.setInputFiles('[data-testid="file-licence"]', sc.fake);
        await page.waitForFunction(() => /格式不支持/.test(document.querySelector('.field-error[data-for="licence"]').textContent));
        await page.setInputFiles('[data-testid="file-id_scan"]', sc.big);
        await page.waitForFunction(() => /文件过大/.test(document.querySelector('.field-error[data-for="id_scan"]').textContent));
        const uploads = reqLog.slice(before).filter((q) => /\/api\/v1\/(uploads|applications)(\/|$|\?)/.test(q.url) && q.method !== 'GET');
        assert(uploads.length === 0, `the page sent refused input: ${JSON.stringify(uploads.map((u) => u.method + ' ' + u.url))}`);
        assert((await latinOnConsole(page)).length === 0, `English on the form: ${JSON.stringify(await latinOnConsole(page))}`);
      });
    });

    await check('free application end to end: 申领CA → form with JPEG / PNG / PDF scans (previews) → 保存 (草稿 in the list) → 提交 → 人脸认证 → 当前申领免费，确定提交吗？ → 待审核; the server holds exactly what was typed and uploaded', async () => {
      await withPage(browser, { viewport: DESKTOP, keep: 'apply' }, async (page) => {
        await openFromMenu(page, 'zhang', '/apply');
        const sc = await makeScans(page);
        await startApplication(page, false);
        await fillApplication(page);
        const ids = {
          licence: await uploadScan(page, 'licence', sc.licence),
          id_scan: await uploadScan(page, 'id_scan', sc.idScan),
          auth_letter: await uploadScan(page, 'auth_letter', sc.pdf),
        };
        assert(ids.licence === sha256File(sc.licence) && ids.id_scan === sha256File(sc.idScan) && ids.auth_letter === sha256File(sc.pdf),
          'upload ids are not the SHA-256 of the files');
        const thumbs = await page.locator('#view-form img.upload-thumb').evaluateAll((is) => is.map((i) => i.naturalWidth));
        assert(thumbs.length === 2 && thumbs.every((w) => w === 640), `image previews: ${JSON.stringify(thumbs)}`);
        assert(/PDF/.test(await text(page.locator('[data-upload="auth_letter"] .upload-doc'))), 'no PDF tile');
        assert((await text(page.locator('[data-testid="upload-name-auth_letter"]'))) === '授权委托书.pdf', 'PDF name not shown');
        await page.waitForFunction(() => document.querySelector('#fee')?.dataset.fen === '0');
        assert((await text(page.locator('#fee'))) === '免费', `fee shown: ${await text(page.locator('#fee'))}`);
        await shootBoth(page, 'apply-form');

        await page.click('#form-save');
        await page.locator('#page-notice').filter({ hasText: '已保存草稿' }).waitFor();
        const id = await page.getAttribute('#view-form', 'data-id');
        assert(/^SQ\d{16}$/.test(id || ''), `no order number after 保存: ${id} (${page.url()}, ${await text(page.locator('#page-notice'))})`);
        S.freeId = id;
        let a = await appOf(id);
        assert(a.state === 'draft', `saved state ${a.state}`);
        for (const k of ['org_name', 'org_type', 'uscc', 'region', 'holder_name', 'holder_id', 'mobile', 'email', 'alg']) {
          assert(String(a[k]) === APPL[k], `${k}: server ${a[k]}, typed ${APPL[k]}`);
        }
        for (const k of Object.keys(ids)) assert(a[k] === ids[k], `${k}: server ${a[k]}, uploaded ${ids[k]}`);
        /* the stored scan is the file, byte for byte */
        const tok = await tokenOf('zhang');
        const got = await fetch(`${W.base}/api/v1/uploads/${ids.licence}`, { headers: { Authorization: 'Bearer ' + tok } });
        const gotBytes = Buffer.from(await got.arrayBuffer());
        assert(got.status === 200 && gotBytes.equals(readFileSync(sc.licence)), `GET upload: ${got.status}, ${gotBytes.length} bytes`);

        /* the draft is in the list, and comes back into the form */
        await page.click('#form-back');
        await listLoaded(page);
        const row = page.locator(`tr[data-testid="app-row"][data-id="${id}"]`);
        await row.waitFor();
        assert((await text(row.locator('[data-testid="row-state"]'))) === '草稿', 'the list does not say 草稿');
        assert((await text(row.locator('[data-testid="row-org"]'))) === APPL.org_name, 'the list does not show 机构名称');
        await row.locator('[data-testid="row-edit"]').click();
        await page.locator('#view-form').waitFor();
        await page.waitForFunction((v) => document.querySelector('#f-holder_id')?.value === v, APPL.holder_id);
        await page.waitForFunction(() => document.querySelectorAll('#view-form img.upload-thumb').length === 2);

        const ask = await submitForm(page);
        assert(ask === '当前申领免费，确定提交吗？', `the confirmation says "${ask}"`);
        assert((await text(page.locator('#confirm-ok'))) === '确定', 'the confirmation button is not 确定');
        await page.screenshot({ path: path.join(OUT, 'apply-confirm-free.png') });
        await page.click('#confirm-ok');
        await detailState(page, 'pending_review');
        assert((await text(page.locator('#d-state'))) === '待审核', 'the detail does not say 待审核');
        a = await appOf(id);
        assert(a.state === 'pending_review' && a.identity === 'face_passed' && Number(a.fee) === 0,
          `after submit: ${a.state} ${a.identity} fee ${a.fee}`);
        await shootBoth(page, 'apply-detail-pending');
        await page.click('#d-back');
        await listLoaded(page);
        await page.locator(`tr[data-testid="app-row"][data-id="${id}"][data-state="pending_review"]`).waitFor();
        await shootBoth(page, 'apply-list');
      });
    });

    await check('operator: the review queue (filter, search by 订单编号), the application with its scans (images inline, PDF to download), 审核不通过 with a reason', async () => {
      await ensureOperator();
      await withPage(browser, { viewport: DESKTOP, keep: 'op' }, async (page) => {
        await passwordLogin(page, 'op', W.pw.op);
        await page.waitForURL(W.base + '/bindings');
        await page.locator('.sidebar a[href="/review"]').waitFor({ state: 'visible' });
        await page.click('.sidebar a[href="/review"]');
        await page.waitForURL(W.base + '/review');
        await page.locator('#view-queue').waitFor();
        const row = page.locator(`tr[data-testid="queue-row"][data-id="${S.freeId}"]`);
        await row.waitFor();
        assert((await page.inputValue('#state-filter')) === 'pending_review', 'the queue does not start at 待审核');
        /* search: a prefix of another number finds nothing, this one finds it */
        await page.fill('#q', 'SQ19990101');
        await page.click('#filter-search');
        await page.waitForFunction(() => /暂无数据/.test(document.querySelector('#queue-body').textContent));
        await page.fill('#q', S.freeId);
        await page.click('#filter-search');
        await row.waitFor();
        assert((await page.locator('tr[data-testid="queue-row"]').count()) === 1, 'search by 订单编号 found more than one');
        await page.selectOption('#state-filter', 'issued');
        await page.click('#filter-search');
        await page.waitForFunction(() => /暂无数据/.test(document.querySelector('#queue-body').textContent));
        await page.click('#filter-reset');
        await row.waitFor();
        await shootBoth(page, 'review-queue');

        await row.locator('[data-testid="row-open"]').click();
        await page.waitForFunction((id) => document.querySelector('#view-app')?.dataset.id === id, S.freeId);
        await page.waitForFunction(() => document.querySelectorAll('#r-fields [data-testid="scan"]').length === 3);
        const kinds = await page.locator('#r-fields [data-testid="scan"]').evaluateAll((c) => c.map((x) => x.dataset.kind));
        assert(JSON.stringify(kinds) === '["image","image","pdf"]', `scans: ${JSON.stringify(kinds)}`);
        await page.waitForFunction(() => Array.from(document.querySelectorAll('#r-fields img.scan-img')).every((i) => i.complete && i.naturalWidth === 640));
        const dl = page.waitForEvent('download');
        await page.click('[data-testid="scan-pdf"]');
        const file = await (await dl).path();
        assert(readFileSync(file).equals(readFileSync(W.scans.pdf)), 'the PDF downloaded is not the one uploaded');
        assert((await text(page.locator('[data-testid="r-holder_id"]'))) === APPL.holder_id, 'holder id not shown');
        await shootBoth(page, 'review-app');

        await page.click('#r-reject');
        await page.locator('#decide-dialog').waitFor({ state: 'visible' });
        await page.click('#decide-ok');
        await page.locator('#decide-error').filter({ hasText: '请填写不通过理由' }).waitFor();
        S.reason = '营业执照扫描件不清晰，请上传清晰的营业执照副本扫描件。';
        await page.fill('#decide-reason', S.reason);
        await page.screenshot({ path: path.join(OUT, 'review-reject-dialog.png') });
        await page.click('#decide-ok');
        await page.waitForFunction(() => document.querySelector('#view-app')?.dataset.state === 'rejected');
        assert((await text(page.locator('#r-reason [data-role="reason"]'))) === S.reason, 'the reason is not shown to the operator');
        const a = await appOf(S.freeId);
        assert(a.state === 'rejected' && a.reason === S.reason && a.reviewer === 'op', `after reject: ${a.state} ${a.reason} ${a.reviewer}`);
      });
    });

    await check('rejected: the applicant sees 审核未通过 and the 不通过理由, edits (a new licence scan) and resubmits → 待审核; the operator approves → 审核通过，待制证 with the activation SMS', async () => {
      const page = S.apply;
      await page.goto(`${W.base}/apply?id=${S.freeId}`);
      await detailState(page, 'rejected');
      assert((await text(page.locator('[data-testid="d-reason-text"]'))) === S.reason, 'the applicant does not see the reason');
      assert((await text(page.locator('#d-state'))) === '审核未通过', 'the state is not 审核未通过');
      assert(await page.locator('#d-resubmit').isVisible() && await page.locator('#d-edit').isVisible(), 'no 编辑 / 重新提交');
      await shootBoth(page, 'apply-detail-rejected');
      await page.click('#d-edit');
      await page.locator('#view-form').waitFor();
      await page.waitForFunction((v) => document.querySelector('#f-holder_id')?.value === v, APPL.holder_id);
      assert((await text(page.locator('#form-reason [data-role="reason"]'))) === S.reason, 'the form does not show the reason');
      assert((await text(page.locator('#form-submit'))) === '重新提交', 'the form button is not 重新提交');
      const newId = await uploadScan(page, 'licence', W.scans.licence2);
      const ask = await submitForm(page);
      assert(ask === '当前申领免费，确定提交吗？', `the resubmission asks "${ask}"`);
      await page.click('#confirm-ok');
      await detailState(page, 'pending_review');
      let a = await appOf(S.freeId);
      assert(a.state === 'pending_review' && a.licence === newId, `after resubmit: ${a.state} licence ${a.licence}`);

      const op = S.op;
      await op.goto(`${W.base}/review?id=${S.freeId}`);
      await op.waitForFunction(() => document.querySelector('#view-app')?.dataset.state === 'pending_review');
      await op.click('#r-approve');
      await op.locator('#decide-dialog').waitFor({ state: 'visible' });
      await op.click('#decide-ok');
      await op.waitForFunction(() => document.querySelector('#view-app')?.dataset.state === 'approved_pending_issue');
      a = await appOf(S.freeId);
      assert(a.state === 'approved_pending_issue', `after approve: ${a.state}`);
      const sms = await activationCode(S.freeId);
      assert(sms.to === APPL.mobile, `the SMS went to ${sms.to}`);
      S.code = sms.code;

      await page.goto(`${W.base}/apply?id=${S.freeId}`);
      await detailState(page, 'approved_pending_issue');
      assert((await text(page.locator('#d-state'))) === '审核通过，待制证', 'the state is not 审核通过，待制证');
      const noteText = await text(page.locator('#d-enroll-note'));
      assert(/短信/.test(noteText) && noteText.includes('138****8000') && !noteText.includes(S.code), `activation note: ${noteText}`);
      await shootBoth(page, 'apply-detail-approved');
      /* 重新发送激活码: a new SMS with a new code; the enrollment below uses it */
      const before = S.code;
      await page.click('#enroll-resend');
      await page.waitForFunction(() => /新的激活码已通过短信发送/.test(document.body.innerText));
      const again = await activationCode(S.freeId);
      assert(again.to === APPL.mobile && again.code !== before, `the resent SMS: ${again.to} ${again.code}`);
      S.code = again.code;
    });

    await check('approved: 显示下载二维码 opens an enroll session; mcert-phone enroll answers its QR with the SMS code; the page shows 已发证 live', async () => {
      const page = S.apply;
      await page.goto(`${W.base}/apply?id=${S.freeId}`);
      await detailState(page, 'approved_pending_issue');
      await page.click('#enroll-start');
      await page.waitForFunction(() => document.querySelector('#enroll-qr')?.dataset.state === 'pending');
      const img = page.locator('#enroll-qr img[data-testid="qr-img"]');
      const payload = await img.getAttribute('data-payload');
      const sid = await page.getAttribute('#enroll-qr', 'data-sid');
      assert(payload && sid && payload.endsWith('/M/' + sid), `enroll QR payload ${payload} / ${sid}`);
      await page.waitForFunction(() => {
        const el = document.querySelector('#enroll-qr img.qr-img');
        return el && el.complete && el.naturalWidth > 0;
      });
      const dataUrl = await img.evaluate((el) => {
        const c = document.createElement('canvas');
        c.width = el.naturalWidth;
        c.height = el.naturalHeight;
        const g = c.getContext('2d');
        g.fillStyle = '#fff';
        g.fillRect(0, 0, c.width, c.height);
        g.drawImage(el, 0, 0);
        return c.toDataURL('image/png');
      });
      const png = path.join(W.tmp, 'shown-enroll-qr.png');
      writeFileSync(png, Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
      const z = await run('zbarimg', ['--raw', '-q', png], { timeout: 10000 });
      assert(z.code === 0 && z.stdout.trim() === payload, `the enroll QR decodes to ${z.stdout.trim()} (exit ${z.code})`);
      assert(await page.locator('#enroll-qr .match').isHidden(), 'an enroll QR shows a match number');
      await shootBoth(page, 'apply-enroll-qr');
      const store = path.join(W.tmp, 'phone-zhang');
      const r = await run(path.join(BIN, 'mcert-phone'), ['--store', store, 'enroll', '--payload', z.stdout.trim(),
        '--code', S.code, '--pin', PIN, '--alg', APPL.alg, '--cn', APPL.holder_name, '--org-name', APPL.org_name,
        '--uscc', APPL.uscc], { timeout: 30000 });
      assert(r.code === 0, `mcert-phone enroll exited ${r.code}: ${r.stdout}${r.stderr}`);
      const fp = (/fingerprint ([0-9a-f]{64})/.exec(r.stdout) || [])[1];
      assert(fp, `no fingerprint in mcert-phone's output: ${r.stdout}`);
      await detailState(page, 'issued');
      assert((await text(page.locator('#d-state'))) === '审核通过，已发证', 'the state is not 审核通过，已发证');
      assert((await text(page.locator('[data-testid="d-cert-fp"]'))) === fp, 'the page does not show the issued fingerprint');
      const a = await appOf(S.freeId);
      assert(a.state === 'issued' && a.cert === fp, `after enroll: ${a.state} ${a.cert}`);
      S.issuedFp = fp;
      await shootBoth(page, 'apply-detail-issued');
    });

    await check('operator revokes the issued certificate from the application page (RFC 5280 reason); the revocation form by fingerprint then says it is already revoked; the CRL lists it', async () => {
      const op = S.op;
      await op.goto(`${W.base}/review?id=${S.freeId}`);
      await op.waitForFunction(() => document.querySelector('#view-app')?.dataset.state === 'issued');
      assert((await text(op.locator('[data-testid="r-cert"]'))) === S.issuedFp, 'the operator does not see the fingerprint');
      await op.click('#r-revoke');
      await op.locator('#decide-dialog').waitFor({ state: 'visible' });
      const reasons = await op.locator('#decide-crl option').evaluateAll((os) => os.map((o) => Number(o.value)));
      assert(JSON.stringify(reasons) === '[0,1,3,4,5,9]', `reasons offered: ${JSON.stringify(reasons)}`);
      await op.selectOption('#decide-crl', '1');
      await op.screenshot({ path: path.join(OUT, 'review-revoke-dialog.png') });
      await op.click('#decide-ok');
      await op.locator('#page-notice').filter({ hasText: '已吊销' }).waitFor();
      const crl = await fetch(`${W.base}/ca/crl`);
      assert(crl.status === 200, `GET /ca/crl: ${crl.status}`);
      const crlFile = path.join(W.tmp, 'ca.crl');
      writeFileSync(crlFile, Buffer.from(await crl.arrayBuffer()));
      const t = await mustRun('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text']);
      const phoneShow = await mustRun(path.join(BIN, 'mcert-phone'), ['--store', path.join(W.tmp, 'phone-zhang'), 'show']);
      const serial = (/serial:\s+([0-9A-Fa-f]+)/.exec(phoneShow.stdout) || [])[1];
      assert(serial && t.stdout.toUpperCase().includes(serial.toUpperCase()), `the CRL does not list ${serial}`);
      assert(/Key Compromise/i.test(t.stdout), 'the CRL does not give the reason keyCompromise');
      /* the revocation form: a malformed fingerprint is refused in the page, this one is already revoked */
      await op.goto(`${W.base}/review`);
      await op.locator('#view-revoke').waitFor();
      await op.fill('#rv-id', 'abc');
      await op.click('#rv-submit');
      await op.locator('#rv-error').filter({ hasText: '64位' }).waitFor();
      await op.fill('#rv-id', S.issuedFp.toUpperCase().replace(/(..)(?!$)/g, '$1:'));
      await op.click('#rv-submit');
      await op.locator('#rv-error').filter({ hasText: '已被吊销' }).waitFor();
      assert((await op.getAttribute('#rv-error', 'data-code')) === 'cert_revoked', 'not cert_revoked');
      await shootBoth(op, 'review-revoke');
      assert((await latinOnConsole(op)).length === 0, `English on 审核: ${JSON.stringify(await latinOnConsole(op))}`);
    });

    await check('paid application: the organisation\'s second; the sandbox face check fails (attempts left shown), 邮寄纸质资料 instead → 当前申领需支付费用 200.00 元 → 去支付 → 收银台 (sandbox) → 确认支付 → back to the detail → 待审核', async () => {
      const page = S.apply;
      await page.goto(`${W.base}/apply`);
      await startApplication(page, false);
      /* the sandbox's face check fails for a name with 失败 in it */
      await fillApplication(page, { ...APPL, holder_name: '李娜失败', holder_id: '33010619900101123X', mobile: '13912345678', email: 'li.na@example.com', alg: 'p256' });
      await uploadScan(page, 'licence', W.scans.licence2);
      await uploadScan(page, 'id_scan', W.scans.idScan);
      await uploadScan(page, 'auth_letter', W.scans.pdf);
      await page.waitForFunction(() => document.querySelector('#fee')?.dataset.fen === '20000');
      assert((await text(page.locator('#fee'))) === '200.00 元', `fee shown: ${await text(page.locator('#fee'))}`);
      await page.click('#form-submit');
      await page.locator('#face-dialog').waitFor({ state: 'visible' });
      await page.click('#face-start');
      await page.locator('#face-state[data-state="failed"]').waitFor();
      const failed = await text(page.locator('#face-state'));
      assert(/人脸认证未通过（今日还可认证9次）/.test(failed) && /邮寄纸质资料/.test(failed), `face failure says: ${failed}`);
      await page.screenshot({ path: path.join(OUT, 'apply-face-failed.png') });
      await page.click('#face-cancel');
      /* the alternative: 邮寄纸质资料, a note for the reviewer; no face check */
      await page.check('[data-testid="id-paper"]');
      assert(/邮寄/.test(await text(page.locator('#identity-note'))), 'no note for 邮寄纸质资料');
      const ask = await submitForm(page);
      assert(await page.locator('#face-dialog').isHidden(), 'the face check came back for 邮寄纸质资料');
      assert(ask === '当前申领需支付费用 200.00 元', `the confirmation says "${ask}"`);
      assert((await text(page.locator('#confirm-ok'))) === '去支付', 'the button is not 去支付');
      await page.screenshot({ path: path.join(OUT, 'apply-confirm-pay.png') });
      const id = await page.getAttribute('#view-form', 'data-id');
      S.paidId = id;
      await page.click('#confirm-ok');
      await page.waitForURL((u) => u.pathname === '/pay/sandbox');
      const oid = new URL(page.url()).searchParams.get('order');
      await page.locator('#cashier[data-state="pending"]').waitFor();
      assert(/200\.00/.test(await text(page.locator('#amount'))), `the cashier asks ${await text(page.locator('#amount'))}`);
      let a = await appOf(id);
      assert(a.state === 'pending_payment' && a.order_id === oid && a.identity === 'paper',
        `before paying: ${a.state} order ${a.order_id} (cashier ${oid}) identity ${a.identity}`);
      await shootBoth(page, 'cashier');
      await page.click('#pay-confirm');
      await page.waitForURL((u) => u.pathname === '/apply' && u.searchParams.get('id') === id, { timeout: 20000 });
      await detailState(page, 'pending_review');
      a = await appOf(id);
      assert(a.state === 'pending_review' && a.paid === true && Number(a.fee) === 20000, `after paying: ${a.state} paid ${a.paid} fee ${a.fee}`);
      assert(/200\.00 元（已支付）/.test(await text(page.locator('[data-testid="d-fee"]'))), 'the detail does not say 已支付');
      assert((await text(page.locator('[data-testid="d-identity"]'))) === '邮寄纸质资料', 'the detail does not say 邮寄纸质资料');
    });

    await check('撤销 a paid application: the confirmation gives the refund note; 已撤销, and the order is refunded', async () => {
      const page = S.apply;
      await page.goto(`${W.base}/apply`);
      await listLoaded(page);
      const row = page.locator(`tr[data-testid="app-row"][data-id="${S.paidId}"]`);
      await row.waitFor();
      /* paid: 发票申请 is offered, for the application's order */
      assert((await text(row.locator('[data-testid="row-invoice"]'))) === '发票申请', 'a paid application offers no 发票申请');
      await row.locator('[data-testid="row-invoice"]').click();
      await page.waitForFunction(() => document.querySelector('#invoice-dialog')?.dataset.state === 'new');
      const paidApp = await appOf(S.paidId);
      assert((await text(page.locator('#invoice-dialog [data-testid="inv-order"]'))) === paidApp.order_id, 'the invoice dialog names another order');
      const goods = await page.locator('#invoice-dialog [data-testid="inv-goods-row"] td').allTextContents();
      assert(goods.join('|') === '移动证书|移动版|个|1|200.00|200.00', `商品信息 of an application: ${goods.join('|')}`);
      await page.locator('#invoice-dialog [data-testid="inv-cancel"]').click();
      await row.locator('[data-testid="row-withdraw"]').click();
      await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
      assert((await text(page.locator('#confirm-text'))) === '确定撤销该申领吗？', 'withdraw confirmation text');
      assert(/自动原路退款/.test(await text(page.locator('#confirm-note'))), 'no refund note');
      await page.screenshot({ path: path.join(OUT, 'apply-withdraw-confirm.png') });
      await page.click('#confirm-ok');
      await page.locator(`tr[data-testid="app-row"][data-id="${S.paidId}"][data-state="withdrawn"]`).waitFor();
      assert((await text(page.locator(`tr[data-id="${S.paidId}"] [data-testid="row-state"]`))) === '已撤销', 'the list does not say 已撤销');
      assert((await page.locator(`tr[data-id="${S.paidId}"] [data-testid="row-invoice"]`).count()) === 0, 'a withdrawn application offers 发票申请');
      const a = await appOf(S.paidId);
      const tok = await tokenOf('zhang');
      let o;
      for (let i = 0; i < 50; i++) {
        o = await apiCall('GET', `/api/v1/orders/${a.order_id}`, { token: tok });
        if (o.body && o.body.state === 'refunded') break;
        await sleep(100);
      }
      assert(o.body && o.body.state === 'refunded', `the order is ${o.body && o.body.state}`);
      await page.goto(`${W.base}/apply?id=${S.paidId}`);
      await detailState(page, 'withdrawn');
      const noteText = await text(page.locator('#d-state-note'));
      assert(/200\.00 元已退款/.test(noteText), `the detail does not say the fee was refunded: ${noteText} ${JSON.stringify((await appOf(S.paidId)).order)}`);
      await shootBoth(page, 'apply-detail-withdrawn');
      assert((await latinOnConsole(page)).length === 0, `English on the detail: ${JSON.stringify(await latinOnConsole(page))}`);
      await S.applyCtx.close();
      if (S.opCtx) await S.opCtx.close();
    });

    await check('CA续费与延期: 新增CA续费 ▾ → 给已绑定CA续费 (续费年限 2年, the fee) → 收银台 → 待延期 (no longer offered) → 去延期 from the list: mcert\'s guarantee instead of the manual\'s warning, the QR read from the page\'s pixels and answered by mcert-phone renew → 已延期 live with the new serial; the detail', async () => {
      const w = await ensureRenewWorld();
      await withPage(browser, { viewport: DESKTOP, keep: 'renew' }, async (page) => {
        const oldSerial = w.phone.serial;
        await openFromMenu(page, 'renewer', '/renew');
        await renewListLoaded(page);
        assert((await text(page.locator('.sidebar .nav-item.active'))) === 'CA续费与延期', 'the menu does not mark CA续费与延期');
        await page.click('#renew-new');
        await page.locator('#renew-new-menu').waitFor({ state: 'visible' });
        const items = (await page.locator('#renew-new-menu .dropdown-item').allTextContents()).map((t) => t.trim());
        assert(JSON.stringify(items) === '["给已绑定CA续费","给未绑定CA续费"]', `新增CA续费 offers ${JSON.stringify(items)}`);
        await page.screenshot({ path: path.join(OUT, 'renew-new-menu.png') });
        await page.click('#renew-bound');
        const dlg = page.locator('#bound-dialog');
        await dlg.waitFor({ state: 'visible' });
        assert(/【已续费】但未操作证书延期的CA不在此列表中展示，请到续费记录里操作证书延期/.test(await text(dlg.locator('[data-testid="bound-note"]'))),
          'the dialog has not the manual\'s note');
        const cand = dlg.locator(`tr[data-testid="cand-row"][data-serial="${oldSerial}"]`);
        await cand.waitFor();
        assert((await dlg.locator(`tr[data-testid="cand-row"][data-serial="${w.free.serial}"]`).count()) === 0, 'an unbound certificate is offered among the bound ones');
        assert((await text(cand.locator('[data-testid="c-account"]'))) === 'renewer', 'the candidate does not name its account');
        assert((await text(cand.locator('[data-testid="c-name"]'))) === '续费测试', 'the candidate does not name its holder');
        assert((await text(dlg.locator('[data-testid="bound-fee"]'))) === '200.00 元', 'the 1-year fee is not 200.00 元');
        await dlg.locator('[data-testid="years-2"]').check();
        assert((await text(dlg.locator('[data-testid="bound-fee"]'))) === '400.00 元', 'the 2-year fee is not 400.00 元');
        await shootBoth(page, 'renew-bound-dialog');
        await cand.locator('[data-testid="cand-renew"]').click();
        const rid = await payRenewal(page, '400.00');
        await detailState(page, 'pending_extension');
        assert((await text(page.locator('#d-banner'))) === '请尽快完成延期，证书过期会影响证书使用', 'the detail has not the manual\'s banner');
        assert((await text(page.locator('#d-state'))) === '待延期', 'the detail does not say 待延期');
        for (const [id, want] of [['d-years', '2年'], ['d-fee', '400.00'], ['d-pay-state', '已支付'], ['d-extended', '未完成'],
          ['d-method', '沙箱支付'], ['d-serial', oldSerial], ['d-org', 'Demo']]) {
          const got = await text(page.locator(`[data-testid="${id}"]`));
          assert(got.toUpperCase() === want.toUpperCase(), `${id}: ${got}, not ${want}`);
        }
        assert(await page.locator('#d-extend').isVisible() && await page.locator('#d-back').isVisible(), 'no 返回 / 去延期 on the detail');
        await shootBoth(page, 'renew-detail-pending');
        S.rid = rid;

        /* paid, not extended: not offered again; the list offers 去延期 */
        await page.click('#d-back');
        await renewListLoaded(page);
        const row = renewRow(page, rid);
        await row.waitFor();
        assert((await row.getAttribute('data-state')) === 'pending_extension', 'the list does not hold it as 待延期');
        const ops = (await row.locator('td.col-op button').allTextContents()).map((t) => t.trim());
        assert(JSON.stringify(ops) === '["去延期","查看详情","申请退款","申请发票"]', `the row offers ${JSON.stringify(ops)}`);
        assert((await text(row.locator('[data-testid="row-fee"]'))) === '400.00', 'the row does not show 支付金额');
        await page.click('#renew-new');
        await page.click('#renew-bound');
        await dlg.waitFor({ state: 'visible' });
        await page.waitForFunction(() => !/加载中/.test(document.querySelector('#bound-body').textContent));
        assert((await dlg.locator(`tr[data-testid="cand-row"][data-serial="${oldSerial}"]`).count()) === 0,
          'a renewed, not extended certificate is offered again');
        await dlg.locator('.modal-foot [data-close]').click();

        const before = await renewalOf(rid);
        await row.locator('[data-testid="row-extend"]').click();
        const ext = page.locator('#extend-dialog');
        await ext.waitFor({ state: 'visible' });
        const g = await text(ext.locator('[data-testid="extend-guarantee"]'));
        for (const want of ['延期后证书序列号将变更', '原证书的密钥保留在手机中', '已加密的标书仍可解密', '已签名的文件仍可验证']) {
          assert(g.includes(want), `the guarantee does not say ${want}: ${g}`);
        }
        const all = await text(ext);
        assert(!/无法对已经制作的|将无法|请确认没有已报名/.test(all), `the manual's warning is shown: ${all}`);
        const keys = await text(ext.locator('[data-testid="extend-keys"]'));
        assert(/沿用原密钥/.test(keys) && /更换新密钥（由手机生成）/.test(keys), `the key choice is not explained: ${keys}`);
        assert((await ext.locator('input').count()) === 0, 'the page offers a key choice the phone makes');
        await shootBoth(page, 'renew-extend-confirm');
        await page.click('#extend-ok');
        await page.locator('#renew-qr-dialog').waitFor({ state: 'visible' });
        const qr = await readQr(page, '#renew-qr', /\/api\/v1\/renewals\/[A-Z0-9]+\/renew-session(\?|$)/);
        await shootBoth(page, 'renew-qr');
        const r = await phoneRenew(w.phone, { png: qr.png, number: qr.match });
        assert(r.code === 0, `mcert-phone renew exited ${r.code}: ${r.stdout}${r.stderr}`);
        await waitState(page, '#renew-qr', 'approved');
        await page.locator('#renew-done').waitFor({ state: 'visible' });
        const newSerial = (await text(page.locator('[data-testid="done-serial"]'))).toUpperCase();
        assert(/^[0-9A-F]+$/.test(newSerial) && newSerial !== oldSerial, `the new serial shown: ${newSerial}`);
        assert((await phoneSerial(w.phone)) === newSerial, 'the phone holds another certificate than the page names');
        /* the list under the dialog: 已延期, without a reload */
        await page.locator(`tr[data-testid="renew-row"][data-id="${rid}"][data-state="extended"]`).waitFor();
        assert((await text(row.locator('[data-testid="row-state"]'))) === '已延期', 'the row does not say 已延期');
        assert((await text(row.locator('[data-testid="row-serial"]'))).toUpperCase() === newSerial, 'the row does not show the new serial');
        const after = await renewalOf(rid);
        assert(after.state === 'extended' && String(after.new_serial).toUpperCase() === newSerial && !after.rekey,
          `after extension: ${after.state} ${after.new_serial} rekey ${after.rekey}`);
        assert(after.new_not_after === before.not_after + 2 * 365 * 86400, `new notAfter ${after.new_not_after}, old ${before.not_after}`);
        assert((await text(page.locator('[data-testid="done-not-after"]'))) === await page.evaluate((t) => window.mcert.fmtTime(t), after.new_not_after),
          'the dialog does not show the new expiry');
        await page.screenshot({ path: path.join(OUT, 'renew-qr-approved.png') });
        await page.click('#renew-qr-close');
        w.phone.serial = newSerial;
        await shootBoth(page, 'renew-list');
        await row.locator('[data-testid="row-view"]').click();
        await detailState(page, 'extended');
        assert((await text(page.locator('[data-testid="d-extended"]'))) === '已完成', '延期操作 is not 已完成');
        assert((await text(page.locator('[data-testid="d-new-serial"]'))).toUpperCase() === newSerial, 'the detail does not show the new serial');
        assert(await page.locator('#d-extend').isHidden(), '去延期 still offered');
        await shootBoth(page, 'renew-detail-extended');
        assert((await latinOnConsole(page)).length === 0, `English on 续费详情: ${JSON.stringify(await latinOnConsole(page))}`);
      });
    });

    await check('CA续费与延期 with the database down says so in words; 给未绑定CA续费: a serial that is not hex is refused in the page, an unknown one is not found, the unbound certificate\'s is found → 去续费 → paid → 申请退款 from the list → 退款中, then 已退款 live', async () => {
      const w = await ensureRenewWorld();
      const page = await renewPage(browser);
      await page.goto(W.base + '/renew');
      await renewListLoaded(page);
      /* the database down: the list says so in words, and comes back */
      redisStop();
      try {
        await page.click('#filter-search');
        await page.locator('#page-error').filter({ hasText: '系统暂时无法访问数据，请稍后重试' }).waitFor();
        assert((await page.getAttribute('#page-error', 'data-code')) === 'store_unavailable', 'not store_unavailable');
        await page.screenshot({ path: path.join(OUT, 'renew-store-down.png') });
      } finally {
        redisResume();
      }
      await waitReady();
      await page.click('#filter-search');
      await page.locator('#page-error').waitFor({ state: 'hidden' });
      await renewListLoaded(page);
      await page.click('#renew-new');
      await page.click('#renew-unbound');
      const dlg = page.locator('#unbound-dialog');
      await dlg.waitFor({ state: 'visible' });
      const before = reqLog.length;
      await page.fill('#unbound-serial', 'XYZ-12');
      await page.click('#unbound-find');
      await page.locator('#unbound-error').filter({ hasText: '十六进制' }).waitFor();
      assert(!reqLog.slice(before).some((q) => /candidates/.test(q.url)), 'a malformed serial was sent');
      await page.fill('#unbound-serial', '7F' + '0'.repeat(30));
      await page.click('#unbound-find');
      await page.locator('#unbound-none').filter({ hasText: '未找到' }).waitFor();
      assert(await page.locator('#unbound-go').isDisabled(), '去续费 enabled with nothing found');
      /* as a person types it: lower case, in pairs */
      await page.fill('#unbound-serial', w.free.serial.toLowerCase().replace(/(..)(?!$)/g, '$1:'));
      await page.click('#unbound-find');
      await page.locator('#unbound-result').waitFor({ state: 'visible' });
      assert((await text(dlg.locator('[data-testid="c-lock"]'))).toUpperCase() === w.free.serial, 'the found certificate is another');
      assert((await text(dlg.locator('[data-testid="c-cn"]'))) === '未绑定证书', 'the found certificate\'s name');
      assert((await text(dlg.locator('[data-testid="unbound-fee"]'))) === '200.00 元', 'the fee of 1 year');
      await shootBoth(page, 'renew-unbound-dialog');
      await page.click('#unbound-go');
      const rid = await payRenewal(page, '200.00');
      await detailState(page, 'pending_extension');
      S.rid2 = rid;
      await page.click('#d-back');
      await renewListLoaded(page);
      const row = renewRow(page, rid);
      await row.waitFor();
      assert((await text(row.locator('[data-testid="row-account"]'))) === '—', 'an unbound certificate shows an account');
      await row.locator('[data-testid="row-refund"]').click();
      await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
      assert((await text(page.locator('#confirm-text'))) === '确定申请退款吗？', 'the refund confirmation');
      assert(/200\.00 元将原路退回/.test(await text(page.locator('#confirm-note'))), 'no refund note');
      await page.screenshot({ path: path.join(OUT, 'renew-refund-confirm.png') });
      await page.click('#confirm-ok');
      await page.locator('#page-notice').filter({ hasText: '已申请退款' }).waitFor();
      const refunded = netLog.find((e) => e.method === 'POST' && e.url.endsWith(`/api/v1/renewals/${rid}/refund`));
      assert(refunded && refunded.status === 200, `POST …/refund: ${refunded && refunded.status}`);
      await sleep(50);
      assert(refunded.body && ['refunding', 'refunded'].includes(refunded.body.state), `the refund reply says ${JSON.stringify(refunded.body)}`);
      await page.locator(`tr[data-testid="renew-row"][data-id="${rid}"][data-state="refunded"]`).waitFor({ timeout: 20000 });
      assert((await text(row.locator('[data-testid="row-state"]'))) === '已退款', 'the row does not say 已退款');
      const ops = (await row.locator('td.col-op button').allTextContents()).map((t) => t.trim());
      assert(JSON.stringify(ops) === '["查看详情"]', `a refunded renewal offers ${JSON.stringify(ops)}`);
      assert((await renewalOf(rid)).state === 'refunded', 'the server does not say refunded');
      await shootBoth(page, 'renew-list-refunded');
    });

    await check('发票申请 on the extended renewal: saved titles (at most 5: 新增 stops there), an invalid 企业税号 and email caught in the page (nothing sent), 申请开票 → 已申请; the operator\'s 发票审核: 不通过 (the holder sees the reason, asks again) → 上传发票 (the holder downloads that PDF) → 作废 → 开票 → 已开票 and the server\'s PDF downloads', async () => {
      const w = await ensureRenewWorld();
      const page = await renewPage(browser);
      if (!S.rid) {
        /* alone (MCERT_BROWSER_ONLY): a paid 2-year renewal, not extended */
        S.rid = await renewBound(page, w.phone.serial, 2);
      }
      const tok = await tokenOf('renewer');
      const taxIds = ['9133010', '9133020', '9133030', '9133040', '9133050'].map((p) => usccOf(p + '0MA2DEM001'));
      for (let i = 0; i < 4; i++) {
        const r = await apiCall('POST', '/api/v1/invoice-titles', {
          token: tok, body: { name: `示例企业${i + 1}有限公司`, tax_id: taxIds[i], address: `浙江省杭州市西湖区${i + 1}号`, phone: '0571-88880000', bank: '中国银行杭州分行', account: `62170000000000${i}` },
        });
        assert(r.status === 201 || r.status === 200, `title ${i + 1}: ${r.status} ${JSON.stringify(r.body)}`);
      }
      await page.goto(W.base + '/renew');
      await renewListLoaded(page);
      const row = renewRow(page, S.rid);
      await row.waitFor();
      const order = await row.getAttribute('data-order');
      await row.locator('[data-testid="row-invoice"]').click();
      const dlg = page.locator('#invoice-dialog');
      await page.waitForFunction(() => document.querySelector('#invoice-dialog')?.dataset.state === 'new');
      assert((await text(dlg.locator('[data-testid="inv-order"]'))) === order, 'the dialog names another order');
      assert((await text(dlg.locator('[data-testid="inv-amount"]'))) === '400.00', 'the 实付金额');
      const goods = await dlg.locator('[data-testid="inv-goods-row"] td').allTextContents();
      assert(goods.join('|') === '移动证书续费|移动版|年|2|200.00|400.00', `商品信息: ${goods.join('|')}`);
      assert(/企业/.test(await text(dlg.locator('.radio-line').first())) && /电子增值税普通发票/.test(await text(dlg)), 'no 抬头类型 / 发票类型');
      await page.waitForFunction(() => document.querySelectorAll('#invoice-dialog [data-testid="inv-title-row"]').length === 4);
      assert(await dlg.locator('#inv-add').isEnabled(), '新增开票信息 disabled at 4');
      /* the fifth, typed with a wrong check character first */
      const before = reqLog.length;
      await dlg.locator('#inv-add').click();
      await page.fill('#inv-t-name', '杭州续费测试有限公司');
      const bad = taxIds[4].slice(0, 17) + (taxIds[4][17] === '1' ? '2' : '1');
      await page.fill('#inv-t-tax_id', bad);
      await page.fill('#inv-t-address', '浙江省杭州市滨江区网商路599号');
      await page.click('#inv-editor-save');
      const err = await text(dlg.locator('.field-error[data-for="inv-t-tax_id"]'));
      assert(/企业税号有误/.test(err), `a wrong 企业税号 says "${err}"`);
      assert(!reqLog.slice(before).some((q) => /invoice-titles/.test(q.url) && q.method !== 'GET'), 'a wrong 企业税号 was sent');
      await page.screenshot({ path: path.join(OUT, 'invoice-title-error.png') });
      await page.fill('#inv-t-tax_id', taxIds[4].toLowerCase());
      await page.click('#inv-editor-save');
      await page.waitForFunction(() => document.querySelectorAll('#invoice-dialog [data-testid="inv-title-row"]').length === 5).catch(async () => {
        await page.screenshot({ path: path.join(OUT, "invoice-title-failed.png") });
        throw new Error(`the fifth title was not saved: ${await text(dlg.locator('#inv-error'))} ` +
          `${(await dlg.locator('.field-error:not(:empty)').allTextContents()).join(' | ')}`);
      });
      assert(await dlg.locator('#inv-add').isDisabled(), '新增开票信息 still offered with 5 titles');
      assert(/最多添加5条发票信息/.test(await text(dlg.locator('#inv-add'))), 'the limit is not said');
      const pick = dlg.locator(`tr[data-testid="inv-title-row"][data-tax-id="${taxIds[4]}"] input[type="radio"]`);
      await pick.check();
      /* the receiver: a bad email is caught in the page */
      await page.fill('#inv-phone', '13800138000');
      await page.fill('#inv-email', 'finance@example');
      const before2 = reqLog.length;
      await page.click('#inv-submit');
      assert(/邮箱格式有误/.test(await text(dlg.locator('.field-error[data-for="inv-email"]'))), 'a bad email is not caught');
      assert(!reqLog.slice(before2).some((q) => /\/api\/v1\/invoices/.test(q.url) && q.method === 'POST'), 'a bad email was sent');
      await page.fill('#inv-email', 'finance@example.com');
      assert(/该邮箱用来接收电子发票/.test(await text(dlg)), 'no note under 接收人邮箱');
      await shootBoth(page, 'invoice-dialog');
      await page.click('#inv-submit');
      await page.waitForFunction(() => document.querySelector('#invoice-dialog')?.dataset.state === 'requested');
      assert((await text(dlg.locator('[data-testid="inv-state"]'))) === '已申请', 'the dialog does not say 已申请');
      const inv = await apiCall('GET', `/api/v1/invoices?order=${order}`, { token: tok });
      const mine = (inv.body.invoices || []).find((x) => x.order === order);
      assert(mine && mine.state === 'requested' && mine.title.tax_id === taxIds[4] && mine.title.name === '杭州续费测试有限公司' &&
        mine.receiver_email === 'finance@example.com' && mine.amount === 40000, `the server holds ${JSON.stringify(mine)}`);
      const g = mine.goods[0];
      assert(`${g.name}|${g.spec}|${g.unit}|${g.qty}|${g.price}|${g.amount}` === '移动证书续费|移动版|年|2|20000|40000',
        `the server's goods line is not the one the page showed: ${JSON.stringify(g)}`);
      await dlg.locator('[data-testid="inv-cancel"]').click();
      await page.locator(`tr[data-testid="renew-row"][data-id="${S.rid}"] [data-testid="inv-state"]`).filter({ hasText: '已申请' }).waitFor();
      assert((await text(row.locator('[data-testid="row-invoice"]'))) === '查看发票', 'the row still offers 申请发票');

      /* the operator (发票审核) and the holder, turn by turn: 不通过 → 重新申请 →
       * 上传发票 → 作废 → 重新申请 → 开票 */
      await ensureOperator();
      const holderSees = async (state) => {
        await page.goto(W.base + '/renew');
        await renewListLoaded(page);
        await row.locator('[data-testid="row-invoice"]').click();
        await page.waitForFunction((st) => document.querySelector('#invoice-dialog')?.dataset.state === st, state);
      };
      const reapply = async () => {
        assert((await text(page.locator('#inv-submit'))) === '重新申请开票', 'no 重新申请开票');
        await dlg.locator(`tr[data-testid="inv-title-row"][data-tax-id="${taxIds[4]}"] input[type="radio"]`).check();
        assert((await page.inputValue('#inv-email')) === 'finance@example.com', 'the receiver is not filled in again');
        await page.click('#inv-submit');
        await page.waitForFunction(() => document.querySelector('#invoice-dialog')?.dataset.state === 'requested');
      };
      const download = async () => {
        const dl = page.waitForEvent('download');
        await page.click('#inv-pdf');
        return readFileSync(await (await dl).path());
      };
      await withPage(browser, { viewport: DESKTOP }, async (op) => {
        const opRow = async (state) => {
          await op.goto(`${W.base}/review?view=invoices&state=${state}`);
          const r = op.locator(`tr[data-testid="inv-row"][data-order="${order}"][data-state="${state}"]`);
          await r.waitFor();
          return r;
        };
        await passwordLogin(op, 'op', W.pw.op);
        await op.waitForURL(W.base + '/bindings');
        await op.locator('.sidebar a[href="/review?view=invoices"]').waitFor({ state: 'visible' });
        await op.click('.sidebar a[href="/review?view=invoices"]');
        await op.locator('#view-invoices').waitFor();
        assert((await text(op.locator('.sidebar .nav-item.active'))) === '发票审核', 'the menu does not mark 发票审核');
        assert((await op.inputValue('#inv-state-filter')) === 'requested', 'the queue does not start at 已申请');
        let irow = op.locator(`tr[data-testid="inv-row"][data-order="${order}"]`);
        await irow.waitFor();
        assert((await text(irow.locator('[data-testid="inv-tax"]'))) === taxIds[4], 'the operator does not see the tax id');
        assert((await text(irow.locator('[data-testid="inv-title"]'))) === '杭州续费测试有限公司', 'the operator does not see the title');
        assert((await text(irow.locator('[data-testid="inv-amount"]'))) === '400.00', 'the operator does not see the amount');
        await shootBoth(op, 'review-invoices');

        /* 不通过, with a reason */
        await irow.locator('[data-testid="inv-reject"]').click();
        await op.locator('#decide-dialog').waitFor({ state: 'visible' });
        await op.click('#decide-ok');
        await op.locator('#decide-error').filter({ hasText: '请填写不通过理由' }).waitFor();
        const why = '发票抬头与付款单位不一致，请核对后重新申请。';
        await op.fill('#decide-reason', why);
        await op.screenshot({ path: path.join(OUT, 'review-invoice-reject.png') });
        await op.click('#decide-ok');
        await op.locator('#page-notice').filter({ hasText: '不通过' }).waitFor();
        await holderSees('rejected');
        assert((await text(dlg.locator('[data-testid="inv-state"]'))) === '未通过', 'the dialog does not say 未通过');
        assert((await text(dlg.locator('[data-testid="inv-reason"]'))) === why, 'the holder does not see the reason');
        await page.screenshot({ path: path.join(OUT, 'invoice-rejected.png') });
        await reapply();

        /* 上传发票: a PDF the operator has, uploaded and issued with */
        const upPdf = path.join(W.tmp, '电子发票-上传.pdf');
        writeFileSync(upPdf, '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n' +
          `% uploaded ${randomBytes(8).toString('hex')}\ntrailer<</Root 1 0 R>>\n%%EOF\n`);
        irow = await opRow('requested');
        const chooser = op.waitForEvent('filechooser');
        await irow.locator('[data-testid="inv-upload-btn"]').click();
        await (await chooser).setFiles(upPdf);
        await op.locator('#page-notice').filter({ hasText: '已上传' }).waitFor();
        await holderSees('issued');
        const got1 = await download();
        assert(got1.equals(readFileSync(upPdf)), 'the PDF downloaded is not the one the operator uploaded');

        /* 作废, then asked again and 开票 (the PDF the server makes) */
        irow = await opRow('issued');
        await irow.locator('[data-testid="inv-void"]').click();
        await op.locator('#decide-dialog').waitFor({ state: 'visible' });
        await op.fill('#decide-reason', '开具有误，作废重开');
        await op.click('#decide-ok');
        await op.locator('#page-notice').filter({ hasText: '已作废' }).waitFor();
        await holderSees('voided');
        assert((await text(dlg.locator('[data-testid="inv-state"]'))) === '已作废', 'the dialog does not say 已作废');
        await reapply();
        irow = await opRow('requested');
        await irow.locator('[data-testid="inv-issue"]').click();
        await op.locator('#decide-dialog').waitFor({ state: 'visible' });
        await op.click('#decide-ok');
        await op.locator('#page-notice').filter({ hasText: '开具发票' }).waitFor();
        await opRow('issued');
        assert((await latinOnConsole(op)).length === 0, `English on 发票审核: ${JSON.stringify(await latinOnConsole(op))}`);
      });

      /* the holder: 已开票 in the list, the PDF the server made */
      await page.goto(W.base + '/renew');
      await renewListLoaded(page);
      await page.locator(`tr[data-testid="renew-row"][data-id="${S.rid}"] [data-testid="inv-state"]`).filter({ hasText: '已开票' }).waitFor();
      await holderSees('issued');
      assert((await text(dlg.locator('[data-testid="inv-state"]'))) === '已开票', 'the dialog does not say 已开票');
      const pdf = await download();
      assert(pdf.subarray(0, 5).toString('latin1') === '%PDF-', `the download is not a PDF: ${pdf.subarray(0, 16).toString('latin1')}`);
      assert(!pdf.equals(readFileSync(path.join(W.tmp, '电子发票-上传.pdf'))), 'the voided upload is still served');
      await shootBoth(page, 'invoice-issued');
      assert((await latinOnConsole(page)).length === 0, `English on the invoice: ${JSON.stringify(await latinOnConsole(page))}`);
      await page.keyboard.press('Escape');
    });

    await check('去延期 from 续费详情, the phone making a new key (mcert-phone renew --rekey): the detail says 已延期 with 已更换新密钥, the old key kept on the phone (mcert-phone keys)', async () => {
      const w = await ensureRenewWorld();
      const page = await renewPage(browser);
      const oldSerial = await phoneSerial(w.phone);
      const rid = await renewBound(page, oldSerial);
      await page.click('#d-extend');
      await page.locator('#extend-dialog').waitFor({ state: 'visible' });
      await page.click('#extend-ok');
      await page.locator('#renew-qr-dialog').waitFor({ state: 'visible' });
      const qr = await readQr(page, '#renew-qr', /\/api\/v1\/renewals\/[A-Z0-9]+\/renew-session(\?|$)/);
      const r = await phoneRenew(w.phone, { png: qr.png, number: qr.match, rekey: true });
      assert(r.code === 0, `mcert-phone renew --rekey exited ${r.code}: ${r.stdout}${r.stderr}`);
      await waitState(page, '#renew-qr', 'approved');
      await page.locator('#renew-done').waitFor({ state: 'visible' });
      assert(/已更换新密钥/.test(await text(page.locator('[data-testid="done-key"]'))), 'the dialog does not say the key was changed');
      await page.click('#renew-qr-close');
      await detailState(page, 'extended');
      const newSerial = await phoneSerial(w.phone);
      assert(newSerial !== oldSerial && (await text(page.locator('[data-testid="d-new-serial"]'))).toUpperCase() === newSerial,
        'the detail does not show the rekeyed certificate');
      assert(/已更换新密钥/.test(await text(page.locator('[data-testid="d-rekey"]'))), 'the detail does not say 已更换新密钥');
      assert((await renewalOf(rid)).rekey === true, 'the server does not say rekey');
      const keys = await mustRun(path.join(BIN, 'mcert-phone'), ['--store', w.phone.dir, 'keys']);
      assert(keys.stdout.toUpperCase().includes(oldSerial), `the old key is not kept on the phone: ${keys.stdout}`);
      w.phone.serial = newSerial;
      await shootBoth(page, 'renew-detail-rekeyed');
    });

    await check('no English glosses beside the labels on either page', async () => {
      await withPage(browser, {}, async (page) => {
        const latin = async () => page.evaluate(() => {
          /* visible text, minus data (accounts, names, serials, the brand) */
          const skip = (el) => el.closest('[data-testid="row-account"], [data-testid="cert-serial"], ' +
            '[data-testid="row-name"], [data-testid="row-bound-by"], [data-testid="me-account"], ' +
            '[data-testid="me-name"], [data-testid="me-org"], [data-testid="cert-issuer"], .brand, .footer, ' +
            '[data-testid="confirm-account"], [data-testid="bind-target"], option');
          const out = [];
          const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let n = walk.nextNode(); n; n = walk.nextNode()) {
            const el = n.parentElement;
            if (!el || skip(el) || !n.textContent.trim()) continue;
            if (/[A-Za-z]{4,}/.test(n.textContent)) out.push(n.textContent.trim());
          }
          return out;
        });
        await page.goto(W.base + '/');
        let bad = await latin();
        await page.click('#tab-qr');
        await page.waitForFunction(() => document.querySelector('#login-qr')?.dataset.state === 'pending');
        bad = bad.concat(await latin());
        await passwordLogin(page, 'admin', W.pw.admin);
        await page.waitForURL(W.base + '/bindings');
        await row(page, 'alice').waitFor();
        bad = bad.concat(await latin());
        assert(bad.length === 0, `English text on the pages: ${JSON.stringify(bad)}`);
      });
    });

    await check('no console errors and no CSP violations on any page', async () => {
      /* Visit both pages once more, fresh, and check that the CSP is sent
       * and that style.css and app.js did their work under it. */
      await withPage(browser, {}, async (page) => {
        const resp = await page.goto(W.base + '/');
        const csp = resp.headers()['content-security-policy'] || '';
        assert(/default-src 'self'/.test(csp), `no strict CSP on /: "${csp}"`);
        const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.topbar')).backgroundColor);
        assert(bg !== 'rgba(0, 0, 0, 0)', 'style.css not applied');
        await passwordLogin(page, 'admin', W.pw.admin);
        await page.waitForURL(W.base + '/bindings');
        await row(page, 'alice').waitFor();
      });
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
    checkCjkFont();
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
