/*
 * app.js — the behaviour of mcert's two web pages, chosen by <body data-page>:
 *   "login"    (index.html):    password login, and QR login (open a login
 *                                session, show its QR and match number, long-poll
 *                                it until approved / rejected / expired);
 *   "bindings" (bindings.html): CA绑定与解绑 — who is logged in, the accounts
 *                                and their certificates, binding by QR (self, or
 *                                an admin for any account of the organisation),
 *                                unbinding after a confirmation, logout.
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
 * Non-goals: routing, i18n beyond "中文 (English)" labels, old browsers.
 */
'use strict';

(function () {
  const TOKEN_KEY = 'mcert.token';
  const NOTICE_KEY = 'mcert.notice';
  const POLL_WAIT = 25; /* seconds; the server caps long polls at 30 */
  const FINAL_STATES = new Set(['approved', 'rejected', 'expired']);
  /* States after which a QR box offers (and a tab switch makes) a new code. */
  const RESTARTABLE = new Set(['expired', 'rejected', 'error']);
  const SESSION_ENDED = '会话已结束，请重新登录 (session ended, please sign in again)';

  const STATE_TEXT = {
    creating: '正在生成二维码… (creating)',
    pending: '等待扫码 (waiting for the phone)',
    scanned: '已扫码，请在手机上确认 (scanned — confirm on the phone)',
    approved: '已确认 (approved)',
    rejected: '已拒绝 (rejected)',
    expired: '二维码已过期 (expired)',
    error: '出错了 (error)',
  };

  const ERROR_TEXT = {
    bad_credentials: '账号或密码错误 (wrong account or password)',
    not_permitted: '无权操作 (not permitted)',
    account_bound: '该账户已绑定CA证书 (the account already has a certificate)',
    not_bound: '该账户未绑定CA证书 (no certificate bound)',
    not_found: '账户不存在 (no such account)',
    network: '网络错误，请稍后重试 (network error)',
  };

  /* ---- small helpers ---- */

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
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

  function errorText(e) {
    if (e instanceof ApiError) {
      const known = ERROR_TEXT[e.code];
      return known ? known : `${e.message || '请求失败'} (${e.code})`;
    }
    return String(e && e.message ? e.message : e);
  }

  function show(el, text) {
    el.textContent = text;
    el.hidden = !text;
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
      throw new ApiError(res.status, code, msg);
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

  /* ---- the QR session box (shared by QR login and the bind dialog) ----
   *
   * root: an element with an <img class="qr-img"> and children marked
   * data-role = match | state | countdown | overlay | refresh.
   * open(): resolves to the server's session object (POST /api/v1/sessions).
   * onApproved(poll, box): called once when the phone approved; poll is the
   * server's final poll reply. Rejection and expiry only show in the box.
   * Returns {start, stop, reset, setState, root}. The box reflects its state
   * in root.dataset.state, the QR payload in img.dataset.payload.
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
    }

    function setState(state, text) {
      root.dataset.state = state;
      stateEl.textContent = text || STATE_TEXT[state] || state;
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
        countdownEl.textContent = `剩余 ${Math.floor(left / 60)}:${pad2(left % 60)} (expires in ${left}s)`;
        countdownEl.dataset.left = String(left);
      };
      tick();
      timer = setInterval(tick, 1000);
    }

    async function poll(s, my) {
      let state = 'pending';
      let failures = 0;
      while (!my.signal.aborted) {
        let d = null;
        let res;
        try {
          res = await fetch(`/api/v1/sessions/${encodeURIComponent(s.sid)}` +
            `?state=${encodeURIComponent(state)}&wait=${POLL_WAIT}`, {
            headers: { 'X-Poll-Secret': s.poll_secret, Accept: 'application/json' },
            cache: 'no-store',
            signal: my.signal,
          });
          d = await res.json().catch(() => null);
        } catch (e) {
          if (my.signal.aborted) return;
          if (++failures > 5) {
            setState('error', '网络错误，请刷新二维码 (network error)');
            return;
          }
          await sleep(1000, my.signal);
          continue;
        }
        if (my.signal.aborted) return;
        failures = 0;
        if (!res.ok || !d || typeof d.state !== 'string') {
          /* an expired session may already be gone from the store */
          if (res.status === 404) {
            setState('expired');
          } else {
            setState('error', d && d.message ? `${STATE_TEXT.error}: ${d.message}` : STATE_TEXT.error);
          }
          return;
        }
        state = d.state;
        setState(state);
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
      const png = s.qr && typeof s.qr.png === 'string' ? s.qr.png : '';
      if (!/^[A-Za-z0-9+/]+=*$/.test(png)) {
        setState('error', '二维码数据无效 (bad QR image)');
        return;
      }
      img.src = 'data:image/png;base64,' + png;
      img.dataset.payload = s.qr.payload;
      img.hidden = false;
      root.dataset.sid = s.sid;
      matchEl.textContent = pad2(s.match);
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
        () => sessionStorage.removeItem(TOKEN_KEY));
    }

    const form = $('login-form');
    const err = $('login-error');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      show(err, '');
      const account = $('login-account').value.trim();
      const password = $('login-password').value;
      if (!account || !password) {
        show(err, '请输入账号和密码 (account and password are required)');
        return;
      }
      const btn = $('login-submit');
      btn.disabled = true;
      try {
        const d = await api('POST', '/api/v1/login', { account, password }, false);
        sessionStorage.setItem(TOKEN_KEY, d.token);
        location.assign('/bindings');
      } catch (e) {
        show(err, errorText(e));
        btn.disabled = false;
      }
    });

    const box = qrBox($('login-qr'),
      () => api('POST', '/api/v1/sessions?qr=png', { purpose: 'login' }, false),
      (d, b) => {
        if (typeof d.token === 'string' && d.token) {
          sessionStorage.setItem(TOKEN_KEY, d.token);
          b.setState('approved', '登录成功，正在进入… (signed in)');
          location.assign('/bindings');
        } else {
          b.setState('error', '该二维码的登录结果已被领取，请刷新 (already used)');
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
          ? '登录所用的CA证书已解除绑定或会话已结束，请重新登录 (session ended)'
          : SESSION_ENDED);
        return true;
      }
      show(where || pageErr, errorText(e));
      return false;
    }

    function renderMe() {
      $('me-name').textContent = me.name;
      $('me-account').textContent = `(${me.account})`;
      $('me-org').textContent = me.org_name || me.org;
      $('me-org').title = `统一社会信用代码 ${me.org}`;
      $('me-role').textContent = me.role === 'admin' ? '机构管理员 (admin)' : '员工 (staff)';
      $('me-via').textContent = me.via === 'certificate' ? '证书扫码登录 (certificate)' : '密码登录 (password)';
      $('me-via').dataset.via = me.via;
      $('me').hidden = false;
      const self = $('bind-self');
      self.disabled = !!me.cert;
      self.title = me.cert ? '当前账号已绑定CA证书 (already bound)' : '';
      $('bind-other').hidden = me.role !== 'admin';
    }

    function mayManage(row) {
      return me && (me.role === 'admin' || row.account === me.account);
    }

    function certCell(c) {
      if (!c) return h('span', { class: 'badge badge-muted' }, '未绑定 (not bound)');
      const line = (label, value, testid, cls) =>
        h('div', { class: 'kv' }, h('span', { class: 'k' }, label),
          h('span', { class: 'v' + (cls ? ' ' + cls : ''), 'data-testid': testid }, value));
      const status = c.status && c.status !== 'valid'
        ? h('span', { class: 'badge badge-warn' }, c.status) : null;
      return h('div', { class: 'cert' },
        line('CA服务商', c.issuer || '—', 'cert-issuer'),
        line('证书序列号', certId(c) || '—', 'cert-serial', 'mono'),
        line('到期时间', fmtTime(c.not_after), 'cert-expiry'),
        h('div', { class: 'kv' }, h('span', { class: 'k' }, '算法'),
          h('span', { class: 'badge badge-soft' }, (c.alg || '').toUpperCase()), status));
    }

    function renderTable() {
      const body = $('bindings-body');
      body.replaceChildren();
      if (rows.length === 0) {
        body.append(h('tr', { class: 'empty' }, h('td', { colspan: 5 }, '暂无数据 (no accounts)')));
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
          h('td', {},
            h('div', { class: 'acct-name', 'data-testid': 'row-name' }, r.name,
              r.role === 'admin' ? h('span', { class: 'badge badge-soft' }, '管理员') : null,
              me && r.account === me.account ? h('span', { class: 'badge' }, '当前') : null),
            h('div', { class: 'muted mono', 'data-testid': 'row-account' }, r.account)),
          h('td', {}, certCell(r.cert)),
          h('td', { 'data-testid': 'row-bound-by' }, r.cert ? (r.bound_by || '—') : '—'),
          h('td', { 'data-testid': 'row-bound-at' }, r.cert ? fmtTime(r.bound_at) : '—'),
          op));
      }
    }

    /* Reload who is logged in and the table. */
    async function refresh() {
      try {
        me = await api('GET', '/api/v1/me');
        renderMe();
        const d = await api('GET', '/api/v1/bindings');
        rows = Array.isArray(d.bindings) ? d.bindings : [];
        renderTable();
        show(pageErr, '');
      } catch (e) {
        handle(e);
      }
    }

    /* bind dialog */
    const bindDlg = $('bind-dialog');
    const bindErr = $('bind-error');
    let bindTarget = null;
    const box = qrBox($('bind-qr'),
      () => api('POST', '/api/v1/sessions?qr=png',
        bindTarget === me.account ? { purpose: 'bind' } : { purpose: 'bind', account: bindTarget }),
      async (d, b) => {
        b.setState('approved', '绑定成功 (bound)');
        show(pageNote, `已为账户 ${d.account || bindTarget} 绑定CA证书 (certificate bound)`);
        await refresh();
      });

    function openBind(target) {
      show(bindErr, '');
      box.reset();
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
      show(pageNote, `已解除账户 ${r.account} 的CA绑定 (unbound)`);
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
      sessionEnded('已退出登录 (signed out)');
    });

    refresh();
  }

  function init() {
    const page = document.body.dataset.page;
    if (page === 'login') initLogin();
    else if (page === 'bindings') initBindings();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
