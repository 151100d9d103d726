/*
 * mc_testfault.c — see mc_testfault.h.
 */
#include "mc_testfault.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct conn {
    int client;      /* -1: slot free */
    int upstream;
    int lost;        /* Redis→client bytes are discarded from now on */
    int subscriber;  /* it sent SUBSCRIBE: what it receives are not replies */
    unsigned long sent; /* p->sends when it last sent a command */
} conn;

struct mc_testfault_proxy {
    int listen_fd;
    int port;
    int upstream_port;
    int wake[2];  /* self-pipe: a byte means "stop" */
    pthread_t thread;
    pthread_mutex_t mu;
    mc_testfault_pred written; /* armed when not NULL */
    void *arg;
    int nlost;
    unsigned long sends; /* client→Redis chunks forwarded, ever */
    conn conns[MC_TESTFAULT_CONNS];
};

static void conn_close(conn *c)
{
    close(c->client);
    close(c->upstream);
    *c = (conn){.client = -1, .upstream = -1};
}

/* Write all of buf; -1 if the peer is gone. */
static int send_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static int connect_upstream(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static void accept_one(mc_testfault_proxy *p)
{
    int cfd = accept(p->listen_fd, NULL, NULL);
    if (cfd < 0)
        return;
    int ufd = connect_upstream(p->upstream_port); /* Redis down: refuse the client too */
    for (size_t i = 0; ufd >= 0 && i < MC_TESTFAULT_CONNS; i++)
        if (p->conns[i].client < 0) {
            p->conns[i] = (conn){.client = cfd, .upstream = ufd};
            return;
        }
    close(cfd);
    if (ufd >= 0)
        close(ufd);
}

/* 1 if buf holds a RESP bulk string that is a (P)SUBSCRIBE command name
 * (not the word inside a longer argument, such as a Lua library). */
static int has_subscribe(const char *buf, size_t n)
{
    static const char *const names[] = {"$9\r\nsubscribe\r\n", "$10\r\npsubscribe\r\n"};
    for (size_t k = 0; k < 2; k++) {
        size_t len = strlen(names[k]);
        for (size_t i = 0; i + len <= n; i++)
            if (strncasecmp(buf + i, names[k], len) == 0)
                return 1;
    }
    return 0;
}

/* A chunk from the client for Redis: always forwarded. */
static int to_upstream(mc_testfault_proxy *p, conn *c, const char *buf, size_t n)
{
    c->sent = ++p->sends;
    c->subscriber = c->subscriber || has_subscribe(buf, n);
    return send_all(c->upstream, buf, n);
}

/* A chunk from Redis for c: forward it unless c is, or now becomes, lost.
 * Only the connection that sent the latest command can carry the reply to
 * the write (a message to a subscriber, or the reply to an older command on
 * another connection, is not it). */
static int from_upstream(mc_testfault_proxy *p, conn *c, const char *buf, size_t n)
{
    if (!c->lost && !c->subscriber && c->sent == p->sends) {
        pthread_mutex_lock(&p->mu);
        if (p->written != NULL && p->written(p->arg)) {
            p->written = NULL;
            p->arg = NULL;
            p->nlost++;
            c->lost = 1;
        }
        pthread_mutex_unlock(&p->mu);
    }
    return c->lost ? 0 : send_all(c->client, buf, n);
}

static void *proxy_main(void *arg)
{
    mc_testfault_proxy *p = arg;
    struct pollfd pf[2 + 2 * MC_TESTFAULT_CONNS];
    size_t owner[2 + 2 * MC_TESTFAULT_CONNS];
    char buf[65536];
    for (;;) {
        size_t n = 0;
        pf[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        pf[n++] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
        for (size_t i = 0; i < MC_TESTFAULT_CONNS; i++) {
            if (p->conns[i].client < 0)
                continue;
            owner[n] = i;
            pf[n++] = (struct pollfd){.fd = p->conns[i].client, .events = POLLIN};
            owner[n] = i;
            pf[n++] = (struct pollfd){.fd = p->conns[i].upstream, .events = POLLIN};
        }
        if (poll(pf, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        if (pf[0].revents)
            return NULL;
        if (pf[1].revents & POLLIN)
            accept_one(p);
        for (size_t k = 2; k < n; k++) {
            if (pf[k].revents == 0)
                continue;
            conn *c = &p->conns[owner[k]];
            if (c->client < 0)
                continue; /* closed by its other half in this round */
            ssize_t r = recv(pf[k].fd, buf, sizeof(buf), 0);
            int ok = r > 0;
            if (ok && pf[k].fd == c->client)
                ok = to_upstream(p, c, buf, (size_t)r) == 0;
            else if (ok)
                ok = from_upstream(p, c, buf, (size_t)r) == 0;
            if (!ok && !(r < 0 && errno == EINTR))
                conn_close(c);
        }
    }
}

mc_testfault_proxy *mc_testfault_proxy_start(int upstream_port)
{
    mc_testfault_proxy *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->upstream_port = upstream_port;
    for (size_t i = 0; i < MC_TESTFAULT_CONNS; i++)
        p->conns[i].client = p->conns[i].upstream = -1;
    pthread_mutex_init(&p->mu, NULL);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(p->listen_fd, 64) != 0 ||
        getsockname(p->listen_fd, (struct sockaddr *)&a, &len) != 0 || pipe(p->wake) != 0)
        fail_msg("fault proxy: cannot listen: %s", strerror(errno));
    p->port = ntohs(a.sin_port);
    if (pthread_create(&p->thread, NULL, proxy_main, p) != 0)
        fail_msg("fault proxy: cannot start its thread");
    return p;
}

void mc_testfault_proxy_free(mc_testfault_proxy *p)
{
    if (p == NULL)
        return;
    char b = 1;
    if (write(p->wake[1], &b, 1) == 1)
        pthread_join(p->thread, NULL);
    for (size_t i = 0; i < MC_TESTFAULT_CONNS; i++)
        if (p->conns[i].client >= 0)
            conn_close(&p->conns[i]);
    close(p->listen_fd);
    close(p->wake[0]);
    close(p->wake[1]);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int mc_testfault_proxy_port(const mc_testfault_proxy *p)
{
    return p->port;
}

void mc_testfault_proxy_lose_reply(mc_testfault_proxy *p, mc_testfault_pred written, void *arg)
{
    pthread_mutex_lock(&p->mu);
    p->written = written;
    p->arg = arg;
    pthread_mutex_unlock(&p->mu);
}

int mc_testfault_proxy_lost(mc_testfault_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->nlost;
    pthread_mutex_unlock(&p->mu);
    return n;
}
