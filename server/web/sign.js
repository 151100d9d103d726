/*
 * sign.js — the behaviour of the 签名 page (sign.html), for a logged-in holder:
 *
 *   签名      pick 1..32 files (file chooser or drag and drop); the browser
 *             digests each one locally — SHA-256 (Web Crypto) for a P-256
 *             certificate, SM3 (/sm3.js) for SM2, the algorithm taken from
 *             GET /api/v1/me (cert.alg) — and shows name, size, digest; with
 *             an optional 用途说明 and a 有效期, 发起签名 opens a sign request
 *             (POST /api/v1/sign-requests?qr=none), shows its QR
 *             (…/qr.svg) and match number, and follows it with the long poll
 *             (GET /api/v1/sessions/<sid>?state=&wait=25, X-Poll-Secret) to
 *             已签名 / 已拒绝 / 已过期; once approved, each document's detached
 *             CMS (documents[i].cms, base64 DER) downloads as <name>.p7s.
 *   验证签名  a .p7s (DER, or PEM) and the original file: the digest algorithm
 *             is read from the SignedData itself (its digestAlgorithms OID,
 *             SM3 or SHA-256), the file is digested with it locally, and
 *             POST /api/v1/verify {cms, digest} says 有效 / 无效, the signer,
 *             the signing time and the certificate's status then and now.
 *   签名记录  GET /api/v1/sign-requests, reloaded after every request ends.
 *
 * Files never leave the browser: only names, sizes and digests are sent.
 * Helpers (api, h, errors in words, the token, the top bar and menu, the
 * long poll) come from /app.js (window.mcert); server text reaches the page
 * only through textContent.
 * Every state is also in data- attributes (data-state, data-reason,
 * data-digest, data-valid…) for people and tests.
 *
 * Non-goals: cancelling a request on the server (it just expires), resuming
 * the following of a request after a reload, files the browser cannot read.
 */
'use strict';

(function () {
  const M = window.mcert;
  const { ApiError, api, h, $, pad2, fmtTime, fmtSize, show, transient } = M;

  const MAX_FILES = 32;
  const NAME_MAX = 255; /* bytes of UTF-8 */
  const TEXT_MAX = 512; /* bytes of UTF-8 */
  const CMS_MAX = 16384; /* bytes of DER the verify endpoint takes */
  const CHUNK = 8 * 1024 * 1024; /* SM3 reads a file in slices of this size */
  const FINAL = new Set(['approved', 'rejected', 'expired', 'error']);

  const ALG_OF_CERT = { sm2: 'sm3', p256: 'sha256' };
  const ALG_TEXT = { sm3: 'SM3', sha256: 'SHA-256' };
  const CERT_ALG_TEXT = { sm2: 'SM2', p256: 'P-256' };

  const STATE_TEXT = {
    creating: '正在发起签名请求…',
    pending: '待扫码',
    scanned: '已扫码，请在手机上核对文件并确认',
    approved: '已签名',
    rejected: '已拒绝',
    expired: '已过期',
    error: '出错了，请重新发起',
  };
  const RECORD_STATE_TEXT = {
    pending: '待扫码', scanned: '已扫码', approved: '已签名', rejected: '已拒绝', expired: '已过期',
  };
  const WRONG_NUMBER_TEXT = '手机上选择的数字与页面不一致，本次签名请求已失效，请重新发起';

  /* The codes of the sign and verify endpoints, in words (else app.js's). */
  const ERROR_TEXT = {
    not_bound: '当前账号未绑定CA证书，请先在CA绑定与解绑页面绑定',
    not_found: '账户不存在',
    not_permitted: '无权为该账户发起签名',
    alg_mismatch: '摘要算法与当前绑定的证书不一致',
    too_many_documents: `一次最多签名${MAX_FILES}个文件`,
    bad_digest: '文件摘要格式有误，请重新选择文件',
    bad_field: '签名请求的内容不符合要求（文件名、用途说明或有效期），请检查后重试',
    bad_cms: '签名文件格式有误，不是本系统生成的签名文件',
    too_many_requests: '请求过于频繁，请稍后再试',
    too_large: '内容过大，请减少文件数量或缩短用途说明',
    unknown_session: '签名请求已失效，请重新发起',
    bad_poll_secret: '签名请求已失效，请重新发起',
  };
  /* What the QR says while the poll waits to ask again (follow's words). */
  const RETRY_TEXT = {
    store_unavailable: '系统暂时无法访问数据，正在重试…',
    busy: '系统繁忙，正在重试…',
    too_many_waiters: '请求过于频繁，正在重试…',
    network: '网络连接中断，正在重试…',
  };
  const VERIFY_REASON_TEXT = {
    digest_mismatch: '原文件与签名不一致：文件已被修改，或不是签名时的文件',
    bad_signature: '签名值无效：签名数据已被篡改',
    cert_untrusted: '签名证书不受信任，或签名时证书不在有效期内',
    revoked_before_signing: '签名时证书已被吊销',
  };
  const CERT_STATUS_TEXT = {
    valid: '有效', revoked: '已吊销', superseded: '已更新', expired: '已过期', unknown: '未知',
  };

  /* ---- bytes ---- */

  const utf8 = new TextEncoder();

  function hex(bytes) {
    return window.mcSm3.hex(bytes);
  }

  function b64encode(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  }

  function b64decode(str) {
    const s = atob(str.replace(/\s+/g, ''));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  function fmtTimeSec(unix) {
    if (!unix) return '—';
    const d = new Date(unix * 1000);
    return `${fmtTime(unix)}:${pad2(d.getSeconds())}`;
  }

  /* The digest of a File, as 64 lower-case hex characters. SM3 reads the
   * file in slices (one slice in memory at a time); Web Crypto's SHA-256
   * takes the whole buffer. */
  async function digestFile(file, alg) {
    if (alg === 'sha256') {
      if (!window.crypto || !crypto.subtle) throw new Error('no_webcrypto');
      const d = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
      return hex(new Uint8Array(d));
    }
    if (alg === 'sm3') {
      const st = window.mcSm3.create();
      for (let off = 0; off < file.size; off += CHUNK) {
        st.update(new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer()));
      }
      return hex(st.digest());
    }
    throw new Error('unknown_alg');
  }

  function digestErrorText(e) {
    if (e && e.message === 'no_webcrypto') return '浏览器无法计算摘要：请通过安全连接（HTTPS）访问本页面';
    return '无法读取该文件';
  }

  /* ---- just enough DER to find a SignedData's digest algorithm ----
   * ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT
   *   SignedData ::= SEQUENCE { version INTEGER, digestAlgorithms SET OF
   *   AlgorithmIdentifier ::= SEQUENCE { algorithm OID, … }, … } } */
  const OID_SIGNED_DATA = '2a864886f70d010702';
  const OID_DIGEST = { '2a811ccf55018311': 'sm3', '608648016503040201': 'sha256' };

  function derItem(b, off, end) {
    if (off + 2 > end) throw new Error('der');
    const tag = b[off];
    let len = b[off + 1];
    let p = off + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 3 || p + n > end) throw new Error('der');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[p + i];
      p += n;
    }
    if (p + len > end) throw new Error('der');
    return { tag, start: p, end: p + len };
  }

  /* 'sm3' | 'sha256' | null (not a SignedData we know). */
  function cmsDigestAlg(der) {
    try {
      const ci = derItem(der, 0, der.length);
      if (ci.tag !== 0x30) return null;
      const type = derItem(der, ci.start, ci.end);
      if (type.tag !== 0x06 || hex(der.subarray(type.start, type.end)) !== OID_SIGNED_DATA) return null;
      const content = derItem(der, type.end, ci.end);
      if (content.tag !== 0xa0) return null;
      const sd = derItem(der, content.start, content.end);
      if (sd.tag !== 0x30) return null;
      const version = derItem(der, sd.start, sd.end);
      if (version.tag !== 0x02) return null;
      const algs = derItem(der, version.end, sd.end);
      if (algs.tag !== 0x31) return null;
      const ai = derItem(der, algs.start, algs.end);
      if (ai.tag !== 0x30) return null;
      const oid = derItem(der, ai.start, ai.end);
      if (oid.tag !== 0x06) return null;
      return OID_DIGEST[hex(der.subarray(oid.start, oid.end))] || null;
    } catch (e) {
      return null;
    }
  }

  /* A .p7s as DER: taken as is, or from PEM ("-----BEGIN …-----"). */
  function cmsDer(bytes) {
    const head = new TextDecoder('latin1').decode(bytes.subarray(0, 64));
    if (!/^\s*-----BEGIN /.test(head)) return bytes;
    const text = new TextDecoder('latin1').decode(bytes);
    const m = /-----BEGIN [^-]+-----([\s\S]*?)-----END [^-]+-----/.exec(text);
    if (!m) return bytes;
    try {
      return b64decode(m[1]);
    } catch (e) {
      return bytes;
    }
  }

  /* ---- the page ---- */

  function init() {
    if (!M.loggedIn()) return;
    let me = null;
    let alg = null; /* 'sm3' | 'sha256' once /me told the certificate's */
    const pageErr = $('page-error');

    /* Any 401 from an authenticated call ends the page. */
    const { handle } = M.pageErrors(ERROR_TEXT, () => M.endNote(me));

    function renderMe() {
      M.shell(me);

      const c = me.cert;
      const certAlg = c && ALG_OF_CERT[c.alg];
      const before = alg;
      alg = certAlg || null;
      $('sign-nocert').hidden = !!c;
      $('sign-cert').hidden = !c;
      document.body.dataset.alg = alg || '';
      if (c) {
        $('sign-cert-cn').textContent = c.cn || '';
        $('sign-cert-serial').textContent = M.certId(c);
        $('sign-cert-alg').textContent = certAlg ? `${CERT_ALG_TEXT[c.alg]} · ${ALG_TEXT[certAlg]}` : '算法未知';
        const status = c.status && c.status !== 'valid';
        $('sign-cert-alg').classList.toggle('badge-warn', !!status);
        if (status) $('sign-cert-alg').textContent += ` · ${CERT_STATUS_TEXT[c.status] || '不可用'}`;
      }
      if (c && !certAlg) show($('sign-error'), '无法确定当前证书的算法，暂不能签名');
      $('digest-alg-head').textContent = alg ? `（${ALG_TEXT[alg]}）` : '';
      if (before !== alg) redigestAll();
      updateForm();
    }

    async function loadMe() {
      me = await api('GET', '/api/v1/me');
      renderMe();
    }

    /* ---- the chosen files ---- */

    let files = []; /* {id, file, name, size, digest, alg, error, row} */
    let nextId = 1;
    let digesting = Promise.resolve();
    let locked = false; /* a request is open: the list stays as sent */
    const signErr = $('sign-error');

    function fileRow(f) {
      const digestCell = h('td', { class: 'digest mono', 'data-label': '摘要', 'data-testid': 'file-digest' });
      const rm = h('button', { type: 'button', class: 'link link-danger', 'data-testid': 'file-remove' }, '移除');
      rm.addEventListener('click', () => {
        if (locked) return;
        files = files.filter((x) => x !== f);
        renderFiles();
      });
      f.row = h('tr', { 'data-testid': 'file-row', dataset: { name: f.name, size: String(f.size) } },
        h('td', { class: 'file-name', 'data-label': '文件名', 'data-testid': 'file-name' }, f.name),
        h('td', { class: 'col-size', 'data-label': '大小', 'data-testid': 'file-size', title: `${f.size} 字节` },
          fmtSize(f.size)),
        digestCell,
        h('td', { class: 'col-op', 'data-label': '操作' }, rm));
      f.digestCell = digestCell;
      f.removeBtn = rm;
      paintDigest(f);
      return f.row;
    }

    function paintDigest(f) {
      const cell = f.digestCell;
      if (!cell) return;
      cell.classList.toggle('pending', !f.digest && !f.error);
      cell.classList.toggle('bad', !!f.error);
      if (f.error) cell.textContent = f.error;
      else if (f.digest) cell.textContent = f.digest;
      else cell.textContent = '计算中…';
      if (f.digest) {
        f.row.dataset.digest = f.digest;
        f.row.dataset.alg = f.alg;
      } else {
        delete f.row.dataset.digest;
        delete f.row.dataset.alg;
      }
    }

    function renderFiles() {
      const body = $('files-body');
      body.replaceChildren();
      if (files.length === 0) {
        body.append(M.emptyRow(4, '尚未选择文件'));
      }
      for (const f of files) body.append(fileRow(f));
      updateForm();
    }

    function updateForm() {
      const n = files.length;
      const ready = files.filter((f) => f.digest && f.alg === alg).length;
      const total = files.reduce((s, f) => s + f.size, 0);
      $('files-count').textContent = n
        ? `已选择 ${n} 个文件，共 ${fmtSize(total)}` + (ready < n ? `；正在计算摘要（${ready}/${n}）` : '')
        : '';
      const ok = !!alg && n > 0 && ready === n && !locked;
      $('sign-start').disabled = !ok;
      $('files-clear').disabled = locked || n === 0;
      $('file-input').disabled = locked || !alg;
      $('sign-text').disabled = locked;
      $('sign-ttl').disabled = locked;
      $('dropzone').classList.toggle('disabled', locked || !alg);
      for (const f of files) if (f.removeBtn) f.removeBtn.disabled = locked;
      document.body.dataset.ready = ok ? 'yes' : 'no';
    }

    /* Digest the files that need it, one at a time, with the current alg. */
    function redigestAll() {
      for (const f of files) {
        if (f.alg !== alg) {
          f.digest = null;
          f.error = null;
        }
      }
      for (const f of files) paintDigest(f);
      queueDigests();
    }

    function queueDigests() {
      digesting = digesting.then(async () => {
        for (const f of files.slice()) {
          if (!alg || (f.digest && f.alg === alg) || f.error) continue;
          const want = alg;
          try {
            const d = await digestFile(f.file, want);
            if (want === alg && files.includes(f)) {
              f.digest = d;
              f.alg = want;
            }
          } catch (e) {
            f.error = digestErrorText(e);
          }
          paintDigest(f);
          updateForm();
        }
      });
    }

    function addFiles(list) {
      if (locked || !alg) return;
      show(signErr, '');
      const problems = [];
      for (const file of Array.from(list || [])) {
        const name = file.name || '';
        const bytes = utf8.encode(name).length;
        if (!name || bytes > NAME_MAX) {
          problems.push(`文件名过长：${name.slice(0, 40)}…`);
          continue;
        }
        if (/[\u0000-\u001f\u007f]/.test(name)) {
          problems.push(`文件名含有不可用的字符：${name}`);
          continue;
        }
        if (files.some((f) => f.name === name && f.size === file.size && f.file.lastModified === file.lastModified)) {
          continue; /* the same file twice */
        }
        if (files.length >= MAX_FILES) {
          problems.push(`一次最多签名${MAX_FILES}个文件，多出的文件未添加`);
          break;
        }
        files.push({ id: nextId++, file, name, size: file.size, digest: null, alg: null, error: null });
      }
      if (problems.length) show(signErr, problems.join('；'));
      renderFiles();
      queueDigests();
    }

    const input = $('file-input');
    input.addEventListener('change', () => {
      addFiles(input.files);
      input.value = '';
    });
    const zone = $('dropzone');
    let dragDepth = 0;
    zone.addEventListener('dragenter', (e) => {
      e.preventDefault();
      dragDepth++;
      zone.classList.add('drag');
    });
    zone.addEventListener('dragleave', () => {
      if (--dragDepth <= 0) {
        dragDepth = 0;
        zone.classList.remove('drag');
      }
    });
    zone.addEventListener('dragover', (e) => {
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = locked || !alg ? 'none' : 'copy';
    });
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      dragDepth = 0;
      zone.classList.remove('drag');
      if (e.dataTransfer) addFiles(e.dataTransfer.files);
    });
    /* A file dropped beside the zone must not replace the page. */
    for (const ev of ['dragover', 'drop']) {
      window.addEventListener(ev, (e) => {
        if (!zone.contains(e.target)) e.preventDefault();
      });
    }
    $('files-clear').addEventListener('click', () => {
      if (locked) return;
      files = [];
      show(signErr, '');
      renderFiles();
    });

    /* ---- the sign request ---- */

    const sessEl = $('sign-session');
    const grid = document.querySelector('.sign-grid');
    const qrRoot = $('sign-qr');
    const part = (role) => qrRoot.querySelector(`[data-role="${role}"]`);
    const img = qrRoot.querySelector('img.qr-img');
    let ctl = null;
    let countdown = null;
    let sent = []; /* the files of the open request, in its order */

    function setState(state, text, reason) {
      qrRoot.dataset.state = state;
      if (reason) qrRoot.dataset.reason = reason;
      else delete qrRoot.dataset.reason;
      delete qrRoot.dataset.retrying;
      part('state').textContent = text || STATE_TEXT[state] || STATE_TEXT.error;
      const final = FINAL.has(state);
      const ov = part('overlay');
      ov.hidden = !final;
      ov.textContent = final ? ({ approved: '✓', rejected: '✕', expired: '⟳', error: '!' })[state] : '';
      if (final) {
        stopCountdown();
        part('countdown').textContent = '';
        /* signed: the list stays as signed until 签名其他文件; otherwise it
         * may be changed and sent again */
        locked = state === 'approved';
        updateForm();
        $('sign-again').hidden = state === 'approved';
        $('sign-new').hidden = false;
        loadRecords();
      }
    }

    function stopCountdown() {
      if (countdown) clearInterval(countdown);
      countdown = null;
    }

    function startCountdown(expiresAtMs) {
      const el = part('countdown');
      const tick = () => {
        const left = Math.max(0, Math.ceil((expiresAtMs - Date.now()) / 1000));
        const hh = Math.floor(left / 3600);
        const mm = Math.floor((left % 3600) / 60);
        el.textContent = `有效期剩余 ${hh ? hh + ':' + pad2(mm) : mm}:${pad2(left % 60)}`;
        el.dataset.left = String(left);
      };
      tick();
      countdown = setInterval(tick, 1000);
    }

    function stopSession() {
      if (ctl) ctl.abort();
      ctl = null;
      stopCountdown();
    }

    async function startSign() {
      if (!alg || locked) return;
      show(signErr, '');
      const text = $('sign-text').value.trim();
      if (utf8.encode(text).length > TEXT_MAX) {
        show(signErr, `用途说明过长（最多${TEXT_MAX}字节，约170个汉字）`);
        return;
      }
      if (/[\u0000-\u001f\u007f]/.test(text)) {
        show(signErr, '用途说明含有不可用的字符');
        return;
      }
      if (!files.length || files.some((f) => !f.digest || f.alg !== alg)) return;
      stopSession();
      const my = (ctl = new AbortController());
      sent = files.slice();
      locked = true;
      updateForm();
      $('sign-results').hidden = true;
      $('sign-results-list').replaceChildren();
      $('sign-again').hidden = true;
      $('sign-new').hidden = true;
      img.hidden = true;
      img.removeAttribute('src');
      delete img.dataset.payload;
      delete qrRoot.dataset.sid;
      part('match').textContent = '--';
      part('countdown').textContent = '';
      sessEl.hidden = false;
      grid.classList.add('with-session');
      setState('creating');
      locked = true;
      updateForm();

      const body = {
        documents: sent.map((f) => ({ name: f.name, size: f.size, alg, digest: f.digest })),
        ttl: Number($('sign-ttl').value),
      };
      if (text) body.text = text;
      let s;
      try {
        s = await api('POST', '/api/v1/sign-requests?qr=none', body);
      } catch (e) {
        if (my.signal.aborted) return;
        if (handle(e, signErr)) return;
        sessEl.hidden = true;
        grid.classList.remove('with-session');
        qrRoot.dataset.state = '';
        locked = false;
        updateForm();
        if (e instanceof ApiError && e.code === 'alg_mismatch') {
          /* the bound certificate changed since the page loaded */
          loadMe().catch((x) => handle(x));
          show(signErr, '当前绑定的证书已变化，已按新证书的算法重新计算摘要，请再次发起签名');
        }
        if (e instanceof ApiError && e.code === 'not_bound') loadMe().catch(() => {});
        return;
      }
      if (my.signal.aborted) return;
      const payload = s.qr && typeof s.qr.payload === 'string' ? s.qr.payload : '';
      if (typeof s.sid !== 'string' || !s.sid || typeof s.poll_secret !== 'string') {
        setState('error', '签名请求数据无效，请重新发起');
        return;
      }
      img.onerror = () => {
        if (my.signal.aborted || qrRoot.dataset.sid !== s.sid) return;
        img.hidden = true;
      };
      img.src = `/api/v1/sessions/${encodeURIComponent(s.sid)}/qr.svg`;
      if (payload) img.dataset.payload = payload;
      img.hidden = false;
      qrRoot.dataset.sid = s.sid;
      qrRoot.dataset.signingTime = String(s.signing_time || '');
      part('match').textContent = pad2(s.match);
      const ttl = s.ttl > 0 ? s.ttl : Math.max(0, s.expires - Date.now() / 1000);
      startCountdown(Date.now() + ttl * 1000);
      setState('pending');
      loadRecords();
      follow(s, my);
    }

    /* The long poll (app.js's follow), in this page's words; once approved
     * the signed documents. */
    function follow(s, my) {
      M.follow(s, my.signal, {
        setState,
        retrying(text) {
          qrRoot.dataset.retrying = 'yes';
          part('state').textContent = text;
        },
        approved: showResults,
      }, {
        wrongNumber: WRONG_NUMBER_TEXT,
        network: '网络连接中断，请重新发起',
        unavailable: '系统暂时不可用，请稍后重新发起',
        retry: RETRY_TEXT,
        errors: ERROR_TEXT,
      });
    }

    function showResults(d) {
      const list = $('sign-results-list');
      list.replaceChildren();
      const docs = Array.isArray(d.documents) ? d.documents : [];
      $('sign-results-time').textContent = d.signing_time ? `签名时间：${fmtTimeSec(d.signing_time)}` : '';
      docs.forEach((doc, i) => {
        const local = sent[i];
        const same = !!local && typeof doc.digest === 'string' &&
          doc.digest.toLowerCase() === local.digest && doc.name === local.name;
        const btn = h('button', {
          type: 'button', class: 'btn btn-small btn-primary', 'data-testid': 'download-p7s',
          dataset: { index: String(i) },
        }, '下载签名文件');
        btn.addEventListener('click', () => download(doc));
        if (typeof doc.cms !== 'string' || !doc.cms) btn.disabled = true;
        list.append(h('li', {
          class: 'result-item', 'data-testid': 'result-item',
          dataset: { index: String(i), name: doc.name || '', digest: (doc.digest || '').toLowerCase(), match: same ? 'yes' : 'no' },
        },
        h('div', { class: 'result-main' },
          h('div', { class: 'result-name' }, doc.name || ''),
          h('div', { class: 'result-meta muted small' },
            `${fmtSize(doc.size || 0)} · ${ALG_TEXT[doc.alg] || doc.alg || ''}`,
            same ? null : h('span', { class: 'badge badge-warn' }, '摘要与本地计算不一致')),
          h('div', { class: 'mono small result-digest' }, doc.digest || '')),
        h('div', { class: 'result-op' }, btn, h('span', { class: 'muted small' }, `${doc.name}.p7s`))));
      });
      if (!docs.length) list.append(h('li', { class: 'muted' }, '未收到签名文件'));
      $('sign-results').hidden = false;
    }

    function download(doc) {
      let der;
      try {
        der = b64decode(doc.cms);
      } catch (e) {
        show(signErr, '签名文件数据有误');
        return;
      }
      M.saveBlob(new Blob([der], { type: 'application/pkcs7-signature' }), `${doc.name}.p7s`);
    }

    $('sign-start').addEventListener('click', startSign);
    $('sign-again').addEventListener('click', startSign);
    $('sign-new').addEventListener('click', () => {
      stopSession();
      sessEl.hidden = true;
      grid.classList.remove('with-session');
      qrRoot.dataset.state = '';
      files = [];
      $('sign-text').value = '';
      locked = false;
      renderFiles();
    });

    /* ---- 验证签名 ---- */

    const vErr = $('verify-error');
    for (const id of ['verify-cms', 'verify-doc']) {
      const el = $(id);
      const label = document.querySelector(`.file-pick-name[data-for="${id}"]`);
      el.addEventListener('change', () => {
        const f = el.files[0];
        label.textContent = f ? `${f.name}（${fmtSize(f.size)}）` : '未选择文件';
        label.classList.toggle('muted', !f);
        $('verify-result').hidden = true;
        show(vErr, '');
      });
    }
    $('verify-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      show(vErr, '');
      const cmsFile = $('verify-cms').files[0];
      const docFile = $('verify-doc').files[0];
      if (!cmsFile) {
        show(vErr, '请选择签名文件');
        return;
      }
      if (!docFile) {
        show(vErr, '请选择原文件');
        return;
      }
      if (cmsFile.size > CMS_MAX * 2) {
        show(vErr, ERROR_TEXT.bad_cms);
        return;
      }
      const btn = $('verify-submit');
      btn.disabled = true;
      $('verify-result').hidden = true;
      try {
        const der = cmsDer(new Uint8Array(await cmsFile.arrayBuffer()));
        if (der.length > CMS_MAX || der.length < 16) {
          show(vErr, ERROR_TEXT.bad_cms);
          return;
        }
        /* the SignedData's own digest algorithm; else the holder's, and the
         * server judges the file */
        const dalg = cmsDigestAlg(der) || alg || 'sha256';
        let digest;
        try {
          digest = await digestFile(docFile, dalg);
        } catch (e) {
          show(vErr, digestErrorText(e));
          return;
        }
        const r = await api('POST', '/api/v1/verify', { cms: b64encode(der), digest });
        renderVerify(r, dalg, digest);
      } catch (e) {
        handle(e, vErr);
      } finally {
        btn.disabled = false;
      }
    });

    function renderVerify(r, dalg, digest) {
      const box = $('verify-result');
      const valid = r.valid === true;
      box.dataset.valid = valid ? 'yes' : 'no';
      box.dataset.reason = r.reason || '';
      box.dataset.digest = digest;
      const verdict = $('verify-verdict');
      verdict.replaceChildren(
        h('span', { class: 'verdict-mark' }, valid ? '✓' : '✕'),
        h('span', { class: 'verdict-text', 'data-testid': 'verify-verdict-text' }, valid ? '有效' : '无效'),
        h('span', { class: 'verdict-sub' }, valid ? '签名有效，文件自签名后未被修改' : '签名验证未通过'));
      const reason = $('verify-reason');
      reason.hidden = valid;
      reason.textContent = valid ? '' : (VERIFY_REASON_TEXT[r.reason] || '签名验证未通过');

      const s = r.signer || {};
      const line = (k, v, testid, cls) => (v === undefined || v === null || v === '' ? null
        : h('div', { class: 'kv' }, h('span', { class: 'k' }, k),
          h('span', { class: 'v' + (cls ? ' ' + cls : ''), 'data-testid': testid }, v)));
      const status = (st) => (st ? CERT_STATUS_TEXT[st] || st : null);
      let now = status(r.status_now);
      if (r.status_now === 'revoked' && r.revoked_at) now += `（吊销时间 ${fmtTimeSec(r.revoked_at)}）`;
      $('verify-details').replaceChildren(...[
        line('签名人：', s.cn, 'verify-cn'),
        line('单位：', s.org_name, 'verify-org'),
        line('统一社会信用代码：', s.uscc, 'verify-uscc', 'mono'),
        line('证书序列号：', s.serial, 'verify-serial', 'mono'),
        line('颁发者：', s.issuer, 'verify-issuer'),
        line('签名时间：', r.signing_time ? fmtTimeSec(r.signing_time) : null, 'verify-time'),
        line('证书状态（签名时）：', status(r.status_at_signing), 'verify-status-then'),
        line('证书状态（现在）：', now, 'verify-status-now'),
        line('摘要算法：', ALG_TEXT[r.digest_alg || dalg] || r.digest_alg, 'verify-alg'),
        line('原文件摘要：', digest, 'verify-digest', 'mono'),
      ].filter(Boolean));
      box.hidden = false;
    }

    /* ---- 签名记录 ---- */

    let recordsBusy = null;
    function loadRecords() {
      if (recordsBusy) return recordsBusy;
      recordsBusy = (async () => {
        try {
          const d = await api('GET', '/api/v1/sign-requests');
          renderRecords(Array.isArray(d.requests) ? d.requests : []);
          show($('records-error'), '');
        } catch (e) {
          if (handle(e, $('records-error'))) return;
          if (!(e instanceof ApiError && transient(e.status))) {
            show($('records-error'), '签名记录暂时无法加载，请稍后刷新');
          }
          if ($('records-body').querySelector('.empty')) {
            $('records-body').replaceChildren(M.emptyRow(6, '暂无数据'));
          }
        } finally {
          recordsBusy = null;
        }
      })();
      return recordsBusy;
    }

    function renderRecords(list) {
      const body = $('records-body');
      body.replaceChildren();
      if (!list.length) {
        body.append(M.emptyRow(6, '暂无签名记录'));
        return;
      }
      for (const r of list) {
        const docs = Array.isArray(r.documents) ? r.documents : [];
        const names = h('ul', { class: 'record-docs' });
        for (const doc of docs.slice(0, 3)) {
          names.append(h('li', { title: `${ALG_TEXT[doc.alg] || doc.alg || ''} ${doc.digest || ''}` },
            doc.name, h('span', { class: 'muted small doc-size' }, ` ${fmtSize(doc.size || 0)}`)));
        }
        if (docs.length > 3) names.append(h('li', { class: 'muted small' }, `等共${docs.length}个文件`));
        const stCls = { approved: 'badge-ok', rejected: 'badge-bad', expired: 'badge-muted', scanned: 'badge-warn' }[r.state] || '';
        body.append(h('tr', { 'data-testid': 'record-row', dataset: { sid: r.sid || '', state: r.state || '' } },
          h('td', { 'data-label': '发起时间' }, fmtTime(r.created)),
          h('td', { 'data-label': '发起方' }, r.requester_name || '—'),
          h('td', { 'data-label': '用途说明', class: 'record-text' }, r.text || '—'),
          h('td', { 'data-label': '文件' }, names),
          h('td', { 'data-label': '状态' },
            h('span', { class: `badge ${stCls}`, 'data-testid': 'record-state' }, RECORD_STATE_TEXT[r.state] || r.state || '—')),
          h('td', { 'data-label': '处理时间' }, r.answered_at ? fmtTime(r.answered_at) : '—')));
      }
    }

    $('records-refresh').addEventListener('click', () => loadRecords());

    /* 退出登录 itself is the shell's (app.js); the open request stops first */
    $('logout').addEventListener('click', stopSession);

    /* Who is logged in, then the records; a failure that passes by itself
     * (503, 429, network) is tried again a few times. */
    async function boot(tries) {
      try {
        await loadMe();
        show(pageErr, '');
      } catch (e) {
        handle(e);
        if (e instanceof ApiError && transient(e.status) && tries < 5) {
          const sec = Math.min(M.RETRY_MAX, Math.max(M.RETRY_MIN, e.retryAfter ?? 2 ** (tries + 1)));
          setTimeout(() => boot(tries + 1), sec * 1000);
        }
        return;
      }
      loadRecords();
    }

    updateForm();
    boot(0);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
