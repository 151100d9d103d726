/*
 * mcertd_main.c — the mcertd process: parse the configuration, load the
 * trust anchors and the online CA (DATA/ca, if any), start one event loop per thread (SO_REUSEPORT on one port),
 * stop all loops on SIGINT/SIGTERM.
 *
 * Non-goals: daemonising, privilege dropping, TLS (terminate TLS in front).
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mc_config.h"
#include "mc_crypto.h"
#include "mc_defaults.h"
#include "mc_node.h"
#include "mc_web.h"
#include "mc_x509.h"

typedef struct app {
    mc_node **nodes;
    int n;
} app;

static void *loop_thread(void *arg)
{
    mc_node *node = arg;
    event_base_dispatch(node->base);
    return NULL;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    app *a = arg;
    fprintf(stderr, "mcertd: signal %d, stopping\n", (int)sig);
    for (int i = 0; i < a->n; i++)
        event_base_loopbreak(a->nodes[i]->base);
}

/* The online CA (DATA/ca, made by `mcertctl ca init`): *out NULL when
 * there is no ca.key there (enrollment then answers 503 no_ca); a CA that
 * is there but does not load stops the start. 0 / -1. */
static int load_ca(const mc_config *cfg, mc_ca **out, mc_err *err)
{
    char dir[600], key[640];
    snprintf(dir, sizeof(dir), "%s/ca", cfg->data_dir);
    snprintf(key, sizeof(key), "%s/ca.key", dir);
    *out = NULL;
    if (access(key, F_OK) != 0 && errno == ENOENT) {
        fprintf(stderr, "mcertd: no CA in %s: certificates are not issued online\n", dir);
        return 0;
    }
    *out = mc_ca_load(dir, err);
    return *out != NULL ? 0 : -1;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    mc_config cfg;
    mc_err err;
    mc_err_clear(&err);
    int help = 0;
    if (argc == 2 && strcmp(argv[1], "--print-defaults") == 0) {
        /* for scripts/run: one place defines the defaults */
        printf("MCERT_PORT=%d\nMCERT_REDIS_PORT=%d\n", MC_DEFAULT_LISTEN_PORT,
               MC_DEFAULT_REDIS_PORT);
        return 0;
    }
    if (mc_config_parse(&cfg, argc, argv, &help, &err) != 0) {
        fprintf(stderr, "mcertd: %s\n%s", err.msg, mc_config_usage());
        return 2;
    }
    if (help) {
        fputs(mc_config_usage(), stdout);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "mcertd: libevent without pthreads support\n");
        return 1;
    }
    mc_trust *trust = mc_trust_load(cfg.trust_path, &err);
    if (trust == NULL) {
        fprintf(stderr, "mcertd: trust anchors %s: %s\n", cfg.trust_path, err.msg);
        return 1;
    }
    mc_ca *ca = NULL;
    if (load_ca(&cfg, &ca, &err) != 0) {
        fprintf(stderr, "mcertd: CA %s/ca: %s\n", cfg.data_dir, err.msg);
        mc_trust_free(trust);
        return 1;
    }
    char dummy[MC_PWHASH_MAX];
    uint8_t rnd[16];
    mc_random(rnd, sizeof(rnd));
    if (mc_password_hash((const char *)rnd, sizeof(rnd), dummy, &err) != 0) {
        fprintf(stderr, "mcertd: scrypt unavailable: %s\n", err.msg);
        return 1;
    }
    mc_pages *pages = mc_pages_load(cfg.web_dir, &err);
    if (pages == NULL) {
        fprintf(stderr, "mcertd: %s\n", err.msg);
        mc_trust_free(trust);
        mc_ca_free(ca);
        return 1;
    }
    app a = {calloc((size_t)cfg.threads, sizeof(mc_node *)), 0};
    int rc = 1;
    pthread_t *th = calloc((size_t)cfg.threads, sizeof(pthread_t));
    struct event *sigint = NULL, *sigterm = NULL;
    if (a.nodes == NULL || th == NULL)
        goto done;
    for (int i = 0; i < cfg.threads; i++) {
        a.nodes[i] = mc_node_new(&cfg, trust, ca, pages, i, dummy, &err);
        if (a.nodes[i] == NULL) {
            fprintf(stderr, "mcertd: %s\n", err.msg);
            goto done;
        }
        a.n++;
    }
    sigint = evsignal_new(a.nodes[0]->base, SIGINT, on_signal, &a);
    sigterm = evsignal_new(a.nodes[0]->base, SIGTERM, on_signal, &a);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    fprintf(stderr, "mcertd: listening on http://%s:%d (%d loops), redis %s:%d, phones use %s\n",
            cfg.listen_host, cfg.listen_port, cfg.threads, cfg.redis_host, cfg.redis_port,
            cfg.public_base);
    for (int i = 1; i < a.n; i++)
        pthread_create(&th[i], NULL, loop_thread, a.nodes[i]);
    event_base_dispatch(a.nodes[0]->base);
    for (int i = 1; i < a.n; i++) {
        event_base_loopbreak(a.nodes[i]->base);
        pthread_join(th[i], NULL);
    }
    rc = 0;
done:
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    for (int i = 0; i < a.n; i++)
        mc_node_free(a.nodes[i]);
    free(a.nodes);
    free(th);
    mc_trust_free(trust);
    mc_ca_free(ca);
    mc_pages_free(pages);
    OPENSSL_cleanse(dummy, sizeof(dummy));
    return rc;
}
