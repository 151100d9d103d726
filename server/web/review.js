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
  const { ApiError, api, apiRaw, h, $, fmtTime, show, token, sessionEnded, dataUrl, shell } = M;

  const STATE_TEXT = {
    draft: '草稿',
    pending_payment: '待支付',
    pending_review: '待审核',
    approved_pending_issue: '审核通过，待制证',
    issued: '审核通过，已发证',
    rejected: '审核未通过',
    withdrawn: '已撤销',
  };
  const QUEUE_STATES = ['pending_review', 'pending_payment', 'approved_pending_issue', 'issued', 'rejected', 'withdrawn'];
  const ORG_TYPE_TEXT = { legal_person: '法人单位（含企业、机构、农专社）', individual: '个体工商户', other: '其他' };
  const ALG_TEXT = { sm2: 'SM2（国密）', p256: 'P-256' };
  const SCANS = [
    ['licence', '营业执照或登记证书或法人证书扫描件'],
    ['id_scan', '申领人身份证扫描件'],
    ['auth_letter', '法人委托授权书'],
  ];
  /* The RFC 5280 CRLReasons the server takes (PROTOCOL.md §9.8). */
  const CRL_REASONS = [
    [0, '未指定'], [1, '密钥泄露'], [3, '隶属关系变更'], [4, '证书已被替代'], [5, '停止使用'], [9, '权限撤销'],
  ];
  const REGION_TEXT = {
    110000: '北京市', 120000: '天津市', 130000: '河北省', 140000: '山西省', 150000: '内蒙古自治区',
    210000: '辽宁省', 220000: '吉林省', 230000: '黑龙江省', 310000: '上海市', 320000: '江苏省',
    330000: '浙江省', 340000: '安徽省', 350000: '福建省', 360000: '江西省', 370000: '山东省',
    410000: '河南省', 420000: '湖北省', 430000: '湖南省', 440000: '广东省', 450000: '广西壮族自治区',
    460000: '海南省', 500000: '重庆市', 510000: '四川省', 520000: '贵州省', 530000: '云南省',
    540000: '西藏自治区', 610000: '陕西省', 620000: '甘肃省', 630000: '青海省', 640000: '宁夏回族自治区',
    650000: '新疆维吾尔自治区', 710000: '台湾省', 810000: '香港特别行政区', 820000: '澳门特别行政区',
  };

  const ERROR_TEXT = {
    bad_transition: '该申领的状态已变化，请刷新后重试',
    not_found: '记录不存在（证书指纹或订单编号有误）',
    not_permitted: '无权操作：本页面仅供CA审核员使用',
    bad_field: '填写的信息不符合要求，请检查后重试',
    bad_reason: '请选择有效的吊销原因',
    cert_revoked: '该证书已被吊销',
    stale: '该申领已被修改，请刷新后重试',
  };

  function errorText(e) {
    if (e instanceof ApiError && ERROR_TEXT[e.code]) return ERROR_TEXT[e.code];
    return M.errorText(e);
  }

  function showError(el, e) {
    show(el, errorText(e));
    if (e instanceof ApiError) el.dataset.code = e.code;
    else delete el.dataset.code;
  }

  function identityText(a) {
    return { face_passed: '人脸认证（已通过）', paper: '邮寄纸质资料', on_site: '现场办理', none: '未认证' }[a.identity] || '—';
  }

  function yuan(fen) {
    return (Number(fen) / 100).toFixed(2);
  }

  let me = null;
  let providers = [];
  const pageErr = $('page-error');
  const pageNote = $('page-notice');

  function handle(e, where) {
    if (e instanceof ApiError && e.status === 401) {
      sessionEnded(M.SESSION_ENDED);
      return true;
    }
    showError(where || pageErr, e);
    return false;
  }

  function nav(url, replace = false) {
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    route();
  }

  function providerName(id) {
    const p = providers.find((x) => x.id === id);
    return p ? p.name : id || '—';
  }

  function stateBadge(state) {
    return h('span', { class: 'state-dot', dataset: { state }, 'data-testid': 'row-state' }, STATE_TEXT[state] || state);
  }

  function steps(el, state) {
    const at = { draft: 0, pending_payment: 0, rejected: 1, pending_review: 1, approved_pending_issue: 2, issued: 3 }[state] ?? 0;
    el.replaceChildren();
    el.dataset.state = state;
    ['填写资料', '平台审核', '收取CA'].forEach((label, i) => {
      let cls = 'step';
      const failed = state === 'rejected' && i === 1;
      if (state === 'withdrawn') cls += i === 0 ? ' done' : '';
      else if (i < at) cls += ' done';
      else if (i === at) cls += ' current';
      if (failed) cls += ' failed';
      el.append(h('li', { class: cls }, h('span', { class: 'step-no' }, i < at && !failed && state !== 'withdrawn' ? '✓' : String(i + 1)),
        h('span', { class: 'step-label' }, label)));
    });
  }

  /* ---- the queue ---- */

  let page = 1;

  async function showQueue() {
    $('view-queue').hidden = false;
    $('view-revoke').hidden = false;
    $('view-app').hidden = true;
    $('crumbs').textContent = '我的工作台 / 系统管理 / CA管理 / 审核';
    const p = new URLSearchParams(location.search);
    $('q').value = p.get('q') || '';
    $('state-filter').value = p.has('state') ? p.get('state') : 'pending_review';
    page = Math.max(1, Number(p.get('page')) || 1);
    const qs = new URLSearchParams();
    if ($('state-filter').value) qs.set('state', $('state-filter').value);
    if ($('q').value.trim()) qs.set('q', $('q').value.trim());
    if (page > 1) qs.set('page', String(page));
    const body = $('queue-body');
    let d;
    try {
      d = await api('GET', '/api/v1/review' + (qs.toString() ? '?' + qs : ''));
    } catch (e) {
      body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 6 }, '加载失败')));
      handle(e);
      return;
    }
    show(pageErr, '');
    const rows = Array.isArray(d.applications) ? d.applications : [];
    body.replaceChildren();
    if (rows.length === 0) body.append(h('tr', { class: 'empty' }, h('td', { colspan: 6 }, '暂无数据')));
    for (const a of rows) body.append(queueRow(a));
    const per = Number(d.per_page) || 20;
    const pages = Math.max(1, Math.ceil((Number(d.total) || 0) / per));
    const more = page < pages;
    $('pager').hidden = page === 1 && !more;
    $('page-prev').disabled = page <= 1;
    $('page-next').disabled = !more;
    $('page-no').textContent = `第 ${page} / ${pages} 页，共 ${Number(d.total) || 0} 条`;
  }

  function queueRow(a) {
    const kv = (k, v, testid) => h('div', { class: 'kv' }, h('span', { class: 'k' }, k),
      h('span', { class: 'v', 'data-testid': testid }, v));
    const open = h('button', { type: 'button', class: 'link', 'data-testid': 'row-open' },
      a.state === 'pending_review' ? '审核' : '查看');
    open.addEventListener('click', () => nav(`/review?id=${encodeURIComponent(a.id)}`));
    const paid = a.paid === true || a.paid === '1' || a.paid === 1;
    return h('tr', { 'data-testid': 'queue-row', dataset: { id: a.id, state: a.state } },
      h('td', { 'data-label': '订单编号', class: 'mono', 'data-testid': 'row-id' }, a.id),
      h('td', { 'data-label': '申领信息', class: 'app-info' },
        kv('机构名称：', a.org_name || '—', 'row-org'),
        kv('申领人：', a.holder_name || '—', 'row-holder'),
        kv('提交时间：', fmtTime(a.submitted_at || a.created), 'row-time')),
      h('td', { 'data-label': '认证方式' }, identityText(a)),
      h('td', { 'data-label': '费用' }, Number(a.fee) > 0 ? `${yuan(a.fee)} 元${paid ? '（已支付）' : ''}` : '免费'),
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

  $('queue-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    nav(queueUrl());
  });
  $('filter-reset').addEventListener('click', () => nav('/review'));
  $('page-prev').addEventListener('click', () => {
    const u = new URL(queueUrl(), location.origin);
    if (page > 2) u.searchParams.set('page', String(page - 1));
    nav(u.pathname + u.search);
  });
  $('page-next').addEventListener('click', () => {
    const u = new URL(queueUrl(), location.origin);
    u.searchParams.set('page', String(page + 1));
    nav(u.pathname + u.search);
  });

  /* ---- one application ---- */

  let cur = null;

  function kvSection(title, pairs) {
    return h('section', { class: 'd-section' }, h('h2', { class: 'section-title' }, title),
      h('div', { class: 'd-grid' }, ...pairs.map(([k, v, testid, cls]) =>
        h('div', { class: 'kv' }, h('span', { class: 'k' }, k),
          h('span', { class: 'v' + (cls ? ' ' + cls : ''), 'data-testid': testid }, v === '' || v === undefined || v === null ? '—' : v)))));
  }

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
        b.addEventListener('click', () => {
          const url = URL.createObjectURL(blob);
          const link = h('a', { href: url, download: `${label}.pdf`, hidden: true });
          document.body.append(link);
          link.click();
          link.remove();
          setTimeout(() => URL.revokeObjectURL(url), 10000);
        });
        cell.append(h('span', { class: 'upload-doc' }, 'PDF'), b);
      }
    } catch (e) {
      cell.dataset.kind = 'error';
      cell.append(h('span', { class: 'muted' }, '无法加载'));
    }
    return cell;
  }

  async function showApp(id) {
    $('view-queue').hidden = true;
    $('view-revoke').hidden = true;
    $('view-app').hidden = false;
    $('crumbs').textContent = '我的工作台 / 系统管理 / CA管理 / 审核 / 申领审核详情';
    show($('r-error'), '');
    let a;
    try {
      a = await api('GET', `/api/v1/applications/${encodeURIComponent(id)}`);
    } catch (e) {
      handle(e, $('r-error'));
      $('r-fields').replaceChildren();
      return;
    }
    cur = a;
    $('view-app').dataset.id = a.id;
    $('view-app').dataset.state = a.state;
    steps($('r-steps'), a.state);
    const st = $('r-state');
    st.dataset.state = a.state;
    st.textContent = STATE_TEXT[a.state] || a.state;
    const paid = a.paid === true || a.paid === '1' || a.paid === 1;
    $('r-state-note').textContent = [
      a.reviewer ? `审核人：${a.reviewer}` : '',
      a.reviewed_at ? `审核时间：${fmtTime(a.reviewed_at)}` : '',
    ].filter(Boolean).join('　');
    const reason = $('r-reason');
    reason.hidden = !(a.state === 'rejected' && a.reason);
    reason.querySelector('[data-role="reason"]').textContent = a.reason || '';
    $('r-approve').hidden = a.state !== 'pending_review';
    $('r-reject').hidden = a.state !== 'pending_review';
    $('r-revoke').hidden = !(a.state === 'issued' && a.cert);
    const fields = $('r-fields');
    fields.replaceChildren(
      kvSection('申领信息', [
        ['订单编号：', a.id, 'r-id', 'mono'],
        ['CA服务商：', providerName(a.provider), 'r-provider'],
        ['申领数量：', String(a.quantity ?? ''), 'r-quantity'],
        ['密钥算法：', ALG_TEXT[a.alg] || a.alg, 'r-alg'],
        ['申领费用：', Number(a.fee) > 0 ? `${yuan(a.fee)} 元${paid ? '（已支付）' : ({ refunded: '（已退款）', refund_pending: '（退款中）' })[a.order && a.order.state] || '（未支付）'}` : '免费', 'r-fee'],
        ['申领账号：', a.applicant, 'r-applicant', 'mono'],
        ['提交时间：', M.fmtTime(a.submitted_at), 'r-time'],
      ]),
      kvSection('基本信息', [
        ['申领机构名称：', a.org_name, 'r-org_name'],
        ['机构类型：', ORG_TYPE_TEXT[a.org_type] || a.org_type, 'r-org_type'],
        ['统一社会信用代码：', a.uscc, 'r-uscc', 'mono'],
        ['登记机关所在地：', REGION_TEXT[a.region] || a.region, 'r-region'],
      ]),
      kvSection('申领人信息', [
        ['申领人：', a.holder_name, 'r-holder_name'],
        ['申领人身份证号码：', a.holder_id, 'r-holder_id', 'mono'],
        ['申领人手机号码：', a.mobile, 'r-mobile', 'mono'],
        ['申领人联系邮箱：', a.email, 'r-email'],
        ['认证方式：', identityText(a), 'r-identity'],
      ]),
      a.cert ? kvSection('证书信息', [['证书指纹：', a.cert, 'r-cert', 'mono']]) : '');
    const scans = h('div', { class: 'scans' });
    fields.append(h('section', { class: 'd-section' }, h('h2', { class: 'section-title' }, '扫描件'), scans));
    const cells = await Promise.all(SCANS.map(([k, label]) => scanCell(a[k], label)));
    scans.append(...cells);
  }

  $('r-back').addEventListener('click', () => nav('/review'));

  /* ---- the decisions ---- */

  const dlg = $('decide-dialog');
  let decideOk = null;
  for (const b of dlg.querySelectorAll('[data-close]')) b.addEventListener('click', () => dlg.close());

  function decide(kind) {
    const a = cur;
    show($('decide-error'), '');
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
      showApp(cur.id);
    } catch (e) {
      $('decide-ok').disabled = false;
      handle(e, $('decide-error'));
    }
  });
  $('r-approve').addEventListener('click', () => decide('approve'));
  $('r-reject').addEventListener('click', () => decide('reject'));
  $('r-revoke').addEventListener('click', () => decide('revoke'));

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
    const id = new URLSearchParams(location.search).get('id');
    if (id) showApp(id);
    else showQueue();
  }

  async function init() {
    if (!token()) {
      location.replace('/');
      return;
    }
    const sel = $('state-filter');
    for (const s of QUEUE_STATES) sel.append(h('option', { value: s }, STATE_TEXT[s]));
    fillReasons($('rv-reason'));
    fillReasons($('decide-crl'));
    try {
      me = await api('GET', '/api/v1/me');
      shell(me);
    } catch (e) {
      handle(e);
      return;
    }
    if (me.role !== 'operator') {
      $('not-operator').hidden = false;
      return;
    }
    /* the server's --ca-provider ids; the API names none, so the page knows
     * the default one by name (others show their id) */
    providers = [{ id: 'mcert', name: '本地移动证书CA' }];
    window.addEventListener('popstate', () => {
      show(pageNote, '');
      route();
    });
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
