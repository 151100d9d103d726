/*
 * mc_conn.h — the connection guard of one event loop: what evhttp does not
 * limit by itself in libevent 2.1.12.
 *
 *  - Accept errors (EMFILE, ENFILE, ENOBUFS…) pause the listener, which is
 *    re-enabled on a timer (100 ms, doubling to 1 s while accept keeps
 *    failing); one log line per second at most, with the count of errors
 *    it stands for. (libevent itself retries at once and logs each one.)
 *  - A connection cap: at the cap the listener is paused; new clients wait
 *    in the kernel's backlog and are taken when others leave. The cap is
 *    this loop's share of the fd limit (mc_conn_share).
 *  - A total deadline for a request's headers, counted from the accept or
 *    from the end of the previous reply on a keep-alive connection, and
 *    then a minimum body rate; a request over the raw size cap is refused.
 *    A request whose headers and body have been read (evhttp stops reading
 *    while the handler runs: long polls) has no deadline here.
 *  - The request checks evhttp does not make: conflicting or duplicate
 *    Content-Length, and a header block over MC_HTTP_HEADERS_MAX
 *    (mc_conn_check_request, called first by the dispatcher).
 *  - libevent's own error pages (HTML, for what it cannot parse: unknown
 *    method, malformed request line or header, bad length or chunks) are
 *    replaced by {code, message} before they are written.
 *
 * Design: 2.1.12 has no hook when evhttp creates or frees a connection
 * (evhttp_set_newreqcb is 2.2; a filtering bufferevent breaks keep-alive).
 * So the guard makes each connection's bufferevent itself
 * (evhttp_set_bevcb), keeps one reference of its own to it, and watches
 * its bytes through callbacks on its input and output evbuffers. A sweep
 * every MC_CONN_SWEEP_MS notices the connections evhttp has freed
 * (bufferevent_free clears the callbacks; our reference keeps the struct
 * valid) and drops that reference, which closes the fd (evhttp has sent
 * its FIN already); it also finds the deadlines that have passed.
 * A request is cut by shutting its socket down: evhttp then reads EOF and
 * frees the connection in its usual way. A request that had sent
 * something first gets a `{code, message}` reply written straight to the
 * socket (nothing else is being written while a request is read).
 *
 * Cost: O(1) per read and write, O(connections) per sweep. A closed
 * connection keeps its fd until the next sweep, and is counted until then
 * (the cap counts fds, so it errs on the safe side).
 *
 * Non-goals: no per-address limits (those are Redis counters, shared by
 * all nodes), no TLS, no HTTP parsing beyond finding the end of the
 * header block.
 */
#ifndef MC_CONN_H
#define MC_CONN_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "mc_err.h"

/* The header block a request may have (16 KiB); more is 431 too_large. */
#define MC_HTTP_HEADERS_MAX (16 * 1024)
/* Raw bytes of one request (request line, headers, body as sent) that a
 * connection may send before the request is handled; past it the request
 * is refused with a 413 written by the guard and the connection closed.
 * Above the largest route body (16 KiB) plus the header cap, so that
 * every oversized request within it reaches the dispatcher, whose reply
 * names the route's own limit. Also the most memory one connection holds
 * for a request. */
#define MC_HTTP_REQUEST_MAX (128 * 1024) /* except routes above it: request_max */
/* Requests of one event loop that may hold a route's larger cap at once
 * (the 5 MiB upload): the others get the usual cap. */
#define MC_CONN_LARGE_MAX 8
/* Bytes of a request line the guard keeps to find the request's route. */
#define MC_CONN_LINE_MAX 256
#define MC_CONN_SWEEP_MS 100

typedef struct mc_conns mc_conns;

typedef struct mc_conn_limits {
    /* connections of this loop; at the cap the listener pauses */
    int max_conns;
    /* ms a request's headers may take, from the accept or the end of the
     * previous reply; also the grace before the body rate counts */
    int header_timeout_ms;
    /* bytes/s a body must keep up, on average, after the grace */
    int min_body_rate;
    /* The raw cap of a request whose request line (without its line end)
     * is line[0..n): a route that takes more than MC_HTTP_REQUEST_MAX
     * (the uploads) names its own, the rest get MC_HTTP_REQUEST_MAX (a
     * smaller answer counts as that). NULL: MC_HTTP_REQUEST_MAX for all.
     * Also the most memory one connection holds for such a request. */
    size_t (*request_max)(const char *line, size_t n);
} mc_conn_limits;

/* A guard on http (borrowed; the guard sets its bufferevent callback).
 * id names the loop in log lines. NULL with err on failure. */
mc_conns *mc_conns_new(struct event_base *base, struct evhttp *http, const mc_conn_limits *lim,
                       int id, mc_err *err);
/* Serve the listening socket fd (non-blocking) on the guard's evhttp, with
 * the accept-error pause. 0, or -1 with err (fd is then still the
 * caller's). */
int mc_conns_listen(mc_conns *g, evutil_socket_t fd, mc_err *err);
/* Connections open now (or closed since the last sweep). */
int mc_conns_count(const mc_conns *g);
/* Call after evhttp_free (which closes the connections and the listener),
 * before the loop runs again. NULL is fine. */
void mc_conns_free(mc_conns *g);

/* This loop's share of connections: `total` if > 0 (a --max-conns),
 * else the fd limit `nofile` less a reserve for Redis, the worker pool,
 * files and the loops' own descriptors; split evenly over `loops`, at
 * least 8. */
int mc_conn_share(int total, int loops, long nofile);

/* The first check of the dispatcher: 0, or -1 with err (400 bad_request
 * for two Content-Length headers, or one with Transfer-Encoding: the body's
 * end is ambiguous, and the connection is closed after the reply; 431
 * too_large for a header block over MC_HTTP_HEADERS_MAX). Adds
 * "Connection: close" to req's output headers when it must close. */
int mc_conn_check_request(struct evhttp_request *req, mc_err *err);

#endif
