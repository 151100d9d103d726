/*
 * app.js — the behaviour of mcert's two web pages, chosen by <body data-page>:
 *   "login"    (index.html):    账号登录 (password) and 扫码登录 (open a login
 *                                session, show its QR and match number, long-poll
 *                                it until approved / rejected / expired);
 *   "bindings" (bindings.html): CA绑定与解绑 — who is logged in, the accounts
 *                                and their certificates, binding by QR (self, or
 *                                an admin for any account of the organisation),
 *                                unbinding after a confirmation, logout.
 * and the helpers of the 签名 page's own script (window.mcert, used by
 * /sign.js).
 *
 * Design: vanilla JS, no build step, no dependency; the server's CSP allows
 * scripts and styles from this origin only, so nothing here injects inline
 * script or style. Every server-provided string reaches the page through
 * textContent or an attribute, never through innerHTML. The web session
 * token lives in sessionStorage (one tab, gone with it) and travels as a
 * Bearer header; a 401 on an authenticated call means the session is over
 * (logged out, expired, or the certificate it came from was unbound), and the
 * page goes back to the login page.
 *
 * QR: a session is opened with ?qr=none (the reply carries the payload, no
 * drawing) and its image is loaded from GET /api/v1/sessions/<sid>/qr.png,
 * which the server draws without touching its database. The payload stays on
 * the <img> (data-payload) for people and tests.
 *
 * Failures the server says are passing — 503 store_unavailable (database
 * down), 503 busy (password-check pool full), 429 too_many_attempts — are
 * shown in words, never as codes; the long poll waits (Retry-After, bounded)
 * and asks again instead of giving up, until the session is surely over. A
 * wrong match number ends the session on the server (rejected, reason
 * wrong_number): the box says so and offers a fresh code.
 *
 * Non-goals: routing, languages other than the console's Chinese, old browsers.
 */
'use strict';

(function () {
  const TOKEN_KEY = 'mcert.token';
  const NOTICE_KEY = 'mcert.notice';
  const POLL_WAIT = 25; /* seconds; the server caps long polls at 30 */
  const FINAL_STATES = new Set(['approved', 'rejected', 'expired']);
  /* States after which a QR box offers (and a tab switch makes) a new code. */
  const RESTARTABLE = new Set(['expired', 'rejected', 'error']);
  const SESSION_ENDED = '会话已结束，请重新登录';
  /* Waits between tries of a long poll the server could not answer (s). */
  const RETRY_MIN = 1;
  const RETRY_MAX = 10;
  /* ...and how long past the session's expiry the poll keeps trying (s). */
  const RETRY_GRACE = 30;

  const STATE_TEXT = {
    creating: '正在生成二维码…',
    pending: '等待扫码',
    scanned: '已扫码，请在手机上确认',
    approved: '已确认',
    rejected: '已拒绝',
    expired: '二维码已过期',
    error: '出错了，请刷新二维码',
  };

  const WRONG_NUMBER_TEXT = '手机上选择的数字与页面不一致，本次扫码已失效，请刷新二维码';

  const ERROR_TEXT = {
    bad_credentials: '账号或密码错误',
    unauthorized: SESSION_ENDED,
    not_permitted: '无权操作',
    account_bound: '该账户已绑定CA证书',
    not_bound: '该账户未绑定CA证书',
    not_found: '账户不存在',
    bad_origin: '请求来源不被允许，请从平台地址访问',
    unknown_session: '二维码已失效，请刷新二维码',
    session_expired: '二维码已过期，请刷新二维码',
    store_unavailable: '系统暂时无法访问数据，请稍后重试',
    busy: '系统繁忙，请稍后重试',
    too_many_attempts: '登录失败次数过多，请稍后再试',
    network: '网络错误，请检查网络后重试',
  };

  /* What the QR box says while its long poll waits to ask again. */
  const RETRY_TEXT = {
    store_unavailable: '系统暂时无法访问数据，正在重试…',
    busy: '系统繁忙，正在重试…',
    too_many_attempts: '请求过于频繁，正在重试…',
    network: '网络连接中断，正在重试…',
  };

  const CERT_STATUS_TEXT = {
    revoked: '已吊销',
    expired: '已过期',
    superseded: '已更新',
  };

  /* ---- small helpers ---- */

  class ApiError extends Error {
    constructor(status, code, message, retryAfter = null) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter; /* seconds, from Retry-After, or null */
    }
  }

  /* Retry-After in seconds (delta-seconds or an HTTP date), else null. */
  function retryAfterOf(res) {
    const v = res && res.headers ? res.headers.get('Retry-After') : null;
    if (!v) return null;
    if (/^\s*\d+\s*$/.test(v)) return Number(v);
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : Math.max(0, Math.ceil((t - Date.now()) / 1000));
  }

  /* A failure that passes by itself: ask again later. */
  function transient(status) {
    return status === 0 || status === 429 || status === 502 || status === 503 || status === 504;
  }

  function $(id) {
    return document.getElementById(id);
  }

  /* h('td', {class: 'x', dataset: {k: v}}, 'text', node, ...) — text children
   * become text nodes, so server data is never parsed as HTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function pad2(n) {
    return String(n).padStart(2, '0');
  }

  /* Unix seconds -> "YYYY-MM-DD HH:MM" in local time; "—" for 0 / missing. */
  function fmtTime(unix) {
    if (!unix) return '—';
    const d = new Date(unix * 1000);
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
      `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  }

  /* "3分钟" / "40秒" for a wait in seconds. */
  function waitWords(sec) {
    return sec >= 60 ? `${Math.ceil(sec / 60)}分钟` : `${Math.max(1, sec)}秒`;
  }

  /* The words for a failure: never the server's code or its English message. */
  function errorText(e) {
    if (e instanceof ApiError) {
      if (e.code === 'too_many_attempts' && e.retryAfter > 0) {
        return `登录失败次数过多，请${waitWords(e.retryAfter)}后再试`;
      }
      const known = ERROR_TEXT[e.code];
      if (known) return known;
      if (e.status === 503 || e.status === 502 || e.status === 504) return ERROR_TEXT.busy;
      if (e.status === 401) return SESSION_ENDED;
      return '操作失败，请稍后重试';
    }
    return '页面出错，请刷新页面后重试';
  }

  function show(el, text) {
    el.textContent = text;
    el.hidden = !text;
  }

  /* show() for a failure; the code stays on the element (data-code) for
   * whoever debugs, not in the words. */
  function showError(el, e) {
    show(el, errorText(e));
    if (e instanceof ApiError) el.dataset.code = e.code;
    else delete el.dataset.code;
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  /* The session is over: forget the token and go to the login page with a note. */
  function sessionEnded(note) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (note) sessionStorage.setItem(NOTICE_KEY, note);
    location.replace('/');
  }

  /* One JSON API call. auth: send the Bearer token (default true). Resolves to
   * the parsed body; rejects with ApiError (status 0 for network errors). */
  async function api(method, path, body, auth = true) {
    const headers = { Accept: 'application/json' };
    const tok = auth ? token() : null;
    if (tok) headers.Authorization = 'Bearer ' + tok;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'network', 'network error');
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const code = data && typeof data.code === 'string' ? data.code : 'http_' + res.status;
      const msg = data && typeof data.message === 'string' ? data.message : res.statusText;
      throw new ApiError(res.status, code, msg, retryAfterOf(res));
    }
    return data || {};
  }

  function sleep(ms, signal) {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
  }

  /* The certificate's identity as shown to people: serial, else fingerprint. */
  function certId(c) {
    return c.serial || c.fp || '';
  }

  /* ---- shared by the console pages: who is logged in, the menu, raw bodies ---- */

  const ROLE_TEXT = { admin: '机构管理员', staff: '员工', operator: 'CA审核员' };

  /* Menu entries only some roles see carry data-role-only="<role>". */
  function roleMenu(me) {
    for (const el of document.querySelectorAll('[data-role-only]')) {
      el.hidden = !me || el.dataset.roleOnly !== me.role;
    }
  }

  /* The top bar of a console page (the elements of bindings.html) for the
   * account of GET /api/v1/me, the role's menu entries, and 退出登录. */
  function shell(me) {
    $('me-name').textContent = me.name;
    $('me-account').textContent = `(${me.account})`;
    $('me-org').textContent = me.org_name || me.org;
    $('me-org').title = `统一社会信用代码 ${me.org}`;
    $('me-role').textContent = ROLE_TEXT[me.role] || '员工';
    $('me-via').textContent = me.via === 'certificate' ? '扫码登录' : '账号登录';
    $('me-via').dataset.via = me.via;
    $('me').hidden = false;
    roleMenu(me);
    const out = $('logout');
    if (out && !out.dataset.wired) {
      out.dataset.wired = 'yes';
      out.addEventListener('click', async () => {
        try {
          await api('POST', '/api/v1/logout');
        } catch (e) {
          /* a session already gone is as good as logged out */
        }
        sessionEnded('已退出登录');
      });
    }
  }

  /* A call whose body is raw bytes (an upload: a File or Blob with its own
   * type) or whose reply is raw bytes (asBlob: resolves to a Blob). Errors
   * as api(). */
  async function apiRaw(method, path, { body, type, asBlob = false } = {}) {
    const headers = { Accept: asBlob ? '*/*' : 'application/json' };
    const tok = token();
    if (tok) headers.Authorization = 'Bearer ' + tok;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = type || body.type || 'application/octet-stream';
      init.body = body;
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'network', 'network error');
    }
    if (res.ok && asBlob) return res.blob();
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const code = data && typeof data.code === 'string' ? data.code : 'http_' + res.status;
      const msg = data && typeof data.message === 'string' ? data.message : res.statusText;
      throw new ApiError(res.status, code, msg, retryAfterOf(res));
    }
    return data || {};
  }

  /* A Blob as a data: URI (the CSP allows images from data:, not blob:). */
  function dataUrl(blob) {
    return new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result);
      r.onerror = () => reject(r.error);
      r.readAsDataURL(blob);
    });
  }

  /* A page that only needs the top bar (CA续费与延期). */
  function initPlain() {
    if (!token()) {
      location.replace('/');
      return;
    }
    api('GET', '/api/v1/me').then(shell, (e) => {
      if (e instanceof ApiError && e.status === 401) sessionEnded(SESSION_ENDED);
    });
  }

  /* ---- the QR session box (shared by QR login and the bind dialog) ----
   *
   * root: an element with an <img class="qr-img"> and children marked
   * data-role = match | state | countdown | overlay | refresh.
   * open(): resolves to the server's session object (POST /api/v1/sessions).
   * onApproved(poll, box): called once when the phone approved; poll is the
   * server's final poll reply. Rejection and expiry only show in the box.
   * Returns {start, stop, reset, setState, root}. The box reflects its state
   * in root.dataset.state (and reason = wrong_number, retrying = yes while
   * the poll waits to ask again), the QR payload in img.dataset.payload.
   */
  function qrBox(root, open, onApproved) {
    const part = (role) => root.querySelector(`[data-role="${role}"]`);
    const img = root.querySelector('img.qr-img');
    const matchEl = part('match');
    const stateEl = part('state');
    const countdownEl = part('countdown');
    const overlayEl = part('overlay');
    const refreshBtn = part('refresh');
    let ctl = null;
    let timer = null;

    function stopCountdown() {
      if (timer) clearInterval(timer);
      timer = null;
    }

    function stop() {
      if (ctl) ctl.abort();
      ctl = null;
      stopCountdown();
    }

    /* Stopped and blank, as before the first start(). */
    function reset() {
      stop();
      root.dataset.state = '';
      delete root.dataset.reason;
      delete root.dataset.retrying;
    }

    /* reason: why a final state came (wrong_number), kept in data-reason. */
    function setState(state, text, reason) {
      root.dataset.state = state;
      if (reason) root.dataset.reason = reason;
      else delete root.dataset.reason;
      delete root.dataset.retrying;
      stateEl.textContent = text || STATE_TEXT[state] || STATE_TEXT.error;
      const final = FINAL_STATES.has(state) || state === 'error';
      refreshBtn.hidden = !RESTARTABLE.has(state);
      overlayEl.hidden = !final;
      overlayEl.textContent = final
        ? ({ approved: '✓', rejected: '✕', expired: '⟳', error: '!' })[state]
        : '';
      if (final) {
        stopCountdown();
        countdownEl.textContent = '';
      }
    }

    function startCountdown(ttl) {
      const deadline = Date.now() + ttl * 1000;
      const tick = () => {
        const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
        countdownEl.textContent = `有效期剩余 ${Math.floor(left / 60)}:${pad2(left % 60)}`;
        countdownEl.dataset.left = String(left);
      };
      tick();
      timer = setInterval(tick, 1000);
    }

    /* The poll could not be answered now (network, 503, 429): say so in the
     * box, keeping its state, and wait before asking again — Retry-After if
     * the server sent one, else 1, 2, 4, 8 s; always within RETRY_MIN..MAX.
     * Resolves false once the session is surely over (expiry + RETRY_GRACE):
     * the caller then stops. */
    async function retryWait(s, my, code, retryAfter, attempt) {
      if (Date.now() / 1000 > s.expires + RETRY_GRACE) return false;
      const backoff = Math.min(RETRY_MAX, 2 ** Math.min(attempt - 1, 4));
      const sec = Math.min(RETRY_MAX, Math.max(RETRY_MIN, retryAfter !== null ? retryAfter : backoff));
      root.dataset.retrying = 'yes';
      stateEl.textContent = RETRY_TEXT[code] || RETRY_TEXT.store_unavailable;
      await sleep(sec * 1000, my.signal);
      return !my.signal.aborted;
    }

    /* After a failed try the next one asks without waiting (wait=0), so the
     * box stops saying "retrying" as soon as the server answers again; then
     * the long poll resumes. */
    async function poll(s, my) {
      let state = 'pending';
      let attempt = 0;
      while (!my.signal.aborted) {
        let d = null;
        let res;
        const wait = attempt > 0 ? 0 : POLL_WAIT;
        try {
          res = await fetch(`/api/v1/sessions/${encodeURIComponent(s.sid)}` +
            `?state=${encodeURIComponent(state)}&wait=${wait}`, {
            headers: { 'X-Poll-Secret': s.poll_secret, Accept: 'application/json' },
            cache: 'no-store',
            signal: my.signal,
          });
          d = await res.json().catch(() => null);
        } catch (e) {
          if (my.signal.aborted) return;
          if (!(await retryWait(s, my, 'network', null, ++attempt))) {
            if (!my.signal.aborted) setState('error', '网络连接中断，请刷新二维码');
            return;
          }
          continue;
        }
        if (my.signal.aborted) return;
        if (transient(res.status)) {
          const code = d && typeof d.code === 'string' ? d.code : 'store_unavailable';
          if (!(await retryWait(s, my, code, retryAfterOf(res), ++attempt))) {
            if (!my.signal.aborted) setState('error', '系统暂时不可用，请稍后刷新二维码');
            return;
          }
          continue;
        }
        attempt = 0;
        if (!res.ok || !d || typeof d.state !== 'string') {
          /* an expired session may already be gone from the store */
          if (res.status === 404 || res.status === 410) {
            setState('expired');
          } else {
            const code = d && typeof d.code === 'string' ? d.code : 'http_' + res.status;
            setState('error', ERROR_TEXT[code] || STATE_TEXT.error);
          }
          return;
        }
        state = d.state;
        if (state === 'rejected' && d.reason === 'wrong_number') {
          setState(state, WRONG_NUMBER_TEXT, 'wrong_number');
        } else {
          setState(state);
        }
        if (FINAL_STATES.has(state)) {
          if (state === 'approved') onApproved(d, box);
          return;
        }
      }
    }

    async function start() {
      stop();
      const my = (ctl = new AbortController());
      img.hidden = true;
      img.removeAttribute('src');
      delete img.dataset.payload;
      delete root.dataset.sid;
      matchEl.textContent = '--';
      countdownEl.textContent = '';
      setState('creating');
      let s;
      try {
        s = await open();
      } catch (e) {
        if (my.signal.aborted) return;
        if (e instanceof ApiError && e.status === 401) {
          sessionEnded(SESSION_ENDED);
          return;
        }
        setState('error', errorText(e));
        return;
      }
      if (my.signal.aborted) return;
      const payload = s.qr && typeof s.qr.payload === 'string' ? s.qr.payload : '';
      if (!payload || typeof s.sid !== 'string' || !s.sid) {
        setState('error', '二维码数据无效，请刷新二维码');
        return;
      }
      /* The image: drawn by the server from the sid alone (no database). */
      img.onerror = () => {
        if (my.signal.aborted || root.dataset.sid !== s.sid) return;
        stop();
        setState('error', '二维码图片加载失败，请刷新二维码');
      };
      img.src = `/api/v1/sessions/${encodeURIComponent(s.sid)}/qr.png`;
      img.dataset.payload = payload;
      img.hidden = false;
      root.dataset.sid = s.sid;
      /* an enroll session has no number to compare (the SMS code is the proof) */
      const hasMatch = typeof s.match === 'number';
      matchEl.textContent = hasMatch ? pad2(s.match) : '';
      if (matchEl.parentElement) matchEl.parentElement.hidden = !hasMatch;
      startCountdown(s.ttl > 0 ? s.ttl : Math.max(0, s.expires - Date.now() / 1000));
      setState('pending');
      poll(s, my);
    }

    refreshBtn.addEventListener('click', () => start());
    const box = { start, stop, reset, setState, root };
    return box;
  }

  /* ---- login page ---- */

  function initLogin() {
    const notice = sessionStorage.getItem(NOTICE_KEY);
    if (notice) {
      sessionStorage.removeItem(NOTICE_KEY);
      show($('notice'), notice);
    }
    /* A tab that still holds a live session goes straight to the console. */
    if (token()) {
      api('GET', '/api/v1/me').then(
        () => location.replace('/bindings'),
        (e) => {
          /* only a 401 says the token is over; a 503 says nothing about it */
          if (e instanceof ApiError && e.status === 401) sessionStorage.removeItem(TOKEN_KEY);
        });
    }

    const form = $('login-form');
    const err = $('login-error');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      show(err, '');
      const account = $('login-account').value.trim();
      const password = $('login-password').value;
      if (!account || !password) {
        show(err, '请输入账号和密码');
        return;
      }
      const btn = $('login-submit');
      btn.disabled = true;
      try {
        const d = await api('POST', '/api/v1/login', { account, password }, false);
        sessionStorage.setItem(TOKEN_KEY, d.token);
        location.assign('/bindings');
      } catch (e) {
        showError(err, e);
        btn.disabled = false;
      }
    });

    /* Every read of an approved login by this page returns the same token
     * until it ends; after a logout the reply says claimed, with no token. */
    const box = qrBox($('login-qr'),
      () => api('POST', '/api/v1/sessions?qr=none', { purpose: 'login' }, false),
      (d, b) => {
        if (typeof d.token === 'string' && d.token) {
          sessionStorage.setItem(TOKEN_KEY, d.token);
          b.setState('approved', '登录成功，正在进入…');
          location.assign('/bindings');
        } else if (d.claimed) {
          b.setState('error', '本次扫码登录已结束，请刷新二维码重新扫码');
        } else {
          b.setState('error', '登录未完成，请刷新二维码重试');
        }
      });

    const tabs = [
      { tab: $('tab-password'), panel: $('panel-password') },
      { tab: $('tab-qr'), panel: $('panel-qr') },
    ];
    function select(which) {
      for (const t of tabs) {
        const on = t.tab === which;
        t.tab.classList.toggle('active', on);
        t.tab.setAttribute('aria-selected', on ? 'true' : 'false');
        t.panel.hidden = !on;
      }
      if (which === $('tab-qr')) {
        const st = box.root.dataset.state;
        if (!st || RESTARTABLE.has(st)) box.start();
      } else {
        box.reset();
      }
    }
    for (const t of tabs) t.tab.addEventListener('click', () => select(t.tab));
  }

  /* ---- bindings page ---- */

  function initBindings() {
    if (!token()) {
      location.replace('/');
      return;
    }
    let me = null;
    let rows = [];

    const pageErr = $('page-error');
    const pageNote = $('page-notice');

    /* Any 401 from an authenticated call ends the page. */
    function handle(e, where) {
      if (e instanceof ApiError && e.status === 401) {
        const certGone = me && me.via === 'certificate';
        sessionEnded(certGone
          ? '登录所用的CA证书已解除绑定或会话已结束，请重新登录'
          : SESSION_ENDED);
        return true;
      }
      showError(where || pageErr, e);
      return false;
    }

    function renderMe() {
      $('me-name').textContent = me.name;
      $('me-account').textContent = `(${me.account})`;
      $('me-org').textContent = me.org_name || me.org;
      $('me-org').title = `统一社会信用代码 ${me.org}`;
      $('me-role').textContent = ROLE_TEXT[me.role] || '员工';
      roleMenu(me);
      $('me-via').textContent = me.via === 'certificate' ? '扫码登录' : '账号登录';
      $('me-via').dataset.via = me.via;
      $('me').hidden = false;
      const self = $('bind-self');
      self.disabled = !!me.cert;
      self.title = me.cert ? '当前账号已绑定CA证书' : '';
      $('bind-other').hidden = me.role !== 'admin';
    }

    function mayManage(row) {
      return me && (me.role === 'admin' || row.account === me.account);
    }

    function certCell(c) {
      if (!c) return h('span', { class: 'badge badge-muted' }, '未绑定');
      const line = (label, value, testid, cls) =>
        h('div', { class: 'kv' }, h('span', { class: 'k' }, label),
          h('span', { class: 'v' + (cls ? ' ' + cls : ''), 'data-testid': testid }, value));
      const status = c.status && c.status !== 'valid'
        ? h('span', { class: 'badge badge-warn' }, CERT_STATUS_TEXT[c.status] || '不可用') : null;
      return h('div', { class: 'cert' },
        line('CA服务商：', c.issuer || '—', 'cert-issuer'),
        line('证书序列号：', certId(c) || '—', 'cert-serial', 'mono'),
        line('到期时间：', fmtTime(c.not_after), 'cert-expiry'),
        h('div', { class: 'kv' }, h('span', { class: 'k' }, '算法：'),
          h('span', { class: 'badge badge-soft' }, (c.alg || '').toUpperCase()), status));
    }

    function renderTable() {
      const body = $('bindings-body');
      body.replaceChildren();
      if (rows.length === 0) {
        body.append(h('tr', { class: 'empty' }, h('td', { colspan: 5 }, '暂无数据')));
        return;
      }
      for (const r of rows) {
        const op = h('td', { class: 'col-op' });
        if (r.cert && mayManage(r)) {
          const b = h('button', {
            type: 'button', class: 'link link-danger',
            'data-testid': 'unbind', dataset: { account: r.account },
          }, '解除绑定');
          b.addEventListener('click', () => confirmUnbind(r));
          op.append(b);
        } else {
          op.append(h('span', { class: 'muted' }, '—'));
        }
        body.append(h('tr', { dataset: { account: r.account, bound: r.cert ? 'yes' : 'no' }, 'data-testid': 'binding-row' },
          h('td', { class: 'acct' },
            h('div', { class: 'kv' }, h('span', { class: 'k' }, '姓名：'),
              h('span', { class: 'acct-name', 'data-testid': 'row-name' }, r.name,
                r.role === 'admin' ? h('span', { class: 'badge badge-soft' }, '机构管理员') : null,
                me && r.account === me.account ? h('span', { class: 'badge' }, '当前登录人') : null)),
            h('div', { class: 'kv' }, h('span', { class: 'k' }, '账户：'),
              h('span', { class: 'mono', 'data-testid': 'row-account' }, r.account))),
          h('td', {}, certCell(r.cert)),
          h('td', { 'data-testid': 'row-bound-by' }, r.cert ? (r.bound_by || '—') : '—'),
          h('td', { 'data-testid': 'row-bound-at' }, r.cert ? fmtTime(r.bound_at) : '—'),
          op));
      }
    }

    /* Reload who is logged in and the table. A failure that passes by
     * itself (503, 429, network) is tried again a few times, after the
     * server's Retry-After (bounded), while the words stay on the page. */
    let refreshTries = 0;
    let refreshTimer = null;
    async function refresh() {
      clearTimeout(refreshTimer);
      refreshTimer = null;
      try {
        me = await api('GET', '/api/v1/me');
        renderMe();
        const d = await api('GET', '/api/v1/bindings');
        rows = Array.isArray(d.bindings) ? d.bindings : [];
        renderTable();
        show(pageErr, '');
        refreshTries = 0;
      } catch (e) {
        handle(e);
        if (e instanceof ApiError && transient(e.status) && refreshTries < 5) {
          refreshTries++;
          const sec = Math.min(RETRY_MAX, Math.max(RETRY_MIN, e.retryAfter ?? 2 ** refreshTries));
          refreshTimer = setTimeout(refresh, sec * 1000);
        }
      }
    }

    /* bind dialog */
    const bindDlg = $('bind-dialog');
    const bindErr = $('bind-error');
    let bindTarget = null;
    const box = qrBox($('bind-qr'),
      () => api('POST', '/api/v1/sessions?qr=none',
        bindTarget === me.account ? { purpose: 'bind' } : { purpose: 'bind', account: bindTarget }),
      async (d, b) => {
        b.setState('approved', '绑定成功');
        show(pageNote, `已为账户 ${d.account || bindTarget} 绑定CA证书`);
        await refresh();
      });

    function openBind(target) {
      show(bindErr, '');
      box.reset();
      $('bind-title').textContent = target ? '给当前账号绑定' : '给其他账号绑定';
      $('bind-qr').hidden = true;
      const pick = $('bind-pick');
      if (target) {
        pick.hidden = true;
        startBind(target);
      } else {
        const sel = $('bind-account');
        sel.replaceChildren();
        for (const r of rows) {
          if (!r.cert) sel.append(h('option', { value: r.account }, `${r.name} (${r.account})`));
        }
        const none = sel.options.length === 0;
        $('bind-pick-empty').hidden = !none;
        $('bind-start').disabled = none;
        sel.disabled = none;
        pick.hidden = false;
      }
      if (!bindDlg.open) bindDlg.showModal();
    }

    function startBind(target) {
      bindTarget = target;
      const row = rows.find((r) => r.account === target);
      $('bind-qr').querySelector('[data-role="target"]').textContent =
        row ? `${row.name} (${row.account})` : target;
      $('bind-pick').hidden = true;
      $('bind-qr').hidden = false;
      box.start();
    }

    function closeBind() {
      box.stop();
      if (bindDlg.open) bindDlg.close();
    }

    $('bind-self').addEventListener('click', () => openBind(me.account));
    $('bind-other').addEventListener('click', () => openBind(null));
    $('bind-start').addEventListener('click', () => {
      const v = $('bind-account').value;
      if (v) startBind(v);
    });
    $('bind-close').addEventListener('click', closeBind);
    $('bind-close-x').addEventListener('click', closeBind);
    bindDlg.addEventListener('close', () => box.stop());

    /* unbind confirmation */
    const confDlg = $('confirm-dialog');
    const confErr = $('confirm-error');
    let confRow = null;

    function confirmUnbind(r) {
      confRow = r;
      $('confirm-account').textContent = `${r.name} (${r.account})`;
      $('confirm-serial').textContent = r.cert ? certId(r.cert) : '';
      show(confErr, '');
      $('confirm-ok').disabled = false;
      confDlg.showModal();
    }

    $('confirm-cancel').addEventListener('click', () => confDlg.close());
    $('confirm-ok').addEventListener('click', async () => {
      if (!confRow) return;
      const r = confRow;
      $('confirm-ok').disabled = true;
      try {
        await api('DELETE', `/api/v1/bindings/${encodeURIComponent(r.account)}`);
      } catch (e) {
        $('confirm-ok').disabled = false;
        handle(e, confErr);
        return;
      }
      confDlg.close();
      show(pageNote, `已解除账户 ${r.account} 的CA绑定`);
      /* If this session came from that certificate, the server has ended it
       * and refresh() sees the 401. */
      await refresh();
    });

    $('logout').addEventListener('click', async () => {
      try {
        await api('POST', '/api/v1/logout');
      } catch (e) {
        /* a session already gone is as good as logged out */
      }
      sessionEnded('已退出登录');
    });

    refresh();
  }

  /* The helpers other pages' scripts use (the 签名 page: /sign.js, loaded
   * after this file); that page initialises itself. */
  window.mcert = Object.freeze({
    ApiError, api, h, $, pad2, fmtTime, errorText, show, showError, token,
    sessionEnded, sleep, retryAfterOf, transient, certId,
    qrBox, shell, roleMenu, apiRaw, dataUrl, ROLE_TEXT,
    ERROR_TEXT, RETRY_TEXT, CERT_STATUS_TEXT, SESSION_ENDED,
    POLL_WAIT, RETRY_MIN, RETRY_MAX, RETRY_GRACE,
  });

  function init() {
    const page = document.body.dataset.page;
    if (page === 'login') initLogin();
    else if (page === 'bindings') initBindings();
    else if (page === 'renew') initPlain();
    else if (page === 'sign' && token()) {
      /* the 签名 page draws its own top bar; only the role's menu here */
      api('GET', '/api/v1/me').then(roleMenu, () => {});
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
