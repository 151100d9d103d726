/*
 * api/session.c — QR sessions for the web: open one, wait for its answer,
 * draw its QR.
 *
 *   POST /api/v1/sessions?qr=...        {purpose, account?}
 *   GET  /api/v1/sessions/:sid?state=&wait=     X-Poll-Secret
 *   GET  /api/v1/sessions/:sid/qr.png | qr.svg
 *
 * Rules kept here: the poll secret (never in the QR) is the only way to read
 * a session's outcome. The login token is derived from the poll secret
 * (mc_token_derive), so whoever holds it collects the same token on every
 * read until it expires or logs out — a read whose reply was lost loses
 * nothing — and the minting function re-checks, at that moment, that the
 * certificate is still valid and still bound to the account. Staff may bind
 * only themselves; an admin any account of its organisation
 * (mc_policy_may_manage).
 *
 * QR: encoded once per request that asks for renderings (?qr=), or drawn by
 * the image routes for a session that exists (one read), once per loop and
 * kept for repeated loads; `?qr=none` draws nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mc_api.h"
#include "mc_crypto.h"
#include "mc_events.h"
#include "mc_policy.h"
#include "mc_qr.h"
#include "mc_results.h"
#include "mc_session.h"
#include "mc_store_sess.h"
#include "mc_token.h"
#include "mc_ua.h"

/* ---- open ---- */

typedef struct open_ctx {
    mc_session s;
    uint8_t poll_hash[32];
    char poll[MC_TOKEN_SECRET_LEN + 1]; /* mc_secret_new */
    int want_svg, want_png, want_text;
    mc_account target;            /* bind: the account to bind */
    mc_org org;                   /* bind: its organisation */
    mc_open_result opened;
} open_ctx;

static void open_ctx_free(void *p)
{
    OPENSSL_cleanse(p, sizeof(open_ctx));
    free(p);
}

/* Parse "svg,png,text" / "none" into the three flags. 0 / -1. */
int mc_api_qr_formats(const char *q, int *svg, int *png, int *text)
{
    *svg = *png = *text = 0;
    size_t n = strlen(q);
    if (n == 0 || n > 32)
        return -1;
    for (const char *p = q; p <= q + n;) {
        size_t len = strcspn(p, ",");
        if (len == 3 && memcmp(p, "svg", 3) == 0)
            *svg = 1;
        else if (len == 3 && memcmp(p, "png", 3) == 0)
            *png = 1;
        else if (len == 4 && memcmp(p, "text", 4) == 0)
            *text = 1;
        else if (!(len == 4 && memcmp(p, "none", 4) == 0))
            return -1;
        p += len + 1;
    }
    return 0;
}

void mc_api_session_new(mc_req *r, mc_session *s, mc_purpose purpose, int ttl)
{
    mc_session_init(s, purpose, r->now, ttl);
    snprintf(s->origin, sizeof(s->origin), "%s", r->origin);
    snprintf(s->ip, sizeof(s->ip), "%s", r->ip);
    const char *ua = evhttp_find_header(evhttp_request_get_input_headers(r->req), "User-Agent");
    if (ua)
        mc_ua_summary(ua, strnlen(ua, 1024), s->ua, sizeof(s->ua));
}

int mc_api_qr_wanted(mc_req *r, int *svg, int *png, int *text)
{
    *svg = *png = *text = 1;
    const char *q = evhttp_find_header(&r->query, "qr");
    if (q == NULL || mc_api_qr_formats(q, svg, png, text) == 0)
        return 0;
    mc_reply_errf(r, 400, "bad_query", "qr lists svg, png, text or none, comma-separated");
    return -1;
}

static void open_on_target(void *privdata, const mc_err *err);
static void open_on_org(void *privdata, const mc_err *err);
static void open_store(mc_req *r);
static void open_on_stored(void *privdata, const mc_err *err);

void mc_api_session_open(mc_req *r)
{
    static const char *const allowed[] = {"purpose", "account", NULL};
    mc_err err;
    mc_err_clear(&err);
    const char *ps, *target;
    size_t pslen, targetlen;
    if (mc_json_only(r->json, allowed, &err) != 0 ||
        mc_json_str(r->json, "purpose", 16, 1, &ps, &pslen, &err) != 0 ||
        mc_json_str(r->json, "account", MC_ACCOUNT_MAX, 0, &target, &targetlen, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    mc_purpose purpose = mc_purpose_parse(ps, pslen);
    if (purpose != MC_PURPOSE_BIND && purpose != MC_PURPOSE_LOGIN) {
        /* sign sessions come from POST /api/v1/sign-requests only */
        mc_reply_errf(r, 400, "bad_field", "purpose must be \"bind\" or \"login\"");
        return;
    }
    open_ctx *x = mc_req_ctx(r, sizeof(*x), open_ctx_free);
    if (x == NULL)
        return;
    if (mc_api_qr_wanted(r, &x->want_svg, &x->want_png, &x->want_text) != 0)
        return;
    mc_session *s = &x->s;
    mc_api_session_new(r, s, purpose, r->node->cfg->session_ttl);
    if (purpose == MC_PURPOSE_LOGIN) {
        if (target != NULL) {
            mc_reply_errf(r, 400, "bad_field", "a login session names no account");
            return;
        }
        open_store(r);
        return;
    }
    if (!r->authed) {
        mc_reply_errf(r, 401, "unauthorized", "log in to bind a certificate");
        return;
    }
    if (target == NULL || (targetlen == strlen(r->who.acc.login) &&
                           memcmp(target, r->who.acc.login, targetlen) == 0)) {
        x->target = r->who.acc;
        open_on_target(r, &err);
        return;
    }
    if (!mc_account_name_valid(target, targetlen)) {
        mc_reply_errf(r, 400, "bad_field", "account is not a valid account name");
        return;
    }
    char login[MC_ACCOUNT_MAX + 1];
    memcpy(login, target, targetlen);
    login[targetlen] = '\0';
    mc_store_account_get(r->node->store, login, &x->target, open_on_target, r);
}

static void open_on_target(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    open_ctx *x = r->hctx;
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_principal them = mc_api_principal(&x->target);
    if (!mc_policy_may_manage(&me, &them)) {
        mc_reply_errf(r, 403, "not_permitted",
                      "only an organisation admin may bind another account");
        return;
    }
    if (x->target.cert[0] != '\0') {
        mc_reply_errf(r, 409, "account_bound", "the account already has a certificate");
        return;
    }
    snprintf(x->s.account, sizeof(x->s.account), "%s", x->target.login);
    snprintf(x->s.requester, sizeof(x->s.requester), "%s", r->who.acc.login);
    mc_store_org_get(r->node->store, x->target.org, &x->org, open_on_org, r);
}

static void open_on_org(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    if (err->status != 0 && err->status != 404) {
        mc_reply_err(r, err);
        return;
    }
    open_store(r);
}

static void open_store(mc_req *r)
{
    open_ctx *x = r->hctx;
    mc_secret_new(x->poll);
    mc_sha256(x->poll, MC_TOKEN_SECRET_LEN, x->poll_hash);
    const char *rname = x->s.purpose == MC_PURPOSE_BIND ? r->who.acc.name : "";
    const char *org = x->s.purpose == MC_PURPOSE_BIND ? x->target.org : "";
    const mc_config *cfg = r->node->cfg;
    mc_open_limits lim = {cfg->limit_opens, cfg->limit_pending};
    mc_store_sess_open(r->node->store, &x->s, x->poll_hash, cfg->session_ttl, &lim, rname, org,
                       x->org.name, &x->opened, open_on_stored, r);
}

#define QR_PNG_SCALE 6 /* pixels per module */

/* The QR of sid's payload (copied to payload). NULL with err. */
static mc_qr *qr_of(const char *base, const char *sid, char payload[MC_QR_PAYLOAD_MAX + 1],
                    mc_err *err)
{
    if (mc_qr_payload(base, sid, payload, err) != 0)
        return NULL;
    return mc_qr_encode(payload, err);
}

/* One image of q: PNG or SVG. 0, or -1 with err. */
static int qr_image(const mc_qr *q, int png, mc_buf *out, mc_err *err)
{
    if ((png ? mc_qr_png(q, QR_PNG_SCALE, out, err) : mc_qr_svg(q, out)) == 0)
        return 0;
    if (err->status == 0)
        mc_err_set(err, 500, "internal", "QR rendering failed");
    return -1;
}

/* The QR object of a reply: payload, version, modules and the renderings
 * asked for. NULL with err on failure. */
json_t *mc_api_qr_json(const char *base, const char *sid, int svg, int png, int text,
                       mc_err *err)
{
    char payload[MC_QR_PAYLOAD_MAX + 1];
    if (!svg && !png && !text) {
        if (mc_qr_payload(base, sid, payload, err) != 0)
            return NULL;
        return json_pack("{s:s}", "payload", payload);
    }
    mc_qr *q = qr_of(base, sid, payload, err);
    if (q == NULL)
        return NULL;
    json_t *o = json_pack("{s:s, s:i, s:i}", "payload", payload, "version", mc_qr_version(q),
                          "modules", mc_qr_width(q));
    mc_buf b = {0};
    if (svg) {
        if (qr_image(q, 0, &b, err) != 0)
            goto fail;
        json_object_set_new(o, "svg", json_stringn((const char *)b.ptr, b.len));
        b.len = 0;
    }
    if (png) {
        if (qr_image(q, 1, &b, err) != 0)
            goto fail;
        char *b64 = mc_base64(b.ptr, b.len);
        json_object_set_new(o, "png", json_string(b64));
        free(b64);
        b.len = 0;
    }
    if (text) {
        if (mc_qr_text(q, &b) != 0) {
            mc_err_set(err, 500, "internal", "QR rendering failed");
            goto fail;
        }
        json_object_set_new(o, "text", json_stringn((const char *)b.ptr, b.len));
    }
    mc_buf_free(&b);
    mc_qr_free(q);
    return o;
fail:
    mc_buf_free(&b);
    mc_qr_free(q);
    json_decref(o);
    return NULL;
}

int mc_api_session_opened(mc_req *r, mc_session *s, const mc_open_result *o, int svg, int png,
                          int text, json_t **qr)
{
    if (o->limited) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", o->retry_after);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", ra);
        mc_reply_errf(r, 429, "too_many_sessions",
                      "too many QR sessions from this address; try again later");
        return -1;
    }
    s->created = o->created;
    s->expires = o->expires;
    mc_err e2;
    mc_err_clear(&e2);
    *qr = mc_api_qr_json(r->node->cfg->public_base, s->sid, svg, png, text, &e2);
    if (*qr == NULL) {
        mc_reply_err(r, &e2);
        return -1;
    }
    return 0;
}

static void open_on_stored(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    open_ctx *x = r->hctx;
    json_t *qr;
    if (mc_api_session_opened(r, &x->s, &x->opened, x->want_svg, x->want_png, x->want_text,
                              &qr) != 0)
        return;
    mc_reply_json(r, 201,
                  json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:o}", "sid", x->s.sid,
                            "purpose", mc_purpose_name(x->s.purpose), "account", x->s.account,
                            "poll_secret", x->poll, "match", (int)x->s.match, "expires",
                            (json_int_t)x->s.expires, "ttl", (int)(x->s.expires - x->s.created),
                            "qr", qr));
}

/* ---- the browser's poll ---- */

/* A read of one session shared by the polls that a single delivery of the
 * events module woke (mc_events_epoch): N browsers waiting on one session
 * cost one Redis read when it changes, not N. A group is joinable only by
 * polls woken by the same delivery, so a read never predates the event a
 * poll was woken for. Each member checks its own poll secret against the
 * session's (constant time). */
typedef struct poll_group {
    struct poll_group *next;      /* in its bucket */
    struct mc_sess_state *table;
    uint64_t epoch;               /* joinable by polls woken at this epoch; 0: none */
    uint64_t read_epoch;          /* the events epoch when its read went out */
    char sid[MC_SID_LEN + 1];
    mc_sess_poll p;
    mc_req **members;
    size_t n, cap;
} poll_group;

#define POLL_BUCKETS 256
#define QR_CACHE 128

/* A drawn QR image, kept for the page's repeated loads of it. */
typedef struct qr_cached {
    char sid[MC_SID_LEN + 1];
    int png;
    mc_buf img;
} qr_cached;

struct mc_sess_state {
    poll_group *buckets[POLL_BUCKETS];
    qr_cached qr[QR_CACHE];       /* direct-mapped by sid */
};

mc_sess_state *mc_api_sess_new(void)
{
    return calloc(1, sizeof(mc_sess_state));
}

void mc_api_sess_free(mc_sess_state *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < QR_CACHE; i++)
        mc_buf_free(&t->qr[i].img);
    free(t); /* poll groups free themselves when their read completes */
}

static unsigned sid_bucket(const char *sid)
{
    return mc_sid_hash(sid) % POLL_BUCKETS;
}

#define POLL_SECRET_MAX 128 /* longer X-Poll-Secret values are no poll secret */

typedef struct poll_ctx {
    char sid[MC_SID_LEN + 1];
    char secret[POLL_SECRET_MAX + 1]; /* the X-Poll-Secret header */
    size_t secret_len;
    uint8_t poll_hash[32];
    char known[12];
    int wait;
    int64_t deadline_ms;
    mc_sess_poll p;
    mc_mint m;
    char tok[MC_TOKEN_MAX + 1], tok_hash[65];
    mc_waiter *waiter;
    uint64_t read_epoch;          /* events epoch when the last read went out */
    int rereads;                  /* reads again because an event raced the read */
    int via_key;                  /* the platform's API key collects (§8.5) */
    mc_sign_results *signs;       /* an approved sign session's results */
    char who[40];
} poll_ctx;

static void poll_ctx_free(void *p)
{
    poll_ctx *x = p;
    if (x->signs != NULL) {
        mc_buf_free(&x->signs->results);
        free(x->signs);
    }
    OPENSSL_cleanse(p, sizeof(poll_ctx));
    free(p);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void poll_read(mc_req *r, int woken);
static void poll_mint(mc_req *r, mc_store_cb done);
static int poll_collect(mc_req *r);
static void poll_on_collected(void *privdata, const mc_err *err);
static void poll_on_read(mc_req *r, const mc_err *err, const mc_sess_poll *p);
static void poll_on_minted(void *privdata, const mc_err *err);
static void poll_on_signs(void *privdata, const mc_err *err);
static void poll_wake(void *privdata, mc_wake why, const char *state);
static void poll_gone(mc_req *r);

void mc_api_session_poll(mc_req *r)
{
    if (!mc_sid_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "unknown_session", "no such session");
        return;
    }
    const char *secret =
        evhttp_find_header(evhttp_request_get_input_headers(r->req), "X-Poll-Secret");
    size_t secret_len = secret ? strnlen(secret, POLL_SECRET_MAX + 1) : 0;
    if (r->via_key) {
        secret = "";
        secret_len = 0; /* the key that opened the request is the credential */
    } else if (secret_len == 0) {
        mc_reply_errf(r, 401, "bad_poll_secret", "the X-Poll-Secret header is required");
        return;
    }
    if (secret_len > POLL_SECRET_MAX) {
        mc_reply_errf(r, 403, "bad_poll_secret", "wrong poll secret for this session");
        return;
    }
    int wait;
    if (mc_query_int(r, "wait", 0, r->node->cfg->poll_wait_max, 0, &wait) != 0) {
        mc_reply_errf(r, 400, "bad_query", "wait must be 0..%d", r->node->cfg->poll_wait_max);
        return;
    }
    const char *known = evhttp_find_header(&r->query, "state");
    if (known != NULL && strlen(known) >= sizeof(((poll_ctx *)0)->known)) {
        mc_reply_errf(r, 400, "bad_query", "unknown state");
        return;
    }
    poll_ctx *x = mc_req_ctx(r, sizeof(*x), poll_ctx_free);
    if (x == NULL)
        return;
    memcpy(x->sid, r->param, MC_SID_LEN); /* mc_sid_valid: exactly MC_SID_LEN */
    snprintf(x->known, sizeof(x->known), "%s", known ? known : "");
    memcpy(x->secret, secret, secret_len);
    x->secret_len = secret_len;
    mc_sha256(x->secret, x->secret_len, x->poll_hash);
    x->via_key = r->via_key;
    x->wait = known != NULL ? wait : 0;
    x->deadline_ms = now_ms() + (int64_t)x->wait * 1000;
    if (!poll_collect(r))
        poll_read(r, 0);
}

static void group_on_read(void *privdata, const mc_err *err)
{
    poll_group *g = privdata;
    /* out of the table first: a member may start a new read */
    poll_group **pp = &g->table->buckets[sid_bucket(g->sid)];
    while (*pp != g)
        pp = &(*pp)->next;
    *pp = g->next;
    for (size_t i = 0; i < g->n; i++) {
        mc_req *r = g->members[i];
        if (r->req == NULL) {
            mc_req_end(r);
        } else {
            ((poll_ctx *)r->hctx)->read_epoch = g->read_epoch;
            poll_on_read(r, err, &g->p);
        }
    }
    free(g->members);
    OPENSSL_cleanse(g, sizeof(*g));
    free(g);
}

/* Read the session for r: alone, or (woken by a delivery) with the polls
 * that the same delivery woke. */
static void poll_read(mc_req *r, int woken)
{
    poll_ctx *x = r->hctx;
    mc_sess_state *t = r->node->sess;
    uint64_t epoch = mc_events_epoch(r->node->events);
    unsigned b = sid_bucket(x->sid);
    poll_group *g = NULL;
    if (woken)
        for (g = t->buckets[b]; g != NULL; g = g->next)
            if (g->epoch == epoch && strcmp(g->sid, x->sid) == 0)
                break;
    if (g == NULL) {
        g = calloc(1, sizeof(*g));
        if (g == NULL) {
            mc_reply_errf(r, 503, "busy", "out of memory");
            return;
        }
        g->table = t;
        g->epoch = woken ? epoch : 0; /* 0: nobody joins a read of its own */
        memcpy(g->sid, x->sid, sizeof(g->sid));
        g->read_epoch = epoch;
        g->next = t->buckets[b];
        t->buckets[b] = g;
        mc_store_sess_poll(r->node->store, g->sid, &g->p, group_on_read, g);
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 4;
        mc_req **m = realloc(g->members, cap * sizeof(*m));
        if (m == NULL) {
            mc_reply_errf(r, 503, "busy", "out of memory");
            return;
        }
        g->members = m;
        g->cap = cap;
    }
    g->members[g->n++] = r;
}

/* The documents of an approved sign session with their CMS (base64), or
 * NULL (none collected, or results that do not decode). */
static json_t *sign_docs_json(const mc_sign_results *sr)
{
    if (sr == NULL)
        return NULL;
    mc_slice cms[MC_DOCS_MAX];
    size_t n;
    if (mc_results_decode(sr->results.ptr, sr->results.len, cms, MC_DOCS_MAX, &n) != 0 ||
        n != sr->si.ndocs)
        return NULL;
    json_t *a = mc_api_docs_json(&sr->si);
    for (size_t i = 0; i < n; i++) {
        char *b64 = mc_base64(cms[i].ptr, cms[i].len);
        json_object_set_new(json_array_get(a, i), "cms", json_string(b64));
        free(b64);
    }
    return a;
}

static void poll_reply(mc_req *r)
{
    poll_ctx *x = r->hctx;
    mc_session *s = &x->p.s;
    json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "sid", s->sid, "purpose",
                          mc_purpose_name(s->purpose), "state", s->state, "expires",
                          (json_int_t)s->expires);
    if (strcmp(s->state, "rejected") == 0 && strcmp(x->p.result, "wrong_number") == 0)
        json_object_set_new(o, "reason", json_string("wrong_number"));
    if (s->purpose == MC_PURPOSE_SIGN) {
        json_object_set_new(o, "signing_time", json_integer(x->p.signing_time));
        json_t *docs = sign_docs_json(x->signs);
        if (docs == NULL && x->signs != NULL) {
            json_decref(o);
            mc_reply_errf(r, 503, "store_unavailable", "corrupt sign results");
            return;
        }
        json_object_set_new(o, "documents", docs ? docs : json_integer(x->p.ndocs));
    }
    if (strcmp(s->state, "approved") == 0) {
        json_object_set_new(o, "account", json_string(s->account));
        json_object_set_new(o, "cert", json_string(x->p.cert));
        if (x->m.kind == MC_MINT_NEW || x->m.kind == MC_MINT_AGAIN) {
            json_object_set_new(o, "token", json_string(x->tok));
            json_object_set_new(o, "token_expires", json_integer(x->m.expires));
        } else if (x->m.kind == MC_MINT_ENDED) {
            json_object_set_new(o, "claimed", json_true());
        }
    }
    mc_reply_json(r, 200, o);
}

static void poll_on_read(mc_req *r, const mc_err *err, const mc_sess_poll *p)
{
    poll_ctx *x = r->hctx;
    if (err->status != 0) {
        mc_reply_err(r, err);
        return;
    }
    int may = x->via_key ? p->s.purpose == MC_PURPOSE_SIGN && p->apikey[0] != '\0' &&
                               strcmp(p->apikey, r->key.key.id) == 0
                         : mc_ct_eq(p->poll_hash, x->poll_hash, 32);
    if (!may) {
        mc_reply_errf(r, 403, "bad_poll_secret", "wrong poll secret for this session");
        return;
    }
    x->p = *p;
    mc_session *s = &x->p.s;
    if (s->purpose == MC_PURPOSE_LOGIN && strcmp(s->state, "approved") == 0) {
        poll_mint(r, poll_on_minted);
        return;
    }
    if (s->purpose == MC_PURPOSE_SIGN && strcmp(s->state, "approved") == 0) {
        x->signs = calloc(1, sizeof(*x->signs));
        if (x->signs == NULL) {
            mc_reply_errf(r, 503, "busy", "out of memory");
            return;
        }
        if (x->via_key)
            mc_req_caller(r, x->who, sizeof(x->who)); /* "apikey:<id>" */
        else
            snprintf(x->who, sizeof(x->who), "poll:%.16s", s->sid);
        mc_actor actor = {x->who, r->ip};
        mc_store_sign_collect(r->node->store, s->sid, x->via_key ? NULL : x->poll_hash,
                              x->via_key ? r->key.key.id : "", &actor, x->signs, poll_on_signs,
                              r);
        return;
    }
    int open = strcmp(s->state, "pending") == 0 || strcmp(s->state, "scanned") == 0;
    /* never wait past the session's expiry (+ a little, so that "expired"
     * is seen); Redis's clock decides the expiry */
    int64_t left = x->deadline_ms - now_ms();
    int64_t until_expiry = (s->expires - x->p.now) * 1000 + 100;
    if (left > until_expiry)
        left = until_expiry;
    if (!open || strcmp(x->known, s->state) != 0 || left <= 0) {
        poll_reply(r);
        return;
    }
    /* an event for this session came between the read and now (replies
     * and events arrive on different connections): read again, not wait */
    if (mc_events_last(r->node->events, x->sid) > x->read_epoch && x->rereads++ < 4) {
        if (!poll_collect(r))
            poll_read(r, 0);
        return;
    }
    int cap = r->node->cfg->limit_waiters;
    if (cap > 0 && mc_events_count(r->node->events, x->sid) >= (size_t)cap) {
        mc_reply_errf(r, 429, "too_many_waiters",
                      "too many browsers wait on this session; poll without wait");
        return;
    }
    x->waiter = mc_events_wait(r->node->events, x->sid, (int)left, poll_wake, r);
    if (x->waiter == NULL) {
        mc_reply_errf(r, 503, "busy", "out of memory");
        return;
    }
    r->on_gone = poll_gone;
}

/* Collect the login of x->p (account, certificate): the token derived from
 * the poll secret, its web session made or found by the store. */
static void poll_mint(mc_req *r, mc_store_cb done)
{
    poll_ctx *x = r->hctx;
    mc_session *s = &x->p.s;
    mc_token_derive(x->secret, x->secret_len, s->sid, s->account, x->tok, x->tok_hash);
    mc_store_login_mint(r->node->store, s->sid, x->poll_hash, x->tok_hash,
                        r->node->cfg->web_ttl, r->ip, s->account, x->p.cert, &x->m, done, r);
}

/* A login approval this loop heard of (mc_events_approval): collect the
 * token at once, naming the account and certificate the event named — one
 * call instead of a read and then the call. The store function checks the
 * poll secret and that the hint is the session's ('stale' otherwise: then
 * read as usual). 1 if started. */
static int poll_collect(mc_req *r)
{
    poll_ctx *x = r->hctx;
    const mc_approval *a = mc_events_approval(r->node->events, x->sid);
    if (a == NULL || strcmp(a->purpose, "login") != 0 || x->via_key)
        return 0;
    mc_session *s = &x->p.s;
    memset(&x->p, 0, sizeof(x->p));
    memcpy(s->sid, x->sid, sizeof(s->sid));
    s->purpose = MC_PURPOSE_LOGIN;
    snprintf(s->state, sizeof(s->state), "approved");
    snprintf(s->account, sizeof(s->account), "%s", a->account);
    snprintf(x->p.cert, sizeof(x->p.cert), "%s", a->fp);
    poll_mint(r, poll_on_collected);
    return 1;
}

static void poll_on_collected(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    poll_ctx *x = r->hctx;
    if (err->status != 0 && (strcmp(err->code, "stale") == 0 ||
                             strcmp(err->code, "session_done") == 0)) {
        poll_read(r, 0); /* the hint was not this session's story */
        return;
    }
    if (err->status != 0) {
        mc_reply_err(r, err);
        return;
    }
    x->p.s.expires = x->m.session_expires;
    poll_reply(r);
}

static void poll_on_minted(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    poll_reply(r);
}

static void poll_on_signs(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    poll_reply(r);
}

static void poll_wake(void *privdata, mc_wake why, const char *state)
{
    mc_req *r = privdata;
    poll_ctx *x = r->hctx;
    x->waiter = NULL;
    r->on_gone = NULL;
    if (why == MC_WAKE_TIMEOUT)
        x->deadline_ms = 0; /* this read is the last */
    if (!poll_collect(r))
        poll_read(r, why != MC_WAKE_TIMEOUT);
}

static void poll_gone(mc_req *r)
{
    poll_ctx *x = r->hctx;
    mc_waiter_cancel(x->waiter);
    x->waiter = NULL;
    mc_req_end(r);
}

/* ---- the QR image ---- */

/* GET /api/v1/sessions/:sid/qr.png|svg — drawn only for a session that
 * exists (one read), so nobody gets CPU work for made-up ids; the image of
 * a session is drawn once per loop and kept (the page may load it again).
 * If the store cannot answer, the image is drawn anyway. */

static qr_cached *qr_slot(mc_sess_state *t, const char *sid, int png);
static void qr_send(mc_req *r, const mc_buf *img, int png);
static void qr_on_exists(void *privdata, const mc_err *err);

typedef struct qr_ctx {
    long long exists;
    int png;
} qr_ctx;

void mc_api_session_qr(mc_req *r)
{
    if (!mc_sid_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "unknown_session", "no such session");
        return;
    }
    int png = strstr(r->route->path, "qr.png") != NULL;
    qr_cached *c = qr_slot(r->node->sess, r->param, png);
    if (strcmp(c->sid, r->param) == 0 && c->png == png) {
        qr_send(r, &c->img, png);
        return;
    }
    qr_ctx *x = mc_req_ctx(r, sizeof(*x), NULL);
    if (x == NULL)
        return;
    x->png = png;
    mc_store_sess_exists(r->node->store, r->param, &x->exists, qr_on_exists, r);
}

static qr_cached *qr_slot(mc_sess_state *t, const char *sid, int png)
{
    return &t->qr[(sid_bucket(sid) * 2u + (unsigned)png) % QR_CACHE];
}

static void qr_send(mc_req *r, const mc_buf *img, int png)
{
    static const char *const headers[] = {"Cache-Control", "private, max-age=300", NULL};
    mc_reply_body(r, 200, png ? "image/png" : "image/svg+xml", img->ptr, img->len, headers);
}

static void qr_on_exists(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    qr_ctx *x = r->hctx;
    /* the store could not say: draw anyway (the image tells nothing the
     * sid does not), so that a page opened just before a Redis hiccup
     * still shows its code; made-up ids cost work only while Redis is down */
    if (err->status == 0 && !x->exists) {
        mc_reply_errf(r, 404, "unknown_session", "no such session");
        return;
    }
    mc_err e;
    mc_err_clear(&e);
    char payload[MC_QR_PAYLOAD_MAX + 1];
    mc_buf b = {0};
    mc_qr *q = qr_of(r->node->cfg->public_base, r->param, payload, &e);
    int rc = q ? qr_image(q, x->png, &b, &e) : -1;
    mc_qr_free(q);
    if (rc != 0) {
        mc_buf_free(&b);
        mc_reply_err(r, &e);
        return;
    }
    qr_cached *c = qr_slot(r->node->sess, r->param, x->png);
    mc_buf_free(&c->img);
    memcpy(c->sid, r->param, sizeof(c->sid));
    c->png = x->png;
    c->img = b; /* the cache owns it now */
    qr_send(r, &c->img, x->png);
}
