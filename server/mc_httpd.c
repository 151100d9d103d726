/*
 * mc_httpd.c — the dispatcher and the reply helpers (see mc_httpd.h).
 *
 * Order of checks, before any handler runs: route by path (404), method
 * (405), body size (413, also capped by evhttp_set_max_body_size), content
 * type (415), Origin for web writes (403), JSON syntax and top-level object
 * (400), authentication (401). Failures of these are answered here.
 *
 * Logging: one line per request (method, path without query, status is not
 * known here, so the handler's reply is not logged); never a header or body.
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

#include "mc_crypto.h"
#include "mc_proto.h"

static void add_common_headers(struct evhttp_request *req, const char *ctype)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
}

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
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : "Error";
    }
}

void mc_reply_raw(struct evhttp_request *req, int status, const char *ctype, const void *body,
                  size_t len)
{
    add_common_headers(req, ctype);
    struct evbuffer *out = evbuffer_new();
    if (out == NULL) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add(out, body, len);
    evhttp_send_reply(req, status, reason_of(status), out);
    evbuffer_free(out);
}

void mc_reply_json_req(struct evhttp_request *req, int status, json_t *obj)
{
    /* obj is NULL when json_pack refused its input (e.g. a stored string
     * that is not UTF-8): still answer in the API's format */
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (s == NULL) {
        static const char body[] =
            "{\"code\":\"internal\",\"message\":\"reply could not be encoded\"}";
        mc_reply_raw(req, 500, "application/json; charset=utf-8", body, sizeof(body) - 1);
        return;
    }
    mc_reply_raw(req, status, "application/json; charset=utf-8", s, strlen(s));
    free(s);
}

void mc_reply_json(mc_req *r, int status, json_t *obj)
{
    mc_reply_json_req(r->req, status, obj);
}

void mc_reply_msgpack(mc_req *r, int status, const mc_buf *body)
{
    mc_reply_raw(r->req, status, "application/x-msgpack", body->ptr, body->len);
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

/* Match path against pattern; a ":x" segment captures into param. */
static int path_match(const char *pattern, const char *path, char *param)
{
    while (*pattern && *path) {
        if (*pattern == ':') {
            while (*pattern && *pattern != '/')
                pattern++;
            size_t n = 0;
            while (*path && *path != '/') {
                char c = *path;
                int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                if (!ok || n == MC_PARAM_MAX)
                    return 0;
                param[n++] = c;
                path++;
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

static int header_is(struct evhttp_request *req, const char *name, const char *want)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    if (v == NULL)
        return 0;
    size_t n = strlen(want);
    /* "application/json; charset=utf-8" is fine */
    return strncasecmp(v, want, n) == 0 && (v[n] == '\0' || v[n] == ';' || v[n] == ' ');
}

/* Bearer token -> web session + account. 0, or -1 with err (401). */
static int authenticate(mc_req *r, mc_err *err)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return mc_err_set(err, 401, "unauthorized", "a Bearer token is required");
    const char *tok = h + 7;
    size_t n = strlen(tok);
    if (n < 16 || n > 128)
        return mc_err_set(err, 401, "unauthorized", "not logged in or session ended");
    uint8_t d[32];
    mc_sha256(tok, n, d);
    mc_hex(d, 32, r->tok_hash);
    if (mc_store_web_auth(r->node->store, r->tok_hash, r->now, &r->web, &r->me, err) != 0)
        return -1;
    r->authed = 1;
    return 0;
}

void mc_http_dispatch(struct evhttp_request *req, void *arg)
{
    mc_node *node = arg;
    mc_req r;
    memset(&r, 0, sizeof(r));
    TAILQ_INIT(&r.query);
    r.req = req;
    r.node = node;
    r.now = (int64_t)time(NULL);
    mc_err err;
    mc_err_clear(&err);

    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    char *peer = NULL;
    ev_uint16_t port = 0;
    if (conn)
        evhttp_connection_get_peer(conn, &peer, &port);
    snprintf(r.ip, sizeof(r.ip), "%s", peer ? peer : "");

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    if (!node->cfg->quiet)
        fprintf(stderr, "mcertd[%d]: %s %s from %s\n", node->id,
                method == EVHTTP_REQ_GET ? "GET" : method == EVHTTP_REQ_POST ? "POST"
                : method == EVHTTP_REQ_DELETE ? "DELETE" : "other",
                path ? path : "?", r.ip);
    if (path == NULL || *path == '\0')
        path = "/";

    const mc_route *found = NULL;
    int path_seen = 0;
    for (size_t i = 0; i < mc_nroutes; i++) {
        if (!path_match(mc_routes[i].path, path, r.param))
            continue;
        path_seen = 1;
        if (mc_routes[i].method == method) {
            found = &mc_routes[i];
            break;
        }
    }
    if (found == NULL) {
        /* format by path family */
        static const mc_route phone_fmt = {.api = MC_API_PHONE};
        if (strncmp(path, "/m/", 3) == 0)
            r.route = &phone_fmt;
        if (path_seen)
            mc_reply_errf(&r, 405, "method_not_allowed", "method not allowed on %.80s", path);
        else
            mc_reply_errf(&r, 404, "not_found", "no such endpoint");
        return;
    }
    r.route = found;

    if (qs && evhttp_parse_query_str(qs, &r.query) != 0) {
        mc_reply_errf(&r, 400, "bad_query", "malformed query string");
        goto done;
    }

    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    r.body_len = evbuffer_get_length(in);
    if (r.body_len > found->body_max) {
        if (found->body_max == 0)
            mc_reply_errf(&r, 400, "unexpected_body", "this endpoint takes no body");
        else
            mc_reply_errf(&r, 413, "too_large", "body larger than %zu bytes", found->body_max);
        goto done;
    }
    if (r.body_len > 0) {
        r.body = evbuffer_pullup(in, -1);
        const char *want = found->api == MC_API_PHONE ? "application/x-msgpack"
                                                      : "application/json";
        if (!header_is(req, "Content-Type", want)) {
            mc_reply_errf(&r, 415, "unsupported_media_type", "Content-Type must be %s", want);
            goto done;
        }
    }

    /* Web origin: a browser sends Origin on writes; it must be ours. */
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
    if (origin != NULL && found->api == MC_API_WEB) {
        if (!mc_config_origin_allowed(node->cfg, origin, strlen(origin))) {
            mc_reply_errf(&r, 403, "bad_origin", "origin not allowed");
            goto done;
        }
        snprintf(r.origin, sizeof(r.origin), "%s", origin);
    } else {
        snprintf(r.origin, sizeof(r.origin), "%s", node->cfg->origins[0]);
    }

    if (found->api == MC_API_WEB && found->body_max > 0) {
        if (r.body_len == 0) {
            mc_reply_errf(&r, 400, "bad_json", "a JSON object body is required");
            goto done;
        }
        json_error_t jerr;
        r.json = json_loadb((const char *)r.body, r.body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (r.json == NULL) {
            mc_reply_errf(&r, 400, "bad_json", "malformed JSON at byte %d", jerr.position);
            goto done;
        }
        if (!json_is_object(r.json)) {
            mc_reply_errf(&r, 400, "bad_json", "body must be a JSON object");
            goto done;
        }
    }

    if (found->auth != MC_AUTH_NONE) {
        const char *h =
            evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
        if (found->auth == MC_AUTH_REQUIRED) {
            if (authenticate(&r, &err) != 0) {
                mc_reply_err(&r, &err);
                goto done;
            }
        } else if (h != NULL && authenticate(&r, &err) != 0) {
            /* optional: a stale token makes the caller anonymous (a handler
             * that needs an account says 401 itself), but a store failure
             * is still a failure */
            if (err.status >= 500) {
                mc_reply_err(&r, &err);
                goto done;
            }
            r.authed = 0;
        }
    }

    found->handler(&r);
done:
    if (r.json)
        json_decref(r.json);
    evhttp_clear_headers(&r.query);
}
