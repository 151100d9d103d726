/*
 * renew.js — the behaviour of CA续费与延期 (renew.html), two views chosen by
 * the address (history.pushState, so 返回 and the back button work):
 *
 *   /renew            the renewal records: GET /api/v1/renewals?provider=
 *                     &lock= (CA服务商, CA锁ID = a serial prefix; 重置 /
 *                     搜索), newest first; per row 去支付 (待支付), 去延期 /
 *                     查看详情 / 申请退款 (待延期), 查看详情, and 申请发票
 *                     where the order is paid. 新增CA续费 ▾:
 *                       给已绑定CA续费: GET /api/v1/renewals/candidates?bound=1
 *                         (绑定信息 / CA证书信息 / 证书有效截止时间 / 去续费),
 *                         续费年限 1-3年 and the fee;
 *                       给未绑定CA续费: 证书序列号/CA锁ID → GET …?bound=0&serial=
 *                         → 去续费.
 *                     去续费 = POST /api/v1/renewals {fp|serial, years}, then
 *                     the order's cashier (/pay/sandbox?order=…), which comes
 *                     back to /renew?id=<rid>.
 *   /renew?id=<rid>   续费详情: CA锁ID and state, CA证书信息, 续费信息 (续费时间,
 *                     续费费用, 支付时间, 支付方式, 支付状态, 延期操作), 返回 /
 *                     去延期 (and 去支付, 申请退款, 申请发票 where they apply).
 *
 * 去延期 (list or detail) asks 确定要证书延期吗？ — with mcert's guarantee
 * where the manual warns: the serial changes, the old key stays on the phone,
 * bids encrypted to it still open, signatures still verify; whether the phone
 * keeps its key or makes a new one is the phone's choice, explained here —
 * then opens POST /api/v1/renewals/<rid>/renew-session?qr=none, shows its QR
 * (the image from …/sessions/<sid>/qr.png) and match number, and follows it
 * live (app.js's qrBox / follow); on approval the dialog shows 已延期 with the
 * new serial and expiry, and the view under it is read again. A row 退款中
 * is read again until the provider's notice makes it 已退款.
 *
 * Who: the holder or an admin of its organisation acts; an operator only
 * reads (no 新增, no actions). Failures in words (429 with the wait, 503,
 * a session over → the login page), as on the other pages. Server text
 * reaches the page through textContent only; states are in data- attributes
 * (data-state, data-id) for people and tests.
 *
 * Non-goals: the U-Key (介质版) flow through the CA's own site; paging (the
 * server returns at most 200 records).
 */
'use strict';

(function () {
  const M = window.mcert;
  const INV = window.mcertInvoice;
  const { ApiError, api, h, $, fmtTime, show, yuan, qrBox, kvSection, kv } = M;

  const STATE_TEXT = {
    pending_payment: '待支付',
    pending_extension: '待延期',
    extended: '已延期',
    refunding: '退款中',
    refunded: '已退款',
    expired: '已失效',
  };
  /* the way it was paid: a method, or the provider (sandbox) */
  const PAY_METHOD_TEXT = { alipay: '支付宝', wechat: '微信支付', unionpay: '银联', sandbox: '沙箱支付' };
  const YEAR_FEE = 20000; /* fen a year: the fee table's 200元/个·年 (the server computes it again) */
  const YEARS = [1, 2, 3];
  const REFUND_POLL_MS = 1000;
  const REFUND_POLL_MAX = 60;

  const ERROR_TEXT = {
    not_found: '未找到该CA证书或续费记录：请核对证书序列号，证书须属于本机构',
    not_permitted: '无权操作该CA证书的续费',
    cert_revoked: '该CA证书已被吊销，不能续费',
    cert_superseded: '该CA证书已延期更新，请为新证书续费',
    cert_expired: '该CA证书已过期超过30天，不能续费，请重新申领',
    renewal_open: '该CA证书已续费但尚未延期，请在续费记录中操作证书延期',
    bad_transition: '续费记录的状态已变化，请刷新页面后重试',
    invoice_open: '该订单已申请或已开具发票，请先撤销或作废发票后再申请退款',
    order_expired: '支付订单已过期，请重新续费',
    bad_field: '填写的信息不符合要求，请检查后重试',
  };

  const { handle } = M.pageErrors(ERROR_TEXT);

  let me = null;
  const pageNote = $('page-notice');
  const views = { list: $('view-list'), detail: $('view-detail') };
  const nav = M.historyNav(route);

  function note(text) {
    show(pageNote, text);
  }

  /* The state as shown: a pending_payment one past its expiry is 已失效. */
  function stateOf(r) {
    if (r.state === 'pending_payment' && r.expires && (r.now || Date.now() / 1000) > r.expires) return 'expired';
    return r.state;
  }

  function stateDot(st, testid = 'row-state') {
    return h('span', { class: 'state-dot', dataset: { state: st }, 'data-testid': testid }, STATE_TEXT[st] || st);
  }

  /* The order is paid (and not being refunded): an invoice may be asked. */
  function invoiceable(st) {
    return st === 'pending_extension' || st === 'extended';
  }

  /* A renewal names its order by id (order); GET /api/v1/renewals/<rid>
   * adds the order itself (order_detail). */
  function orderId(r) {
    return r.order && typeof r.order === 'object' ? r.order.order : r.order || '';
  }

  function orderOf(r) {
    if (r.order_detail && typeof r.order_detail === 'object') return r.order_detail;
    return r.order && typeof r.order === 'object' ? r.order : null;
  }

  const mayAct = () => me && me.role !== 'operator';

  const showView = M.viewSwitch(views);

  /* ---- the list ---- */

  let invoices = new Map(); /* order id -> its invoice */
  let refundTimer = null;
  let refundTries = 0;

  function listUrl() {
    const qs = new URLSearchParams();
    if ($('provider-filter').value) qs.set('provider', $('provider-filter').value);
    const lock = $('lock').value.trim();
    if (lock) qs.set('lock', lock);
    return '/renew' + (qs.toString() ? '?' + qs : '');
  }

  async function showList(quiet) {
    if (!quiet) showView('list');
    const p = new URLSearchParams(location.search);
    $('provider-filter').value = p.get('provider') || '';
    $('lock').value = p.get('lock') || '';
    const qs = new URLSearchParams();
    if (p.get('provider')) qs.set('provider', p.get('provider'));
    /* CA锁ID: a prefix of the serial, as the certificate shows it (upper hex) */
    const lock = (p.get('lock') || '').replace(/[\s:]/g, '').toUpperCase();
    if (lock) qs.set('lock', lock);
    const body = $('renew-body');
    let d;
    try {
      const [list, inv] = await Promise.all([
        api('GET', '/api/v1/renewals' + (qs.toString() ? '?' + qs : '')),
        me.role === 'operator' ? Promise.resolve(null) : INV.byOrder().catch(() => null),
      ]);
      d = list;
      if (inv) invoices = inv;
    } catch (e) {
      if (!quiet) body.replaceChildren(M.emptyRow(6, '加载失败'));
      handle(e);
      return;
    }
    show($('page-error'), '');
    const rows = Array.isArray(d.renewals) ? d.renewals : [];
    M.fillRows(body, rows, (r) => listRow({ ...r, now: r.now || d.now }));
    watchRefunds(rows.some((r) => r.state === 'refunding'));
  }

  /* While a row is 退款中, read the list again until the notice lands. */
  function watchRefunds(any) {
    clearTimeout(refundTimer);
    refundTimer = null;
    if (!any) {
      refundTries = 0;
      return;
    }
    if (++refundTries > REFUND_POLL_MAX) return;
    refundTimer = setTimeout(() => {
      if (document.body.dataset.view === 'list') showList(true);
    }, REFUND_POLL_MS);
  }

  /* The goods line the invoice will carry (the server's: a year the unit). */
  function goods(r) {
    const qty = Math.max(1, Number(r.years) || 1);
    return [{ name: '移动证书续费', spec: '移动版', unit: '年', qty, price: Math.round(r.fee / qty), amount: r.fee }];
  }

  function openInvoice(r) {
    INV.open({
      order: orderId(r), amount: r.fee, goods: goods(r),
      onChange: () => (document.body.dataset.view === 'list' ? showList(true) : showDetail(r.id, true)),
    });
  }

  function listRow(r) {
    const st = stateOf(r);
    const { td: op, link } = M.opCell();
    const detail = () => nav(`/renew?id=${encodeURIComponent(r.id)}`);
    if (mayAct() && st === 'pending_payment') link('去支付', 'row-pay', () => pay(r, $('page-error')));
    if (mayAct() && st === 'pending_extension') link('去延期', 'row-extend', () => extend(r));
    link('查看详情', 'row-view', detail);
    if (mayAct() && st === 'pending_extension') link('申请退款', 'row-refund', () => refund(r), 'link-danger');
    const inv = invoices.get(orderId(r));
    if (mayAct() && invoiceable(st)) {
      link(inv ? '查看发票' : '申请发票', 'row-invoice', () => openInvoice(r));
    }
    if (inv) op.append(h('div', { class: 'op-line small' }, h('span', { class: 'muted' }, '发票：'), INV.badge(inv)));
    const serial = st === 'extended' && r.new_serial ? r.new_serial : r.serial;
    return h('tr', { 'data-testid': 'renew-row', dataset: { id: r.id, state: st, order: orderId(r) } },
      h('td', { 'data-label': '支付信息', class: 'app-info' },
        kv('续费单号：', r.id, 'row-id', 'mono'),
        kv('支付金额（元）：', yuan(r.fee), 'row-fee'),
        kv('支付时间：', fmtTime(r.paid_at), 'row-paid')),
      h('td', { 'data-label': 'CA证书信息', class: 'app-info' },
        kv('CA服务商：', r.provider_name || M.providerName(r.provider), 'row-provider'),
        kv('CA锁ID：', r.lock_id || r.serial, 'row-lock', 'mono'),
        kv('证书所属单位：', r.org_name, 'row-org'),
        kv('证书序列号：', serial, 'row-serial', 'mono'),
        kv('证书名称：', r.cn, 'row-cn')),
      h('td', { 'data-label': '绑定信息', class: 'app-info' },
        kv('姓名：', r.account ? r.account_name : '', 'row-name'),
        kv('账户：', r.account, 'row-account', 'mono')),
      h('td', { 'data-label': '延期信息', class: 'app-info' },
        kv('延期操作时间：', fmtTime(r.extended_at), 'row-extended'),
        kv('证书到期时间：', fmtTime(r.not_after), 'row-not-after')),
      h('td', { 'data-label': '状态' }, stateDot(st)),
      op);
  }

  M.listFilter($('list-filter'), listUrl, '/renew', nav);

  /* ---- 新增CA续费 ▾ ---- */

  const newBtn = $('renew-new');
  const newMenu = $('renew-new-menu');
  function menuOpen(on) {
    newMenu.hidden = !on;
    newBtn.setAttribute('aria-expanded', on ? 'true' : 'false');
  }
  newBtn.addEventListener('click', (ev) => {
    ev.stopPropagation();
    menuOpen(newMenu.hidden);
  });
  document.addEventListener('click', (ev) => {
    if (!newMenu.hidden && !$('new-menu').contains(ev.target)) menuOpen(false);
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') menuOpen(false);
  });

  /* The 续费年限 choice (1-3年) and the fee beside it, into the dialog's
   * <div class="years-line" data-years="<k>"> (testids <k>-years, <k>-fee). */
  function yearsPicker(k) {
    const box = h('div', { class: 'radio-row years', 'data-testid': `${k}-years`, role: 'radiogroup', 'aria-label': '续费年限' },
      ...YEARS.map((y) => h('label', { class: 'radio' },
        h('input', { type: 'radio', name: `${k}-years`, value: String(y), checked: y === 1, 'data-testid': `years-${y}` }), ` ${y}年`)));
    const feeEl = h('strong', { 'data-role': 'fee', 'data-testid': `${k}-fee` });
    document.querySelector(`[data-years="${k}"]`).replaceChildren(
      h('span', { class: 'filter-label' }, h('span', { class: 'req' }, '*'), '续费年限：'), box,
      h('span', { class: 'fee-inline' }, h('span', { class: 'muted' }, '续费费用：'), feeEl));
    const get = () => Number((box.querySelector('input:checked') || {}).value || 1);
    const upd = () => {
      feeEl.textContent = `${yuan(YEAR_FEE * get())} 元`;
      feeEl.dataset.fen = String(YEAR_FEE * get());
    };
    box.addEventListener('change', upd);
    upd();
    return { get, reset() { box.querySelector('input[value="1"]').checked = true; upd(); } };
  }

  const boundYears = yearsPicker('bound');
  const unboundYears = yearsPicker('unbound');

  /* POST /api/v1/renewals, then the order's cashier (it comes back here). */
  async function startRenewal(body, errEl, btn) {
    show(errEl, '');
    if (btn) btn.disabled = true;
    try {
      const d = await api('POST', '/api/v1/renewals', body);
      const o = d.order || {};
      const oid = o.order || (d.renewal && d.renewal.order);
      const url = o.cashier || `/pay/sandbox?order=${encodeURIComponent(oid)}`;
      const u = new URL(url, location.origin);
      if (u.origin !== location.origin) throw new ApiError(500, 'internal', 'bad cashier');
      location.assign(u.href);
    } catch (e) {
      if (btn) btn.disabled = false;
      handle(e, errEl);
    }
  }

  function certLines(c) {
    return [
      kv('CA服务商：', c.provider_name || M.providerName(c.provider), 'c-provider'),
      kv('CA锁ID：', c.lock_id || c.serial, 'c-lock', 'mono'),
      kv('证书名称：', c.cn, 'c-cn'),
    ];
  }

  $('renew-bound').addEventListener('click', async () => {
    menuOpen(false);
    const dlg = $('bound-dialog');
    const body = $('bound-body');
    show($('bound-error'), '');
    boundYears.reset();
    body.replaceChildren(M.emptyRow(4, '加载中…'));
    dlg.showModal();
    let d;
    try {
      d = await api('GET', '/api/v1/renewals/candidates?bound=1');
    } catch (e) {
      body.replaceChildren(M.emptyRow(4, '加载失败'));
      handle(e, $('bound-error'));
      return;
    }
    M.fillRows(body, Array.isArray(d.certs) ? d.certs : [], (c) => {
      const go = h('button', { type: 'button', class: 'link', 'data-testid': 'cand-renew' }, '去续费');
      go.addEventListener('click', () => startRenewal({ fp: c.fp, years: boundYears.get() }, $('bound-error'), go));
      return h('tr', { 'data-testid': 'cand-row', dataset: { fp: c.fp, serial: c.serial } },
        h('td', { 'data-label': '绑定信息', class: 'app-info' }, kv('姓名：', c.account ? c.account_name : '', 'c-name'), kv('账户：', c.account, 'c-account', 'mono')),
        h('td', { 'data-label': 'CA证书信息', class: 'app-info' }, ...certLines(c)),
        h('td', { 'data-label': '截止时间', 'data-testid': 'c-not-after' }, fmtTime(c.not_after)),
        h('td', { class: 'col-op', 'data-label': '操作' }, go));
    }, 4, '暂无可续费的CA证书');
  });

  let unboundCert = null;
  $('renew-unbound').addEventListener('click', () => {
    menuOpen(false);
    unboundCert = null;
    $('unbound-serial').value = '';
    $('unbound-result').hidden = true;
    show($('unbound-none'), '');
    show($('unbound-error'), '');
    $('unbound-go').disabled = true;
    unboundYears.reset();
    $('unbound-dialog').showModal();
    $('unbound-serial').focus();
  });

  $('unbound-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    unboundCert = null;
    $('unbound-result').hidden = true;
    $('unbound-go').disabled = true;
    show($('unbound-none'), '');
    show($('unbound-error'), '');
    const serial = $('unbound-serial').value.trim().replace(/[\s:]/g, '').toUpperCase();
    if (!/^[0-9A-F]{1,40}$/.test(serial)) {
      show($('unbound-error'), '请输入证书序列号：十六进制数字（0-9、A-F），最多40位');
      return;
    }
    $('unbound-find').disabled = true;
    let d;
    try {
      d = await api('GET', `/api/v1/renewals/candidates?bound=0&serial=${encodeURIComponent(serial)}`);
    } catch (e) {
      handle(e, $('unbound-error'));
      return;
    } finally {
      $('unbound-find').disabled = false;
    }
    const c = Array.isArray(d.certs) ? d.certs[0] : null;
    if (!c) {
      show($('unbound-none'), '未找到可续费的证书：请核对证书序列号；证书须属于本机构、未绑定账户、未吊销，且已续费未延期的证书请到续费记录里操作证书延期。');
      return;
    }
    unboundCert = c;
    $('unbound-cert').replaceChildren(...certLines(c), kv('证书所属单位：', c.org_name, 'c-org'),
      kv('证书有效截止时间：', fmtTime(c.not_after), 'c-not-after'));
    $('unbound-result').hidden = false;
    $('unbound-go').disabled = false;
  });

  $('unbound-go').addEventListener('click', () => {
    if (!unboundCert) return;
    startRenewal({ fp: unboundCert.fp, years: unboundYears.get() }, $('unbound-error'), $('unbound-go'));
  });

  /* ---- 去支付, 申请退款 ---- */

  async function pay(r, where) {
    try {
      const d = await api('GET', `/api/v1/renewals/${encodeURIComponent(r.id)}`);
      const o = orderOf(d) || {};
      const u = new URL(o.cashier || `/pay/sandbox?order=${encodeURIComponent(orderId(d) || orderId(r))}`, location.origin);
      if (u.origin !== location.origin) throw new ApiError(500, 'internal', 'bad cashier');
      location.assign(u.href);
    } catch (e) {
      handle(e, where);
    }
  }

  const confirm = M.confirmer(handle);

  function refund(r) {
    confirm.ask('确定申请退款吗？', `退款后该续费记录失效，证书不会延期；已支付的 ${yuan(r.fee)} 元将原路退回，一般在3~15个工作日内到账。`,
      '申请退款', async () => {
        await api('POST', `/api/v1/renewals/${encodeURIComponent(r.id)}/refund`);
        confirm.close();
        note(`已申请退款（续费单号 ${r.id}），费用将原路退回`);
        refundTries = 0;
        await reload();
      }, true);
  }

  /* ---- 去延期 ---- */

  const extDlg = $('extend-dialog');
  const qrDlg = $('renew-qr-dialog');
  let extending = null;

  function ymd(unix) {
    return unix ? fmtTime(unix).slice(0, 10) : '—';
  }

  function extend(r) {
    extending = r;
    const to = r.not_after ? r.not_after + 365 * 86400 * r.years : 0;
    $('extend-text').textContent = `证书 ${r.serial}（${r.cn || ''}）将延期${r.years}年，证书到期时间由 ${ymd(r.not_after)} 延长至 ${ymd(to)}。` +
      '确定后请使用移动证书App扫码，在手机上确认延期。';
    extDlg.showModal();
  }

  const renewBox = qrBox($('renew-qr'),
    () => api('POST', `/api/v1/renewals/${encodeURIComponent(extending.id)}/renew-session?qr=none`),
    async (d, b) => {
      b.setState('approved', '已延期');
      const rid = extending.id;
      try {
        const r = await api('GET', `/api/v1/renewals/${encodeURIComponent(rid)}`);
        $('renew-done-fields').replaceChildren(
          kv('新证书序列号：', r.new_serial, 'done-serial', 'mono'),
          kv('证书到期时间：', fmtTime(r.new_not_after || r.not_after), 'done-not-after'),
          kv('密钥：', r.rekey ? '已更换新密钥（由手机生成）' : '沿用原密钥', 'done-key'),
          kv('原证书：', `${r.serial}（原密钥保留在手机中）`, 'done-old', 'mono'));
        $('renew-done').hidden = false;
        $('renew-done').dataset.serial = r.new_serial || '';
      } catch (e) {
        handle(e, $('page-error'));
      }
      note(`证书已延期（续费单号 ${rid}）`);
      reload();
    });

  $('extend-ok').addEventListener('click', () => {
    extDlg.close();
    $('renew-done').hidden = true;
    $('renew-qr').hidden = false;
    qrDlg.showModal();
    renewBox.start();
  });
  qrDlg.addEventListener('close', () => renewBox.stop());

  /* ---- the detail ---- */

  let detail = null;

  async function showDetail(id, quiet) {
    if (!quiet) showView('detail', '续费详情');
    show($('d-error'), '');
    let r;
    try {
      r = await api('GET', `/api/v1/renewals/${encodeURIComponent(id)}`);
    } catch (e) {
      handle(e, $('d-error'));
      $('d-fields').replaceChildren();
      return;
    }
    detail = r;
    const st = stateOf(r);
    const view = views.detail;
    view.dataset.id = r.id;
    view.dataset.state = st;
    $('d-lock').textContent = r.lock_id || r.serial;
    const dot = $('d-state');
    dot.dataset.state = st;
    dot.textContent = STATE_TEXT[st] || st;
    const banner = {
      pending_extension: '请尽快完成延期，证书过期会影响证书使用',
      pending_payment: '请尽快完成支付，支付后即可操作证书延期',
      extended: '证书已延期，新证书已下发至移动证书App，原证书的密钥仍保留在手机中',
    }[st];
    $('d-banner').hidden = !banner;
    $('d-banner').className = 'info-box ' + (st === 'extended' ? 'info-done' : 'info-warn');
    $('d-banner').querySelector('[data-role="text"]').textContent = banner || '';
    const o = orderOf(r);
    $('d-state-note').textContent = {
      refunding: `已申请退款，${yuan(r.fee)} 元将原路退回，一般在3~15个工作日内到账。`,
      refunded: `已支付的 ${yuan(r.fee)} 元已退款（${fmtTime(r.refund_at || (o && o.refunded_at))}）。`,
      expired: '支付订单已过期，该续费记录已失效，如需续费请重新新增。',
    }[st] || '';
    const act = mayAct();
    $('d-extend').hidden = !(act && st === 'pending_extension');
    $('d-refund').hidden = !(act && st === 'pending_extension');
    $('d-pay').hidden = !(act && st === 'pending_payment');
    $('d-invoice').hidden = !(act && invoiceable(st));

    const payState = { pending_payment: '未支付', expired: '未支付', refunding: '退款中', refunded: '已退款' }[st] || '已支付';
    const method = r.pay_method || (o && (o.method || o.provider)) || '';
    const serial = st === 'extended' && r.new_serial ? r.new_serial : r.serial;
    const sections = [
      kvSection('CA证书信息', [
        ['证书所属单位', r.org_name, 'd-org'],
        ['姓名', r.cn, 'd-name'],
        ['CA服务商', r.provider_name || M.providerName(r.provider), 'd-provider'],
        ['证书序列号', serial, 'd-serial', 'mono'],
        ['证书名称', r.cn, 'd-cn'],
        ['证书到期时间', fmtTime(r.not_after), 'd-not-after'],
      ]),
      kvSection('续费信息', [
        ['续费单号', r.id, 'd-id', 'mono'],
        ['续费时间', `${r.years}年`, 'd-years'],
        ['续费费用（元）', yuan(r.fee), 'd-fee'],
        ['支付时间', fmtTime(r.paid_at), 'd-paid'],
        ['支付方式', PAY_METHOD_TEXT[method] || (method ? method : ''), 'd-method'],
        ['支付状态', payState, 'd-pay-state'],
        ['延期操作', st === 'extended' ? '已完成' : '未完成', 'd-extended'],
      ]),
    ];
    if (st === 'extended') {
      sections.push(kvSection('延期信息', [
        ['延期操作时间', fmtTime(r.extended_at), 'd-extended-at'],
        ['新证书序列号', r.new_serial, 'd-new-serial', 'mono'],
        ['新证书到期时间', fmtTime(r.new_not_after || r.not_after), 'd-new-not-after'],
        ['原证书序列号', r.serial, 'd-old-serial', 'mono'],
        ['原证书到期时间', fmtTime(r.old_not_after), 'd-old-not-after'],
        ['密钥', r.rekey ? '已更换新密钥（由手机生成），原密钥保留在手机中' : '沿用原密钥', 'd-rekey'],
      ]));
    }
    $('d-fields').replaceChildren(...sections);
    /* back from the cashier: the paid notice may land a moment later */
    if (st === 'pending_payment' && o && o.state === 'paid') waitPaid(r.id);
  }

  /* back from the cashier: the renewal, once its payment landed */
  const waitPaid = M.payWaiter((id) => `/api/v1/renewals/${encodeURIComponent(id)}`, (r, id) => {
    note(r.state === 'pending_extension' ? `支付成功（续费单号 ${id}），请尽快完成延期` : '支付结果已确认');
    showDetail(id, true);
  });

  $('d-back').addEventListener('click', () => nav('/renew'));
  $('d-extend').addEventListener('click', () => extend(detail));
  $('d-refund').addEventListener('click', () => refund(detail));
  $('d-pay').addEventListener('click', () => pay(detail, $('d-error')));
  $('d-invoice').addEventListener('click', () => openInvoice(detail));

  /* ---- routing ---- */

  /* The view shown, read again (after an action). */
  function reload() {
    const id = new URLSearchParams(location.search).get('id');
    return id ? showDetail(id, true) : showList(true);
  }

  function route() {
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    menuOpen(false);
    window.scrollTo(0, 0);
    const id = new URLSearchParams(location.search).get('id');
    if (id) showDetail(id);
    else showList();
  }

  async function init() {
    if (!M.loggedIn()) return;
    for (const p of M.PROVIDERS) $('provider-filter').append(h('option', { value: p.id }, p.name));
    me = await M.loadMe(handle);
    if (!me) return;
    $('new-menu').hidden = !mayAct();
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
