/*
 * invoice.js — 发票申请 (the manual's 申领CA证书后申请发票), one dialog shared by
 * CA证书申领 (apply.js: an application whose fee was paid) and CA续费与延期
 * (renew.js: a paid renewal). Loaded after /app.js and before the page's
 * script; exposes window.mcertInvoice = {open, byOrder, STATE_TEXT, badge}.
 *
 * The dialog (built here on first use, so each page carries no copy of it):
 *   订单/合同编号, 实付金额(元), 商品信息 (商品名称 / 规格型号 / 单位 / 数量 /
 *   单价(元) / 金额(元)), *抬头类型 企业, *发票类型 电子增值税普通发票, the
 *   organisation's saved titles (GET /api/v1/invoice-titles: 发票抬头(企业名称)
 *   / 企业税号 / 注册地址 / 注册电话 / 开户银行 / 开户账户 / 编辑 · 删除, one
 *   picked with a radio), 新增开票信息 (at most 5), 发票接收信息 (*接收人电话,
 *   *接收人邮箱) and 申请开票 (POST /api/v1/invoices). An order that already
 *   has an invoice shows it instead: 已申请 (撤销申请), 已开票 (下载发票: the
 *   PDF), 未通过 with the reason or 已作废 — the last two may apply again.
 *
 * Checks in the browser before anything is sent, as the server makes them
 * again: the 企业税号 is a 统一社会信用代码 (GB 32100 check character:
 * app.js's usccOk, shared with the 申领 form), the name 1..100 characters,
 * the other fields' lengths and characters, the receiver's mobile number and
 * email (app.js's MOBILE_RE, emailOk).
 *
 * Server text reaches the page through textContent only. State is also in
 * data- attributes (data-state on #invoice-dialog: new | requested | issued
 * | rejected | voided) for people and tests.
 *
 * Non-goals: paper invoices, 专用发票 (the manual's only type is 普通发票),
 * payment proofs for offline payments.
 */
'use strict';

(function () {
  const M = window.mcert;
  const { ApiError, api, apiRaw, h, $, fmtTime, show, yuan, usccOk, emailOk, MOBILE_RE, kv } = M;

  const STATE_TEXT = { requested: '已申请', issued: '已开票', rejected: '未通过', voided: '已作废' };
  const TITLE_MAX = 5;
  const ERROR_TEXT = {
    order_not_paid: '该订单未支付或已退款，不能申请发票',
    invoice_exists: '该订单已申请发票，请勿重复申请',
    too_many_titles: '最多添加5条发票信息',
    bad_transition: '发票状态已变化，请刷新后重试',
    not_found: '记录不存在或已被删除',
    not_permitted: '无权操作',
    bad_field: '填写的信息不符合要求，请检查后重试',
  };
  const { handle } = M.pageErrors(ERROR_TEXT);

  /* The state of an invoice as a dot and words (the list's 发票 line). */
  function badge(inv) {
    return h('span', { class: 'state-dot', dataset: { state: 'inv_' + inv.state }, 'data-testid': 'inv-state' },
      STATE_TEXT[inv.state] || inv.state);
  }

  /* The organisation's invoices by order id (the newest of each). */
  async function byOrder() {
    const d = await api('GET', '/api/v1/invoices');
    const map = new Map();
    for (const inv of Array.isArray(d.invoices) ? d.invoices : []) {
      const had = map.get(inv.order);
      if (!had || (inv.requested_at || 0) >= (had.requested_at || 0)) map.set(inv.order, inv);
    }
    return map;
  }

  /* ---- the dialog ---- */

  let dlg = null;
  let ctx = null; /* {order, amount, goods, onChange} */
  let titles = [];
  let picked = null; /* title id */
  let editing = null; /* title id being edited, '' = a new one, null = closed */
  let cur = null; /* the order's invoice, or null */

  /* A saved title's fields: [key, label, required, max, rule]; rule: text
   * (1..max characters of printable text), or a RegExp of what may be typed
   * (PROTOCOL §11: the server checks the same). */
  const TITLE_FIELDS = [
    ['name', '发票抬头（企业名称）', true, 100, 'text'],
    ['tax_id', '企业税号', true, 18, 'uscc'],
    ['address', '注册地址', false, 100, 'text'],
    ['phone', '注册电话', false, 20, /^[0-9\-+() ]*$/],
    ['bank', '开户银行', false, 100, 'text'],
    ['account', '开户账户', false, 40, /^[0-9\- ]*$/],
  ];

  /* 1..max characters (not bytes), no control characters, not only spaces. */
  function charsOk(v, max) {
    return [...v].length <= max && !/[\u0000-\u001f\u007f-\u009f]/.test(v) && v.trim() !== '';
  }

  function build() {
    const field = (id, label, req, max, type, placeholder, note) => h('label', { class: 'field' },
      h('span', { class: 'field-label' }, req ? h('span', { class: 'req' }, '*') : null, label),
      h('input', { id, 'data-testid': id, type: type || 'text', maxlength: max, placeholder: placeholder || '请输入', autocomplete: 'off' }),
      note ? h('span', { class: 'field-hint muted small' }, note) : null,
      h('span', { class: 'field-error', dataset: { for: id } }));
    const editor = h('div', { class: 'title-editor', id: 'inv-editor', 'data-testid': 'inv-editor', hidden: true },
      h('p', { class: 'sub-title', id: 'inv-editor-title' }, '新增开票信息'),
      h('div', { class: 'form-grid' }, ...TITLE_FIELDS.map(([k, label, req, max]) =>
        field('inv-t-' + k, label, req, max, 'text', k === 'tax_id' ? '18位统一社会信用代码' : '请输入'))),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn', id: 'inv-editor-cancel', 'data-testid': 'inv-editor-cancel' }, '取消'),
        h('button', { type: 'button', class: 'btn btn-primary', id: 'inv-editor-save', 'data-testid': 'inv-editor-save' }, '保存')));
    const th = (t, req) => h('th', {}, req ? h('span', { class: 'req' }, '*') : null, t);
    dlg = h('dialog', { id: 'invoice-dialog', class: 'modal modal-wide', 'data-testid': 'invoice-dialog', 'aria-labelledby': 'invoice-title', dataset: { state: '' } },
      h('div', { class: 'modal-head' },
        h('h2', { id: 'invoice-title', class: 'modal-title' }, '发票申请'),
        h('button', { type: 'button', class: 'modal-x', 'aria-label': '关闭', dataset: { close: '' } }, '×')),
      h('div', { class: 'modal-body invoice-body' },
        h('div', { class: 'inv-status', id: 'inv-status', 'data-testid': 'inv-status', hidden: true }),
        h('h3', { class: 'section-title' }, '订单信息'),
        h('div', { class: 'd-grid' }, kv('订单/合同编号：', '', 'inv-order', 'mono'), kv('实付金额（元）：', '', 'inv-amount')),
        h('h3', { class: 'section-title' }, '商品信息'),
        h('div', { class: 'table-wrap' }, h('table', { class: 'table goods-table', 'data-testid': 'inv-goods' },
          h('thead', {}, h('tr', {}, ...['商品名称', '规格型号', '单位', '数量', '单价（元）', '金额（元）'].map((t) => h('th', {}, t)))),
          h('tbody', { id: 'inv-goods-body' }))),
        h('div', { id: 'inv-form', 'data-testid': 'inv-form' },
          h('h3', { class: 'section-title' }, '发票信息'),
          h('div', { class: 'radio-line' }, h('span', { class: 'k' }, h('span', { class: 'req' }, '*'), '抬头类型：'),
            h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'inv-title-type', checked: true, 'data-testid': 'inv-title-type' }), ' 企业')),
          h('div', { class: 'radio-line' }, h('span', { class: 'k' }, h('span', { class: 'req' }, '*'), '发票类型：'),
            h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'inv-type', checked: true, 'data-testid': 'inv-type' }), ' 电子增值税普通发票')),
          h('div', { class: 'table-wrap' }, h('table', { class: 'table table-stack titles-table', 'data-testid': 'inv-titles' },
            h('thead', {}, h('tr', {}, h('th', { class: 'col-pick' }, ''), th('发票抬头（企业名称）', true), th('企业税号', true),
              th('注册地址'), th('注册电话'), th('开户银行'), th('开户账户'), h('th', { class: 'col-op' }, '操作'))),
            h('tbody', { id: 'inv-titles-body', 'data-testid': 'inv-titles-body' }))),
          h('button', { type: 'button', class: 'link add-title', id: 'inv-add', 'data-testid': 'inv-add' }, '＋ 新增开票信息（最多添加5条发票信息）'),
          editor,
          h('h3', { class: 'section-title' }, '发票接收信息'),
          h('div', { class: 'form-grid' },
            field('inv-phone', '接收人电话', true, 11, 'tel', '请输入11位手机号码'),
            field('inv-email', '接收人邮箱', true, 128, 'email', '请输入', '该邮箱用来接收电子发票'))),
        h('p', { class: 'form-error', id: 'inv-error', 'data-testid': 'inv-error', role: 'alert', hidden: true })),
      h('div', { class: 'modal-foot' },
        h('button', { type: 'button', class: 'btn', dataset: { close: '' }, 'data-testid': 'inv-cancel' }, '取消'),
        h('button', { type: 'button', class: 'btn', id: 'inv-void', 'data-testid': 'inv-void', hidden: true }, '撤销申请'),
        h('button', { type: 'button', class: 'btn', id: 'inv-pdf', 'data-testid': 'inv-pdf', hidden: true }, '下载发票'),
        h('button', { type: 'button', class: 'btn btn-primary', id: 'inv-submit', 'data-testid': 'inv-submit' }, '申请开票')));
    document.body.append(dlg);
    $('inv-add').addEventListener('click', () => openEditor(''));
    $('inv-editor-cancel').addEventListener('click', closeEditor);
    $('inv-editor-save').addEventListener('click', saveTitle);
    $('inv-submit').addEventListener('click', submit);
    $('inv-pdf').addEventListener('click', () => download(cur));
    $('inv-void').addEventListener('click', withdraw);
    /* an error shows when the field is left, and goes as soon as the value
     * is right (while typing, so that nothing moves under the next click) */
    for (const id of ['inv-phone', 'inv-email', ...TITLE_FIELDS.map(([k]) => 'inv-t-' + k)]) {
      $(id).addEventListener('blur', () => fieldError(id, checkField(id, $(id).value.trim(), false)));
      $(id).addEventListener('input', () => {
        if ($(id).closest('.field').classList.contains('invalid')) fieldError(id, checkField(id, $(id).value.trim(), false));
      });
    }
  }

  function fieldError(id, text) {
    const el = dlg.querySelector(`.field-error[data-for="${id}"]`);
    el.textContent = text || '';
    el.closest('.field').classList.toggle('invalid', !!text);
  }

  /* One field's error ('' when fine); full: an empty required one is one. */
  function checkField(id, v, full) {
    if (v === '') {
      const req = id === 'inv-phone' || id === 'inv-email' || id === 'inv-t-name' || id === 'inv-t-tax_id';
      return full && req ? '请填写' : '';
    }
    if (id === 'inv-phone') return MOBILE_RE.test(v) ? '' : '请输入11位手机号码';
    if (id === 'inv-email') return emailOk(v) ? '' : '邮箱格式有误';
    const f = TITLE_FIELDS.find(([k]) => 'inv-t-' + k === id);
    if (!f) return '';
    const [, , , max, rule] = f;
    if (rule === 'uscc') return usccOk(v.toUpperCase()) ? '' : '企业税号有误：应为18位统一社会信用代码，且校验位正确';
    if (rule === 'text') return charsOk(v, max) ? '' : `请输入不超过${max}个字的文字`;
    return rule.test(v) && v.length <= max ? '' : `不超过${max}位，只能包含数字${id === 'inv-t-phone' ? '、-、+、括号' : '、-'}和空格`;
  }

  function fillGoods(goods) {
    $('inv-goods-body').replaceChildren(...goods.map((g) => h('tr', { 'data-testid': 'inv-goods-row' },
      h('td', {}, g.name), h('td', {}, g.spec || '—'), h('td', {}, g.unit), h('td', {}, String(g.qty)),
      h('td', {}, yuan(g.price)), h('td', {}, yuan(g.amount)))));
  }

  function renderTitles() {
    const body = $('inv-titles-body');
    body.replaceChildren();
    if (!titles.some((t) => t.id === picked)) picked = titles.length ? titles[0].id : null;
    if (titles.length === 0) {
      body.append(M.emptyRow(8, '暂无开票信息，请新增'));
    }
    for (const t of titles) {
      const radio = h('input', { type: 'radio', name: 'inv-pick', value: t.id, checked: t.id === picked, 'aria-label': '选择' });
      radio.addEventListener('change', () => { picked = t.id; });
      const edit = h('button', { type: 'button', class: 'link', 'data-testid': 'inv-title-edit' }, '编辑');
      edit.addEventListener('click', () => openEditor(t.id));
      const del = h('button', { type: 'button', class: 'link link-danger', 'data-testid': 'inv-title-del' }, '删除');
      del.addEventListener('click', () => removeTitle(t));
      body.append(h('tr', { 'data-testid': 'inv-title-row', dataset: { id: t.id, taxId: t.tax_id } },
        h('td', { class: 'col-pick', 'data-label': '选择' }, radio),
        h('td', { 'data-label': '发票抬头' }, t.name),
        h('td', { 'data-label': '企业税号', class: 'mono tax' }, t.tax_id),
        h('td', { 'data-label': '注册地址' }, t.address || '—'),
        h('td', { 'data-label': '注册电话' }, t.phone || '—'),
        h('td', { 'data-label': '开户银行' }, t.bank || '—'),
        h('td', { 'data-label': '开户账户', class: 'mono' }, t.account || '—'),
        h('td', { class: 'col-op', 'data-label': '操作' }, edit, del)));
    }
    const full = titles.length >= TITLE_MAX;
    $('inv-add').disabled = full;
    $('inv-add').title = full ? '最多添加5条发票信息' : '';
  }

  async function loadTitles() {
    const d = await api('GET', '/api/v1/invoice-titles');
    titles = Array.isArray(d.titles) ? d.titles : [];
    /* in the order they were added (the store keeps no order) */
    titles.sort((a, b) => (a.created || 0) - (b.created || 0) || String(a.id).localeCompare(String(b.id)));
    renderTitles();
  }

  function openEditor(id) {
    editing = id;
    const t = titles.find((x) => x.id === id) || {};
    $('inv-editor-title').textContent = id ? '编辑开票信息' : '新增开票信息';
    for (const [k] of TITLE_FIELDS) {
      $('inv-t-' + k).value = t[k] || '';
      fieldError('inv-t-' + k, '');
    }
    $('inv-editor').hidden = false;
    $('inv-add').hidden = true;
    $('inv-t-name').focus();
  }

  function closeEditor() {
    editing = null;
    $('inv-editor').hidden = true;
    $('inv-add').hidden = false;
  }

  async function saveTitle() {
    show($('inv-error'), '');
    const body = {};
    let bad = null;
    for (const [k] of TITLE_FIELDS) {
      const id = 'inv-t-' + k;
      let v = $(id).value.trim();
      if (k === 'tax_id') v = v.toUpperCase();
      const err = checkField(id, v, true);
      fieldError(id, err);
      if (err && !bad) bad = id;
      body[k] = v;
    }
    if (bad) {
      $(bad).focus();
      return;
    }
    $('inv-editor-save').disabled = true;
    try {
      const t = editing
        ? await api('PUT', `/api/v1/invoice-titles/${encodeURIComponent(editing)}`, body)
        : await api('POST', '/api/v1/invoice-titles', body);
      await loadTitles();
      const saved = (t && (t.title || t)) || {};
      if (saved.id) picked = saved.id;
      else if (!editing && titles.length) picked = titles[titles.length - 1].id;
      renderTitles();
      closeEditor();
    } catch (e) {
      handle(e, $('inv-error'));
      const m = e instanceof ApiError && e.code === 'bad_field' ? /^([a-z_]+):/.exec(e.message || '') : null;
      if (m && $('inv-t-' + m[1])) fieldError('inv-t-' + m[1], '该项不符合要求，请检查');
    } finally {
      $('inv-editor-save').disabled = false;
    }
  }

  async function removeTitle(t) {
    show($('inv-error'), '');
    try {
      await api('DELETE', `/api/v1/invoice-titles/${encodeURIComponent(t.id)}`);
      if (editing === t.id) closeEditor();
      await loadTitles();
    } catch (e) {
      handle(e, $('inv-error'));
    }
  }

  /* The dialog for the order's invoice, or the form when there is none
   * (or it was 未通过 / 已作废: the form comes back to apply again). */
  function render() {
    const st = cur ? cur.state : 'new';
    dlg.dataset.state = st;
    const again = !cur || cur.state === 'rejected' || cur.state === 'voided';
    $('inv-form').hidden = !again;
    $('inv-submit').hidden = !again;
    $('inv-submit').textContent = cur ? '重新申请开票' : '申请开票';
    $('inv-pdf').hidden = !(cur && cur.state === 'issued');
    $('inv-void').hidden = !(cur && cur.state === 'requested');
    const box = $('inv-status');
    box.hidden = !cur;
    box.dataset.state = st;
    if (!cur) return;
    const t = cur.title || {};
    const lines = [
      h('div', { class: 'inv-status-head' }, h('span', { class: 'k' }, '发票状态：'), badge(cur),
        h('span', { class: 'muted small mono' }, cur.id)),
      kv('发票抬头：', t.name, 'inv-s-name'),
      kv('企业税号：', t.tax_id, 'inv-s-tax', 'mono'),
      kv('接收人电话：', cur.receiver_phone, 'inv-s-phone', 'mono'),
      kv('接收人邮箱：', cur.receiver_email, 'inv-s-email'),
      kv('申请时间：', fmtTime(cur.requested_at), 'inv-s-time'),
    ];
    if (cur.state === 'issued') lines.push(kv('开票时间：', fmtTime(cur.issued_at), 'inv-s-issued'));
    if ((cur.state === 'rejected' || cur.state === 'voided') && cur.reason) {
      lines.push(h('div', { class: 'reason-box' }, h('span', { class: 'reason-k' }, cur.state === 'rejected' ? '不通过理由：' : '作废原因：'),
        h('span', { class: 'reason-v', 'data-testid': 'inv-reason' }, cur.reason)));
    }
    if (cur.state === 'requested') lines.push(h('p', { class: 'muted small' }, '发票申请已提交，开票后电子发票将发送至接收人邮箱，也可在此下载。'));
    box.replaceChildren(...lines);
  }

  /* Opens the dialog for one paid order: o = {order, amount (fen), goods:
   * [{name, spec, unit, qty, price, amount}], onChange(invoice)}. */
  async function open(o) {
    if (!dlg) build();
    ctx = o;
    cur = null;
    closeEditor();
    show($('inv-error'), '');
    dlg.querySelector('[data-testid="inv-order"]').textContent = o.order;
    dlg.querySelector('[data-testid="inv-amount"]').textContent = yuan(o.amount);
    fillGoods(o.goods);
    for (const id of ['inv-phone', 'inv-email']) fieldError(id, '');
    $('inv-titles-body').replaceChildren(M.emptyRow(8, '加载中…'));
    dlg.dataset.state = 'loading';
    $('inv-form').hidden = true;
    $('inv-status').hidden = true;
    for (const id of ['inv-submit', 'inv-pdf', 'inv-void']) $(id).hidden = true;
    if (!dlg.open) dlg.showModal();
    try {
      const [d] = await Promise.all([
        api('GET', `/api/v1/invoices?order=${encodeURIComponent(o.order)}`),
        loadTitles(),
      ]);
      const list = (Array.isArray(d.invoices) ? d.invoices : []).filter((x) => x.order === o.order);
      list.sort((a, b) => (b.requested_at || 0) - (a.requested_at || 0));
      cur = list[0] || null;
      if (cur && Array.isArray(cur.goods) && cur.goods.length) fillGoods(cur.goods);
      if (cur && !$('inv-phone').value) {
        $('inv-phone').value = cur.receiver_phone || '';
        $('inv-email').value = cur.receiver_email || '';
      }
      render();
    } catch (e) {
      handle(e, $('inv-error'));
      dlg.dataset.state = 'error';
    }
  }

  async function submit() {
    show($('inv-error'), '');
    let bad = null;
    for (const id of ['inv-phone', 'inv-email']) {
      const err = checkField(id, $(id).value.trim(), true);
      fieldError(id, err);
      if (err && !bad) bad = id;
    }
    const t = titles.find((x) => x.id === picked);
    if (!t) {
      show($('inv-error'), '请选择或新增开票信息（发票抬头与企业税号）');
      return;
    }
    if (!usccOk(String(t.tax_id || '').toUpperCase())) {
      show($('inv-error'), '所选开票信息的企业税号有误，请编辑后重试');
      return;
    }
    if (bad) {
      $(bad).focus();
      return;
    }
    $('inv-submit').disabled = true;
    try {
      const title = {};
      for (const [k] of TITLE_FIELDS) title[k] = t[k] || '';
      const inv = await api('POST', '/api/v1/invoices', {
        order: ctx.order, title, receiver_phone: $('inv-phone').value.trim(), receiver_email: $('inv-email').value.trim(),
      });
      cur = inv.invoice || inv;
      if (Array.isArray(cur.goods) && cur.goods.length) fillGoods(cur.goods);
      render();
      if (ctx.onChange) ctx.onChange(cur);
    } catch (e) {
      handle(e, $('inv-error'));
    } finally {
      $('inv-submit').disabled = false;
    }
  }

  async function withdraw() {
    if (!cur) return;
    show($('inv-error'), '');
    $('inv-void').disabled = true;
    try {
      const inv = await api('POST', `/api/v1/invoices/${encodeURIComponent(cur.id)}/void`, { reason: '申请人撤销申请' });
      cur = inv.invoice || inv;
      render();
      if (ctx.onChange) ctx.onChange(cur);
    } catch (e) {
      handle(e, $('inv-error'));
    } finally {
      $('inv-void').disabled = false;
    }
  }

  /* The issued invoice's PDF, fetched with the token and saved. */
  async function download(inv) {
    show($('inv-error'), '');
    try {
      const blob = await apiRaw('GET', `/api/v1/invoices/${encodeURIComponent(inv.id)}/pdf`, { asBlob: true });
      M.saveBlob(blob, `电子发票-${inv.id}.pdf`);
    } catch (e) {
      handle(e, $('inv-error'));
    }
  }

  window.mcertInvoice = Object.freeze({ open, byOrder, badge, download, STATE_TEXT });
})();
