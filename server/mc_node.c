/*
 * mc_node.c — see mc_node.h.
 */
#include "mc_node.h"

#include <arpa/inet.h>
#include <event2/http.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>


#include "mc_api.h"
#include "mc_blob.h"
#include "mc_certcache.h"
#include "mc_conn.h"
#include "mc_events.h"
#include "mc_store_loop.h"
#include "mc_workers.h"

/* evhttp's own size caps answer in HTML: they are set out of reach, and
 * the guard (mc_conn.h: MC_HTTP_REQUEST_MAX raw bytes per request, header
 * block) and the dispatcher (route body caps) answer {code, message}. */
#define HTTP_EVHTTP_HEADERS_CAP (2 * MC_HTTP_REQUEST_MAX)
#define HTTP_IDLE_TIMEOUT 60        /* > the longest long poll */
#define TICK_MS 100                 /* store deadline resolution */
#define WORKER_THREADS 1            /* per loop: one loop per core already */
#define WORKER_QUEUE 32             /* password checks waiting per loop */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    mc_store_tick(arg);
}

/* This loop's connection limits from the configuration and the fd limit. */
static void conn_limits(const mc_config *cfg, int id, mc_conn_limits *lim)
{
    struct rlimit rl;
    long nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                      ? (long)rl.rlim_cur
                      : 1L << 20;
    lim->max_conns = mc_conn_share(cfg->max_conns, cfg->threads, nofile);
    lim->header_timeout_ms = cfg->header_timeout * 1000;
    lim->min_body_rate = cfg->min_body_rate;
    lim->request_max = mc_http_request_max; /* the uploads' larger cap */
    long fit = mc_conn_share(0, cfg->threads, nofile);
    if (id == 0 && lim->max_conns > fit)
        fprintf(stderr, "mcertd: --max-conns %d is more than the fd limit %ld leaves room for "
                        "(%ld per loop): accept errors will pause the listener instead\n",
                cfg->max_conns, nofile, fit);
}

static int listen_socket(const char *host, int port, mc_err *err)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0)
        return mc_err_set(err, 2, "config", "listen address %s: %s", host, gai_strerror(rc));
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 4096) != 0 ||
        evutil_make_socket_nonblocking(fd) != 0) {
        mc_err_set(err, 2, "config", "cannot listen on %s:%d: %m", host, port);
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

mc_node *mc_node_new(const mc_config *cfg, const mc_trust *trust, mc_ca *ca,
                     const mc_pages *pages, int id, const char *dummy_pw, mc_err *err)
{
    mc_node *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    n->cfg = cfg;
    n->trust = trust;
    n->ca = ca;
    if (ca != NULL && mc_x509_der(mc_ca_cert(ca), &n->ca_der) != 0) {
        mc_err_set(err, 500, "internal", "cannot encode the CA certificate");
        goto fail;
    }
    n->pages = pages;
    n->id = id;
    snprintf(n->dummy_pw, sizeof(n->dummy_pw), "%s", dummy_pw);
    /* The epoll change list folds an interest added and removed in one loop
     * turn (hiredis and evhttp toggle write interest per message) into no
     * system call; safe here, as no fd of ours is dup()ed. */
    struct event_config *ecfg = event_config_new();
    if (ecfg != NULL)
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    n->base = ecfg ? event_base_new_with_config(ecfg) : NULL;
    event_config_free(ecfg);
    if (n->base == NULL) {
        mc_err_set(err, 500, "internal", "event_base_new failed");
        goto fail;
    }
    mc_store_loop loop = mc_store_loop_libevent(n->base);
    n->store = mc_store_new(cfg->redis_host, cfg->redis_port, &loop, cfg->store_deadline_ms, err);
    if (n->store == NULL)
        goto fail;
    n->tick = event_new(n->base, -1, EV_PERSIST, on_tick, n->store);
    struct timeval tick = {0, TICK_MS * 1000};
    if (n->tick == NULL || event_add(n->tick, &tick) != 0) {
        mc_err_set(err, 500, "internal", "cannot start the store timer");
        goto fail;
    }
    n->sess = mc_api_sess_new();
    n->ca_state = mc_api_ca_new();
    if (n->sess == NULL || n->ca_state == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        goto fail;
    }
    n->pay = mc_api_pay_new(n, err);
    if (n->pay == NULL)
        goto fail;
    char blobs[600];
    snprintf(blobs, sizeof(blobs), "%s/blobs", cfg->data_dir);
    n->blobs = mc_blob_dir_new(blobs, err);
    if (n->blobs == NULL)
        goto fail;
    n->workers = mc_workers_new(n->base, WORKER_THREADS, WORKER_QUEUE);
    if (n->workers == NULL) {
        mc_err_set(err, 500, "internal", "cannot start the worker pool");
        goto fail;
    }
    n->certs = mc_certcache_new(4096);
    if (n->certs == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        goto fail;
    }
    n->events = mc_events_new(n->base, cfg->redis_host, cfg->redis_port, err);
    if (n->events == NULL)
        goto fail;
    n->http = evhttp_new(n->base);
    if (n->http == NULL) {
        mc_err_set(err, 500, "internal", "evhttp_new failed");
        goto fail;
    }
    evhttp_set_max_body_size(n->http, -1);
    evhttp_set_max_headers_size(n->http, HTTP_EVHTTP_HEADERS_CAP);
    evhttp_set_timeout(n->http, HTTP_IDLE_TIMEOUT);
    /* Every method evhttp can parse reaches the dispatcher, which answers
     * 405 {code, message} for the ones a route does not take (evhttp itself
     * would send a 501 HTML page: a 5xx for bad input). */
    evhttp_set_allowed_methods(n->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(n->http, mc_http_dispatch, n);
    mc_conn_limits lim;
    conn_limits(cfg, id, &lim);
    n->conns = mc_conns_new(n->base, n->http, &lim, id, err);
    if (n->conns == NULL)
        goto fail;
    int fd = listen_socket(cfg->listen_host, cfg->listen_port, err);
    if (fd < 0)
        goto fail;
    if (mc_conns_listen(n->conns, fd, err) != 0) {
        close(fd);
        goto fail;
    }
    return n;
fail:
    mc_node_free(n);
    return NULL;
}

void mc_node_free(mc_node *n)
{
    if (n == NULL)
        return;
    /* Order: connections first (their requests are marked gone, long polls
     * cancel their waiters), then what requests still wait on (workers,
     * store), which ends them in their callbacks; then one pass of the loop
     * for failures the store deferred. */
    if (n->http)
        evhttp_free(n->http);
    mc_conns_free(n->conns); /* its timers touch the listener evhttp_free closed */
    mc_events_free(n->events);
    if (n->tick)
        event_free(n->tick);
    mc_workers_free(n->workers);
    mc_blob_free(n->blobs); /* after the workers: their jobs use it */
    mc_api_pay_free(n->pay); /* its timers, before the store they would call */
    n->pay = NULL;
    mc_store_free(n->store);
    if (n->base)
        event_base_loop(n->base, EVLOOP_NONBLOCK);
    mc_api_sess_free(n->sess);
    mc_api_ca_free(n->ca_state);
    mc_certcache_free(n->certs);
    if (n->base)
        event_base_free(n->base);
    mc_buf_free(&n->ca_der);
    free(n);
}
