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
#include <sys/socket.h>
#include <unistd.h>

#include "mc_certcache.h"
#include "mc_events.h"

#define HTTP_BODY_CAP (64 * 1024)   /* absolute cap; routes have smaller ones */
#define HTTP_HEADERS_CAP (16 * 1024)
#define HTTP_IDLE_TIMEOUT 60        /* > the longest long poll */

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

mc_node *mc_node_new(const mc_config *cfg, const mc_trust *trust, int id, const char *dummy_pw,
                     mc_err *err)
{
    mc_node *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    n->cfg = cfg;
    n->trust = trust;
    n->id = id;
    snprintf(n->dummy_pw, sizeof(n->dummy_pw), "%s", dummy_pw);
    n->base = event_base_new();
    if (n->base == NULL) {
        mc_err_set(err, 500, "internal", "event_base_new failed");
        goto fail;
    }
    n->store = mc_store_connect(cfg->redis_host, cfg->redis_port, err);
    if (n->store == NULL)
        goto fail;
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
    evhttp_set_max_body_size(n->http, HTTP_BODY_CAP);
    evhttp_set_max_headers_size(n->http, HTTP_HEADERS_CAP);
    evhttp_set_timeout(n->http, HTTP_IDLE_TIMEOUT);
    /* Every method evhttp can parse reaches the dispatcher, which answers
     * 405 {code, message} for the ones a route does not take (evhttp itself
     * would send a 501 HTML page: a 5xx for bad input). */
    evhttp_set_allowed_methods(n->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(n->http, mc_http_dispatch, n);
    int fd = listen_socket(cfg->listen_host, cfg->listen_port, err);
    if (fd < 0)
        goto fail;
    if (evhttp_accept_socket(n->http, fd) != 0) {
        close(fd);
        mc_err_set(err, 500, "internal", "evhttp_accept_socket failed");
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
    if (n->http)
        evhttp_free(n->http);
    mc_events_free(n->events);
    mc_certcache_free(n->certs);
    mc_store_free(n->store);
    if (n->base)
        event_base_free(n->base);
    free(n);
}
