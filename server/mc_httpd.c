/*
 * mc_httpd.c — the dispatcher and the reply helpers (see mc_httpd.h).
 *
 * Order of checks, before any handler runs: route by path (404), method
 * (405), body size (413, also capped by evhttp_set_max_body_size), content
 * type (415), Origin for web writes (403), JSON syntax and top-level object
 * (400), authentication (401; one async read of the web session and its
 * account). Failures of these are answered here.
 *
 * Logging: one line per request (method, path without query); never a
 * header or body.
 */
#include "mc_httpd.h"

#include <event2/buffer.h>
#include <event2/http_struct.h>
#include <sys/queue.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mc_conn.h"
#include "mc_crypto.h"
#include "mc_proto.h"
#include "mc_store_web.h"
#include "mc_token.h"

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : "Error";
    }
}

void mc_req_caller(const mc_req *r, char *out, size_t size)
{
    if (r->via_key)
        snprintf(out, size, "apikey:%s", r->key.key.id);
    else
        snprintf(out, size, "%s", r->who.acc.login);
}

void mc_req_end(mc_req *r)
{
    if (r->req != NULL && r->conn != NULL)
        evhttp_connection_set_closecb(r->conn, NULL, NULL);
    if (r->hctx_free && r->hctx)
        r->hctx_free(r->hctx);
    if (r->json)
        json_decref(r->json);
    evhttp_clear_headers(&r->query);
    mc_buf_free_secure(&r->body);
    OPENSSL_cleanse(&r->who, sizeof(r->who));
    free(r);
}

void *mc_req_ctx(mc_req *r, size_t size, void (*free_fn)(void *))
{
    void *x = calloc(1, size);
    if (x == NULL) {
        mc_reply_errf(r, 503, "busy", "out of memory");
        return NULL;
    }
    r->hctx = x;
    r->hctx_free = free_fn ? free_fn : free;
    return x;
}

void mc_reply_body(mc_req *r, int status, const char *ctype, const void *body, size_t len,
                   const char *const *headers)
{
    if (r->req != NULL) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
        evhttp_add_header(h, "Content-Type", ctype);
        evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
        evhttp_add_header(h, "Referrer-Policy", "no-referrer");
        int cache_set = 0;
        for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2) {
            evhttp_add_header(h, headers[i], headers[i + 1]);
            cache_set |= strcmp(headers[i], "Cache-Control") == 0;
        }
        if (!cache_set)
            evhttp_add_header(h, "Cache-Control", "no-store");
        if (status == 503 || status == 429)
            if (evhttp_find_header(h, "Retry-After") == NULL)
                evhttp_add_header(h, "Retry-After", "1");
        struct evbuffer *out = evbuffer_new();
        evhttp_connection_set_closecb(r->conn, NULL, NULL);
        if (out == NULL) {
            evhttp_send_error(r->req, 500, NULL);
        } else {
            evbuffer_add(out, body, len);
            evhttp_send_reply(r->req, status, reason_of(status), out);
            evbuffer_free(out);
        }
        r->req = NULL;
    }
    mc_req_end(r);
}

void mc_reply_json(mc_req *r, int status, json_t *obj)
{
    /* obj is NULL when json_pack refused its input (e.g. a stored string
     * that is not UTF-8): still answer in the API's format */
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (s == NULL) {
        static const char body[] =
            "{\"code\":\"internal\",\"message\":\"reply could not be encoded\"}";
        mc_reply_body(r, 500, "application/json; charset=utf-8", body, sizeof(body) - 1, NULL);
        return;
    }
    mc_reply_body(r, status, "application/json; charset=utf-8", s, strlen(s), NULL);
    free(s);
}

void mc_reply_msgpack(mc_req *r, int status, const mc_buf *body)
{
    mc_reply_body(r, status, "application/x-msgpack", body->ptr, body->len, NULL);
}

void mc_reply_err(mc_req *r, const mc_err *e)
{
    int status = e->status >= 400 && e->status < 600 ? e->status : 500;
    const char *code = e->code ? e->code : "internal";
    if (r->route != NULL && r->route->api == MC_API_PHONE) {
        mc_err tmp = *e;
        tmp.code = code;
        mc_buf b = {0};
        mc_error_encode(&tmp, &b);
        mc_reply_msgpack(r, status, &b);
        mc_buf_free(&b);
        return;
    }
    mc_reply_json(r, status, json_pack("{s:s, s:s}", "code", code, "message", e->msg));
}

void mc_reply_errf(mc_req *r, int status, const char *code, const char *fmt, ...)
{
    mc_err e;
    e.status = status;
    e.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
    va_end(ap);
    mc_reply_err(r, &e);
}

int mc_json_str(json_t *obj, const char *name, size_t max, int required, const char **out,
                size_t *len, mc_err *err)
{
    *out = NULL;
    *len = 0;
    json_t *v = obj ? json_object_get(obj, name) : NULL;
    if (v == NULL) {
        if (required)
            return mc_err_set(err, 400, "bad_field", "missing field: %s", name);
        return 0;
    }
    if (!json_is_string(v))
        return mc_err_set(err, 400, "bad_field", "field %s must be a string", name);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > max)
        return mc_err_set(err, 400, "bad_field", "field %s is longer than %zu bytes", name, max);
    if (memchr(s, '\0', n) != NULL)
        return mc_err_set(err, 400, "bad_field", "field %s contains NUL", name);
    *out = s;
    *len = n;
    return 0;
}

int mc_json_only(json_t *obj, const char *const *allowed, mc_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = 1;
        if (!ok)
            return mc_err_set(err, 400, "bad_field", "unknown field: %.60s", key);
    }
    return 0;
}

int mc_query_int(mc_req *r, const char *name, int lo, int hi, int def, int *out)
{
    const char *v = evhttp_find_header(&r->query, name);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < lo || n > hi)
        return -1;
    *out = (int)n;
    return 0;
}

/* Match path against pattern; a ":x" segment captures into param, any
 * bytes but '/' (1..MC_PARAM_MAX of them): the handler judges its value, so
 * that a malformed session id is an unknown session, not a missing route. */
static int path_match(const char *pattern, const char *path, char *param)
{
    while (*pattern && *path) {
        if (*pattern == ':') {
            while (*pattern && *pattern != '/')
                pattern++;
            size_t n = 0;
            while (*path && *path != '/') {
                if (n == MC_PARAM_MAX)
                    return 0;
                param[n++] = *path++;
            }
            if (n == 0)
                return 0;
            param[n] = '\0';
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

/* The methods of the route table, by name (the log, the guard's cap). */
static const struct {
    const char *name;
    enum evhttp_cmd_type m;
} methods[] = {{"GET", EVHTTP_REQ_GET},
               {"POST", EVHTTP_REQ_POST},
               {"PUT", EVHTTP_REQ_PUT},
               {"DELETE", EVHTTP_REQ_DELETE}};

static const char *method_name(enum evhttp_cmd_type m)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (methods[i].m == m)
            return methods[i].name;
    return "other";
}

/* The first route of method for path, its ':param' segment into param;
 * NULL if none, with *path_seen 1 when a route of another method has the
 * path (405, not 404). The one lookup of the dispatcher and of the guard's
 * cap, so that both find the same route. O(routes). */
static const mc_route *route_find(enum evhttp_cmd_type method, const char *path, char *param,
                                  int *path_seen)
{
    *path_seen = 0;
    for (size_t i = 0; i < mc_nroutes; i++) {
        if (!path_match(mc_routes[i].path, path, param))
            continue;
        *path_seen = 1;
        if (mc_routes[i].method == method)
            return &mc_routes[i];
    }
    return NULL;
}

/* line[0..n) is peer data and not NUL-terminated: every scan stops at n. */
size_t mc_http_request_max(const char *line, size_t n)
{
    char path[MC_CONN_LINE_MAX + 1], param[MC_PARAM_MAX + 1];
    const char *sp = memchr(line, ' ', n);
    if (sp == NULL)
        return MC_HTTP_REQUEST_MAX;
    size_t ml = (size_t)(sp - line), i = 0;
    while (i < sizeof(methods) / sizeof(methods[0]) &&
           (strlen(methods[i].name) != ml || memcmp(line, methods[i].name, ml) != 0))
        i++;
    if (i == sizeof(methods) / sizeof(methods[0]))
        return MC_HTTP_REQUEST_MAX;
    const char *p = sp + 1;
    size_t left = n - ml - 1, pl = 0;
    while (pl < left && p[pl] != ' ' && p[pl] != '?')
        pl++;
    if (pl == 0 || pl > MC_CONN_LINE_MAX)
        return MC_HTTP_REQUEST_MAX;
    memcpy(path, p, pl);
    path[pl] = '\0';
    int path_seen;
    const mc_route *rt = route_find(methods[i].m, path, param, &path_seen);
    if (rt == NULL)
        return MC_HTTP_REQUEST_MAX;
    size_t cap = rt->body_max + MC_HTTP_HEADERS_MAX + MC_CONN_LINE_MAX;
    return cap > MC_HTTP_REQUEST_MAX ? cap : MC_HTTP_REQUEST_MAX;
}

static int header_is(struct evhttp_request *req, const char *name, const char *want)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    if (v == NULL)
        return 0;
    size_t n = strlen(want);
    /* "application/json; charset=utf-8" is fine */
    return strncasecmp(v, want, n) == 0 && (v[n] == '\0' || v[n] == ';' || v[n] == ' ');
}


/* The client hung up before the reply. */
static void on_conn_closed(struct evhttp_connection *conn, void *arg)
{
    mc_req *r = arg;
    r->req = NULL;
    if (r->on_gone != NULL)
        r->on_gone(r); /* cancels what it waits on and ends r */
}

static void on_authed(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    if (err->status == 0) {
        r->authed = 1;
    } else if (err->status >= 500 || r->route->auth != MC_AUTH_OPTIONAL) {
        mc_reply_err(r, err);
        return;
    }
    /* optional auth: a stale token makes the caller anonymous (a handler
     * that needs an account says 401 itself) */
    r->route->handler(r);
}

static void on_key_authed(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    if (r->key.limited) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", r->key.retry_after);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", ra);
        mc_reply_errf(r, 429, "too_many_requests", "this API key is over its calls per minute");
        return;
    }
    r->via_key = 1;
    r->route->handler(r);
}

/* Bearer token -> web session + account (async), or, where the route takes
 * one, ApiKey -> the platform's key (counted), then the handler. */
static void authenticate(mc_req *r)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    int takes_key = r->route->auth == MC_AUTH_CALLER || r->route->auth == MC_AUTH_KEY_OPTIONAL;
    if (takes_key && h != NULL && strncmp(h, "ApiKey ", 7) == 0) {
        char id[17], hash[65];
        if (mc_apikey_parse(h + 7, strnlen(h + 7, MC_APIKEY_LEN + 1), id, hash) != 0) {
            mc_reply_errf(r, 401, "unauthorized", "not an API key");
            return;
        }
        mc_store_apikey_auth(r->node->store, id, hash, r->node->cfg->limit_apikey, &r->key,
                             on_key_authed, r);
        return;
    }
    if (r->route->auth == MC_AUTH_KEY_OPTIONAL) {
        r->route->handler(r); /* no key: the handler asks for its own credential */
        return;
    }
    if (h == NULL || strncmp(h, "Bearer ", 7) != 0) {
        if (r->route->auth == MC_AUTH_REQUIRED || r->route->auth == MC_AUTH_CALLER) {
            mc_reply_errf(r, 401, "unauthorized", "a Bearer token is required");
            return;
        }
        r->route->handler(r);
        return;
    }
    char login[MC_ACCOUNT_MAX + 1];
    const char *tok = h + 7;
    if (mc_token_parse(tok, strnlen(tok, MC_TOKEN_MAX + 1), login, r->tok_hash) != 0) {
        if (r->route->auth == MC_AUTH_REQUIRED || r->route->auth == MC_AUTH_CALLER) {
            mc_reply_errf(r, 401, "unauthorized", "not logged in or session ended");
            return;
        }
        r->route->handler(r);
        return;
    }
    mc_store_web_auth(r->node->store, r->tok_hash, login, &r->who, on_authed, r);
}

/* The client's address: the TCP peer, or what a trusted proxy says in
 * X-Forwarded-For (every such header, in order; mc_netaddr.h). */
static void client_addr(mc_req *r, const char *peer)
{
    const mc_config *cfg = r->node->cfg;
    char xff[1024];
    size_t n = 0;
    if (cfg->nproxies > 0) {
        struct evkeyval *h;
        TAILQ_FOREACH(h, evhttp_request_get_input_headers(r->req), next) {
            if (strcasecmp(h->key, "X-Forwarded-For") != 0)
                continue;
            int w = snprintf(xff + n, sizeof(xff) - n, "%s%s", n ? "," : "", h->value);
            if (w < 0 || (size_t)w >= sizeof(xff) - n) {
                n = 0; /* too long to trust: use the peer */
                break;
            }
            n += (size_t)w;
        }
    }
    mc_client_addr(peer, n ? xff : NULL, cfg->proxies, (size_t)cfg->nproxies, r->ip,
                   sizeof(r->ip));
}

void mc_http_dispatch(struct evhttp_request *req, void *arg)
{
    mc_node *node = arg;
    mc_req *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        evhttp_send_error(req, 503, NULL);
        return;
    }
    TAILQ_INIT(&r->query);
    r->req = req;
    r->conn = evhttp_request_get_connection(req);
    r->node = node;
    r->now = (int64_t)time(NULL);

    char *peer = NULL;
    ev_uint16_t port = 0;
    if (r->conn)
        evhttp_connection_get_peer(r->conn, &peer, &port);
    client_addr(r, peer ? peer : "");

    /* before anything else: a body whose end is ambiguous (two
     * Content-Length, or one with Transfer-Encoding) or an oversized header
     * block (mc_conn.h); the former also closes the connection */
    mc_err edge;
    if (mc_conn_check_request(req, &edge) != 0) {
        mc_reply_err(r, &edge);
        return;
    }

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    if (!node->cfg->quiet)
        fprintf(stderr, "mcertd[%d]: %s %s from %s\n", node->id, method_name(method),
                path ? path : "?", r->ip);
    if (path == NULL || *path == '\0')
        path = "/";

    int path_seen;
    const mc_route *found = route_find(method, path, r->param, &path_seen);
    if (found == NULL) {
        /* format by path family */
        static const mc_route phone_fmt = {.api = MC_API_PHONE};
        if (strncmp(path, "/m/", 3) == 0)
            r->route = &phone_fmt;
        if (path_seen)
            mc_reply_errf(r, 405, "method_not_allowed", "method not allowed on %.80s", path);
        else
            mc_reply_errf(r, 404, "not_found", "no such endpoint");
        return;
    }
    r->route = found;
    if (r->conn)
        evhttp_connection_set_closecb(r->conn, on_conn_closed, r);

    if (qs && evhttp_parse_query_str(qs, &r->query) != 0) {
        mc_reply_errf(r, 400, "bad_query", "malformed query string");
        return;
    }

    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t body_len = evbuffer_get_length(in);
    if (body_len > found->body_max) {
        if (found->body_max == 0)
            mc_reply_errf(r, 400, "unexpected_body", "this endpoint takes no body");
        else
            mc_reply_errf(r, 413, "too_large", "body larger than %zu bytes", found->body_max);
        return;
    }
    if (body_len > 0) {
        const char *want = found->ctype != NULL        ? found->ctype
                           : found->api == MC_API_PHONE ? "application/x-msgpack"
                                                        : "application/json";
        if (strcmp(want, "*") != 0 && !header_is(req, "Content-Type", want)) {
            mc_reply_errf(r, 415, "unsupported_media_type", "Content-Type must be %s", want);
            return;
        }
        mc_buf_reserve(&r->body, body_len);
        r->body.len = evbuffer_remove(in, r->body.ptr, body_len) == (int)body_len ? body_len : 0;
    }

    /* Web origin: a browser sends Origin on writes; it must be ours. */
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
    if (origin != NULL && found->api == MC_API_WEB) {
        if (!mc_config_origin_allowed(node->cfg, origin, strlen(origin))) {
            mc_reply_errf(r, 403, "bad_origin", "origin not allowed");
            return;
        }
        snprintf(r->origin, sizeof(r->origin), "%s", origin);
    } else {
        snprintf(r->origin, sizeof(r->origin), "%s", node->cfg->origins[0]);
    }

    if (found->api == MC_API_WEB && found->body_max > 0 && found->ctype == NULL) {
        if (r->body.len == 0) {
            mc_reply_errf(r, 400, "bad_json", "a JSON object body is required");
            return;
        }
        json_error_t jerr;
        r->json = json_loadb((const char *)r->body.ptr, r->body.len, JSON_REJECT_DUPLICATES,
                             &jerr);
        if (r->json == NULL) {
            mc_reply_errf(r, 400, "bad_json", "malformed JSON at byte %d", jerr.position);
            return;
        }
        if (!json_is_object(r->json)) {
            mc_reply_errf(r, 400, "bad_json", "body must be a JSON object");
            return;
        }
    }

    if (found->auth != MC_AUTH_NONE) {
        authenticate(r);
        return;
    }
    found->handler(r);
}
