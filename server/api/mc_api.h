/*
 * mc_api.h — the handlers of mcertd, one file per capability:
 *   auth.c     password login, logout, me
 *   session.c  QR sessions: open, the browser's long poll, the QR image
 *   bind.c     bindings: list, unbind
 *   phone.c    the phone's msgpack API: fetch a session, answer it, the inbox
 *   sign.c     sign requests (platform and holder), their history, verify
 *   enroll.c   enrollment: the phone redeems its activation code, the enroll QR
 *   apply.c    applications (申领): uploads, drafts, submit, review, identity
 *   ca.c       revocation with a reason, the CA's CRL and OCSP responder
 *   certs.c    the key history: a certificate by serial, an account's renewals
 *   pay.c      payment orders, provider notices, the sandbox provider, refunds
 *   invoice.c  invoices (发票): titles, requests, issue / reject / void, the PDF
 *   renew.c    renewals (续费) and the extension's QR (延期); phone_renew.c
 *              the phone's answer to it
 *   health.c   /healthz (never waits for Redis), /readyz
 * Each handler is an mc_handler (mc_httpd.h): called by the dispatcher
 * after its checks; it reads top to bottom as parse -> core rule -> store
 * call -> reply, and every path ends in exactly one mc_reply_*.
 */
#ifndef MC_API_H
#define MC_API_H

#include "mc_httpd.h"
#include "mc_policy.h"
#include "mc_store_rec.h"
#include "mc_store_sess.h"

void mc_api_login(mc_req *r);
void mc_api_logout(mc_req *r);
void mc_api_me(mc_req *r);

void mc_api_session_open(mc_req *r);
void mc_api_session_poll(mc_req *r);
void mc_api_session_qr(mc_req *r);
/* api/session.c's per-loop state: reads shared by woken polls, the
 * cache of drawn QR images. */
mc_sess_state *mc_api_sess_new(void);
void mc_api_sess_free(mc_sess_state *t);

void mc_api_bindings(mc_req *r);
void mc_api_unbind(mc_req *r);

void mc_api_phone_get(mc_req *r);
void mc_api_phone_respond(mc_req *r);
void mc_api_phone_inbox(mc_req *r);

void mc_api_sign_open(mc_req *r);
void mc_api_sign_list(mc_req *r);
void mc_api_verify(mc_req *r);
/* The documents as the web sees them: [{name, size, alg, digest (hex)}]. */
struct mc_sign_info;
json_t *mc_api_docs_json(const struct mc_sign_info *si);

/* A new QR session of r's caller (api/session.c): ids, nonce and numbers
 * from the CSPRNG, the origin, client address and User-Agent summary of r;
 * the caller sets account and requester. */
void mc_api_session_new(mc_req *r, mc_session *s, mc_purpose purpose, int ttl);

/* After a QR session was stored: a client address over its limits is
 * answered 429 too_many_sessions (with Retry-After); else s gets Redis's
 * created/expires and *qr the reply's qr object (new reference). -1 when
 * it answered (429, or a QR that cannot be drawn), else 0. */
int mc_api_session_opened(mc_req *r, mc_session *s, const mc_open_result *o, int svg, int png,
                          int text, json_t **qr);

/* The QR of a reply (api/session.c): "svg,png,text" / "none" parsed into
 * the three flags (0 / -1); the qr object (payload, version, modules and
 * the renderings asked for), NULL with err. */
int mc_api_qr_formats(const char *q, int *svg, int *png, int *text);
/* The renderings r's ?qr= asks for (default svg,png,text); -1 after
 * answering 400 bad_query. */
int mc_api_qr_wanted(mc_req *r, int *svg, int *png, int *text);
json_t *mc_api_qr_json(const char *base, const char *sid, int svg, int png, int text,
                       mc_err *err);

/* api/apply.c: applications (§9.1-§9.5), their uploads, the review. */
void mc_api_upload(mc_req *r);
void mc_api_upload_get(mc_req *r);
void mc_api_app_fee(mc_req *r);
void mc_api_app_create(mc_req *r);
void mc_api_app_list(mc_req *r);
void mc_api_app_get(mc_req *r);
void mc_api_app_edit(mc_req *r);
void mc_api_app_submit(mc_req *r);
void mc_api_app_withdraw(mc_req *r);
void mc_api_app_identity(mc_req *r);
void mc_api_app_review(mc_req *r);
void mc_api_app_approve(mc_req *r);
void mc_api_app_reactivate(mc_req *r);
void mc_api_app_reject(mc_req *r);

/* api/renew.c: renewals and extensions (§10); the phone's answer to an
 * extension is api/phone_renew.c's. */
void mc_api_renew_candidates(mc_req *r);
void mc_api_renew_create(mc_req *r);
void mc_api_renew_list(mc_req *r);
void mc_api_renew_get(mc_req *r);
void mc_api_renew_refund(mc_req *r);
void mc_api_renew_session(mc_req *r);

/* api/pay.c: payments (§9.6). */
void mc_api_pay_open(mc_req *r);
void mc_api_order_get(mc_req *r);
void mc_api_pay_callback(mc_req *r);
void mc_api_pay_sandbox_confirm(mc_req *r);
/* An order as §9.6 shows it (with its cashier's address): new reference. */
struct mc_order;
json_t *mc_api_order_json(mc_node *node, const struct mc_order *o);
/* api/pay.c's per-loop state: the providers and their keys (DATA/pay/
 * <provider>.key, made at the first start), the sandbox's notices waiting
 * on their timers, and on loop 0 the refund sweep. NULL with err (a key
 * file that cannot be made or read stops the start). Free it before the
 * store: it cancels its timers. */
typedef struct mc_pay mc_pay;
mc_pay *mc_api_pay_new(mc_node *node, mc_err *err);
void mc_api_pay_free(mc_pay *pay);
/* Refund order_id, which a Redis Function of the caller's has just marked
 * refund_pending (and queued in {mc}:refundq): records the refund request
 * and asks the order's provider; the provider's refunded notice later makes
 * the order refunded. Asynchronous and fire-and-forget: it never answers a
 * request, the caller replies as usual; the outcome is the order's state.
 * A refund not asked now (store or provider down, mcertd stopping) is asked
 * again by the sweep. 0, or -1 (not an order id, out of memory, no
 * payments on this node). */
int mc_pay_refund(mc_node *node, const char *order_id, const mc_actor *a);

/* api/invoice.c: invoices (§11): the organisation's titles, the request of
 * a paid order's invoice, the operator's issue (PDF generated or uploaded),
 * reject and void. */
void mc_api_inv_titles(mc_req *r);
void mc_api_inv_title_add(mc_req *r);
void mc_api_inv_title_edit(mc_req *r);
void mc_api_inv_title_del(mc_req *r);
void mc_api_inv_request(mc_req *r);
void mc_api_inv_list(mc_req *r);
void mc_api_inv_get(mc_req *r);
void mc_api_inv_pdf(mc_req *r);
void mc_api_inv_issue(mc_req *r);
void mc_api_inv_reject(mc_req *r);
void mc_api_inv_void(mc_req *r);

/* api/enroll.c: the phone redeems an activation (§9.7); the web's enroll QR. */
void mc_api_enroll(mc_req *r);
void mc_api_enroll_session(mc_req *r);

/* api/ca.c: revocation (§9.8), the CRL and OCSP. */
void mc_api_cert_revoke(mc_req *r);
void mc_api_ca_crl(mc_req *r);
void mc_api_ca_ocsp(mc_req *r);
/* api/certs.c: the key history (§10.8). */
void mc_api_cert_get(mc_req *r);
void mc_api_cert_history(mc_req *r);
/* api/ca.c's per-loop state: the CRL last built, by version. */
struct mc_ca_state *mc_api_ca_new(void);
void mc_api_ca_free(struct mc_ca_state *s);

/* 0 if next (where a state table leads: mc_app_next, mc_inv_next; -1,
 * MC_FSM_NONE, for nowhere) is a state; else answers 409 bad_transition
 * "<event> is not possible in state <state>" and returns -1. The Redis
 * Function re-checks atomically. (api/views.c) */
int mc_api_transition_ok(mc_req *r, int next, const char *event, const char *state);

void mc_api_healthz(mc_req *r);
void mc_api_readyz(mc_req *r);

/* The facts the authorisation rules look at, of an account (borrowed). */
mc_principal mc_api_principal(const mc_account *a);

/* An account as the web sees it; c: its bound certificate's record (fp ""
 * when none is known). New reference. */
json_t *mc_api_account_json(const mc_account *a, const mc_cert_rec *c);

#endif
