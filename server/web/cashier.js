/*
 * cashier.js — the behaviour of the sandbox's 收银台 (cashier.html, served at
 * /pay/sandbox?order=<oid>), for a logged-in applicant or its admin:
 *
 *   - reads the order (GET /api/v1/orders/<oid>) and shows 订单编号,
 *     订单名称, 付款单位, 收款单位, 应付金额 (fen shown as yuan, "200.00");
 *   - counts down to the order's expiry by the server's clock (the reply's
 *     `now` against `expires`, carried forward by the browser's own clock);
 *     at 0 the order is 已失效 and 确认支付 is disabled;
 *   - a payment method is chosen among the sandbox buttons (支付宝 / 微信支付 /
 *     银联); 确认支付 sends POST /pay/sandbox/<oid>/confirm {method}: the
 *     sandbox provider pays and delivers its signed notice through the same
 *     check an outside provider's notice meets; then the page says so and
 *     returns to the application's page (the reply's `return`);
 *   - 取消 goes back to the application's page without paying (the order
 *     stays payable until it expires).
 *
 * An order already paid shows 已支付 and offers the way back. Server text
 * reaches the page only through textContent. The state is also in
 * data-state on #cashier (loading | pending | paying | paid | expired |
 * refund_pending | refunded | error) for people and tests.
 *
 * Non-goals: a real provider's cashier (it is on the provider's site).
 */
'use strict';

(function () {
  const M = window.mcert;
  const { ApiError, api, $, show, token, sessionEnded, pad2, yuan } = M;
  const { handle } = M.pageErrors();

  const BACK_DELAY_MS = 1500;
  const STATE_TEXT = {
    paid: '订单已支付',
    refund_pending: '订单已支付(退款处理中)',
    refunded: '订单已退款',
    expired: '订单已失效,请返回后重新发起支付',
  };

  let order = null;
  let method = 'alipay';
  let skew = 0; /* server clock - browser clock, seconds */
  let timer = null;

  /* The page the order pays for: an application's, or a renewal's (CA续费与延期). */
  function backUrl() {
    if (order && order.kind === 'renewal') return order.renewal ? `/renew?id=${encodeURIComponent(order.renewal)}` : '/renew';
    return order && order.app ? `/apply?id=${encodeURIComponent(order.app)}` : '/apply';
  }

  function backWords() {
    return order && order.kind === 'renewal' ? '续费' : '申领';
  }

  function setState(state) {
    $('cashier').dataset.state = state;
    const payable = state === 'pending';
    $('pay-confirm').disabled = !payable;
    for (const b of document.querySelectorAll('.method')) b.disabled = !payable;
    const text = STATE_TEXT[state];
    if (text) {
      $('cashier-title').textContent = text;
      $('pay-cancel').textContent = '返回';
    }
  }

  function tick() {
    if (!order) return;
    const left = order.expires - (Math.floor(Date.now() / 1000) + skew);
    if (order.state !== 'pending') {
      show($('countdown'), '');
      return;
    }
    if (left <= 0) {
      order.state = 'expired';
      setState('expired');
      show($('countdown'), '订单已失效');
      clearInterval(timer);
      return;
    }
    show($('countdown'), `订单 ${Math.floor(left / 60)}分${pad2(left % 60)}秒 后失效`);
  }

  function render(o) {
    order = o;
    skew = o.now - Math.floor(Date.now() / 1000);
    $('order-id').textContent = o.order;
    $('order-name').textContent = o.name;
    $('payer').textContent = o.payer;
    $('payee').textContent = o.payee;
    $('amount').textContent = yuan(o.amount);
    $('amount').dataset.fen = String(o.amount);
    $('cashier').hidden = false;
    setState(o.state);
    tick();
    clearInterval(timer);
    timer = setInterval(tick, 1000);
  }

  function pick(m) {
    method = m;
    for (const b of document.querySelectorAll('.method')) {
      b.setAttribute('aria-checked', b.dataset.method === m ? 'true' : 'false');
      b.classList.toggle('btn-primary', b.dataset.method === m);
    }
  }

  async function confirm() {
    show($('pay-error'), '');
    setState('paying');
    try {
      const res = await api('POST', `/pay/sandbox/${encodeURIComponent(order.order)}/confirm`, { method });
      order.state = res.state;
      setState(res.state);
      tick(); /* no countdown for a paid order */
      show($('pay-done'), `支付成功,正在返回${backWords()}页面…`);
      $('pay-done').dataset.appState = res.app_state || res.renewal_state || '';
      setTimeout(() => location.assign(res.return || backUrl()), BACK_DELAY_MS);
    } catch (e) {
      if (handle(e, $('pay-error'))) return;
      if (e instanceof ApiError && e.code === 'order_expired') {
        order.state = 'expired';
        setState('expired');
      } else {
        setState(order.state);
      }
    }
  }

  async function init() {
    if (!token()) {
      sessionEnded('请先登录');
      return;
    }
    const oid = new URLSearchParams(location.search).get('order') || '';
    for (const b of document.querySelectorAll('.method')) {
      b.addEventListener('click', () => pick(b.dataset.method));
    }
    pick('alipay');
    $('pay-confirm').addEventListener('click', confirm);
    $('pay-cancel').addEventListener('click', () => location.assign(backUrl()));
    try {
      render(await api('GET', `/api/v1/orders/${encodeURIComponent(oid)}`));
    } catch (e) {
      if (!handle(e)) $('cashier').dataset.state = 'error';
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
