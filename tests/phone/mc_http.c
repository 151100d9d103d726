/*
 * mc_http.c — see mc_http.h. A blocking HTTP/1.1 request on top of libevent's
 * evhttp client.
 *
 * Why a private event_base per call: the callers (a CLI, cmocka tests,
 * benchmarks driving many phones from threads) want a plain function call;
 * sharing a base would need locking and would couple unrelated requests. The
 * cost (one base, one socket) is small next to a round trip. mc_http_client
 * keeps one base and connection for its owner's thread; both entry points
 * share exchange()/perform(), so they behave alike.
 *
 * The deadline is our own timer on that base. evhttp's connection timeout is
 * set one second later as a backstop (per exchange), so that the outcome of a
 * hung exchange is always reported the same way (http_timeout), whether it
 * hung while connecting, sending or reading.
 *
 * How evhttp 2.1 reports failures: the request callback fires with req == NULL
 * or with a response code of 0; the optional error callback (set before the
 * request is made) tells timeouts, EOF and oversized bodies apart. Reply data
 * must be copied inside the callback: libevent frees the request after it
 * returns.
 *
 * Non-goals: see the header.
 */
#include "mc_http.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HTTP_HOST_MAX 256
#define HTTP_HEADER_NAME_MAX 128

/* State shared between one exchange and its libevent callbacks; lives on
 * the caller's stack for the duration of one call. */
typedef struct http_call {
    struct event_base *base;
    mc_http_reply *out;
    int sent;                     /* the connection owns the request */
    int done;                     /* request callback has fired */
    int got_reply;                /* ... with a complete reply copied to out */
    int timed_out;                /* our deadline fired first */
    int have_error;               /* error callback fired */
    enum evhttp_request_error error;
} http_call;

/* A parsed "http://" URL. uri is owned (malloc) and sent verbatim. */
typedef struct http_url {
    char host[HTTP_HOST_MAX];     /* without brackets */
    char host_header[HTTP_HOST_MAX + 8];
    unsigned port;
    char *uri;                    /* "/path?query" */
} http_url;

static int parse_url(const char *url, http_url *u, mc_err *err)
{
    static const char scheme[] = "http://";
    memset(u, 0, sizeof(*u));
    if (url == NULL || strncasecmp(url, scheme, sizeof(scheme) - 1) != 0)
        return mc_err_set(err, 400, "bad_url", "only http:// URLs are supported");
    const char *a = url + sizeof(scheme) - 1;
    const char *end = a + strcspn(a, "/?#");
    const char *host = a, *host_end, *port_s = NULL;
    if (*a == '[') {
        host = a + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (host_end == NULL)
            return mc_err_set(err, 400, "bad_url", "unterminated [ in host");
        if (host_end + 1 < end) {
            if (host_end[1] != ':')
                return mc_err_set(err, 400, "bad_url", "junk after ]");
            port_s = host_end + 2;
        }
    } else {
        const char *colon = memchr(a, ':', (size_t)(end - a));
        host_end = colon ? colon : end;
        if (colon)
            port_s = colon + 1;
    }
    size_t hlen = (size_t)(host_end - host);
    if (hlen == 0 || hlen >= sizeof(u->host) || memchr(host, '@', hlen))
        return mc_err_set(err, 400, "bad_url", "bad host");
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';

    u->port = 80;
    if (port_s != NULL) {
        unsigned p = 0;
        if (port_s == end)
            return mc_err_set(err, 400, "bad_url", "empty port");
        for (const char *c = port_s; c < end; c++) {
            if (!isdigit((unsigned char)*c) || p > 65535)
                return mc_err_set(err, 400, "bad_url", "bad port");
            p = p * 10 + (unsigned)(*c - '0');
        }
        if (p == 0 || p > 65535)
            return mc_err_set(err, 400, "bad_url", "bad port");
        u->port = p;
    }
    snprintf(u->host_header, sizeof(u->host_header),
             *a == '[' ? "[%s]:%u" : "%s:%u", u->host, u->port);

    /* The rest goes on the request line as is: refuse bytes that would break
     * it (controls, spaces); a fragment is never sent. */
    size_t rlen = strcspn(end, "#");
    for (size_t i = 0; i < rlen; i++) {
        unsigned char c = (unsigned char)end[i];
        if (c <= 0x20 || c == 0x7f)
            return mc_err_set(err, 400, "bad_url", "control or space in path");
    }
    u->uri = malloc(rlen + 2);
    if (u->uri == NULL) {
        fputs("mc_http: out of memory\n", stderr);
        abort();
    }
    size_t o = 0;
    if (rlen == 0 || end[0] != '/')
        u->uri[o++] = '/';
    memcpy(u->uri + o, end, rlen);
    u->uri[o + rlen] = '\0';
    return 0;
}

static int parse_method(const char *m, enum evhttp_cmd_type *t)
{
    static const struct {
        const char *name;
        enum evhttp_cmd_type type;
    } methods[] = {
        {"GET", EVHTTP_REQ_GET},         {"POST", EVHTTP_REQ_POST},
        {"PUT", EVHTTP_REQ_PUT},         {"DELETE", EVHTTP_REQ_DELETE},
        {"PATCH", EVHTTP_REQ_PATCH},     {"HEAD", EVHTTP_REQ_HEAD},
        {"OPTIONS", EVHTTP_REQ_OPTIONS},
    };
    for (size_t i = 0; m != NULL && i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(m, methods[i].name) == 0) {
            *t = methods[i].type;
            return 0;
        }
    }
    return -1;
}

/* Add "Name: value" lines to the request's output headers. */
static int add_headers(struct evkeyvalq *hdrs, const char *const *lines, mc_err *err)
{
    size_t n = 0;
    for (; lines != NULL && lines[n] != NULL; n++) {
        if (n >= MC_HTTP_HEADERS_MAX)
            return mc_err_set(err, 400, "bad_header", "more than %d headers",
                              MC_HTTP_HEADERS_MAX);
        const char *line = lines[n];
        const char *colon = strchr(line, ':');
        if (colon == NULL || colon == line)
            return mc_err_set(err, 400, "bad_header", "header %zu has no name", n);
        size_t nlen = (size_t)(colon - line);
        char name[HTTP_HEADER_NAME_MAX];
        if (nlen >= sizeof(name))
            return mc_err_set(err, 400, "bad_header", "header %zu name too long", n);
        for (size_t i = 0; i < nlen; i++) {
            unsigned char c = (unsigned char)line[i];
            if (c <= 0x20 || c >= 0x7f)
                return mc_err_set(err, 400, "bad_header", "header %zu: bad name", n);
        }
        memcpy(name, line, nlen);
        name[nlen] = '\0';
        const char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        /* evhttp refuses CR/LF in values (header injection). */
        if (evhttp_add_header(hdrs, name, value) != 0)
            return mc_err_set(err, 400, "bad_header", "header %zu: bad value", n);
    }
    return 0;
}

static void on_error(enum evhttp_request_error e, void *arg)
{
    http_call *c = arg;
    c->have_error = 1;
    c->error = e;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    http_call *c = arg;
    c->timed_out = 1;
    event_base_loopbreak(c->base);
}

/* Copy status, headers and body out of the request (freed after we return). */
static void on_done(struct evhttp_request *req, void *arg)
{
    http_call *c = arg;
    c->done = 1;
    if (req == NULL || evhttp_request_get_response_code(req) == 0)
        goto done;
    mc_http_reply *out = c->out;
    out->status = evhttp_request_get_response_code(req);
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    for (struct evkeyval *h = in ? in->tqh_first : NULL; h != NULL; h = h->next.tqe_next) {
        mc_buf_append(&out->headers, h->key, strlen(h->key) + 1);
        mc_buf_append(&out->headers, h->value, strlen(h->value) + 1);
    }
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t n = body ? evbuffer_get_length(body) : 0;
    if (n > 0) {
        mc_buf_reserve(&out->body, n);
        evbuffer_copyout(body, out->body.ptr, n);
        out->body.len = n;
    }
    c->got_reply = 1;
done:
    event_base_loopbreak(c->base);
}

/* A connection to u's host on base. Its evhttp timeout is set per exchange. */
static struct evhttp_connection *new_conn(struct event_base *base, const http_url *u,
                                          mc_err *err)
{
    struct evhttp_connection *conn =
        evhttp_connection_base_new(base, NULL, u->host, (unsigned short)u->port);
    if (conn == NULL) {
        mc_err_set(err, 502, "http_connect", "cannot create a connection to %s",
                   u->host_header);
        return NULL;
    }
    evhttp_connection_set_retries(conn, 0);
    /* A server that refuses a large body answers (413) and closes while we
     * are still sending: read its reply instead of failing on EPIPE. */
    evhttp_connection_set_flags(conn, EVHTTP_CON_READ_ON_WRITE_ERROR);
    evhttp_connection_set_max_body_size(conn, (ev_ssize_t)MC_HTTP_BODY_MAX);
    return conn;
}

/* Send one request on conn (which lives on c->base) and dispatch until it
 * completes or the deadline passes; fills c. 0 / -1 (the request could not
 * be started). If c->sent && !c->done afterwards, the request is still
 * pending on conn with c as its callback argument: the caller must free
 * conn before c goes out of scope. */
static int exchange(struct evhttp_connection *conn, const http_url *u,
                    enum evhttp_cmd_type type, const char *method,
                    const char *const *headers, const void *body, size_t len,
                    int timeout_s, http_call *c, mc_err *err)
{
    int rc = -1;
    struct event *deadline = NULL;
    struct evhttp_request *req = evhttp_request_new(on_done, c);
    if (req == NULL) {
        mc_err_set(err, 500, "internal", "evhttp_request_new failed");
        goto done;
    }
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    if (add_headers(oh, headers, err) != 0) {
        evhttp_request_free(req);
        goto done;
    }
    if (evhttp_find_header(oh, "Host") == NULL)
        evhttp_add_header(oh, "Host", u->host_header);
    if (evhttp_find_header(oh, "Content-Length") == NULL &&
        (len > 0 || type == EVHTTP_REQ_POST || type == EVHTTP_REQ_PUT ||
         type == EVHTTP_REQ_PATCH)) {
        char cl[24];
        snprintf(cl, sizeof(cl), "%zu", len);
        evhttp_add_header(oh, "Content-Length", cl);
    }
    if (len > 0 && evbuffer_add(evhttp_request_get_output_buffer(req), body, len) != 0) {
        evhttp_request_free(req);
        mc_err_set(err, 500, "internal", "cannot buffer the request body");
        goto done;
    }

    deadline = evtimer_new(c->base, on_deadline, c);
    struct timeval tv = {.tv_sec = timeout_s, .tv_usec = 0};
    if (deadline == NULL || evtimer_add(deadline, &tv) != 0) {
        evhttp_request_free(req);
        mc_err_set(err, 500, "internal", "cannot arm the deadline");
        goto done;
    }
    evhttp_connection_set_timeout(conn, timeout_s + 1); /* the backstop */
    /* From here on the connection owns req. (libevent 2.1 leaks it in one
     * path: when the connect cannot even be started, e.g. socket() fails.) */
    c->sent = 1;
    if (evhttp_make_request(conn, req, type, u->uri) != 0) {
        mc_err_set(err, 502, "http_connect", "%s %s: request failed to start",
                   method, u->host_header);
        goto done;
    }
    event_base_dispatch(c->base);
    rc = 0;
done:
    if (deadline != NULL)
        event_free(deadline);
    return rc;
}

/* Map how an exchange ended to 0 or an error. */
static int outcome(const http_call *c, const http_url *u, const char *method, int timeout_s,
                   mc_err *err)
{
    if (c->got_reply)
        return 0;
    if (c->timed_out || (c->have_error && c->error == EVREQ_HTTP_TIMEOUT))
        return mc_err_set(err, 504, "http_timeout", "%s %s%s: no reply within %d s", method,
                          u->host_header, u->uri, timeout_s);
    if (c->have_error && c->error == EVREQ_HTTP_DATA_TOO_LONG)
        return mc_err_set(err, 502, "http_too_large", "%s %s%s: reply larger than %u bytes",
                          method, u->host_header, u->uri, MC_HTTP_BODY_MAX);
    if (c->have_error && c->error == EVREQ_HTTP_INVALID_HEADER)
        return mc_err_set(err, 502, "http_bad_reply", "%s %s%s: malformed reply", method,
                          u->host_header, u->uri);
    return mc_err_set(err, 502, "http_connect",
                      "%s %s%s: connection refused or closed without a reply", method,
                      u->host_header, u->uri);
}

/* Checks both entry points make before anything is sent; clamps *timeout_s. */
static int check_request(const char *method, const void *body, size_t len, int *timeout_s,
                         enum evhttp_cmd_type *type, mc_err *err)
{
    if (parse_method(method, type) != 0)
        return mc_err_set(err, 400, "bad_method", "unsupported method");
    if (len > 0 && body == NULL)
        return mc_err_set(err, 400, "bad_body", "body is NULL but len > 0");
    if (*timeout_s < 1)
        *timeout_s = 1;
    return 0;
}

/* One exchange on conn with SIGPIPE blocked in this thread, its outcome
 * mapped to 0 / -1. A SIGPIPE raised meanwhile is consumed before the old
 * mask comes back (unless one was already pending). c is filled; see
 * exchange() for what c->sent && !c->done means. */
static int perform(struct evhttp_connection *conn, const http_url *u,
                   enum evhttp_cmd_type type, const char *method,
                   const char *const *headers, const void *body, size_t len,
                   int timeout_s, http_call *c, mc_err *err)
{
    sigset_t pipe_set, old_set, pending;
    int masked = 0, was_pending = 0;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set) == 0) {
        masked = 1;
        was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    }
    int rc = exchange(conn, u, type, method, headers, body, len, timeout_s, c, err);
    if (rc == 0)
        rc = outcome(c, u, method, timeout_s, err);
    if (masked) {
        if (!was_pending && sigpending(&pending) == 0 &&
            sigismember(&pending, SIGPIPE) == 1) {
            struct timespec zero = {0, 0};
            sigtimedwait(&pipe_set, NULL, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    }
    return rc;
}

int mc_http_request(const char *method, const char *url,
                    const char *const *headers, const void *body, size_t len,
                    int timeout_s, mc_http_reply *out, mc_err *err)
{
    int rc = -1;
    http_url u = {0};
    http_call c = {0};
    enum evhttp_cmd_type type;
    struct evhttp_connection *conn = NULL;

    memset(out, 0, sizeof(*out));
    if (check_request(method, body, len, &timeout_s, &type, err) != 0 ||
        parse_url(url, &u, err) != 0)
        goto done;
    c.out = out;
    if ((c.base = event_base_new()) == NULL) {
        mc_err_set(err, 500, "internal", "event_base_new failed");
        goto done;
    }
    if ((conn = new_conn(c.base, &u, err)) == NULL)
        goto done;
    rc = perform(conn, &u, type, method, headers, body, len, timeout_s, &c, err);
done:
    /* Frees a still pending request without calling its callback. */
    if (conn != NULL)
        evhttp_connection_free(conn);
    if (c.base != NULL)
        event_base_free(c.base);
    free(u.uri);
    if (rc != 0)
        mc_http_reply_free(out);
    return rc;
}

const char *mc_http_reply_header(const mc_http_reply *r, const char *name)
{
    if (r == NULL || name == NULL)
        return NULL;
    const char *p = (const char *)r->headers.ptr;
    const char *end = p + r->headers.len;
    while (p != NULL && p < end) {
        const char *value = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

void mc_http_reply_free(mc_http_reply *r)
{
    if (r == NULL)
        return;
    mc_buf_free(&r->body);
    mc_buf_free(&r->headers);
    r->status = 0;
}

/* ---- persistent connections ---- */

struct mc_http_client {
    http_url u;                      /* uri unused */
    struct event_base *base;
    struct evhttp_connection *conn;  /* NULL after a dropped exchange: made
                                        again by the next request */
};

mc_http_client *mc_http_client_new(const char *base_url, mc_err *err)
{
    mc_http_client *cl = calloc(1, sizeof(*cl));
    if (cl == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    if (parse_url(base_url, &cl->u, err) != 0)
        goto fail;
    if ((cl->base = event_base_new()) == NULL) {
        mc_err_set(err, 500, "internal", "event_base_new failed");
        goto fail;
    }
    if ((cl->conn = new_conn(cl->base, &cl->u, err)) == NULL)
        goto fail;
    return cl;
fail:
    mc_http_client_free(cl);
    return NULL;
}

void mc_http_client_free(mc_http_client *cl)
{
    if (cl == NULL)
        return;
    if (cl->conn)
        evhttp_connection_free(cl->conn);
    if (cl->base)
        event_base_free(cl->base);
    free(cl->u.uri);
    free(cl);
}

int mc_http_client_request(mc_http_client *cl, const char *method, const char *path,
                           const char *const *headers, const void *body, size_t len,
                           int timeout_s, mc_http_reply *out, mc_err *err)
{
    enum evhttp_cmd_type type;
    memset(out, 0, sizeof(*out));
    if (check_request(method, body, len, &timeout_s, &type, err) != 0)
        return -1;
    if (path == NULL || path[0] != '/')
        return mc_err_set(err, 400, "bad_url", "path must start with /");
    if (cl->conn == NULL && (cl->conn = new_conn(cl->base, &cl->u, err)) == NULL)
        return -1;
    http_call c = {.base = cl->base, .out = out};
    http_url u = cl->u;
    u.uri = (char *)path; /* borrowed for the call; exchange only reads it */
    int rc = perform(cl->conn, &u, type, method, headers, body, len, timeout_s, &c, err);
    if (c.sent && !c.done) {
        /* Timed out (or never started): the request is still queued on the
         * connection with &c as its argument, and would hold up every later
         * request. Dropping the connection frees it without a callback. */
        evhttp_connection_free(cl->conn);
        cl->conn = NULL;
    }
    if (rc != 0)
        mc_http_reply_free(out);
    return rc;
}
