/*
 * apply.js — the behaviour of CA证书申领 (apply.html), one page with three
 * views chosen by the address (history.pushState, so 返回 and the browser's
 * back button both work):
 *
 *   /apply                 the list: GET /api/v1/applications?state=&q=&page=
 *                          (newest first), 订单编号 search, 申领状态 filter,
 *                          重置 / 搜索, pages; 查看, 撤销 (and 编辑 / 去支付).
 *   /apply?new=<provider>  the form for a new application, after 申领CA
 *                          (provider from the API) and 阅读条款 (收费标准).
 *   /apply?id=<id>&edit=1  the same form for a draft or a rejected one.
 *   /apply?id=<id>         申领详情: state, steps bar (填写资料 → 平台审核 →
 *                          收取CA), 不通过理由, 编辑 / 重新提交 / 去支付 / 撤销;
 *                          once approved the activation note (the code came
 *                          by SMS) and the 下载证书 QR (an enroll session,
 *                          followed live until 已发证).
 *
 * The form checks every field in the browser as the server does again:
 * 统一社会信用代码 (GB 32100: 18 characters of 0-9 A-H J-N P-R T U W-Y, the
 * last one the check character mod 31), 身份证号码 (GB 11643: a real date of
 * birth and the ISO 7064 MOD 11-2 check digit), mobile, email, the province;
 * scans are JPEG, PNG or PDF by their first bytes, at most 5 MiB, uploaded
 * at once (POST /api/v1/uploads, raw body) and previewed (images through a
 * data: URI: the CSP allows no blob: images). 保存 keeps a draft; 提交 saves,
 * runs the identity step (人脸认证 through the sandbox, or 邮寄纸质资料 /
 * 现场办理 as the reviewer's note), shows the fee the server computed and
 * asks (当前申领免费，确定提交吗？ / 当前申领需支付费用 … 元 + 去支付); a paid
 * one goes to the sandbox cashier (收银台) and comes back to its detail,
 * which waits for the payment to be confirmed.
 *
 * Helpers (api, h, the top bar, the QR box) come from /app.js
 * (window.mcert); server text reaches the page through textContent only.
 * States are also in data- attributes (data-state, data-id, data-fen) for
 * people and tests.
 *
 * 发票申请 (list and detail, for an application whose fee is paid): the
 * dialog of /invoice.js (window.mcertInvoice), for the application's order.
 *
 * Non-goals: the U-Key kind (postal delivery), editing while another tab
 * edits (the server's gen decides).
 */
'use strict';

(function () {
  const M = window.mcert;
  const INV = window.mcertInvoice;
  const { ApiError, api, apiRaw, h, $, fmtTime, fmtSize, show, dataUrl, qrBox, kv } = M;
  /* shared with 审核 (review.js) */
  const {
    APP_STATE_TEXT: STATE_TEXT, KEY_ALG_TEXT: ALG_TEXT, SCANS, REGIONS, REGION_TEXT, providerName,
    yuan, feeText, payWords, isPaid, appSteps: steps, appStateBadge: stateBadge, appPairs, kvSection,
    appFetch, appHead, appScans, usccOk, emailOk, textOk, MOBILE_RE,
  } = M;

  const STATE_ORDER = ['draft', 'pending_payment', 'pending_review', 'rejected',
    'approved_pending_issue', 'issued', 'withdrawn'];
  const WITHDRAWABLE = new Set(['draft', 'pending_payment', 'pending_review', 'rejected']);
  const EDITABLE = new Set(['draft', 'rejected']);
  /* identity as stored: none | face_passed (set by the check only) | paper | on_site */
  const IDENTITY_TEXT = { face_passed: '人脸认证', paper: '邮寄纸质资料', on_site: '现场办理' };
  const UPLOAD_MAX = 5 * 1024 * 1024;

  /* The codes of the application endpoints, in words (else app.js's). */
  const ERROR_TEXT = {
    too_many_reissues: '激活码重新发送次数已达上限，请联系CA审核员',
    activation_used: '证书已下载，激活码已使用',
    bad_transition: '当前状态不允许该操作，请刷新页面后重试',
    not_found: '申领记录不存在',
    not_permitted: '无权查看或操作该申领',
    too_large: '文件过大，每个文件不超过5MB',
    unsupported_media_type: '文件格式不支持，请上传 JPG、PNG 或 PDF 文件',
    bad_upload: '文件格式不支持，请上传 JPG、PNG 或 PDF 文件',
    bad_field: '填写的信息不符合要求，请检查后重试',
    bad_uscc: '统一社会信用代码有误，请核对',
    bad_id_number: '身份证号码有误，请核对',
    bad_mobile: '手机号码有误，请核对',
    bad_email: '邮箱格式有误，请核对',
    bad_region: '请选择登记机关所在地',
    incomplete: '请完整填写申领信息并上传扫描件',
    identity_required: '请先完成身份认证',
    identity_failed: '人脸认证未通过，请重试或选择其他认证方式',
    too_many_attempts: '今日人脸认证次数已达上限（每天最多10次），请明天再试或选择其他认证方式',
    order_expired: '支付订单已过期，请重新支付',
    stale: '申领信息已在其他页面修改，请刷新页面后重试',
    org_mismatch: '只能为本机构申领：统一社会信用代码须为本机构的代码',
  };

  const { errorText, handle } = M.pageErrors(ERROR_TEXT);

  /* The field a 400 bad_field names ("holder_id: …"), or null. */
  function badField(e) {
    if (!(e instanceof ApiError) || e.code !== 'bad_field') return null;
    const m = /^([a-z_]+):/.exec(e.message || '');
    return m ? m[1] : null;
  }

  /* ---- the checks (the server makes the same ones; 统一社会信用代码, mobile,
   * email and text are app.js's, shared with 发票申请) ---- */

  const ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const ID_CHECK = '10X98765432';

  /* GB 11643-1999: 17 digits (starting with a province's code, then a date
   * of birth that exists, 1900..2199), and the check character of
   * ISO 7064 MOD 11-2. */
  function idOk(s) {
    if (!/^\d{17}[\dX]$/.test(s) || !REGION_TEXT[s.slice(0, 2) + '0000']) return false;
    const y = Number(s.slice(6, 10));
    const m = Number(s.slice(10, 12));
    const d = Number(s.slice(12, 14));
    const dt = new Date(Date.UTC(y, m - 1, d));
    if (y < 1900 || y > 2199 || dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) return false;
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += Number(s[i]) * ID_W[i];
    return ID_CHECK[sum % 11] === s[17];
  }

  /* The first bytes say what a file is: 'image/jpeg' | 'image/png' |
   * 'application/pdf' | null. */
  async function sniff(file) {
    const b = new Uint8Array(await file.slice(0, 8).arrayBuffer());
    if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
    if (b.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => b[i] === v)) return 'image/png';
    if (b.length >= 5 && [0x25, 0x50, 0x44, 0x46, 0x2d].every((v, i) => b[i] === v)) return 'application/pdf';
    return null;
  }

  /* ---- page state ---- */

  let me = null;
  let providers = [];
  const pageErr = $('page-error');
  const pageNote = $('page-notice');
  const views = { list: $('view-list'), form: $('view-form'), detail: $('view-detail') };
  const showView = M.viewSwitch(views);

  const nav = M.historyNav(route);

  function note(text) {
    show(pageNote, text);
  }

  /* ---- the list ---- */

  let listPage = 1;
  let invoices = new Map(); /* application id -> its order's invoice */

  /* The fee was paid (and is not being refunded): an invoice may be asked. */
  function invoiceable(a) {
    return isPaid(a) && Number(a.fee) > 0;
  }

  /* The list's rows do not name the order: the application does. */
  async function openInvoice(a) {
    let full = a;
    if (!full.order_id) {
      try {
        full = await api('GET', `/api/v1/applications/${encodeURIComponent(a.id)}`);
      } catch (e) {
        handle(e);
        return;
      }
    }
    INV.open({
      order: full.order_id, amount: full.fee,
      goods: [{ name: '移动证书', spec: '移动版', unit: '个', qty: 1, price: full.fee, amount: full.fee }],
      onChange: () => route(),
    });
  }

  function fillStateFilter() {
    const sel = $('state-filter');
    for (const s of STATE_ORDER) sel.append(h('option', { value: s }, STATE_TEXT[s]));
  }

  async function showList() {
    showView('list');
    const p = new URLSearchParams(location.search);
    $('q').value = p.get('q') || '';
    $('state-filter').value = p.get('state') || '';
    listPage = Math.max(1, Number(p.get('page')) || 1);
    const byOrder = await INV.byOrder().catch(() => new Map());
    invoices = new Map([...byOrder.values()].filter((v) => v.kind === 'app').map((v) => [v.ref, v]));
    await M.appListPage({
      path: '/api/v1/applications', state: $('state-filter').value, q: $('q').value.trim(), page: listPage,
      body: $('apps-body'), row: listRow, handle,
    });
  }

  function listRow(a) {
    const { td: op, link } = M.opCell(false);
    link('查看', 'row-view', () => nav(`/apply?id=${encodeURIComponent(a.id)}`));
    if (EDITABLE.has(a.state)) link('编辑', 'row-edit', () => nav(`/apply?id=${encodeURIComponent(a.id)}&edit=1`));
    if (a.state === 'pending_payment') link('去支付', 'row-pay', () => pay(a, pageErr));
    if (WITHDRAWABLE.has(a.state)) link('撤销', 'row-withdraw', () => withdraw(a), 'link-danger');
    const inv = invoices.get(a.id);
    if (invoiceable(a)) link(inv ? '查看发票' : '发票申请', 'row-invoice', () => openInvoice(a));
    if (inv) op.append(h('div', { class: 'op-line small' }, h('span', { class: 'muted' }, '发票：'), INV.badge(inv)));
    return h('tr', { 'data-testid': 'app-row', dataset: { id: a.id, state: a.state } },
      h('td', { 'data-label': 'CA服务商' }, providerName(a.provider)),
      h('td', { 'data-label': '订单编号', class: 'mono', 'data-testid': 'row-id' }, a.id),
      h('td', { 'data-label': '申领信息', class: 'app-info' },
        kv('机构名称：', a.org_name, 'row-org'),
        kv('申领人：', a.holder_name, 'row-holder'),
        kv('申领时间：', fmtTime(a.submitted_at || a.created), 'row-time')),
      h('td', { 'data-label': '认证方式' }, IDENTITY_TEXT[a.identity] || '—'),
      h('td', { 'data-label': '状态' }, stateBadge(a.state)),
      op);
  }

  function listUrl() {
    const qs = new URLSearchParams();
    const q = $('q').value.trim();
    if (q) qs.set('q', q);
    if ($('state-filter').value) qs.set('state', $('state-filter').value);
    return '/apply' + (qs.toString() ? '?' + qs : '');
  }

  M.listFilter($('list-filter'), listUrl, '/apply', nav);
  M.wirePager(listUrl, () => listPage, nav);

  /* ---- 申领CA: provider, then the terms ---- */

  const providerDlg = $('provider-dialog');
  const termsDlg = $('terms-dialog');
  let termsThen = null;

  /* The CA providers this console offers (app.js's PROVIDERS). */
  async function loadProviders() {
    if (!providers.length) providers = M.PROVIDERS.slice();
    return providers;
  }

  $('apply-new').addEventListener('click', async () => {
    const list = $('provider-list');
    show($('provider-error'), '');
    list.replaceChildren();
    try {
      await loadProviders();
    } catch (e) {
      handle(e, $('provider-error'));
    }
    providers.forEach((p, i) => {
      list.append(h('label', { class: 'provider', 'data-testid': 'provider-option', dataset: { id: p.id } },
        h('input', { type: 'radio', name: 'provider', value: p.id, checked: i === 0 }),
        h('span', { class: 'provider-name' }, p.name),
        h('span', { class: 'muted small' }, '移动证书 · 在线发放')));
    });
    $('provider-ok').disabled = providers.length === 0;
    providerDlg.showModal();
  });

  $('provider-ok').addEventListener('click', () => {
    const pick = providerDlg.querySelector('input[name="provider"]:checked');
    if (!pick) return;
    providerDlg.close();
    termsThen = () => nav(`/apply?new=${encodeURIComponent(pick.value)}`);
    termsDlg.showModal();
  });

  $('terms-ok').addEventListener('click', () => {
    termsDlg.close();
    const then = termsThen;
    termsThen = null;
    if (then) then();
  });
  $('show-terms').addEventListener('click', () => {
    termsThen = null;
    termsDlg.showModal();
  });

  /* ---- the form ---- */

  let cur = null; /* the application being edited (null: not saved yet) */
  let uploads = {}; /* kind -> {id, name, type, size, preview} */
  let feeSeq = 0;
  const formErr = $('form-error');
  const FIELDS = ['provider', 'quantity', 'alg', 'org_name', 'org_type', 'uscc', 'region',
    'holder_name', 'holder_id', 'mobile', 'email'];

  function fillRegions() {
    const sel = $('f-region');
    for (const [code, name] of REGIONS) sel.append(h('option', { value: code }, name));
  }

  function fieldError(name, text) {
    const el = views.form.querySelector(`.field-error[data-for="${name}"]`);
    if (el) {
      el.textContent = text || '';
      el.closest('.field').classList.toggle('invalid', !!text);
    }
  }

  function identityMethod() {
    const r = views.form.querySelector('input[name="identity"]:checked');
    return r ? r.value : 'face';
  }

  function values() {
    const v = {};
    for (const f of FIELDS) v[f] = $('f-' + f).value.trim();
    v.uscc = v.uscc.toUpperCase();
    v.holder_id = v.holder_id.toUpperCase();
    v.quantity = Number(v.quantity);
    for (const [k] of SCANS) v[k] = uploads[k] ? uploads[k].id : '';
    v.kind = 'mobile';
    v.delivery = 'online';
    /* face: only the check sets face_passed (kept by leaving the field
     * out); paper / on_site are chosen */
    const m = identityMethod();
    if (m !== 'face') v.identity = m;
    else if (!(cur && cur.identity === 'face_passed')) v.identity = 'none';
    return v;
  }

  /* Checks one field; full: also that it is filled. Returns the error or ''. */
  function check(name, v, full) {
    const val = v[name];
    const empty = val === '' || val === undefined || (name === 'quantity' && !val);
    if (empty) {
      if (!full) return '';
      if (SCANS.some(([k]) => k === name)) return '请上传扫描件';
      return name === 'region' || name === 'org_type' || name === 'provider' ? '请选择' : '请填写';
    }
    switch (name) {
      case 'quantity': return val === 1 ? '' : '移动证书每次申领1张';
      case 'uscc': return usccOk(val) ? '' : '统一社会信用代码有误：应为18位，且校验位正确';
      case 'holder_id': return idOk(val) ? '' : '身份证号码有误：应为18位，且出生日期与校验位正确';
      case 'mobile': return MOBILE_RE.test(val) ? '' : '请输入11位手机号码';
      case 'email': return emailOk(val) ? '' : '邮箱格式有误';
      case 'region': return REGION_TEXT[val] ? '' : '请选择';
      case 'org_name': return textOk(val, 128) ? '' : '机构名称为1至128字节的文字（约42个汉字）';
      case 'holder_name': return textOk(val, 64) ? '' : '姓名为1至64字节的文字（约21个汉字）';
      default: return '';
    }
  }

  /* Shows every field's error; returns the first invalid field's name. */
  function validate(full) {
    const v = values();
    let first = null;
    for (const f of [...FIELDS, ...SCANS.map(([k]) => k)]) {
      const err = check(f, v, full);
      fieldError(f, err);
      if (err && !first) first = f;
    }
    return first;
  }

  function focusField(name) {
    const el = $('f-' + name) || views.form.querySelector(`[data-upload="${name}"] input`);
    const box = (el && el.closest('.field')) || el;
    if (box) box.scrollIntoView({ block: 'center' });
    if (el && el.focus) el.focus({ preventScroll: true });
  }

  for (const f of FIELDS) {
    const el = $('f-' + f);
    /* a field that says it is required keeps saying so until filled */
    el.addEventListener('blur', () => {
      const shown = el.closest('.field').classList.contains('invalid');
      fieldError(f, check(f, values(), shown));
    });
    el.addEventListener(el.tagName === 'SELECT' ? 'change' : 'input', () => {
      if (el.closest('.field').classList.contains('invalid')) fieldError(f, check(f, values(), true));
    });
  }
  /* A valid code names the region in its 3rd and 4th characters. */
  $('f-uscc').addEventListener('change', () => {
    const v = $('f-uscc').value.trim().toUpperCase();
    $('f-uscc').value = v;
    const code = v.slice(2, 4) + '0000';
    if (usccOk(v) && !$('f-region').value && REGION_TEXT[code]) $('f-region').value = code;
  });
  $('f-holder_id').addEventListener('change', () => {
    $('f-holder_id').value = $('f-holder_id').value.trim().toUpperCase();
  });
  $('f-org_type').addEventListener('change', refreshFee);
  $('f-quantity').addEventListener('change', refreshFee);
  for (const r of views.form.querySelectorAll('input[name="identity"]')) r.addEventListener('change', identityNote);

  function identityNote() {
    const m = identityMethod();
    const passed = cur && cur.identity === 'face_passed';
    $('identity-note').textContent = {
      face: '系统默认使用人脸认证，可以免去邮寄材料；提交时进行认证，每天最多可认证10次。',
      paper: '请将加盖公章的纸质资料邮寄至CA服务商，平台收到资料后审核。',
      on_site: '请携带加盖公章的纸质资料到CA服务商现场办理，平台核对资料后审核。',
    }[m];
    const st = $('identity-state');
    st.dataset.state = m === 'face' ? (passed ? 'passed' : 'todo') : 'paper';
    st.textContent = m === 'face' ? (passed ? '人脸认证已通过' : '尚未认证') : '';
  }

  async function refreshFee() {
    const v = values();
    const el = $('fee');
    if (!v.org_type || !(v.quantity >= 1)) {
      el.textContent = '请选择机构类型';
      el.dataset.fen = '';
      return null;
    }
    const my = ++feeSeq;
    try {
      const d = await api('GET', `/api/v1/applications/fee?org_type=${encodeURIComponent(v.org_type)}` +
        `&quantity=${encodeURIComponent(v.quantity)}`);
      if (my !== feeSeq) return null;
      el.textContent = feeText(d.fee);
      el.dataset.fen = String(d.fee);
      return d.fee;
    } catch (e) {
      if (my === feeSeq) {
        el.textContent = '—';
        el.dataset.fen = '';
      }
      return null;
    }
  }

  /* An upload box: pick (or replace) a file, checked, sent, previewed. */
  function uploadBox(kind) {
    const root = views.form.querySelector(`[data-upload="${kind}"]`);
    root.replaceChildren();
    const u = uploads[kind];
    const input = h('input', {
      type: 'file', accept: '.jpg,.jpeg,.png,.pdf,image/jpeg,image/png,application/pdf',
      'data-testid': `file-${kind}`,
    });
    input.addEventListener('change', () => {
      const f = input.files && input.files[0];
      if (f) pickUpload(kind, f);
    });
    if (u) {
      const thumb = u.preview
        ? h('img', { class: 'upload-thumb', src: u.preview, alt: u.name || '扫描件', 'data-testid': 'upload-preview' })
        : h('span', { class: 'upload-doc', 'data-testid': 'upload-preview' }, u.type === 'application/pdf' ? 'PDF' : '文件');
      const rm = h('button', { type: 'button', class: 'link link-danger', 'data-testid': `remove-${kind}` }, '删除');
      rm.addEventListener('click', () => {
        delete uploads[kind];
        uploadBox(kind);
      });
      root.append(h('div', { class: 'upload-item', dataset: { id: u.id, state: u.state || 'done' } }, thumb,
        h('div', { class: 'upload-meta' },
          h('span', { class: 'upload-name', 'data-testid': `upload-name-${kind}` }, u.name || '已上传的扫描件'),
          h('span', { class: 'muted small' }, u.state === 'sending' ? '上传中…' : (u.size ? fmtSize(u.size) : '已上传')),
          h('span', { class: 'upload-ops' },
            h('label', { class: 'link' }, '重新上传', input), rm))));
    } else {
      root.append(h('label', { class: 'upload-add' }, input, h('span', { class: 'upload-plus' }, '+'),
        h('span', { class: 'small' }, '上传')));
    }
  }

  async function pickUpload(kind, file) {
    fieldError(kind, '');
    if (file.size > UPLOAD_MAX) {
      fieldError(kind, `文件过大（${fmtSize(file.size)}），每个文件不超过5MB`);
      return;
    }
    if (file.size === 0) {
      fieldError(kind, '文件为空');
      return;
    }
    const type = await sniff(file);
    if (!type) {
      fieldError(kind, '文件格式不支持，请上传 JPG、PNG 或 PDF 文件');
      return;
    }
    const preview = type === 'application/pdf' ? null : await dataUrl(file).catch(() => null);
    uploads[kind] = { id: '', name: file.name, type, size: file.size, preview, state: 'sending' };
    uploadBox(kind);
    try {
      const d = await apiRaw('POST', '/api/v1/uploads', { body: file, type });
      if (!uploads[kind] || uploads[kind].name !== file.name) return;
      uploads[kind] = { id: d.id, name: file.name, type, size: file.size, preview, state: 'done' };
      uploadBox(kind);
    } catch (e) {
      delete uploads[kind];
      uploadBox(kind);
      if (e instanceof ApiError && e.status === 401) handle(e);
      else fieldError(kind, errorText(e));
    }
  }

  /* A stored scan, for the form or the detail: {id, type, preview}. */
  async function loadScan(id) {
    const blob = await apiRaw('GET', `/api/v1/uploads/${encodeURIComponent(id)}`, { asBlob: true });
    const type = blob.type || '';
    const preview = /^image\/(jpeg|png)$/.test(type) ? await dataUrl(blob) : null;
    return { id, type, size: blob.size, preview, blob };
  }

  async function showForm(id, providerId) {
    showView('form', '申领详情');
    show(formErr, '');
    for (const f of [...FIELDS, ...SCANS.map(([k]) => k)]) fieldError(f, '');
    cur = null;
    uploads = {};
    try {
      await loadProviders();
    } catch (e) {
      handle(e, formErr);
    }
    const sel = $('f-provider');
    sel.replaceChildren(...providers.map((p) => h('option', { value: p.id }, p.name)));
    if (id) {
      try {
        cur = await api('GET', `/api/v1/applications/${encodeURIComponent(id)}`);
      } catch (e) {
        handle(e, formErr);
        return;
      }
      if (!EDITABLE.has(cur.state)) {
        nav(`/apply?id=${encodeURIComponent(id)}`, true);
        return;
      }
    }
    const a = cur || {
      provider: providerId || (providers[0] && providers[0].id) || '', quantity: 1, alg: 'sm2',
      uscc: me.org || '', org_name: me.org_name || '',
    };
    for (const f of FIELDS) $('f-' + f).value = a[f] === undefined || a[f] === null ? '' : String(a[f]);
    if (!$('f-alg').value) $('f-alg').value = 'sm2';
    /* an application is for the applicant's own organisation, fixed once saved */
    $('f-uscc').readOnly = !!cur;
    if (!$('f-quantity').value) $('f-quantity').value = '1';
    const method = a.identity === 'paper' || a.identity === 'on_site' ? a.identity : 'face';
    for (const r of views.form.querySelectorAll('input[name="identity"]')) r.checked = r.value === method;
    identityNote();
    views.form.dataset.id = cur ? cur.id : '';
    views.form.dataset.state = cur ? cur.state : 'new';
    $('form-submit').textContent = cur && cur.state === 'rejected' ? '重新提交' : '提交';
    steps($('form-steps'), cur ? cur.state : 'draft');
    const reason = $('form-reason');
    reason.hidden = !(cur && cur.state === 'rejected' && cur.reason);
    reason.querySelector('[data-role="reason"]').textContent = cur && cur.reason ? cur.reason : '';
    for (const [k] of SCANS) uploadBox(k);
    if (cur) {
      await Promise.all(SCANS.map(async ([k]) => {
        if (!cur[k]) return;
        uploads[k] = { id: cur[k], name: '', state: 'done' };
        uploadBox(k);
        try {
          const s = await loadScan(cur[k]);
          if (uploads[k] && uploads[k].id === cur[k]) {
            uploads[k] = { ...s, name: s.type === 'application/pdf' ? '已上传的PDF文件' : '已上传的图片' };
            uploadBox(k);
          }
        } catch (e) {
          /* the id stays; the preview just is not shown */
        }
      }));
    }
    refreshFee();
  }

  /* Create or update; resolves to the application (cur). */
  async function save() {
    const v = values();
    const body = {};
    for (const [k, val] of Object.entries(v)) {
      if (val !== '' || cur) body[k] = val;
    }
    if (cur) delete body.uscc; /* fixed at creation */
    if (cur) {
      cur = await api('PUT', `/api/v1/applications/${encodeURIComponent(cur.id)}`, body);
    } else {
      cur = await api('POST', '/api/v1/applications', body);
      history.replaceState(null, '', `/apply?id=${encodeURIComponent(cur.id)}&edit=1`);
    }
    views.form.dataset.id = cur.id;
    views.form.dataset.state = cur.state;
    return cur;
  }

  /* The server refused the form: in words, and at the field it named. */
  function saveFailed(e) {
    handle(e, formErr);
    const f = badField(e) || (e instanceof ApiError && e.code === 'org_mismatch' ? 'uscc' : null);
    if (f && views.form.querySelector(`.field-error[data-for="${f}"]`)) {
      fieldError(f, e.code === 'org_mismatch' ? ERROR_TEXT.org_mismatch : '该项不符合要求，请检查');
      focusField(f);
    }
  }

  function busy(on) {
    for (const id of ['form-save', 'form-submit', 'form-back']) $(id).disabled = on;
  }

  $('form-back').addEventListener('click', () => {
    if (history.length > 1 && document.referrer === '' && history.state === null) history.back();
    else nav('/apply');
  });

  $('form-save').addEventListener('click', async () => {
    show(formErr, '');
    const bad = validate(false);
    if (bad) {
      focusField(bad);
      return;
    }
    busy(true);
    try {
      await save();
      note(`已保存草稿（订单编号 ${cur.id}）`);
      identityNote();
    } catch (e) {
      saveFailed(e);
    } finally {
      busy(false);
    }
  });

  $('form-submit').addEventListener('click', async () => {
    show(formErr, '');
    const bad = validate(true);
    if (bad) {
      show(formErr, '请按提示完善申领信息');
      focusField(bad);
      return;
    }
    busy(true);
    try {
      await save();
    } catch (e) {
      saveFailed(e);
      busy(false);
      return;
    }
    busy(false);
    if (identityMethod() === 'face' && cur.identity !== 'face_passed') {
      faceCheck(cur, () => confirmSubmit(cur));
    } else {
      confirmSubmit(cur);
    }
  });

  /* ---- 人脸认证 (sandbox) ---- */

  const faceDlg = $('face-dialog');
  let faceThen = null;
  let faceApp = null;

  function faceCheck(a, then) {
    faceApp = a;
    faceThen = then;
    $('face-who').textContent = a.holder_name || '';
    const st = $('face-state');
    st.textContent = '';
    st.dataset.state = '';
    show($('face-error'), '');
    $('face-start').disabled = false;
    $('face-start').textContent = '开始认证';
    faceDlg.showModal();
  }

  $('face-start').addEventListener('click', async () => {
    const st = $('face-state');
    show($('face-error'), '');
    $('face-start').disabled = true;
    st.dataset.state = 'checking';
    st.textContent = '正在认证…';
    let d;
    try {
      d = await api('POST', `/api/v1/applications/${encodeURIComponent(faceApp.id)}/identity`, {});
    } catch (e) {
      st.dataset.state = 'failed';
      st.textContent = '';
      handle(e, $('face-error'));
      $('face-start').disabled = !(e instanceof ApiError && e.status !== 429);
      $('face-start').textContent = '重新认证';
      return;
    }
    if (d.application) cur = d.application;
    const passed = d.result === 'passed' || d.passed === true || (d.application && d.application.identity === 'face_passed');
    const left = typeof d.attempts_left === 'number' ? `（今日还可认证${d.attempts_left}次）` : '';
    if (passed) {
      if (cur) cur.identity = 'face_passed';
      st.dataset.state = 'passed';
      st.textContent = '人脸认证通过';
      identityNote();
      faceDlg.close();
      const then = faceThen;
      faceThen = null;
      if (then) then();
    } else {
      st.dataset.state = 'failed';
      st.textContent = `人脸认证未通过${left}，请重试，或关闭后选择邮寄纸质资料、现场办理`;
      $('face-start').disabled = d.attempts_left === 0;
      $('face-start').textContent = '重新认证';
    }
  });

  /* ---- the fee, the confirmation, submit, pay ---- */

  const { ask: confirmBox, close: confirmClose } = M.confirmer(handle);

  async function confirmSubmit(a) {
    let fee = typeof a.fee === 'number' ? a.fee : null;
    try {
      const d = await api('GET', `/api/v1/applications/fee?org_type=${encodeURIComponent(a.org_type)}` +
        `&quantity=${encodeURIComponent(a.quantity)}`);
      fee = d.fee;
    } catch (e) {
      if (fee === null) {
        handle(e, formErr);
        return;
      }
    }
    $('fee').textContent = feeText(fee);
    $('fee').dataset.fen = String(fee);
    if (Number(fee) > 0) {
      confirmBox(`当前申领需支付费用 ${yuan(fee)} 元`, '支付成功后即完成提交；申领撤销或审核未通过时，费用将自动退回。', '去支付',
        async () => {
          const s = await submitApp(a);
          if (s.state === 'pending_payment') await goPay(s);
          else afterSubmit(s);
        });
    } else {
      confirmBox('当前申领免费，确定提交吗？', '', '确定', async () => afterSubmit(await submitApp(a)));
    }
  }

  async function submitApp(a) {
    const s = await api('POST', `/api/v1/applications/${encodeURIComponent(a.id)}/submit`);
    return s.application || s;
  }

  function afterSubmit(s) {
    confirmClose();
    note(s.state === 'pending_review' ? `已提交（订单编号 ${s.id}），等待平台审核` : `已提交（订单编号 ${s.id}）`);
    nav(`/apply?id=${encodeURIComponent(s.id)}`, true);
  }

  /* The order (30 min) and the provider's cashier; the cashier sends the
   * browser back to this application's detail. */
  async function goPay(a) {
    const d = await api('POST', `/api/v1/applications/${encodeURIComponent(a.id)}/pay`);
    const url = d.cashier || (d.order && d.order.cashier);
    if (typeof url !== 'string' || !url) throw new ApiError(500, 'internal', 'no cashier');
    const u = new URL(url, location.origin);
    if (u.origin !== location.origin && !/^https?:$/.test(u.protocol)) throw new ApiError(500, 'internal', 'bad cashier');
    location.assign(u.href);
  }

  async function pay(a, where) {
    try {
      await goPay(a);
    } catch (e) {
      handle(e, where);
    }
  }

  /* ---- 撤销 ---- */

  function withdraw(a) {
    const paid = isPaid(a);
    confirmBox('确定撤销该申领吗？', paid
      ? '撤销后，已支付的费用将自动原路退款，退款一般在3~15个工作日内到账。'
      : '撤销后该申领不能再提交，如需证书请重新申领。', '撤销', async () => {
      await api('POST', `/api/v1/applications/${encodeURIComponent(a.id)}/withdraw`);
      confirmClose();
      note(paid ? `已撤销（订单编号 ${a.id}），费用将自动退回` : `已撤销（订单编号 ${a.id}）`);
      route();
    }, true);
  }

  /* ---- the detail ---- */

  let detail = null;
  let enrollBox = null;

  function mask(mobile) {
    return /^\d{11}$/.test(mobile || '') ? `${mobile.slice(0, 3)}****${mobile.slice(7)}` : mobile || '';
  }

  async function showDetail(id) {
    showView('detail', '申领详情');
    if (enrollBox) enrollBox.stop();
    const a = await appFetch(id, 'd', handle);
    if (!a) return;
    try {
      await loadProviders();
    } catch (e) {
      /* the id is shown instead of the name */
    }
    detail = a;
    appHead(views.detail, a, 'd');
    const paid = isPaid(a);
    $('d-state-note').textContent = {
      draft: '草稿尚未提交，可编辑后提交。',
      pending_payment: `需支付费用 ${yuan(a.fee || 0)} 元，支付成功后即完成提交。`,
      pending_review: '已提交，等待平台审核。',
      approved_pending_issue: '审核通过，请使用移动证书App下载证书。',
      issued: '证书已发放至申领人的移动证书App。',
      rejected: '审核未通过，请按不通过理由修改后重新提交。',
      withdrawn: paid ? '已撤销，已支付的费用将自动退回。' : '已撤销。',
    }[a.state] || '';
    /* back from the cashier: the payment lands through the provider's
     * signed notice, maybe a moment after the order says paid; ask again
     * for a while */
    const o = a.order && typeof a.order === 'object' ? a.order : null;
    if (a.state === 'pending_payment' && o) {
      if (o.state === 'paid') waitPaid(a.id);
      else if (o.state === 'pending' && o.expires) {
        $('d-state-note').textContent = `需支付费用 ${yuan(a.fee || 0)} 元，请在 ${fmtTime(o.expires)} 前完成支付。`;
      }
    }
    if (o && (o.state === 'refund_pending' || o.state === 'refunded')) {
      $('d-state-note').textContent += o.state === 'refunded'
        ? `已支付的 ${yuan(o.amount)} 元已退款（${fmtTime(o.refunded_at)}）。`
        : `已支付的 ${yuan(o.amount)} 元正在退款，一般在3~15个工作日内到账。`;
    }
    $('d-withdraw').hidden = !WITHDRAWABLE.has(a.state);
    $('d-edit').hidden = !EDITABLE.has(a.state);
    $('d-resubmit').hidden = a.state !== 'rejected';
    $('d-pay').hidden = a.state !== 'pending_payment';
    $('d-invoice').hidden = !invoiceable(a);

    /* approved: the activation note and the QR */
    const enroll = $('d-enroll');
    enroll.hidden = a.state !== 'approved_pending_issue';
    if (!enroll.hidden) {
      $('d-enroll-note').textContent = `激活码已通过短信发送至申领人手机 ${mask(a.mobile)}，有效期72小时，请妥善保管，不要告诉他人。`;
      $('enroll-qr').hidden = true;
      $('enroll-start').hidden = false;
      if (enrollBox) enrollBox.reset();
    }
    const issued = $('d-issued');
    issued.hidden = a.state !== 'issued';
    if (!issued.hidden) {
      /* the application names its certificate by fingerprint (SHA-256) */
      $('d-cert').replaceChildren(
        kv('证书持有人：', `${a.holder_name}（${a.org_name}）`, 'd-cert-holder'),
        kv('证书指纹：', a.cert, 'd-cert-fp', 'mono'),
        kv('密钥算法：', ALG_TEXT[a.alg] || a.alg, 'd-cert-alg'));
    }

    const fields = $('d-fields');
    const pairs = appPairs(a, 'd');
    fields.replaceChildren(
      kvSection('申领信息', [
        ...pairs.order,
        ['申领费用：', typeof a.fee === 'number' ? feeText(a.fee) + (a.fee > 0 ? payWords(paid, o) : '') : '—', 'd-fee'],
        ['申领时间：', fmtTime(a.submitted_at || a.created), 'd-time'],
      ]),
      kvSection('基本信息', pairs.org),
      kvSection('申领人信息', pairs.holder),
      kvSection('寄送信息', [['寄送方式：', '在线发放', 'd-delivery']]),
      kvSection('身份认证', [['认证方式：', IDENTITY_TEXT[a.identity] || '—', 'd-identity']]));
    await appScans(fields, a);
  }

  /* back from the cashier: the application, once its payment landed */
  const waitPaid = M.payWaiter((id) => `/api/v1/applications/${encodeURIComponent(id)}`, (a, id) => {
    note(a.state === 'pending_review' ? `支付成功（订单编号 ${id}），等待平台审核` : '支付结果已确认');
    nav(`/apply?id=${encodeURIComponent(id)}`, true);
  });

  $('d-back').addEventListener('click', () => nav('/apply'));
  $('d-edit').addEventListener('click', () => nav(`/apply?id=${encodeURIComponent(detail.id)}&edit=1`));
  $('d-resubmit').addEventListener('click', () => nav(`/apply?id=${encodeURIComponent(detail.id)}&edit=1`));
  $('d-pay').addEventListener('click', () => pay(detail, $('d-error')));
  $('d-withdraw').addEventListener('click', () => withdraw(detail));
  $('d-invoice').addEventListener('click', () => openInvoice(detail));

  enrollBox = qrBox($('enroll-qr'),
    () => api('POST', `/api/v1/applications/${encodeURIComponent(detail.id)}/enroll-session?qr=none`),
    (d, b) => {
      b.setState('approved', '证书已下载');
      note(`证书已发放（订单编号 ${detail.id}）`);
      showDetail(detail.id);
    });
  $('enroll-resend').addEventListener('click', async () => {
    const b = $('enroll-resend');
    b.disabled = true;
    try {
      await api('POST', `/api/v1/applications/${encodeURIComponent(detail.id)}/activation`);
      note(`新的激活码已通过短信发送至 ${mask(detail.mobile)}，原激活码已失效`);
    } catch (e) {
      handle(e, $('d-error'));
    } finally {
      b.disabled = false;
    }
  });
  $('enroll-start').addEventListener('click', () => {
    $('enroll-start').hidden = true;
    $('enroll-qr').hidden = false;
    enrollBox.start();
  });

  /* ---- routing ---- */

  function route() {
    const p = new URLSearchParams(location.search);
    if (enrollBox && !(p.get('id') && !p.has('edit'))) enrollBox.stop();
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    window.scrollTo(0, 0);
    if (p.has('new')) showForm(null, p.get('new'));
    else if (p.get('id') && p.has('edit')) showForm(p.get('id'));
    else if (p.get('id')) showDetail(p.get('id'));
    else showList();
  }

  async function init() {
    if (!M.loggedIn()) return;
    fillStateFilter();
    fillRegions();
    me = await M.loadMe(handle);
    if (!me) return;
    loadProviders().catch(() => {});
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
