/*
 * mc_httpd.h — mcertd's HTTP layer: the node (one event loop and what it
 * owns), the request context, the route table and the reply helpers.
 *
 * Design: routes are data (mc_routes[] in mc_routes.c). One dispatcher
 * (mc_http_dispatch) matches the path, then checks method, body size,
 * content type, origin, JSON well-formedness and — with one async store
 * read — authentication, before any handler runs.
 *
 * A request is one heap context (mc_req) from dispatch to reply. A handler
 * is a short chain of named steps in one file (parse → core rule → store
 * call → reply); each store callback receives the mc_req. Every path ends in
 * exactly one mc_reply_* call, which sends the response (if the client is
 * still there) and frees the mc_req with everything hung on it (hctx).
 *
 * A client that hangs up mid-way: its connection's close callback marks the
 * request gone (req = NULL). A step waiting for the store still gets its
 * callback: it starts with MC_REQ_LIVE, which ends a gone request there. A
 * step waiting on something else (a long poll's waiter) sets on_gone, which
 * is called at once to cancel it and must end the request.
 *
 * Ownership: mc_req and its body copy, query, json and hctx are owned by
 * the request and freed by the reply. r->req is libevent's, valid while not
 * NULL.
 */
#ifndef MC_HTTPD_H
#define MC_HTTPD_H

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "mc_buf.h"
#include "mc_config.h"
#include "mc_err.h"
#include "mc_store.h"
#include "mc_store_sign.h"
#include "mc_store_web.h"
#include "mc_token.h"
#include "mc_x509.h"

typedef struct mc_events mc_events;
typedef struct mc_pages mc_pages;
typedef struct mc_sess_state mc_sess_state;

/* One event loop with its connections. Never shared between threads. */
typedef struct mc_node {
    const mc_config *cfg;        /* borrowed, read-only */
    const mc_trust *trust;       /* borrowed, read-only (thread-safe lookups) */
    /* borrowed: the CA of DATA/ca that issues certificates online (enroll,
     * api/enroll.c), NULL when DATA/ca holds none. Loaded once by mcertd
     * and shared by every loop and worker: used read-only (signing with
     * one OpenSSL 3 key from several threads at once is safe). */
    mc_ca *ca;
    mc_buf ca_der;               /* owned: ca's certificate, DER (encoded once; empty without ca) */
    struct event_base *base;     /* owned */
    struct evhttp *http;         /* owned */
    mc_store *store;             /* owned: async Redis on this loop */
    struct mc_workers *workers;  /* owned: threads for password checks */
    mc_sess_state *sess;         /* owned: api/session.c's per-loop state */
    struct mc_ca_state *ca_state;/* owned: api/ca.c's per-loop CRL cache */
    struct mc_pay *pay;          /* owned: api/pay.c's providers, keys, refund timers */
    /* owned: the blob store of uploads and invoice PDFs (DATA/blobs, the
     * directory backend), opened once; used by the workers only (blocking
     * I/O), several at once (mc_blob.h: safe from several threads) */
    struct mc_blob *blobs;
    struct event *tick;          /* owned: store deadlines and reconnects */
    mc_events *events;           /* owned: pub/sub subscription + waiters */
    struct mc_certcache *certs;  /* owned: chains that verified before */
    struct mc_conns *conns;      /* owned: connection guard (mc_conn.h) */
    const mc_pages *pages;       /* borrowed: static files, loaded at start */
    int id;
    /* scrypt hash of a random password: checked when a login names an
     * unknown account, so that both paths cost the same */
    char dummy_pw[MC_PWHASH_MAX];
} mc_node;

typedef enum mc_api {
    MC_API_WEB,     /* JSON in and out */
    MC_API_PHONE,   /* msgpack in and out */
    MC_API_PAGE,    /* HTML/static; errors as JSON */
} mc_api;

typedef enum mc_auth {
    MC_AUTH_NONE,      /* no token looked at */
    MC_AUTH_OPTIONAL,  /* token used if present and valid, else anonymous */
    MC_AUTH_REQUIRED,  /* 401 without a valid token */
    MC_AUTH_CALLER,    /* a valid token or API key (§8.1), else 401 */
    MC_AUTH_KEY_OPTIONAL, /* an API key used if sent (401 if bad); no token */
} mc_auth;

#define MC_WEB_BODY_MAX 8192
#define MC_SIGN_BODY_MAX 32768   /* POST /api/v1/sign-requests: 32 documents */
#define MC_VERIFY_BODY_MAX 98304 /* POST /api/v1/verify: a CMS and a document */
#define MC_UPLOAD_BODY_MAX (5 * 1024 * 1024) /* POST /api/v1/uploads: one scan */
#define MC_PARAM_MAX 96

typedef struct mc_req mc_req;
typedef void (*mc_handler)(mc_req *r);

typedef struct mc_req {
    struct evhttp_request *req;  /* libevent's; NULL once the client has gone */
    struct evhttp_connection *conn;
    mc_node *node;
    const struct mc_route *route;
    char param[MC_PARAM_MAX + 1];/* the path's one ':param' segment, if any */
    mc_buf body;                 /* copy of the request body (not NUL-terminated) */
    json_t *json;                /* parsed body of web routes with a body */
    struct evkeyvalq query;      /* parsed query string */
    char ip[MC_IP_MAX + 1];      /* peer address */
    char origin[MC_ORIGIN_MAX + 1]; /* effective web origin (allowed) */
    int authed;
    mc_authed who;               /* valid if authed: web session + account */
    char tok_hash[65];           /* valid if authed */
    int via_key;                 /* authed by an API key (MC_AUTH_CALLER): key is valid */
    mc_apikey_auth key;
    int64_t now;                 /* unix seconds at dispatch (node clock) */
    /* the handler's own state, freed with the request */
    void *hctx;
    void (*hctx_free)(void *hctx);
    /* set while waiting on something that is not a store call */
    void (*on_gone)(mc_req *r);
} mc_req;

/* First statement of every store callback of a handler: a request whose
 * client has gone ends here. */
#define MC_REQ_LIVE(r)                \
    do {                              \
        if ((r)->req == NULL) {       \
            mc_req_end(r);            \
            return;                   \
        }                             \
    } while (0)

/* The first lines of a store callback that has nothing to say about its
 * errors: the request (ended here if its client has gone), answered with
 * the error if the call failed. */
#define MC_STEP_BEGIN(r, privdata, err)    \
    mc_req *r = (privdata);                \
    MC_REQ_LIVE(r);                        \
    if ((err)->status != 0) {              \
        mc_reply_err(r, (err));            \
        return;                            \
    }

/* The first lines of a worker job's completion (mc_workers.h done): the
 * request (ended here if its client has gone), answered 503 busy when the
 * job never ran (the server is stopping). */
#define MC_WORK_BEGIN(r, arg, ran)                                            \
    mc_req *r = (arg);                                                        \
    MC_REQ_LIVE(r);                                                           \
    if (!(ran)) {                                                             \
        mc_reply_errf(r, 503, "busy", "the server is stopping");              \
        return;                                                               \
    }

/* The handler's step context: size bytes, zeroed, owned by the request and
 * freed with it by free_fn (NULL: free()). NULL after answering 503 busy
 * (out of memory): the handler just returns. */
void *mc_req_ctx(mc_req *r, size_t size, void (*free_fn)(void *));

typedef struct mc_route {
    /* EVHTTP_REQ_GET, _POST or _DELETE */
    enum evhttp_cmd_type method;
    /* Path pattern; one segment may be ":param" (copied to mc_req.param:
     * 1..MC_PARAM_MAX bytes, anything but '/'; the handler validates it). */
    const char *path;
    /* Error and body format. */
    mc_api api;
    /* Largest body accepted, bytes; 0 = no body. Checked before parsing. */
    size_t body_max;
    /* Whether a Bearer token is required. */
    mc_auth auth;
    mc_handler handler;
    /* The body's Content-Type when it is not the API's (JSON for web and
     * pages, msgpack for the phone), e.g. "application/ocsp-request"; NULL:
     * the API's. A body of a route's own type is handed over raw (r->body,
     * no JSON parse). "*": any Content-Type, raw; the handler judges it
     * (the uploads). */
    const char *ctype;
    /* mc_page_static's routes: the file under web_dir it serves (read
     * once at start by mc_pages_load, its type from its extension); NULL
     * for every other route. */
    const char *page;
} mc_route;

extern const mc_route mc_routes[];
extern const size_t mc_nroutes;

/* The connection guard's cap for a request (mc_conn_limits.request_max):
 * its route's body cap plus the header block and the request line, when
 * that exceeds MC_HTTP_REQUEST_MAX; else MC_HTTP_REQUEST_MAX. line is the
 * request line without its end ("POST /api/v1/uploads HTTP/1.1"). */
size_t mc_http_request_max(const char *line, size_t n);

/* Entry point given to evhttp_set_gencb; arg is the mc_node. */
void mc_http_dispatch(struct evhttp_request *req, void *arg);

/* Replies: each sends one response (if the client is still there) and
 * ENDS the request (r is freed). */
void mc_reply_json(mc_req *r, int status, json_t *obj);          /* steals obj */
void mc_reply_msgpack(mc_req *r, int status, const mc_buf *body);
void mc_reply_err(mc_req *r, const mc_err *e);                   /* JSON or msgpack by route */
void mc_reply_errf(mc_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A body with its content type and extra headers ("Name", "value", ... NULL). */
void mc_reply_body(mc_req *r, int status, const char *ctype, const void *body, size_t len,
                   const char *const *headers);
/* Who r's caller is for the audit: "apikey:<id>" or the account's login. */
void mc_req_caller(const mc_req *r, char *out, size_t size);
/* End a request without a reply: only for a request whose client is gone. */
void mc_req_end(mc_req *r);

/* --- JSON body helpers (web) --- */
/* Required/optional string field of at most max bytes, no NUL; *out borrowed
 * from the json object. Returns 0, or -1 with err bad_field (400). If
 * optional and missing, *out = NULL and *len = 0. */
int mc_json_str(json_t *obj, const char *name, size_t max, int required, const char **out,
                size_t *len, mc_err *err);
/* Reject keys other than those in `allowed` (NULL-terminated). */
int mc_json_only(json_t *obj, const char *const *allowed, mc_err *err);

/* Query parameter as integer in [lo, hi], default if missing; -1 if malformed. */
int mc_query_int(mc_req *r, const char *name, int lo, int hi, int def, int *out);

#endif
