/*
 * review.js — the behaviour of 审核 (review.html), for CA operators:
 *
 *   /review          the queue: GET /api/v1/review?state=&q=&page= (申领状态
 *                    filter, default 待审核; 订单编号 search), 审核 / 查看;
 *                    under it 吊销证书 by fingerprint with an RFC 5280
 *                    reason (POST /api/v1/certs/<fp>/revoke; by serial
 *                    only mcertctl revoke --serial: the web API names
 *                    certificates by fingerprint).
 *   /review?id=<id>  one application: every field, its scans (images shown
 *                    inline through data: URIs, PDFs downloaded; both read
 *                    with the operator's token from GET /api/v1/uploads/<id>),
 *                    审核通过 (POST …/approve: the activation code goes to the
 *                    applicant by SMS) and 审核不通过 with a reason
 *                    (POST …/reject {reason}); for an issued one 吊销证书.
 *   /review?view=invoices  发票审核: GET /api/v1/invoices?state=&order= (default
 *                    已申请), each with its order, amount, title and tax id,
 *                    receiver; 开票 (POST …/issue {}: the server makes the
 *                    e-invoice PDF), 上传发票 (a PDF: POST /api/v1/uploads,
 *                    then …/issue {upload}), 不通过 with a reason (…/reject),
 *                    作废 with a reason (…/void); 下载 for an issued one.
 *
 * The role comes from GET /api/v1/me: anyone else is told the page is for
 * operators (the server refuses them anyway). Helpers from /app.js
 * (window.mcert); server text reaches the page through textContent only.
 *
 * Non-goals: assigning applications to reviewers, bulk decisions.
 */
'use strict';

(function () {
  const M = window.mcert;
  const { api, apiRaw, h, $, fmtTime, show, yuan, kv } = M;
  /* shared with CA证书申领 (apply.js) */
  const {
    APP_STATE_TEXT: STATE_TEXT, feeText, payWords, isPaid, appStateBadge: stateBadge, kvSection, appFetch, appHead, appScans,
  } = M;

  const QUEUE_STATES = ['pending_review', 'pending_payment', 'approved_pending_issue', 'issued', 'rejected', 'withdrawn'];
  /* The RFC 5280 CRLReasons the server takes (PROTOCOL.md §9.8). */
  const CRL_REASONS = [
    [0, '未指定'], [1, '密钥泄露'], [3, '隶属关系变更'], [4, '证书已被替代'], [5, '停止使用'], [9, '权限撤销'],
  ];
  const ERROR_TEXT = {
    bad_transition: '该申领的状态已变化，请刷新后重试',
    not_found: '记录不存在（证书指纹或订单编号有误）',
    not_permitted: '无权操作：本页面仅供CA审核员使用',
    bad_field: '填写的信息不符合要求，请检查后重试',
    bad_reason: '请选择有效的吊销原因',
    cert_revoked: '该证书已被吊销',
    stale: '该申领已被修改，请刷新后重试',
    too_large: '文件过大，不超过5MB',
    bad_upload: '文件不是有效的PDF文件',
    unsupported_media_type: '请上传PDF文件',
  };
  const INV_STATES = [['requested', '已申请'], ['issued', '已开票'], ['rejected', '未通过'], ['voided', '已作废']];
  const INV_TEXT = Object.fromEntries(INV_STATES);
  const INV_KIND_TEXT = { app: '证书申领', renewal: '证书续费' };
  const UPLOAD_MAX = 5 * 1024 * 1024;

  const { handle } = M.pageErrors(ERROR_TEXT);

  function identityText(a) {
    return { face_passed: '人脸认证（已通过）', paper: '邮寄纸质资料', on_site: '现场办理', none: '未认证' }[a.identity] || '—';
  }

  let me = null;
  const pageNote = $('page-notice');
  const nav = M.historyNav(route);

  /* ---- the queue ---- */

  let page = 1;

  function showOnly(...ids) {
    for (const id of ['view-queue', 'view-revoke', 'view-app', 'view-invoices']) $(id).hidden = !ids.includes(id);
  }

  async function showQueue() {
    showOnly('view-queue', 'view-revoke');
    M.crumbs();
    const p = new URLSearchParams(location.search);
    $('q').value = p.get('q') || '';
    $('state-filter').value = p.has('state') ? p.get('state') : 'pending_review';
    page = Math.max(1, Number(p.get('page')) || 1);
    await M.appListPage({
      path: '/api/v1/review', state: $('state-filter').value, q: $('q').value.trim(), page,
      body: $('queue-body'), row: queueRow, handle,
    });
  }

  function queueRow(a) {
    const open = h('button', { type: 'button', class: 'link', 'data-testid': 'row-open' },
      a.state === 'pending_review' ? '审核' : '查看');
    open.addEventListener('click', () => nav(`/review?id=${encodeURIComponent(a.id)}`));
    const paid = isPaid(a);
    return h('tr', { 'data-testid': 'queue-row', dataset: { id: a.id, state: a.state } },
      h('td', { 'data-label': '订单编号', class: 'mono', 'data-testid': 'row-id' }, a.id),
      h('td', { 'data-label': '申领信息', class: 'app-info' },
        kv('机构名称：', a.org_name, 'row-org'),
        kv('申领人：', a.holder_name, 'row-holder'),
        kv('提交时间：', fmtTime(a.submitted_at || a.created), 'row-time')),
      h('td', { 'data-label': '认证方式' }, identityText(a)),
      h('td', { 'data-label': '费用' }, feeText(a.fee) + (Number(a.fee) > 0 && paid ? '（已支付）' : '')),
      h('td', { 'data-label': '状态' }, stateBadge(a.state)),
      h('td', { class: 'col-op', 'data-label': '操作' }, open));
  }

  function queueUrl() {
    const qs = new URLSearchParams();
    const q = $('q').value.trim();
    if (q) qs.set('q', q);
    qs.set('state', $('state-filter').value);
    return '/review?' + qs;
  }

  M.listFilter($('queue-filter'), queueUrl, '/review', nav);
  M.wirePager(queueUrl, () => page, nav);

  /* ---- one application ---- */

  let cur = null;

  async function showApp(id) {
    showOnly('view-app');
    M.crumbs('申领审核详情');
    const a = await appFetch(id, 'r', handle);
    if (!a) return;
    cur = a;
    appHead($('view-app'), a, 'r');
    const paid = isPaid(a);
    $('r-state-note').textContent = [
      a.reviewer ? `审核人：${a.reviewer}` : '',
      a.reviewed_at ? `审核时间：${fmtTime(a.reviewed_at)}` : '',
    ].filter(Boolean).join('　');
    $('r-approve').hidden = a.state !== 'pending_review';
    $('r-reject').hidden = a.state !== 'pending_review';
    $('r-revoke').hidden = !(a.state === 'issued' && a.cert);
    const fields = $('r-fields');
    const pairs = M.appPairs(a, 'r');
    fields.replaceChildren(
      kvSection('申领信息', [
        ...pairs.order,
        ['申领费用：', feeText(a.fee) + (Number(a.fee) > 0 ? payWords(paid, a.order) : ''), 'r-fee'],
        ['申领账号：', a.applicant, 'r-applicant', 'mono'],
        ['提交时间：', fmtTime(a.submitted_at), 'r-time'],
      ]),
      kvSection('基本信息', pairs.org),
      kvSection('申领人信息', [...pairs.holder, ['认证方式：', identityText(a), 'r-identity']]),
      a.cert ? kvSection('证书信息', [['证书指纹：', a.cert, 'r-cert', 'mono']]) : '');
    await appScans(fields, a);
  }

  $('r-back').addEventListener('click', () => nav('/review'));

  /* ---- the decisions ---- */

  const dlg = $('decide-dialog');
  let decideOk = null;
  let decideAfter = null; /* what to show again after a decision (default: the application) */

  function decide(kind) {
    const a = cur;
    decideAfter = null;
    show($('decide-error'), '');
    $('decide-reason-field').querySelector('.field-label').lastChild.textContent = '不通过理由';
    $('decide-reason').placeholder = '请写明需要申领人修改的内容，申领人将在申领详情中看到';
    $('decide-reason-field').hidden = kind !== 'reject';
    $('decide-crl-field').hidden = kind !== 'revoke';
    $('decide-reason').value = '';
    $('decide-crl').value = '0';
    $('decide-ok').disabled = false;
    $('decide-ok').className = 'btn ' + (kind === 'approve' ? 'btn-primary' : 'btn-danger');
    if (kind === 'approve') {
      $('decide-title').textContent = '审核通过';
      $('decide-text').textContent = `确定审核通过订单 ${a.id}（${a.org_name} · ${a.holder_name}）吗？通过后激活码将以短信形式发送至申领人手机。`;
      $('decide-ok').textContent = '审核通过';
      decideOk = async () => {
        await api('POST', `/api/v1/applications/${encodeURIComponent(a.id)}/approve`);
        show(pageNote, `已审核通过订单 ${a.id}，激活码已发送至申领人手机`);
      };
    } else if (kind === 'reject') {
      $('decide-title').textContent = '审核不通过';
      $('decide-text').textContent = `订单 ${a.id}（${a.org_name} · ${a.holder_name}）审核不通过。已支付的费用将自动退回。`;
      $('decide-ok').textContent = '审核不通过';
      decideOk = async () => {
        const reason = $('decide-reason').value.trim();
        if (!reason) {
          show($('decide-error'), '请填写不通过理由');
          $('decide-reason').focus();
          return false;
        }
        await api('POST', `/api/v1/applications/${encodeURIComponent(a.id)}/reject`, { reason });
        show(pageNote, `订单 ${a.id} 审核不通过，已通知申领人修改`);
        return true;
      };
    } else {
      $('decide-title').textContent = '吊销证书';
      $('decide-text').textContent = `确定吊销订单 ${a.id} 发放的证书吗？吊销后不可恢复。`;
      $('decide-ok').textContent = '吊销';
      decideOk = async () => {
        await revoke(a.cert, Number($('decide-crl').value));
        show(pageNote, `已吊销订单 ${a.id} 的证书`);
      };
    }
    dlg.showModal();
  }

  $('decide-ok').addEventListener('click', async () => {
    if (!decideOk) return;
    $('decide-ok').disabled = true;
    try {
      const r = await decideOk();
      if (r === false) {
        $('decide-ok').disabled = false;
        return;
      }
      dlg.close();
      if (decideAfter) decideAfter();
      else showApp(cur.id);
    } catch (e) {
      $('decide-ok').disabled = false;
      handle(e, $('decide-error'));
    }
  });
  $('r-approve').addEventListener('click', () => decide('approve'));
  $('r-reject').addEventListener('click', () => decide('reject'));
  $('r-revoke').addEventListener('click', () => decide('revoke'));

  /* ---- 发票审核 ---- */

  let invUploadFor = null;

  function invUrl() {
    const qs = new URLSearchParams({ view: 'invoices' });
    const q = $('inv-q').value.trim();
    if (q) qs.set('order', q);
    qs.set('state', $('inv-state-filter').value);
    return '/review?' + qs;
  }

  async function showInvoices() {
    showOnly('view-invoices');
    M.crumbs();
    const p = new URLSearchParams(location.search);
    $('inv-q').value = p.get('order') || '';
    $('inv-state-filter').value = p.has('state') ? p.get('state') : 'requested';
    const qs = new URLSearchParams();
    if ($('inv-state-filter').value) qs.set('state', $('inv-state-filter').value);
    if ($('inv-q').value.trim()) qs.set('order', $('inv-q').value.trim());
    const body = $('inv-body');
    let d;
    try {
      d = await api('GET', '/api/v1/invoices' + (qs.toString() ? '?' + qs : ''));
    } catch (e) {
      body.replaceChildren(M.emptyRow(6, '加载失败'));
      handle(e, $('inv-error'));
      return;
    }
    show($('inv-error'), '');
    M.fillRows(body, Array.isArray(d.invoices) ? d.invoices : [], invRow);
  }

  function invRow(inv) {
    const { td: op, link } = M.opCell();
    if (inv.state === 'requested') {
      link('开票', 'inv-issue', () => invDecide('issue', inv));
      link('上传发票', 'inv-upload-btn', () => {
        invUploadFor = inv;
        $('inv-upload').value = '';
        $('inv-upload').click();
      });
      link('不通过', 'inv-reject', () => invDecide('reject', inv), 'link-danger');
    }
    if (inv.state === 'issued') link('下载发票', 'inv-download', () => invPdf(inv));
    if (inv.state === 'requested' || inv.state === 'issued') link('作废', 'inv-void', () => invDecide('void', inv), 'link-danger');
    if (!op.childNodes.length) op.append(h('span', { class: 'muted' }, '—'));
    const t = inv.title || {};
    return h('tr', { 'data-testid': 'inv-row', dataset: { id: inv.id, state: inv.state, order: inv.order } },
      h('td', { 'data-label': '订单信息', class: 'app-info' },
        kv('订单编号：', inv.order, 'inv-order', 'mono'),
        kv('业务：', `${INV_KIND_TEXT[inv.kind] || inv.kind || '—'} ${inv.ref || ''}`.trim(), 'inv-ref'),
        kv('实付金额（元）：', yuan(inv.amount), 'inv-amount')),
      h('td', { 'data-label': '发票抬头', class: 'app-info' },
        kv('发票抬头：', t.name, 'inv-title'),
        kv('企业税号：', t.tax_id, 'inv-tax', 'mono'),
        kv('发票类型：', inv.invoice_type || '电子增值税普通发票', 'inv-type')),
      h('td', { 'data-label': '接收信息', class: 'app-info' },
        kv('电话：', inv.receiver_phone, 'inv-phone', 'mono'),
        kv('邮箱：', inv.receiver_email, 'inv-email')),
      h('td', { 'data-label': '申请时间' }, fmtTime(inv.requested_at)),
      h('td', { 'data-label': '状态' },
        h('span', { class: 'state-dot', dataset: { state: 'inv_' + inv.state }, 'data-testid': 'inv-row-state' }, INV_TEXT[inv.state] || inv.state),
        inv.reason ? h('div', { class: 'muted small reason-v' }, inv.reason) : null),
      op);
  }

  /* 开票 (generate), 不通过 and 作废 (with a reason), through the decide dialog. */
  function invDecide(kind, inv) {
    show($('decide-error'), '');
    const t = inv.title || {};
    const what = `订单 ${inv.order}（${t.name || ''}，${yuan(inv.amount)} 元）`;
    $('decide-reason-field').hidden = kind === 'issue';
    $('decide-crl-field').hidden = true;
    $('decide-reason').value = '';
    $('decide-reason').placeholder = kind === 'reject' ? '请写明不通过的原因，申请人将在发票申请中看到' : '请写明作废的原因';
    $('decide-reason-field').querySelector('.field-label').lastChild.textContent = kind === 'reject' ? '不通过理由' : '作废原因';
    $('decide-ok').disabled = false;
    $('decide-ok').className = 'btn ' + (kind === 'issue' ? 'btn-primary' : 'btn-danger');
    $('decide-title').textContent = { issue: '开票', reject: '发票申请不通过', void: '作废发票' }[kind];
    $('decide-text').textContent = {
      issue: `为${what}开具电子增值税普通发票吗？系统将生成发票PDF，申请人即可下载。`,
      reject: `${what}的发票申请不通过。`,
      void: `作废${what}的发票吗？作废后申请人可重新申请。`,
    }[kind];
    $('decide-ok').textContent = { issue: '开票', reject: '不通过', void: '作废' }[kind];
    decideAfter = () => showInvoices();
    decideOk = async () => {
      const id = encodeURIComponent(inv.id);
      if (kind === 'issue') {
        await api('POST', `/api/v1/invoices/${id}/issue`, {});
        show(pageNote, `已为订单 ${inv.order} 开具发票`);
        return true;
      }
      const reason = $('decide-reason').value.trim();
      if (!reason) {
        show($('decide-error'), kind === 'reject' ? '请填写不通过理由' : '请填写作废原因');
        $('decide-reason').focus();
        return false;
      }
      await api('POST', `/api/v1/invoices/${id}/${kind}`, { reason });
      show(pageNote, kind === 'reject' ? `订单 ${inv.order} 的发票申请不通过` : `已作废订单 ${inv.order} 的发票`);
      return true;
    };
    dlg.showModal();
  }

  /* 上传发票: a PDF (by its first bytes, ≤ 5 MiB), uploaded, then issued with it. */
  $('inv-upload').addEventListener('change', async () => {
    const f = $('inv-upload').files[0];
    const inv = invUploadFor;
    invUploadFor = null;
    if (!f || !inv) return;
    const err = $('inv-error');
    show(err, '');
    const head = new Uint8Array(await f.slice(0, 5).arrayBuffer());
    if (!(head.length === 5 && [0x25, 0x50, 0x44, 0x46, 0x2d].every((v, i) => head[i] === v))) {
      show(err, '请上传PDF格式的电子发票');
      return;
    }
    if (f.size > UPLOAD_MAX) {
      show(err, '文件过大，不超过5MB');
      return;
    }
    try {
      const up = await apiRaw('POST', '/api/v1/uploads', { body: f, type: 'application/pdf' });
      await api('POST', `/api/v1/invoices/${encodeURIComponent(inv.id)}/issue`, { upload: up.id });
      show(pageNote, `已上传订单 ${inv.order} 的发票`);
      showInvoices();
    } catch (e) {
      handle(e, err);
    }
  });

  async function invPdf(inv) {
    try {
      const blob = await apiRaw('GET', `/api/v1/invoices/${encodeURIComponent(inv.id)}/pdf`, { asBlob: true });
      M.saveBlob(blob, `电子发票-${inv.id}.pdf`);
    } catch (e) {
      handle(e, $('inv-error'));
    }
  }

  M.listFilter($('inv-filter'), invUrl, '/review?view=invoices', nav);

  /* ---- revocation ---- */

  function fillReasons(sel) {
    sel.replaceChildren(...CRL_REASONS.map(([v, t]) => h('option', { value: String(v) }, `${t}（${v}）`)));
  }

  /* by fingerprint: 64 hex digits (colons and spaces ignored) */
  async function revoke(fp, reason) {
    const v = fp.trim().replace(/[\s:]/g, '').toLowerCase();
    return api('POST', `/api/v1/certs/${v}/revoke`, { reason });
  }

  $('revoke-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = $('rv-error');
    show(err, '');
    const id = $('rv-id').value.trim().replace(/[\s:]/g, '');
    if (!/^[0-9a-fA-F]{64}$/.test(id)) {
      show(err, '请输入64位十六进制证书指纹');
      return;
    }
    $('rv-submit').disabled = true;
    try {
      await revoke(id, Number($('rv-reason').value));
      show(pageNote, `已吊销证书 ${id.toLowerCase()}`);
      $('rv-id').value = '';
    } catch (e) {
      handle(e, err);
    } finally {
      $('rv-submit').disabled = false;
    }
  });

  /* ---- routing ---- */

  function route() {
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    window.scrollTo(0, 0);
    const p = new URLSearchParams(location.search);
    M.markMenu();
    if (p.get('view') === 'invoices') showInvoices();
    else if (p.get('id')) showApp(p.get('id'));
    else showQueue();
  }

  async function init() {
    if (!M.loggedIn()) return;
    const sel = $('state-filter');
    for (const s of QUEUE_STATES) sel.append(h('option', { value: s }, STATE_TEXT[s]));
    for (const [v, t] of INV_STATES) $('inv-state-filter').append(h('option', { value: v }, t));
    fillReasons($('rv-reason'));
    fillReasons($('decide-crl'));
    me = await M.loadMe(handle);
    if (!me) return;
    if (me.role !== 'operator') {
      $('not-operator').hidden = false;
      return;
    }
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
