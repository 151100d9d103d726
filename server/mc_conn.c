/*
 * mc_conn.c — see mc_conn.h for what the guard does and why it watches
 * bufferevents rather than evhttp's connections.
 *
 * One request's life on a connection, as the guard sees it:
 *   window open (accept, or the previous reply fully written)
 *   → header bytes, scanned for the empty line that ends the header block
 *     (deadline: header_timeout_ms from the window's start)
 *   → body bytes (deadline: header_timeout_ms after the header block, plus
 *     1 s per min_body_rate bytes received)
 *   → evhttp stops reading (EV_READ disabled) while the handler runs, and
 *     writes the reply with no read callback set: no deadline
 *   → output buffer drained with no read callback: the reply is out, the
 *     next window opens (a 100 Continue drains while evhttp reads).
 * All of it runs on the loop's thread.
 */
#include "mc_conn.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 1000
#define LOG_EVERY_MS 1000

/* At most one line per LOG_EVERY_MS; the rest are counted. */
typedef struct ratelog {
    int64_t last_ms;
    unsigned long suppressed;
} ratelog;

typedef struct conn {
    mc_conns *g;
    struct bufferevent *bev;          /* one reference is ours */
    struct evbuffer_cb_entry *in_cb;  /* on bev's input */
    struct evbuffer_cb_entry *out_cb; /* on bev's output */
    int64_t start_ms;                 /* the request window opened */
    int64_t body_ms;                  /* the header block ended; 0 = not yet */
    size_t bytes;                     /* raw bytes of this request */
    size_t body_bytes;                /* of which after the header block */
    int nl;                           /* header scan: last byte seen was LF (CR skipped) */
    int cut;                          /* shut down by the guard */
    /* the request line's first bytes, kept until its LF, so that the
     * route's own cap (mc_conn_limits.request_max) is known */
    char line[MC_CONN_LINE_MAX];
    size_t linelen;
    int line_done;
    size_t cap;                       /* raw bytes allowed for this request */
    int large;                        /* holds one of the loop's large-body allowances */
} conn;

struct mc_conns {
    struct event_base *base;          /* borrowed */
    struct evhttp *http;              /* borrowed */
    struct evconnlistener *lev;       /* evhttp's, after mc_conns_listen */
    mc_conn_limits lim;
    int id;
    conn **v;                         /* open connections, unordered */
    size_t n, size;
    struct event *sweep;              /* persistent, MC_CONN_SWEEP_MS */
    struct event *resume;             /* end of an accept-error pause */
    int listening;                    /* listener enabled (as we last set it) */
    int paused_cap;                   /* at the connection cap */
    int paused_err;                   /* accept failed; resume pending */
    int backoff_ms;                   /* next accept-error pause; 0 after an accept */
    int large;                        /* requests of this loop allowed over the usual cap */
    ratelog log_accept, log_cap, log_cut;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 if a line may be written now; *more = lines it stands for beyond itself. */
static int ratelog_due(ratelog *l, int64_t now, unsigned long *more)
{
    if (l->last_ms != 0 && now - l->last_ms < LOG_EVERY_MS) {
        l->suppressed++;
        return 0;
    }
    *more = l->suppressed;
    l->suppressed = 0;
    l->last_ms = now;
    return 1;
}

static void listener_update(mc_conns *g)
{
    int want = !g->paused_cap && !g->paused_err;
    if (g->lev == NULL || want == g->listening)
        return;
    if (want)
        evconnlistener_enable(g->lev);
    else
        evconnlistener_disable(g->lev);
    g->listening = want;
}

/* A request's large-body allowance back to the loop. */
static void large_release(conn *c)
{
    if (c->large) {
        c->large = 0;
        c->g->large--;
    }
}

static void window_open(conn *c, int64_t now)
{
    large_release(c);
    c->start_ms = now;
    c->body_ms = 0;
    c->bytes = 0;
    c->body_bytes = 0;
    c->nl = 0;
    c->linelen = 0;
    c->line_done = 0;
    c->cap = MC_HTTP_REQUEST_MAX;
}

/* Keep the newest n bytes of buf that belong to the request line; at its
 * LF (or when the line outgrows the copy) the request's cap is decided.
 * O(n) for the first bytes of a request, O(1) after. */
static void note_line(conn *c, struct evbuffer *buf, size_t n)
{
    size_t len = evbuffer_get_length(buf);
    if (n > len)
        n = len;
    size_t room = sizeof(c->line) - c->linelen;
    size_t take = n < room ? n : room;
    struct evbuffer_ptr p;
    if (take > 0 && evbuffer_ptr_set(buf, &p, len - n, EVBUFFER_PTR_SET) == 0 &&
        evbuffer_copyout_from(buf, &p, c->line + c->linelen, take) == (ev_ssize_t)take)
        c->linelen += take;
    const char *lf = memchr(c->line, '\n', c->linelen);
    if (lf == NULL && c->linelen < sizeof(c->line))
        return;
    c->line_done = 1;
    if (lf != NULL && c->g->lim.request_max != NULL) {
        size_t cap = c->g->lim.request_max(c->line, (size_t)(lf - c->line));
        /* a route's larger cap (uploads) is held by at most
         * MC_CONN_LARGE_MAX requests of a loop at once: the bodies are read
         * before anyone is authenticated, so strangers must not make every
         * connection a 5 MiB buffer. Over it the usual cap applies (413). */
        if (cap > MC_HTTP_REQUEST_MAX && c->g->large < MC_CONN_LARGE_MAX) {
            c->cap = cap;
            c->large = 1;
            c->g->large++;
        }
    }
}

/* A whole {code, message} reply that closes the connection, in out;
 * its length, or -1 if it does not fit. code and msg are ours (no
 * escaping needed). */
static int format_reply(char *out, size_t size, char minor, int status, const char *reason,
                        const char *code, const char *msg)
{
    char body[200];
    int bl = snprintf(body, sizeof(body), "{\"code\":\"%s\",\"message\":\"%s\"}", code, msg);
    if (bl <= 0 || (size_t)bl >= sizeof(body))
        return -1;
    int ol = snprintf(out, size,
                      "HTTP/1.%c %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                      "Content-Length: %d\r\nConnection: close\r\nCache-Control: no-store\r\n"
                      "X-Content-Type-Options: nosniff\r\n%s\r\n%s",
                      minor, status, reason, bl, status == 503 ? "Retry-After: 1\r\n" : "", body);
    return ol > 0 && (size_t)ol < size ? ol : -1;
}

/* A reply written straight to the socket before it is shut down. */
static void send_canned(evutil_socket_t fd, int status, const char *code, const char *msg)
{
    char out[512];
    int n = format_reply(out, sizeof(out), '1', status,
                         status == 408 ? "Request Timeout" : "Payload Too Large", code, msg);
    if (n > 0)
        (void)send(fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* End the request being read: a reply if it had begun (status != 0), then
 * shutdown; evhttp reads EOF next and frees the connection. */
static void cut(conn *c, int status, const char *code, const char *msg, const char *why)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd >= 0) {
        if (status != 0 && c->bytes > 0)
            send_canned(fd, status, code, msg);
        shutdown(fd, SHUT_RDWR);
    }
    c->cut = 1;
    unsigned long more;
    if (ratelog_due(&c->g->log_cut, now_ms(), &more))
        fprintf(stderr, "mcertd[%d]: closed a connection: %s (%lu more since the last report)\n",
                c->g->id, why, more);
}

/* Find the empty line that ends the header block in the n newest bytes of
 * buf; on it, note where the body starts. O(n). */
static void scan_headers(conn *c, struct evbuffer *buf, size_t n, int64_t now)
{
    struct evbuffer_ptr p;
    if (evbuffer_ptr_set(buf, &p, evbuffer_get_length(buf) - n, EVBUFFER_PTR_SET) != 0)
        return;
    size_t left = n;
    while (left > 0 && c->body_ms == 0) {
        struct evbuffer_iovec v[8];
        int nv = evbuffer_peek(buf, (ev_ssize_t)left, &p, v, 8);
        if (nv <= 0)
            return;
        size_t seen = 0;
        for (int i = 0; i < nv && i < 8 && c->body_ms == 0; i++) {
            const unsigned char *s = v[i].iov_base;
            size_t len = v[i].iov_len < left - seen ? v[i].iov_len : left - seen;
            for (size_t k = 0; k < len; k++) {
                if (s[k] == '\n') {
                    if (c->nl) {
                        c->body_ms = now;
                        c->body_bytes = left - seen - k - 1;
                        return;
                    }
                    c->nl = 1;
                } else if (s[k] != '\r') {
                    c->nl = 0;
                }
            }
            seen += len;
        }
        if (seen == 0 || evbuffer_ptr_set(buf, &p, seen, EVBUFFER_PTR_ADD) != 0)
            return;
        left -= seen;
    }
}

/* Bytes read from the client (evhttp's reads and drains also land here). */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    conn *c = arg;
    if (info->n_added == 0 || c->cut)
        return;
    int64_t now = now_ms();
    if (!c->line_done)
        note_line(c, buf, info->n_added);
    c->bytes += info->n_added;
    if (c->body_ms != 0)
        c->body_bytes += info->n_added;
    else if (info->n_deleted == 0) /* else the new bytes' place is unknown: count only */
        scan_headers(c, buf, info->n_added, now);
    if (c->bytes > c->cap)
        cut(c, 413, "too_large",
            c->cap == MC_HTTP_REQUEST_MAX ? "request larger than 131072 bytes"
                                          : "request larger than this endpoint takes",
            "request too large");
}

/* libevent answers what it cannot parse itself (a malformed request line
 * or header, an unknown method, a bad Content-Length, one with chunks,
 * a broken chunk) through evhttp_send_error, whose body is this fixed HTML
 * template, and 2.1.12 has no hook before it. The guard sees that body
 * arrive in the connection's output buffer, whole, in one add, before
 * anything of it is written (the socket is written on the next loop
 * pass), and puts a {code, message} reply of the same meaning in its
 * place. A libevent with another template is left alone (HTML again). */
static const char LIBEVENT_ERROR_PAGE[] = "<HTML><HEAD>\n<TITLE>";

static void json_error_page(struct evbuffer *buf)
{
    char line[64];
    size_t n = 0;
    struct evbuffer_ptr eol = evbuffer_search_eol(buf, NULL, &n, EVBUFFER_EOL_CRLF_STRICT);
    if (eol.pos < 12 || (size_t)eol.pos >= sizeof(line))
        return;
    evbuffer_copyout(buf, line, (size_t)eol.pos);
    line[eol.pos] = '\0';
    int status = atoi(line + 9);
    if (strncmp(line, "HTTP/1.", 7) != 0 || status < 400 || status > 599)
        return;
    const char *code = "bad_request", *msg = "malformed request", *reason = "Bad Request";
    if (status == 501 || status == 405) {
        /* an unknown method: what the dispatcher says of a known one */
        status = 405;
        code = "method_not_allowed";
        msg = "unknown method";
        reason = "Method Not Allowed";
    } else if (status == 413) {
        code = "too_large";
        msg = "request too large";
        reason = "Payload Too Large";
    } else if (status == 417) {
        msg = "unsupported Expect header";
        reason = "Expectation Failed";
    } else if (status >= 500) {
        code = status == 503 ? "busy" : "internal";
        msg = status == 503 ? "server busy" : "internal error";
        reason = status == 503 ? "Service Unavailable" : "Internal Server Error";
    }
    char out[512];
    int ol = format_reply(out, sizeof(out), line[7] == '0' ? '0' : '1', status, reason, code, msg);
    if (ol < 0)
        return;
    evbuffer_drain(buf, evbuffer_get_length(buf));
    evbuffer_add(buf, out, (size_t)ol);
}

/* evhttp's read callback is set while it reads a request (also while a
 * 100 Continue goes out) and cleared while it writes a reply. */
static int has_read_cb(conn *c)
{
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *arg;
    bufferevent_getcb(c->bev, &rd, &wr, &ev, &arg);
    return rd != NULL;
}

/* A reply being added (libevent's error pages are replaced), or written:
 * the reply is out when the output drains while evhttp writes a reply. */
static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    conn *c = arg;
    size_t len = evbuffer_get_length(buf);
    if (info->n_added >= sizeof(LIBEVENT_ERROR_PAGE) - 1 && info->n_deleted == 0) {
        char head[sizeof(LIBEVENT_ERROR_PAGE) - 1];
        struct evbuffer_ptr p;
        if (evbuffer_ptr_set(buf, &p, len - info->n_added, EVBUFFER_PTR_SET) == 0 &&
            evbuffer_copyout_from(buf, &p, head, sizeof(head)) == (ev_ssize_t)sizeof(head) &&
            memcmp(head, LIBEVENT_ERROR_PAGE, sizeof(head)) == 0)
            json_error_page(buf);
        return;
    }
    if (info->n_deleted == 0 || len != 0 || c->cut)
        return;
    if (!has_read_cb(c))
        window_open(c, now_ms());
}

static void conn_free(conn *c)
{
    large_release(c);
    evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
    evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
    bufferevent_decref(c->bev);
    free(c);
}

/* evhttp has freed the connection: bufferevent_free cleared the callbacks
 * it had set (with the evhttp connection as their argument). */
static int conn_gone(conn *c)
{
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *arg;
    bufferevent_getcb(c->bev, &rd, &wr, &ev, &arg);
    return ev == NULL && arg == NULL;
}

static void remove_at(mc_conns *g, size_t i)
{
    conn *c = g->v[i];
    g->v[i] = g->v[--g->n];
    conn_free(c);
}

static int over_deadline(const mc_conns *g, const conn *c, int64_t now)
{
    int64_t t = g->lim.header_timeout_ms;
    if (c->body_ms == 0)
        return now - c->start_ms > t;
    int64_t rate = g->lim.min_body_rate > 0 ? g->lim.min_body_rate : 1;
    return now - c->body_ms > t + (int64_t)(c->body_bytes * 1000 / (uint64_t)rate);
}

/* O(connections): forget the closed ones, cut the late ones, resume the
 * listener under the cap. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    mc_conns *g = arg;
    int64_t now = now_ms();
    size_t i = 0;
    while (i < g->n) {
        conn *c = g->v[i];
        if (conn_gone(c)) {
            remove_at(g, i);
            continue;
        }
        i++;
        if (c->cut || !(bufferevent_get_enabled(c->bev) & EV_READ) || !has_read_cb(c))
            continue; /* being answered (long polls) or written, or already cut */
        if (over_deadline(g, c, now))
            cut(c, 408, "request_timeout",
                c->body_ms == 0 ? "request headers took too long" : "request body too slow",
                c->body_ms == 0 ? "headers too slow" : "body too slow");
    }
    if (g->paused_cap && g->n < (size_t)g->lim.max_conns) {
        g->paused_cap = 0;
        listener_update(g);
    }
}

/* evhttp's bufferevent factory: every accepted connection passes here. */
static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
    mc_conns *g = arg;
    /* BEV_OPT_CLOSE_ON_FREE as evhttp's own: the fd closes when the last
     * reference goes, after the bufferevent's events are deleted (evhttp
     * closes an fd it does not hand over before that, and a reused fd
     * number would then lose its events) */
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        return NULL; /* evhttp makes its own, unguarded */
    g->backoff_ms = 0;
    if (g->n == g->size) {
        size_t size = g->size ? g->size * 2 : 64;
        conn **v = realloc(g->v, size * sizeof(*v));
        if (v == NULL)
            return bev; /* served, unguarded */
        g->v = v;
        g->size = size;
    }
    conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return bev;
    c->g = g;
    c->bev = bev;
    c->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
    c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), on_output, c);
    if (c->in_cb == NULL || c->out_cb == NULL) {
        if (c->in_cb)
            evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->in_cb);
        free(c);
        return bev;
    }
    bufferevent_incref(bev);
    window_open(c, now_ms());
    g->v[g->n++] = c;
    if (g->n >= (size_t)g->lim.max_conns && !g->paused_cap) {
        g->paused_cap = 1;
        listener_update(g);
        unsigned long more;
        if (ratelog_due(&g->log_cap, now_ms(), &more))
            fprintf(stderr,
                    "mcertd[%d]: %zu connections, the cap of this loop: not accepting until "
                    "some close (%lu more times since the last report)\n",
                    g->id, g->n, more);
    }
    return bev;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    mc_conns *g = arg;
    g->paused_err = 0;
    listener_update(g);
}

typedef struct guard_query {
    struct evconnlistener *lev;
    mc_conns *found;
} guard_query;

static int find_guard(const struct event_base *base, const struct event *ev, void *arg)
{
    guard_query *q = arg;
    if (event_get_callback(ev) != on_sweep)
        return 0;
    mc_conns *g = event_get_callback_arg(ev);
    if (g->lev != q->lev)
        return 0;
    q->found = g;
    return 1;
}

/* accept() failed with something other than EAGAIN/EINTR/ECONNABORTED.
 * The listener's argument is evhttp's, so the guard is found through its
 * sweep event (O(events of the loop); this runs at most once per pause). */
static void on_accept_error(struct evconnlistener *lev, void *http)
{
    int e = errno;
    guard_query q = {lev, NULL};
    event_base_foreach_event(evconnlistener_get_base(lev), find_guard, &q);
    mc_conns *g = q.found;
    if (g == NULL) {
        evconnlistener_disable(lev); /* cannot happen: stop the spin at least */
        return;
    }
    g->backoff_ms = g->backoff_ms == 0 ? BACKOFF_FIRST_MS
                    : g->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                         : g->backoff_ms * 2;
    g->paused_err = 1;
    listener_update(g);
    struct timeval tv = {g->backoff_ms / 1000, (g->backoff_ms % 1000) * 1000};
    evtimer_add(g->resume, &tv);
    unsigned long more;
    if (ratelog_due(&g->log_accept, now_ms(), &more))
        fprintf(stderr,
                "mcertd[%d]: accept: %s; not accepting for %d ms (%lu more failures since the "
                "last report; %zu connections open)\n",
                g->id, strerror(e), g->backoff_ms, more, g->n);
}

mc_conns *mc_conns_new(struct event_base *base, struct evhttp *http, const mc_conn_limits *lim,
                       int id, mc_err *err)
{
    mc_conns *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    g->base = base;
    g->http = http;
    g->lim = *lim;
    if (g->lim.max_conns < 1)
        g->lim.max_conns = 1;
    g->id = id;
    g->sweep = event_new(base, -1, EV_PERSIST, on_sweep, g);
    g->resume = evtimer_new(base, on_resume, g);
    struct timeval tv = {0, MC_CONN_SWEEP_MS * 1000};
    if (g->sweep == NULL || g->resume == NULL || event_add(g->sweep, &tv) != 0) {
        mc_err_set(err, 500, "internal", "cannot start the connection guard's timers");
        mc_conns_free(g);
        return NULL;
    }
    evhttp_set_bevcb(http, on_new_conn, g);
    return g;
}

int mc_conns_listen(mc_conns *g, evutil_socket_t fd, mc_err *err)
{
    struct evhttp_bound_socket *bound = evhttp_accept_socket_with_handle(g->http, fd);
    if (bound == NULL)
        return mc_err_set(err, 500, "internal", "evhttp_accept_socket_with_handle failed");
    g->lev = evhttp_bound_socket_get_listener(bound);
    g->listening = 1;
    evconnlistener_set_error_cb(g->lev, on_accept_error);
    return 0;
}

int mc_conns_count(const mc_conns *g)
{
    return (int)g->n;
}

void mc_conns_free(mc_conns *g)
{
    if (g == NULL)
        return;
    if (g->sweep)
        event_free(g->sweep);
    if (g->resume)
        event_free(g->resume);
    for (size_t i = 0; i < g->n; i++)
        conn_free(g->v[i]);
    free(g->v);
    free(g);
}

int mc_conn_share(int total, int loops, long nofile)
{
    if (loops < 1)
        loops = 1;
    long all = total;
    if (all <= 0) {
        /* per loop: its Redis and pub/sub connections (and one reconnecting),
         * the worker pool's wake-up pipes, epoll and notify fds; per process:
         * stdio, trust files, sanitizer and resolver fds */
        long reserve = 64 + 16L * loops;
        if (nofile > (1L << 24))
            nofile = 1L << 24;
        all = nofile - reserve;
    }
    long share = all / loops;
    return share < 8 ? 8 : share > (1L << 24) ? 1 << 24 : (int)share;
}

int mc_conn_check_request(struct evhttp_request *req, mc_err *err)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    struct evkeyval *kv;
    int ncl = 0, nte = 0;
    size_t total = 0;
    /* evhttp's parsed strings are NUL-terminated and within the guard's
     * MC_HTTP_REQUEST_MAX */
    TAILQ_FOREACH(kv, h, next) {
        total += strlen(kv->key) + strlen(kv->value) + 4; /* ": " and CRLF */
        if (strcasecmp(kv->key, "Content-Length") == 0)
            ncl++;
        else if (strcasecmp(kv->key, "Transfer-Encoding") == 0)
            nte++;
    }
    if (ncl > 1 || (ncl == 1 && nte > 0)) {
        /* evhttp framed the body by the first header: what follows is not
         * known to be a request of its own, so the connection ends here */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        return mc_err_set(err, 400, "bad_request", "%s",
                          ncl > 1 ? "more than one Content-Length header"
                                  : "Content-Length together with Transfer-Encoding");
    }
    if (total > MC_HTTP_HEADERS_MAX)
        return mc_err_set(err, 431, "too_large", "request headers larger than %d bytes",
                          MC_HTTP_HEADERS_MAX);
    return 0;
}
