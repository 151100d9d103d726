/*
 * app.js — the console's shared code and the behaviour of two pages, chosen
 * by <body data-page>:
 *   "login"    (index.html):    账号登录 (password) and 扫码登录 (open a login
 *                                session, show its QR and match number, long-poll
 *                                it until approved / rejected / expired);
 *   "bindings" (bindings.html): CA绑定与解绑 — who is logged in, the accounts
 *                                and their certificates, binding by QR (self, or
 *                                an admin for any account of the organisation),
 *                                unbinding after a confirmation, logout;
 * Shared by every console page: the page shell (the top bar, the menu,
 * the crumbs and the page's error / notice lines, built here around the
 * <main class="content"> each page carries), the markup the pages share
 * (list tables from <table data-cols>, dialog heads from <dialog
 * data-title>, a list filter's 重置 / 搜索, the confirmation dialog, a
 * row's 操作 links, label / value lines), the API calls, errors in words,
 * the QR box and its long poll (follow), the wait for a payment to land;
 * and by CA证书申领 and 审核
 * the application helpers; the field checks of 统一社会信用代码, mobile,
 * email and text (申领 and 发票申请). The other pages' scripts (/apply.js,
 * /review.js, /sign.js, /cashier.js, /renew.js, and /invoice.js, the
 * 发票申请 dialog of apply and renew) take them from window.mcert and
 * initialise themselves.
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
    too_many_sessions: '操作过于频繁，请稍后再试',
    cert_superseded: '该CA证书已延期更新，请使用手机中的新证书',
    cert_revoked: '该CA证书已被吊销',
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

  /* A size in bytes as people read it: "512 B", "1.5 KB", "2.0 MB", "1.25 GB". */
  function fmtSize(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
    if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
    return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
  }

  /* "3分钟" / "40秒" for a wait in seconds. */
  function waitWords(sec) {
    return sec >= 60 ? `${Math.ceil(sec / 60)}分钟` : `${Math.max(1, sec)}秒`;
  }

  /* The words for a failure: never the server's code or its English message.
   * table: a page's own words for some codes, asked first. */
  function errorText(e, table) {
    if (e instanceof ApiError) {
      if (table && table[e.code]) return table[e.code];
      if (e.code === 'too_many_attempts' && e.retryAfter > 0) {
        return `登录失败次数过多，请${waitWords(e.retryAfter)}后再试`;
      }
      /* a client over its QR limits (bind, login, sign, enroll): the wait */
      if (e.code === 'too_many_sessions' && e.retryAfter > 0) {
        return `操作过于频繁，请${waitWords(e.retryAfter)}后再试`;
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
  function showError(el, e, table) {
    show(el, errorText(e, table));
    if (e instanceof ApiError) el.dataset.code = e.code;
    else delete el.dataset.code;
  }

  /* What the login page is told when a console page's session ends: a
   * session from a certificate also ends when that certificate is unbound. */
  function endNote(me) {
    return me && me.via === 'certificate'
      ? '登录所用的CA证书已解除绑定或会话已结束，请重新登录'
      : SESSION_ENDED;
  }

  /* A console page's failures: table, its own words for some codes (before
   * ERROR_TEXT's); note(), the words for the login page when the session is
   * over. Returns {errorText, showError, handle}: handle(e, where) ends the
   * page on a 401 (and returns true), else shows the words in where (default
   * #page-error) and returns false. */
  function pageErrors(table = {}, note = () => SESSION_ENDED) {
    function handle(e, where) {
      if (e instanceof ApiError && e.status === 401) {
        sessionEnded(note());
        return true;
      }
      showError(where || $('page-error'), e, table);
      return false;
    }
    return {
      errorText: (e) => errorText(e, table),
      showError: (el, e) => showError(el, e, table),
      handle,
    };
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

  /* fetch() with a network failure as ApiError(0, 'network'). */
  async function send(path, init) {
    try {
      return await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'network', 'network error');
    }
  }

  /* A reply's JSON body ({} when empty); a non-2xx one as ApiError (its code
   * and message from the body, else http_<status>; Retry-After kept). */
  async function replyOf(res) {
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
    return replyOf(await send(path, init));
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

  /* ---- the page shell: the top bar and the menu of every console page ---- */

  const ROLE_TEXT = { admin: '机构管理员', staff: '员工', operator: 'CA审核员' };

  /* The console's menu, in order: <body data-page> = page, at /<page>
   * (view: at /<page>?view=<view>, a second view of that page);
   * role: only that role sees the entry (hidden until shell(me) knows). */
  const MENU = [
    { page: 'bindings', text: 'CA绑定与解绑' },
    { page: 'apply', text: 'CA证书申领' },
    { page: 'renew', text: 'CA续费与延期' },
    { page: 'sign', text: '签名' },
    { page: 'review', text: '审核', role: 'operator' },
    { page: 'review', view: 'invoices', text: '发票审核', role: 'operator' },
  ];

  /* The menu entry of this address: its page and ?view= (a page that
   * switches views without a reload calls markMenu() again). */
  function markMenu() {
    const page = document.body.dataset.page;
    const view = new URLSearchParams(location.search).get('view') || '';
    for (const a of document.querySelectorAll('nav.sidebar .nav-item')) {
      const on = a.dataset.page === page && (a.dataset.view || '') === view;
      a.classList.toggle('active', on);
      if (on) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  /* Where this address is, for #crumbs: the page's menu entry (its ?view=
   * too), then crumb if given ("… / CA续费与延期 / 续费详情"). */
  function crumbs(crumb) {
    const page = document.body.dataset.page;
    const view = new URLSearchParams(location.search).get('view') || '';
    const m = MENU.find((x) => x.page === page && (x.view || '') === view) || MENU.find((x) => x.page === page);
    const el = $('crumbs');
    if (el && m) el.textContent = '我的工作台 / 系统管理 / CA管理 / ' + m.text + (crumb ? ` / ${crumb}` : '');
  }

  /* The page shell, the same on every page: <header class="topbar"> (made
   * when the page has none) with the brand and, on a console page, who is
   * logged in (#me, hidden until shell(me)) with 退出登录. A console page
   * carries only its <main class="content">: this puts it in the layout
   * beside the menu (<nav class="sidebar">, the entry of this page active;
   * on narrow screens style.css makes it a strip under the top bar) and
   * opens it with #crumbs and the page's #page-error / #page-notice lines,
   * unless the page places those itself (CA绑定与解绑, in its card). Runs
   * before the pages' own scripts, so their ids exist. */
  function mountShell(page) {
    const onConsole = MENU.some((m) => m.page === page);
    let bar = document.querySelector('header.topbar');
    if (!bar) {
      bar = h('header', { class: 'topbar' });
      document.body.prepend(bar);
    }
    bar.replaceChildren(h('div', { class: 'brand' }, h('span', { class: 'brand-mark' }, 'CA'), ' mcert 移动证书'));
    if (!onConsole) return;
    const span = (cls, id) => h('span', { class: cls, id, 'data-testid': id });
    bar.append(h('div', { class: 'who', id: 'me', 'data-testid': 'me', hidden: true },
      span('who-name', 'me-name'), span('who-account', 'me-account'),
      h('span', { class: 'who-sep' }, '·'), span('who-org', 'me-org'),
      span('badge', 'me-role'), span('badge badge-soft', 'me-via'),
      h('button', { type: 'button', class: 'btn btn-small', id: 'logout', 'data-testid': 'logout' }, '退出登录')));
    const main = document.querySelector('main.content');
    const nav = h('nav', { class: 'sidebar', 'aria-label': '菜单' },
      h('div', { class: 'nav-group' }, '系统管理'), h('div', { class: 'nav-sub' }, 'CA管理'),
      ...MENU.map((m) => h('a', {
        class: 'nav-item', href: '/' + m.page + (m.view ? '?view=' + m.view : ''),
        'data-testid': 'nav-' + (m.view || m.page), dataset: m.view ? { page: m.page, view: m.view } : { page: m.page },
        'data-role-only': m.role, hidden: !!m.role,
      }, m.text)));
    const layout = h('div', { class: 'layout' });
    main.replaceWith(layout);
    layout.append(nav, main);
    const head = [h('div', { class: 'crumbs muted', id: 'crumbs' })];
    if (!$('page-error')) {
      head.push(h('p', { id: 'page-error', class: 'form-error', 'data-testid': 'page-error', role: 'alert', hidden: true }),
        h('p', { id: 'page-notice', class: 'notice', 'data-testid': 'page-notice', role: 'status', hidden: true }));
    }
    main.prepend(...head);
    crumbs();
    markMenu();
  }

  /* ---- the markup the pages share: tables, dialogs, list filters, the confirmation ---- */

  /* A label / value line (class kv); an empty value shows as —. */
  function kv(k, v, testid, cls) {
    return h('div', { class: 'kv' }, h('span', { class: 'k' }, k),
      h('span', { class: 'v' + (cls ? ' ' + cls : ''), 'data-testid': testid }, v === '' || v === undefined || v === null ? '—' : v));
  }

  /* The one line of a table with nothing to show (加载中…, 暂无数据, 加载失败). */
  function emptyRow(cols, text) {
    return h('tr', { class: 'empty' }, h('td', { colspan: cols }, text));
  }

  /* A table body's rows: row(x) for each of rows, or emptyRow(cols, empty). */
  function fillRows(body, rows, row, cols = 6, empty = '暂无数据') {
    body.replaceChildren(...(rows.length ? rows.map(row) : [emptyRow(cols, empty)]));
  }

  /* A row's 操作 cell: td, and link(label, testid, fn, cls) adding one
   * link button, each on its own line (op-line), or side by side (lines
   * false). */
  function opCell(lines = true) {
    const td = h('td', { class: 'col-op', 'data-label': '操作' });
    const link = (label, testid, fn, cls) => {
      const b = h('button', { type: 'button', class: 'link' + (cls ? ' ' + cls : ''), 'data-testid': testid }, label);
      b.addEventListener('click', fn);
      td.append(lines ? h('div', { class: 'op-line' }, b) : b);
    };
    return { td, link };
  }

  /* A page's list tables, written as <table data-cols="a|b|操作"
   * data-body="<id>">: wrapped (div.table-wrap), their head (the 操作
   * column is class col-op) and their body (id and data-testid <id>) saying
   * 加载中… until the page's script fills it. */
  function mountTables() {
    for (const t of document.querySelectorAll('table[data-cols]')) {
      const cols = t.dataset.cols.split('|');
      const wrap = h('div', { class: 'table-wrap' });
      t.replaceWith(wrap);
      wrap.append(t);
      t.append(h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { class: c === '操作' ? 'col-op' : null }, c)))),
        h('tbody', { id: t.dataset.body, 'data-testid': t.dataset.body }, emptyRow(cols.length, '加载中…')));
      t.removeAttribute('data-cols');
      t.removeAttribute('data-body');
    }
  }

  /* A dialog written with data-title gets its head: the title (an h2, its
   * id the dialog's aria-labelledby) and × to close it. On every page a
   * click on [data-close] in a dialog closes it (also in dialogs built
   * later, as 发票申请's). */
  function mountDialogs() {
    for (const d of document.querySelectorAll('dialog[data-title]')) {
      const id = d.getAttribute('aria-labelledby');
      d.prepend(h('div', { class: 'modal-head' },
        h('h2', { id, class: 'modal-title', 'data-testid': id }, d.dataset.title),
        h('button', { type: 'button', class: 'modal-x', 'data-close': true, 'aria-label': '关闭' }, '×')));
      d.removeAttribute('data-title');
    }
    document.addEventListener('click', (ev) => {
      const b = ev.target instanceof Element ? ev.target.closest('dialog [data-close]') : null;
      if (b) b.closest('dialog').close();
    });
  }

  /* A list's filter form (form.filters; data-prefix names its buttons'
   * ids: <prefix>filter-reset, <prefix>filter-search): adds 重置 / 搜索;
   * 搜索 goes to urlOf() (the list's address with the filter), 重置 clears
   * the form and goes to resetUrl; go(url), the page's history navigation. */
  function listFilter(form, urlOf, resetUrl, go) {
    const p = form.dataset.prefix || '';
    const reset = h('button', { type: 'button', class: 'btn', id: `${p}filter-reset`, 'data-testid': `${p}filter-reset` }, '重置');
    form.append(h('div', { class: 'filter-actions' }, reset,
      h('button', { type: 'submit', class: 'btn btn-primary', id: `${p}filter-search`, 'data-testid': `${p}filter-search` }, '搜索')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      go(urlOf());
    });
    reset.addEventListener('click', () => {
      form.reset();
      go(resetUrl);
    });
  }

  /* The confirmation of an action, built into the page's empty <dialog
   * id="confirm-dialog">: ask(text, note, okLabel, fn, danger) shows it;
   * its button runs fn (which may close the dialog itself), then closes
   * it; a failure stays in the dialog, in words (handle(e, #confirm-error)).
   * Returns {ask, close}. */
  function confirmer(handle) {
    const dlg = $('confirm-dialog');
    const err = h('p', { class: 'form-error', id: 'confirm-error', 'data-testid': 'confirm-error', role: 'alert', hidden: true });
    const ok = h('button', { type: 'button', class: 'btn btn-primary', id: 'confirm-ok', 'data-testid': 'confirm-ok' }, '确定');
    const cancel = h('button', { type: 'button', class: 'btn', id: 'confirm-cancel', 'data-testid': 'confirm-cancel' }, '取消');
    const text = h('p', { class: 'confirm-text', id: 'confirm-text', 'data-testid': 'confirm-text' });
    const note = h('p', { class: 'muted small', id: 'confirm-note', 'data-testid': 'confirm-note', hidden: true });
    dlg.replaceChildren(h('div', { class: 'modal-body' }, text, note, err), h('div', { class: 'modal-foot' }, cancel, ok));
    let then = null;
    cancel.addEventListener('click', () => dlg.close());
    ok.addEventListener('click', async () => {
      if (!then) return;
      ok.disabled = true;
      try {
        await then();
        if (dlg.open) dlg.close();
      } catch (e) {
        ok.disabled = false;
        handle(e, err);
      }
    });
    function ask(words, noteText, okLabel, fn, danger = false) {
      text.textContent = words;
      note.textContent = noteText || '';
      note.hidden = !noteText;
      ok.textContent = okLabel;
      ok.className = 'btn ' + (danger ? 'btn-danger' : 'btn-primary');
      ok.disabled = false;
      show(err, '');
      then = fn;
      dlg.showModal();
    }
    return { ask, close: () => dlg.close() };
  }

  /* A page of views (name -> its section) shown one at a time:
   * showView(name, crumb) shows that one, says so in #crumbs (crumbs) and
   * in <body data-view>. */
  function viewSwitch(views) {
    return function showView(name, crumb) {
      for (const [k, v] of Object.entries(views)) v.hidden = k !== name;
      crumbs(crumb);
      document.body.dataset.view = name;
    };
  }

  /* Back from the cashier, the provider's signed notice may land a moment
   * after the order says paid: waitPaid(id) reads pathOf(id) once a second
   * (30 times at most, while the address still shows ?id=<id>) until the
   * record has left pending_payment, then calls paid(record, id);
   * #d-state-note says it is waiting, or that nothing came. One wait at a
   * time. */
  function payWaiter(pathOf, paid) {
    let waiting = null;
    return async function waitPaid(id) {
      if (waiting) return;
      waiting = id;
      $('d-state-note').textContent = '正在确认支付结果…';
      try {
        for (let i = 0; i < 30; i++) {
          await sleep(1000);
          if (new URLSearchParams(location.search).get('id') !== id) return;
          const r = await api('GET', pathOf(id)).catch(() => null);
          if (r && r.state !== 'pending_payment') {
            paid(r, id);
            return;
          }
        }
        $('d-state-note').textContent = '暂未收到支付结果，如已支付请稍后刷新页面。';
      } finally {
        waiting = null;
      }
    };
  }

  /* A console page's account (GET /api/v1/me) into the shell; null after
   * handle(e) when it could not be read. */
  async function loadMe(handle) {
    try {
      const me = await api('GET', '/api/v1/me');
      shell(me);
      return me;
    } catch (e) {
      handle(e);
      return null;
    }
  }

  /* Menu entries only some roles see carry data-role-only="<role>". */
  function roleMenu(me) {
    for (const el of document.querySelectorAll('[data-role-only]')) {
      el.hidden = !me || el.dataset.roleOnly !== me.role;
    }
  }

  /* The top bar of a console page for the account of GET /api/v1/me, the
   * role's menu entries, and 退出登录 (wired once; a page that must stop
   * something first adds its own click listener). */
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

  /* A console page without a session goes to the login page: false then. */
  function loggedIn() {
    if (token()) return true;
    location.replace('/');
    return false;
  }

  /* ---- raw bodies ---- */

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
    const res = await send(path, init);
    if (res.ok && asBlob) return res.blob();
    return replyOf(res);
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

  /* Offers bytes as a download named name (an <a download> clicked once). */
  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  /* ---- the long poll of a session (the QR box's, and the 签名 page's) ----
   *
   * Follows session s ({sid, poll_secret, expires}) with GET
   * /api/v1/sessions/<sid>?state=&wait= until it reaches a final state,
   * fails for good, or signal aborts; ui hears what it sees:
   *   ui.setState(state, text, reason)  each answer; text undefined: the
   *                                     box's own words for the state;
   *   ui.retrying(text)                 the poll waits to ask again;
   *   ui.approved(d)                    once, right after setState('approved'),
   *                                     with the server's final reply.
   * words, all optional (else the QR box's): wrongNumber; network and
   * unavailable, the last words when the retries run out; retry, code ->
   * the words while waiting; errors, code -> words (before ERROR_TEXT).
   *
   * A poll that could not be answered now (network, 503, 429) keeps the
   * state and waits — Retry-After if the server sent one, else 1, 2, 4, 8 s,
   * always within RETRY_MIN..MAX — until the session is surely over (expiry
   * + RETRY_GRACE). After a failed try the next one asks without waiting
   * (wait=0), so the words stop saying "retrying" as soon as the server
   * answers again; then the long poll resumes.
   */
  async function follow(s, signal, ui, words = {}) {
    const retryText = words.retry || RETRY_TEXT;
    async function retryWait(code, retryAfter, attempt) {
      if (Date.now() / 1000 > s.expires + RETRY_GRACE) return false;
      const backoff = Math.min(RETRY_MAX, 2 ** Math.min(attempt - 1, 4));
      const sec = Math.min(RETRY_MAX, Math.max(RETRY_MIN, retryAfter !== null ? retryAfter : backoff));
      ui.retrying(retryText[code] || retryText.store_unavailable);
      await sleep(sec * 1000, signal);
      return !signal.aborted;
    }

    let state = 'pending';
    let attempt = 0;
    while (!signal.aborted) {
      let d = null;
      let res;
      const wait = attempt > 0 ? 0 : POLL_WAIT;
      try {
        res = await fetch(`/api/v1/sessions/${encodeURIComponent(s.sid)}` +
          `?state=${encodeURIComponent(state)}&wait=${wait}`, {
          headers: { 'X-Poll-Secret': s.poll_secret, Accept: 'application/json' },
          cache: 'no-store',
          signal,
        });
        d = await res.json().catch(() => null);
      } catch (e) {
        if (signal.aborted) return;
        if (!(await retryWait('network', null, ++attempt))) {
          if (!signal.aborted) ui.setState('error', words.network || '网络连接中断，请刷新二维码');
          return;
        }
        continue;
      }
      if (signal.aborted) return;
      if (transient(res.status)) {
        const code = d && typeof d.code === 'string' ? d.code : 'store_unavailable';
        if (!(await retryWait(code, retryAfterOf(res), ++attempt))) {
          if (!signal.aborted) ui.setState('error', words.unavailable || '系统暂时不可用，请稍后刷新二维码');
          return;
        }
        continue;
      }
      attempt = 0;
      if (!res.ok || !d || typeof d.state !== 'string') {
        /* an expired session may already be gone from the store */
        if (res.status === 404 || res.status === 410) {
          ui.setState('expired');
        } else {
          const code = d && typeof d.code === 'string' ? d.code : 'http_' + res.status;
          ui.setState('error', (words.errors && words.errors[code]) || ERROR_TEXT[code]);
        }
        return;
      }
      state = d.state;
      if (state === 'rejected' && d.reason === 'wrong_number') {
        ui.setState(state, words.wrongNumber || WRONG_NUMBER_TEXT, 'wrong_number');
      } else {
        ui.setState(state);
      }
      if (FINAL_STATES.has(state)) {
        if (state === 'approved') ui.approved(d);
        return;
      }
    }
  }

  /* ---- the QR session box (shared by QR login, the bind dialog and the enroll QR) ----
   *
   * root: the box (class qr-box, maybe with its own hint); qrBox appends the
   * parts — the <img class="qr-img"> (alt: root's data-alt) and the
   * children marked data-role = match | state | countdown | overlay |
   * refresh.
   * open(): resolves to the server's session object (POST /api/v1/sessions).
   * onApproved(poll, box): called once when the phone approved; poll is the
   * server's final poll reply. Rejection and expiry only show in the box.
   * Returns {start, stop, reset, setState, root}. The box reflects its state
   * in root.dataset.state (and reason = wrong_number, retrying = yes while
   * the poll waits to ask again), the QR payload in img.dataset.payload.
   */
  function qrBox(root, open, onApproved) {
    root.append(
      h('div', { class: 'qr-frame' },
        h('img', { class: 'qr-img', 'data-testid': 'qr-img', alt: root.dataset.alt || '二维码', hidden: true }),
        h('div', { class: 'qr-overlay', 'data-role': 'overlay', hidden: true })),
      h('div', { class: 'match' },
        h('span', { class: 'match-label' }, '请在手机上选择下方数字'),
        h('span', { class: 'match-number', 'data-testid': 'qr-match', 'data-role': 'match' }, '--')),
      h('p', { class: 'qr-status' },
        h('span', { class: 'state', 'data-testid': 'qr-state', 'data-role': 'state' }),
        h('span', { class: 'countdown', 'data-testid': 'qr-countdown', 'data-role': 'countdown' })),
      h('button', { type: 'button', class: 'btn', 'data-testid': 'qr-refresh', 'data-role': 'refresh', hidden: true }, '刷新二维码'));
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
      follow(s, my.signal, {
        setState,
        retrying(text) {
          root.dataset.retrying = 'yes';
          stateEl.textContent = text;
        },
        approved: (d) => onApproved(d, box),
      });
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
    if (!loggedIn()) return;
    let me = null;
    let rows = [];

    const pageErr = $('page-error');
    const pageNote = $('page-notice');

    /* Any 401 from an authenticated call ends the page. */
    const { handle } = pageErrors({}, () => endNote(me));

    function renderMe() {
      shell(me);
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
      const status = c.status && c.status !== 'valid'
        ? h('span', { class: 'badge badge-warn' }, CERT_STATUS_TEXT[c.status] || '不可用') : null;
      return h('div', { class: 'cert' },
        kv('CA服务商：', c.issuer, 'cert-issuer'),
        kv('证书序列号：', certId(c), 'cert-serial', 'mono'),
        kv('到期时间：', fmtTime(c.not_after), 'cert-expiry'),
        h('div', { class: 'kv' }, h('span', { class: 'k' }, '算法：'),
          h('span', { class: 'badge badge-soft' }, (c.alg || '').toUpperCase()), status));
    }

    function renderTable() {
      const body = $('bindings-body');
      body.replaceChildren();
      if (rows.length === 0) {
        body.append(emptyRow(5, '暂无数据'));
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

    refresh();
  }

  /* ---- shared by CA证书申领 (/apply.js) and 审核 (/review.js) ---- */

  /* An application's states, in words. */
  const APP_STATE_TEXT = {
    draft: '草稿',
    pending_payment: '待支付',
    pending_review: '待审核',
    approved_pending_issue: '审核通过，待制证',
    issued: '审核通过，已发证',
    rejected: '审核未通过',
    withdrawn: '已撤销',
  };
  const ORG_TYPE_TEXT = { legal_person: '法人单位（含企业、机构、农专社）', individual: '个体工商户', other: '其他' };
  /* the key algorithm an application asks for */
  const KEY_ALG_TEXT = { sm2: 'SM2（国密）', p256: 'P-256' };
  /* an application's scans: its field (an upload id) and the words */
  const SCANS = [
    ['licence', '营业执照或登记证书或法人证书扫描件'],
    ['id_scan', '申领人身份证扫描件'],
    ['auth_letter', '法人委托授权书'],
  ];
  /* GB/T 2260: the 34 provincial divisions (登记机关所在地, to the province). */
  const REGIONS = [
    ['110000', '北京市'], ['120000', '天津市'], ['130000', '河北省'], ['140000', '山西省'],
    ['150000', '内蒙古自治区'], ['210000', '辽宁省'], ['220000', '吉林省'], ['230000', '黑龙江省'],
    ['310000', '上海市'], ['320000', '江苏省'], ['330000', '浙江省'], ['340000', '安徽省'],
    ['350000', '福建省'], ['360000', '江西省'], ['370000', '山东省'], ['410000', '河南省'],
    ['420000', '湖北省'], ['430000', '湖南省'], ['440000', '广东省'], ['450000', '广西壮族自治区'],
    ['460000', '海南省'], ['500000', '重庆市'], ['510000', '四川省'], ['520000', '贵州省'],
    ['530000', '云南省'], ['540000', '西藏自治区'], ['610000', '陕西省'], ['620000', '甘肃省'],
    ['630000', '青海省'], ['640000', '宁夏回族自治区'], ['650000', '新疆维吾尔自治区'],
    ['710000', '台湾省'], ['810000', '香港特别行政区'], ['820000', '澳门特别行政区'],
  ];
  const REGION_TEXT = Object.freeze(Object.fromEntries(REGIONS));
  /* The CA providers this console offers (the server's --ca-provider ids;
   * the API names none, so the pages know the default one by name and
   * show others by their id). */
  const PROVIDERS = Object.freeze([{ id: 'mcert', name: '本地移动证书CA' }]);

  function providerName(id) {
    const p = PROVIDERS.find((x) => x.id === id);
    return p ? p.name : id || '—';
  }

  function yuan(fen) {
    return (Number(fen) / 100).toFixed(2);
  }

  function feeText(fen) {
    return Number(fen) > 0 ? `${yuan(fen)} 元` : '免费';
  }

  /* ---- field checks the server makes again (CA证书申领's form, 发票申请) ---- */

  const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

  /* 统一社会信用代码, GB 32100-2015: 18 characters of its alphabet, the 18th
   * = 31 − (Σ v·w mod 31). Also a 企业税号 (发票). */
  function usccOk(s) {
    if (!/^[0-9A-HJ-NPQRTUW-Y]{18}$/.test(s)) return false;
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += USCC_CHARS.indexOf(s[i]) * USCC_W[i];
    return USCC_CHARS[(31 - (sum % 31)) % 31] === s[17];
  }

  const MOBILE_RE = /^1[3-9]\d{9}$/;

  /* local@domain (≤ 128 bytes): local 1..64 of [A-Za-z0-9._%+-], no dot at
   * either end nor two in a row; at least two labels of [A-Za-z0-9-] not
   * starting or ending with '-', the last 2..63 letters. */
  function emailOk(s) {
    if (s.length > 128) return false;
    const at = s.lastIndexOf('@');
    if (at < 1) return false;
    const local = s.slice(0, at);
    const labels = s.slice(at + 1).split('.');
    if (local.length > 64 || !/^[A-Za-z0-9._%+-]+$/.test(local) || /^\.|\.$|\.\./.test(local)) return false;
    if (labels.length < 2) return false;
    if (!labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/.test(l))) return false;
    return /^[A-Za-z]{2,63}$/.test(labels[labels.length - 1]);
  }

  const utf8 = new TextEncoder();
  /* 1..max bytes of UTF-8, no control characters, not only spaces. */
  function textOk(s, max) {
    const n = utf8.encode(s).length;
    return n >= 1 && n <= max && !/[\u0000-\u001f\u007f-\u009f]/.test(s) && s.trim() !== '';
  }

  /* Whether an application's fee is paid (the store says true, '1' or 1). */
  function isPaid(a) {
    return a.paid === true || a.paid === '1' || a.paid === 1;
  }

  /* Whether a fee was paid, as the order o says. */
  function payWords(paid, o) {
    if (paid) return '（已支付）';
    if (o && o.state === 'refunded') return '（已退款）';
    if (o && o.state === 'refund_pending') return '（退款中）';
    return '（未支付）';
  }

  function appStateBadge(state) {
    return h('span', { class: 'state-dot', dataset: { state }, 'data-testid': 'row-state' }, APP_STATE_TEXT[state] || state);
  }

  /* The steps bar of an application: 填写资料 → 平台审核 → 收取CA. */
  function appSteps(el, state) {
    const at = { draft: 0, pending_payment: 0, rejected: 1, pending_review: 1, approved_pending_issue: 2, issued: 3 }[state] ?? 0;
    el.replaceChildren();
    el.dataset.state = state || 'draft';
    ['填写资料', '平台审核', '收取CA'].forEach((label, i) => {
      let cls = 'step';
      const failed = state === 'rejected' && i === 1;
      if (state === 'withdrawn') cls += i === 0 ? ' done' : '';
      else if (i < at) cls += ' done';
      else if (i === at) cls += ' current';
      if (failed) cls += ' failed';
      el.append(h('li', { class: cls }, h('span', { class: 'step-no' }, i < at && !failed ? '✓' : String(i + 1)),
        h('span', { class: 'step-label' }, label)));
    });
  }

  /* A titled section of label / value pairs ([label, value, testid, class]);
   * an empty value shows as —. */
  function kvSection(title, pairs) {
    return h('section', { class: 'd-section' }, h('h2', { class: 'section-title' }, title),
      h('div', { class: 'd-grid' }, ...pairs.map(([k, v, testid, cls]) => kv(k, v, testid, cls))));
  }

  /* The label / value pairs (for kvSection) both pages show of application
   * a, their testids p-<field>: order, the first of 申领信息; org, 基本信息;
   * holder, 申领人信息. */
  function appPairs(a, p) {
    return {
      order: [
        ['订单编号：', a.id, `${p}-id`, 'mono'],
        ['CA服务商：', providerName(a.provider), `${p}-provider`],
        ['申领数量：', String(a.quantity ?? ''), `${p}-quantity`],
        ['密钥算法：', KEY_ALG_TEXT[a.alg] || a.alg, `${p}-alg`],
      ],
      org: [
        ['申领机构名称：', a.org_name, `${p}-org_name`],
        ['机构类型：', ORG_TYPE_TEXT[a.org_type] || a.org_type, `${p}-org_type`],
        ['统一社会信用代码：', a.uscc, `${p}-uscc`, 'mono'],
        ['登记机关所在地：', REGION_TEXT[a.region] || a.region, `${p}-region`],
      ],
      holder: [
        ['申领人：', a.holder_name, `${p}-holder_name`],
        ['申领人身份证号码：', a.holder_id, `${p}-holder_id`, 'mono'],
        ['申领人手机号码：', a.mobile, `${p}-mobile`, 'mono'],
        ['申领人联系邮箱：', a.email, `${p}-email`],
      ],
    };
  }

  /* One stored scan (GET /api/v1/uploads/<id> with the token): an image
   * inline (a data: URI, click to enlarge), a PDF as 下载PDF; data-kind says
   * which (image | pdf | error, '' when none was uploaded). */
  async function scanCell(id, label) {
    const cell = h('div', { class: 'scan', 'data-testid': 'scan', dataset: { id: id || '', kind: '' } },
      h('span', { class: 'scan-label muted small' }, label));
    if (!id) {
      cell.append(h('span', { class: 'muted' }, '未上传'));
      return cell;
    }
    try {
      const blob = await apiRaw('GET', `/api/v1/uploads/${encodeURIComponent(id)}`, { asBlob: true });
      if (/^image\/(jpeg|png)$/.test(blob.type)) {
        cell.dataset.kind = 'image';
        const img = h('img', { class: 'scan-img', src: await dataUrl(blob), alt: label, 'data-testid': 'scan-img', title: '点击放大或缩小' });
        img.addEventListener('click', () => cell.classList.toggle('big'));
        cell.append(img);
      } else {
        cell.dataset.kind = 'pdf';
        const b = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'scan-pdf' }, '下载PDF');
        b.addEventListener('click', () => saveBlob(blob, `${label}.pdf`));
        cell.append(h('span', { class: 'upload-doc' }, 'PDF'), b);
      }
    } catch (e) {
      cell.dataset.kind = 'error';
      cell.append(h('span', { class: 'muted' }, '无法加载'));
    }
    return cell;
  }

  /* GET one application for a detail view whose elements are named
   * <p>-error and <p>-fields (apply.js: d, review.js: r): resolves the
   * application, or null after handle(e, #<p>-error) has shown the failure
   * and the old fields are cleared. */
  async function appFetch(id, p, handle) {
    show($(`${p}-error`), '');
    try {
      return await api('GET', `/api/v1/applications/${encodeURIComponent(id)}`);
    } catch (e) {
      handle(e, $(`${p}-error`));
      $(`${p}-fields`).replaceChildren();
      return null;
    }
  }

  /* The head of application a's detail, the same on both pages: view's
   * data-id / data-state, the steps bar (#<p>-steps), the state text
   * (#<p>-state) and a rejected one's 不通过理由 (#<p>-reason). */
  function appHead(view, a, p) {
    view.dataset.id = a.id;
    view.dataset.state = a.state;
    appSteps($(`${p}-steps`), a.state);
    const st = $(`${p}-state`);
    st.dataset.state = a.state;
    st.textContent = APP_STATE_TEXT[a.state] || a.state;
    const reason = $(`${p}-reason`);
    reason.hidden = !(a.state === 'rejected' && a.reason);
    reason.querySelector('[data-role="reason"]').textContent = a.reason || '';
  }

  /* The 扫描件 section of application a, appended to fields; the scans are
   * fetched at once (one round trip's wait, not one per scan). */
  async function appScans(fields, a) {
    const scans = h('div', { class: 'scans' });
    fields.append(h('section', { class: 'd-section' }, h('h2', { class: 'section-title' }, '扫描件'), scans));
    scans.append(...await Promise.all(SCANS.map(([k, label]) => scanCell(a[k], label))));
  }

  /* One page of a list of applications into its table (the 申领 list, the
   * review queue; both have six columns): GET path?state=&q=&page=, row(a)
   * for each, 暂无数据 / 加载失败, and the pager (#pager, #page-prev,
   * #page-next, #page-no). A failure goes to handle(e). */
  async function appListPage({ path, state, q, page, body, row, handle }) {
    const qs = new URLSearchParams();
    if (state) qs.set('state', state);
    if (q) qs.set('q', q);
    if (page > 1) qs.set('page', String(page));
    let d;
    try {
      d = await api('GET', path + (qs.toString() ? '?' + qs : ''));
    } catch (e) {
      body.replaceChildren(emptyRow(6, '加载失败'));
      handle(e);
      return;
    }
    show($('page-error'), '');
    fillRows(body, Array.isArray(d.applications) ? d.applications : [], row);
    const per = Number(d.per_page) || 20;
    const pages = Math.max(1, Math.ceil((Number(d.total) || 0) / per));
    const more = page < pages;
    $('pager').hidden = page === 1 && !more;
    $('page-prev').disabled = page <= 1;
    $('page-next').disabled = !more;
    $('page-no').textContent = `第 ${page} / ${pages} 页，共 ${Number(d.total) || 0} 条`;
  }

  /* The pager under a list (into the empty #pager): 上一页 / 下一页 and
   * #page-no. urlOf(), the list's address with its filter; pageOf(), the
   * page shown; go(url), the page's history navigation. */
  function wirePager(urlOf, pageOf, go) {
    $('pager').replaceChildren(
      h('button', { type: 'button', class: 'btn btn-small', id: 'page-prev', 'data-testid': 'page-prev' }, '上一页'),
      h('span', { class: 'muted', id: 'page-no', 'data-testid': 'page-no' }),
      h('button', { type: 'button', class: 'btn btn-small', id: 'page-next', 'data-testid': 'page-next' }, '下一页'));
    $('page-prev').addEventListener('click', () => {
      const u = new URL(urlOf(), location.origin);
      if (pageOf() > 2) u.searchParams.set('page', String(pageOf() - 1));
      go(u.pathname + u.search);
    });
    $('page-next').addEventListener('click', () => {
      const u = new URL(urlOf(), location.origin);
      u.searchParams.set('page', String(pageOf() + 1));
      go(u.pathname + u.search);
    });
  }

  /* A page with views chosen by its address: nav(url, replace) changes the
   * address (so 返回 and the back button work) and calls route(); the back
   * and forward buttons clear #page-notice and call route() too. */
  function historyNav(route) {
    window.addEventListener('popstate', () => {
      show($('page-notice'), '');
      route();
    });
    return function nav(url, replace = false) {
      if (replace) history.replaceState(null, '', url);
      else history.pushState(null, '', url);
      route();
    };
  }

  /* The helpers other pages' scripts use (/apply.js, /review.js, /sign.js,
   * /cashier.js, /renew.js, /invoice.js, loaded after this file); those pages
   * initialise themselves. */
  window.mcert = Object.freeze({
    ApiError, api, h, $, pad2, fmtTime, fmtSize, errorText, show, showError, token,
    sessionEnded, sleep, retryAfterOf, transient, certId,
    qrBox, follow, shell, roleMenu, loggedIn, pageErrors, endNote, apiRaw, dataUrl, saveBlob, ROLE_TEXT,
    ERROR_TEXT, RETRY_TEXT, CERT_STATUS_TEXT, SESSION_ENDED,
    POLL_WAIT, RETRY_MIN, RETRY_MAX, RETRY_GRACE,
    APP_STATE_TEXT, ORG_TYPE_TEXT, KEY_ALG_TEXT, SCANS, REGIONS, REGION_TEXT, PROVIDERS,
    providerName, yuan, feeText, isPaid, usccOk, emailOk, textOk, MOBILE_RE, markMenu, payWords, appStateBadge, appSteps, appPairs, kvSection, scanCell,
    appFetch, appHead, appScans,
    appListPage, wirePager, historyNav,
    kv, emptyRow, fillRows, opCell, listFilter, confirmer, viewSwitch, crumbs, loadMe, payWaiter,
  });

  function init() {
    const page = document.body.dataset.page;
    if (page === 'login' || MENU.some((m) => m.page === page)) mountShell(page);
    mountTables();
    mountDialogs();
    if (page === 'login') initLogin();
    else if (page === 'bindings') initBindings();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
