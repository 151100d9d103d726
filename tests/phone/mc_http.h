/*
 * mc_http.h — a small synchronous HTTP/1.1 client for the reference phone and
 * the integration tests.
 *
 * Why: the phone talks msgpack to /m/v1/, the integration tests talk JSON to
 * /api/v1/ and hostile raw bytes to both; all of them want "send this request,
 * give me status, headers and body" in one blocking call, with a deadline so
 * that a server that hangs makes a test fail instead of hang.
 *
 * Design: one mc_http_request = one private event_base + one evhttp
 * connection (libevent's evhttp client), dispatched until the request
 * callback fires or the deadline passes; nothing is shared between calls, so
 * calls from different threads are independent. An mc_http_client keeps its
 * base and connection across requests instead (keep-alive), for one thread.
 * The URL path and query are sent verbatim (not normalised), so tests can
 * send odd paths. SIGPIPE is blocked in the calling thread for the duration
 * of every request (a server that closes early must not kill the test
 * process) and a SIGPIPE raised by it is consumed before the mask is
 * restored.
 *
 * Non-goals: https, proxies, redirects, cookies, pipelining, streaming
 * (server-sent events): the body is collected whole, up to MC_HTTP_BODY_MAX.
 * Host names are resolved with a blocking getaddrinfo (loopback use).
 */
#ifndef MC_HTTP_H
#define MC_HTTP_H

#include <stddef.h>

#include "mc_buf.h"
#include "mc_err.h"

#define MC_HTTP_BODY_MAX (8u << 20) /* larger replies fail with http_too_large */
#define MC_HTTP_HEADERS_MAX 64      /* request headers the caller may pass */

typedef struct mc_http_reply {
    int status;        /* HTTP status code of the reply (e.g. 200, 404) */
    mc_buf body;       /* owned; binary-safe, NOT NUL-terminated by contract */
    mc_buf headers;    /* owned; internal: "name\0value\0" pairs, use
                        * mc_http_reply_header() */
} mc_http_reply;

/*
 * Send one request and wait for the whole reply.
 *   method   GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS (upper case).
 *   url      "http://host[:port][/path[?query]]"; host may be "[v6]".
 *   headers  NULL or a NULL-terminated array of "Name: value" strings (at most
 *            MC_HTTP_HEADERS_MAX). Host and, when there is a body or the
 *            method is POST/PUT/PATCH, Content-Length are added unless given.
 *   body     len bytes sent as is (may be NULL when len == 0).
 *   timeout_s  deadline for the whole exchange, >= 1.
 * On success (any HTTP status, including 4xx/5xx) returns 0 and fills *out,
 * which the caller releases with mc_http_reply_free. On failure returns -1,
 * leaves *out empty and sets err:
 *   bad_url (400)  bad_method (400)  bad_header (400)
 *   http_connect (502)  connection refused / reset / closed without a reply
 *   http_timeout (504)  the deadline passed
 *   http_too_large (502) reply body larger than MC_HTTP_BODY_MAX
 *   http_bad_reply (502) malformed reply
 * out must not hold a previous reply (it is overwritten, not freed).
 */
int mc_http_request(const char *method, const char *url,
                    const char *const *headers, const void *body, size_t len,
                    int timeout_s, mc_http_reply *out, mc_err *err);

/* Value of the first reply header `name` (case-insensitive), or NULL.
 * Borrowed: valid until mc_http_reply_free. */
const char *mc_http_reply_header(const mc_http_reply *r, const char *name);

/* Release body and headers; accepts NULL and an already freed reply. */
void mc_http_reply_free(mc_http_reply *r);

/* A persistent (keep-alive) connection to one server, as a browser or an
 * app keeps one: requests on it are sequential, from one thread; it
 * reconnects by itself if the server closed it. A request that did not
 * complete (e.g. http_timeout) drops the connection, so that the next one
 * starts on a fresh one instead of queueing behind it. base_url is
 * "http://host:port" (any path in it is ignored). Used by the benchmark. */
typedef struct mc_http_client mc_http_client;
mc_http_client *mc_http_client_new(const char *base_url, mc_err *err);
void mc_http_client_free(mc_http_client *cl); /* NULL-safe */
/* Like mc_http_request, with a path ("/api/...") instead of a URL
 * (bad_url if it does not start with '/'). */
int mc_http_client_request(mc_http_client *cl, const char *method, const char *path,
                           const char *const *headers, const void *body, size_t len,
                           int timeout_s, mc_http_reply *out, mc_err *err);

#endif
