/*
 * mc_config.h — mcertd's configuration, parsed once from argv (and a few
 * MCERT_* environment variables) into a read-only struct that is passed
 * down. Defaults make `mcertd` work with no configuration at all on one
 * machine: listen 127.0.0.1:8080, Redis 127.0.0.1:6390, data ./var
 * (mc_defaults.h).
 *
 * Non-goals: no config file, no reload.
 */
#ifndef MC_CONFIG_H
#define MC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "mc_err.h"
#include "mc_netaddr.h"

#define MC_ORIGINS_MAX 8
#define MC_PROXIES_MAX 16
#define MC_PROVIDERS_MAX 8

typedef struct mc_config {
    char listen_host[64];
    int listen_port;
    char redis_host[64];
    int redis_port;
    char data_dir[512];          /* holds trust/ (anchors) */
    char trust_path[600];        /* default <data_dir>/trust */
    char web_dir[512];           /* static pages */
    char public_base[128];       /* base URL the phone reaches, "http://host:port" */
    char origins[MC_ORIGINS_MAX][128]; /* allowed web origins; [0] is the default */
    int norigins;
    int session_ttl;             /* seconds, default 120 */
    int web_ttl;                 /* web session lifetime, seconds, default 8 h */
    int poll_wait_max;           /* long-poll cap, seconds, default 30 */
    int threads;                 /* event loops (SO_REUSEPORT), default = cores */
    int store_deadline_ms;       /* longest wait for a Redis reply, default 2000 */
    int limit_opens;             /* QR session opens per client address per minute */
    int limit_pending;           /* open QR sessions per client address */
    int limit_waiters;           /* long polls waiting on one session, per loop */
    int limit_apikey;            /* calls per API key per minute, all nodes */
    int renew_grace_days;        /* renewable up to this many days after expiry */
    mc_cidr proxies[MC_PROXIES_MAX]; /* trusted proxies: their X-Forwarded-For counts */
    int nproxies;
    int max_conns;               /* connections, all loops; 0 = from the fd limit (mc_conn.h) */
    int header_timeout;          /* seconds a request's headers may take, default 10 */
    int min_body_rate;           /* bytes/s a request body must keep up, default 1024 */
    int quiet;                   /* no request log */
    /* CA providers an application may name (--ca-provider, repeatable;
     * default "mcert", the local CA); NULL-terminated view in providerv */
    char providers[MC_PROVIDERS_MAX][33];
    const char *providerv[MC_PROVIDERS_MAX + 1];
    int nproviders;
} mc_config;

/* Parse argv. 0 / -1 (err holds a usage message). --help sets *help. */
int mc_config_parse(mc_config *c, int argc, char **argv, int *help, mc_err *err);
const char *mc_config_usage(void);
/* 1 if origin (len n) is one of the allowed ones. */
int mc_config_origin_allowed(const mc_config *c, const char *origin, size_t n);

#endif
