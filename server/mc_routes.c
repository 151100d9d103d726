/*
 * mc_routes.c — the route table of mcertd: every endpoint, its method, its
 * body limit and whether it needs a logged-in account. core/PROTOCOL.md
 * documents each; keep both in step.
 */
#include "mc_api.h"
#include "mc_crl.h"
#include "mc_pay.h"
#include "mc_proto.h"
#include "mc_web.h"

/* A route's last fields (ctype, page) are left out where they are the
 * default (NULL): the table stays one line per route. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* A static page (mc_pages.c): GET path serves file of web_dir. */
#define PAGE(path, file) \
    {EVHTTP_REQ_GET, path, MC_API_PAGE, 0, MC_AUTH_NONE, mc_page_static, NULL, file}

const mc_route mc_routes[] = {
    /* web JSON API */
    {EVHTTP_REQ_POST, "/api/v1/login", MC_API_WEB, MC_WEB_BODY_MAX, MC_AUTH_NONE, mc_api_login},
    {EVHTTP_REQ_POST, "/api/v1/logout", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_logout},
    {EVHTTP_REQ_GET, "/api/v1/me", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_me},
    {EVHTTP_REQ_POST, "/api/v1/sessions", MC_API_WEB, MC_WEB_BODY_MAX, MC_AUTH_OPTIONAL,
     mc_api_session_open},
    {EVHTTP_REQ_GET, "/api/v1/sessions/:sid", MC_API_WEB, 0, MC_AUTH_NONE, mc_api_session_poll},
    {EVHTTP_REQ_GET, "/api/v1/sessions/:sid/qr.png", MC_API_WEB, 0, MC_AUTH_NONE,
     mc_api_session_qr},
    {EVHTTP_REQ_GET, "/api/v1/sessions/:sid/qr.svg", MC_API_WEB, 0, MC_AUTH_NONE,
     mc_api_session_qr},
    {EVHTTP_REQ_GET, "/api/v1/bindings", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_bindings},
    {EVHTTP_REQ_DELETE, "/api/v1/bindings/:account", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_unbind},
    {EVHTTP_REQ_POST, "/api/v1/sign-requests", MC_API_WEB, MC_SIGN_BODY_MAX, MC_AUTH_CALLER,
     mc_api_sign_open},
    {EVHTTP_REQ_GET, "/api/v1/sign-requests", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_sign_list},
    {EVHTTP_REQ_GET, "/api/v1/sign-requests/:sid", MC_API_WEB, 0, MC_AUTH_KEY_OPTIONAL,
     mc_api_session_poll},
    {EVHTTP_REQ_POST, "/api/v1/verify", MC_API_WEB, MC_VERIFY_BODY_MAX, MC_AUTH_CALLER,
     mc_api_verify},
    /* applications (§9.1-§9.5): the fee route before /:id */
    {EVHTTP_REQ_POST, "/api/v1/uploads", MC_API_WEB, MC_UPLOAD_BODY_MAX, MC_AUTH_REQUIRED,
     mc_api_upload, "*"},
    {EVHTTP_REQ_GET, "/api/v1/uploads/:id", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_upload_get},
    {EVHTTP_REQ_GET, "/api/v1/applications/fee", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_app_fee},
    {EVHTTP_REQ_POST, "/api/v1/applications", MC_API_WEB, MC_WEB_BODY_MAX, MC_AUTH_REQUIRED,
     mc_api_app_create},
    {EVHTTP_REQ_GET, "/api/v1/applications", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_app_list},
    {EVHTTP_REQ_GET, "/api/v1/applications/:id", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_app_get},
    {EVHTTP_REQ_PUT, "/api/v1/applications/:id", MC_API_WEB, MC_WEB_BODY_MAX, MC_AUTH_REQUIRED,
     mc_api_app_edit},
    {EVHTTP_REQ_POST, "/api/v1/applications/:id/submit", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_app_submit},
    {EVHTTP_REQ_POST, "/api/v1/applications/:id/withdraw", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_app_withdraw},
    {EVHTTP_REQ_POST, "/api/v1/applications/:id/identity", MC_API_WEB, MC_WEB_BODY_MAX,
     MC_AUTH_REQUIRED, mc_api_app_identity},
    {EVHTTP_REQ_GET, "/api/v1/review", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_app_review},
    {EVHTTP_REQ_POST, "/api/v1/applications/:id/approve", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_app_approve},
    {EVHTTP_REQ_POST, "/api/v1/applications/:id/activation", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_app_reactivate},
    {EVHTTP_REQ_POST, "/api/v1/applications/:id/reject", MC_API_WEB, MC_WEB_BODY_MAX,
     MC_AUTH_REQUIRED, mc_api_app_reject},
    {EVHTTP_REQ_POST, "/api/v1/applications/:id/pay", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_pay_open},
    {EVHTTP_REQ_GET, "/api/v1/orders/:oid", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_order_get},
    /* renewals (§10): the candidates route before /:id */
    {EVHTTP_REQ_GET, "/api/v1/renewals/candidates", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_renew_candidates},
    {EVHTTP_REQ_POST, "/api/v1/renewals", MC_API_WEB, MC_WEB_BODY_MAX, MC_AUTH_REQUIRED,
     mc_api_renew_create},
    {EVHTTP_REQ_GET, "/api/v1/renewals", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_renew_list},
    {EVHTTP_REQ_GET, "/api/v1/renewals/:id", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_renew_get},
    {EVHTTP_REQ_POST, "/api/v1/renewals/:id/refund", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_renew_refund},
    {EVHTTP_REQ_POST, "/api/v1/renewals/:id/renew-session", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_renew_session},
    {EVHTTP_REQ_POST, "/api/v1/payments/:provider/callback", MC_API_WEB, MC_PAY_NOTICE_MAX,
     MC_AUTH_NONE, mc_api_pay_callback},
    {EVHTTP_REQ_POST, "/pay/sandbox/:oid/confirm", MC_API_WEB, MC_WEB_BODY_MAX,
     MC_AUTH_REQUIRED, mc_api_pay_sandbox_confirm},
    {EVHTTP_REQ_POST, "/api/v1/certs/:fp/revoke", MC_API_WEB, MC_WEB_BODY_MAX,
     MC_AUTH_REQUIRED, mc_api_cert_revoke},
    /* the key history (§10.8) */
    {EVHTTP_REQ_GET, "/api/v1/certs/:serial", MC_API_WEB, 0, MC_AUTH_CALLER, mc_api_cert_get},
    {EVHTTP_REQ_GET, "/api/v1/bindings/:account/certs", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_cert_history},
    {EVHTTP_REQ_POST, "/api/v1/applications/:id/enroll-session", MC_API_WEB, 0,
     MC_AUTH_REQUIRED, mc_api_enroll_session},
    /* invoices (§11) */
    {EVHTTP_REQ_GET, "/api/v1/invoice-titles", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_inv_titles},
    {EVHTTP_REQ_POST, "/api/v1/invoice-titles", MC_API_WEB, MC_WEB_BODY_MAX, MC_AUTH_REQUIRED,
     mc_api_inv_title_add},
    {EVHTTP_REQ_PUT, "/api/v1/invoice-titles/:id", MC_API_WEB, MC_WEB_BODY_MAX,
     MC_AUTH_REQUIRED, mc_api_inv_title_edit},
    {EVHTTP_REQ_DELETE, "/api/v1/invoice-titles/:id", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_api_inv_title_del},
    {EVHTTP_REQ_POST, "/api/v1/invoices", MC_API_WEB, MC_WEB_BODY_MAX, MC_AUTH_REQUIRED,
     mc_api_inv_request},
    {EVHTTP_REQ_GET, "/api/v1/invoices", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_inv_list},
    {EVHTTP_REQ_GET, "/api/v1/invoices/:id", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_inv_get},
    {EVHTTP_REQ_GET, "/api/v1/invoices/:id/pdf", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_api_inv_pdf},
    {EVHTTP_REQ_POST, "/api/v1/invoices/:id/issue", MC_API_WEB, MC_WEB_BODY_MAX,
     MC_AUTH_REQUIRED, mc_api_inv_issue},
    {EVHTTP_REQ_POST, "/api/v1/invoices/:id/reject", MC_API_WEB, MC_WEB_BODY_MAX,
     MC_AUTH_REQUIRED, mc_api_inv_reject},
    {EVHTTP_REQ_POST, "/api/v1/invoices/:id/void", MC_API_WEB, MC_WEB_BODY_MAX,
     MC_AUTH_REQUIRED, mc_api_inv_void},
    {EVHTTP_REQ_GET, "/healthz", MC_API_WEB, 0, MC_AUTH_NONE, mc_api_healthz},
    {EVHTTP_REQ_GET, "/readyz", MC_API_WEB, 0, MC_AUTH_NONE, mc_api_readyz},
    /* phone msgpack API */
    {EVHTTP_REQ_GET, "/m/v1/sessions/:sid", MC_API_PHONE, 0, MC_AUTH_NONE, mc_api_phone_get},
    {EVHTTP_REQ_POST, "/m/v1/sessions/:sid/response", MC_API_PHONE, MC_PHONE_BODY_MAX,
     MC_AUTH_NONE, mc_api_phone_respond},
    {EVHTTP_REQ_GET, "/m/v1/inbox", MC_API_PHONE, 0, MC_AUTH_NONE, mc_api_phone_inbox},
    {EVHTTP_REQ_POST, "/m/v1/enroll", MC_API_PHONE, MC_PHONE_BODY_MAX, MC_AUTH_NONE,
     mc_api_enroll},
    /* the CA's publications (§9.8): DER in and out, errors as JSON */
    {EVHTTP_REQ_GET, "/ca/crl", MC_API_PAGE, 0, MC_AUTH_NONE, mc_api_ca_crl},
    {EVHTTP_REQ_POST, "/ca/ocsp", MC_API_PAGE, MC_OCSP_BODY_MAX, MC_AUTH_NONE, mc_api_ca_ocsp,
     "application/ocsp-request"},
    /* pages: the static ones are PAGE rows, the only list of them */
    {EVHTTP_REQ_GET, "/M/:sid", MC_API_PAGE, 0, MC_AUTH_NONE, mc_page_scan_hint},
    PAGE("/", "index.html"),
    PAGE("/bindings", "bindings.html"),
    PAGE("/app.js", "app.js"),
    PAGE("/style.css", "style.css"),
    PAGE("/sign", "sign.html"),
    PAGE("/sign.js", "sign.js"),
    PAGE("/sm3.js", "sm3.js"),
    PAGE("/pay/sandbox", "cashier.html"),
    PAGE("/cashier.js", "cashier.js"),
    PAGE("/apply", "apply.html"),
    PAGE("/apply.js", "apply.js"),
    PAGE("/review", "review.html"),
    PAGE("/review.js", "review.js"),
    PAGE("/renew", "renew.html"),
    PAGE("/renew.js", "renew.js"),
    PAGE("/invoice.js", "invoice.js"),
};

const size_t mc_nroutes = sizeof(mc_routes) / sizeof(mc_routes[0]);
