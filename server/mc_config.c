/*
 * mc_config.c — see mc_config.h. getopt_long over a fixed table.
 */
#include "mc_config.h"
#include "mc_renew.h"

#include "mc_defaults.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *mc_config_usage(void)
{
    return "usage: mcertd [options]\n"
           "  --listen HOST:PORT     address to serve on (default " MC_DEFAULT_LISTEN_HOST ":"
           MC_STR(MC_DEFAULT_LISTEN_PORT) ")\n"
           "  --redis HOST:PORT      Redis server (default " MC_DEFAULT_REDIS_HOST ":"
           MC_STR(MC_DEFAULT_REDIS_PORT) ")\n"
           "  --store-deadline MS    longest wait for a Redis reply (default 2000)\n"
           "  --trusted-proxy CIDR   a reverse proxy whose X-Forwarded-For names the client\n"
           "                         (repeatable; from anyone else the header is ignored)\n"
           "  --limit-opens N        QR session opens per client address per minute\n"
           "                         (default " MC_STR(MC_DEFAULT_LIMIT_OPENS) "; 0: no limit)\n"
           "  --limit-pending N      QR sessions open at once per client address\n"
           "                         (default " MC_STR(MC_DEFAULT_LIMIT_PENDING) "; 0: no limit)\n"
           "  --limit-waiters N      long polls waiting on one session, per event loop\n"
           "                         (default " MC_STR(MC_DEFAULT_LIMIT_WAITERS) "; 0: no limit)\n"
           "  --limit-apikey N       calls per API key per minute, all nodes\n"
           "                         (default " MC_STR(MC_DEFAULT_LIMIT_APIKEY) "; 0: no limit)\n"
           "  --renew-grace DAYS     a certificate may be renewed up to DAYS after it\n"
           "                         expired (default 30; 0..365)\n"
           "  --data DIR             data directory with trust/ (default ./var)\n"
           "  --trust PATH           trust anchors, file or dir (default DATA/trust)\n"
           "  --web DIR              static pages (default: the source tree's server/web)\n"
           "  --public-base URL      base URL phones reach (default http://LISTEN)\n"
           "  --origin URL           allowed web origin, repeatable (default: public base)\n"
           "  --session-ttl SECONDS  QR session lifetime (default 120)\n"
           "  --web-ttl SECONDS      web session lifetime (default 28800)\n"
           "  --threads N            event loops (default: number of cores)\n"
           "  --max-conns N          open connections, all loops (default: the fd limit\n"
           "                         less a reserve; at the cap new ones wait)\n"
           "  --header-timeout S     time for a request's headers, from the accept or the\n"
           "                         previous reply (default 10)\n"
           "  --min-body-rate B      bytes/s a request body must keep up after that\n"
           "                         grace (default 1024)\n"
           "  --ca-provider ID       a CA provider applications may name, [a-z0-9_-]{1,32}\n"
           "                         (repeatable; default mcert, the local CA)\n"
           "  --quiet                no request log\n"
           "  --print-defaults       print the default ports as shell assignments\n";
}

static int parse_hostport(const char *s, char *host, size_t hostsz, int *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= hostsz || colon == s)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)p;
    return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int mc_config_parse(mc_config *c, int argc, char **argv, int *help, mc_err *err)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen_host, sizeof(c->listen_host), "%s", MC_DEFAULT_LISTEN_HOST);
    c->listen_port = MC_DEFAULT_LISTEN_PORT;
    snprintf(c->redis_host, sizeof(c->redis_host), "%s", MC_DEFAULT_REDIS_HOST);
    c->redis_port = MC_DEFAULT_REDIS_PORT;
    c->store_deadline_ms = MC_DEFAULT_STORE_DEADLINE_MS;
    c->limit_opens = MC_DEFAULT_LIMIT_OPENS;
    c->limit_pending = MC_DEFAULT_LIMIT_PENDING;
    c->limit_waiters = MC_DEFAULT_LIMIT_WAITERS;
    c->limit_apikey = MC_DEFAULT_LIMIT_APIKEY;
    c->renew_grace_days = MC_REN_GRACE_DAYS;
    snprintf(c->data_dir, sizeof(c->data_dir), "%s",
             getenv("MCERT_DATA") ? getenv("MCERT_DATA") : MC_DEFAULT_DATA_DIR);
    snprintf(c->web_dir, sizeof(c->web_dir), "%s", MCERT_WEB_DIR);
    c->session_ttl = 120;
    c->web_ttl = 8 * 3600;
    c->poll_wait_max = 30;
    c->header_timeout = 10;
    c->min_body_rate = 1024;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    c->threads = ncpu > 0 && ncpu < 64 ? (int)ncpu : 1;
    *help = 0;

    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"redis", required_argument, NULL, 'r'},
        {"data", required_argument, NULL, 'd'},
        {"trust", required_argument, NULL, 't'},
        {"web", required_argument, NULL, 'w'},
        {"public-base", required_argument, NULL, 'b'},
        {"origin", required_argument, NULL, 'o'},
        {"session-ttl", required_argument, NULL, 's'},
        {"web-ttl", required_argument, NULL, 'W'},
        {"threads", required_argument, NULL, 'n'},
        {"store-deadline", required_argument, NULL, 'D'},
        {"limit-opens", required_argument, NULL, 'O'},
        {"trusted-proxy", required_argument, NULL, 'T'},
        {"limit-pending", required_argument, NULL, 'P'},
        {"limit-waiters", required_argument, NULL, 'A'},
        {"limit-apikey", required_argument, NULL, 'K'},
        {"renew-grace", required_argument, NULL, 'G'},
        {"max-conns", required_argument, NULL, 'C'},
        {"header-timeout", required_argument, NULL, 'H'},
        {"min-body-rate", required_argument, NULL, 'R'},
        {"quiet", no_argument, NULL, 'q'},
        {"ca-provider", required_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            if (parse_hostport(optarg, c->listen_host, sizeof(c->listen_host),
                               &c->listen_port) != 0)
                return mc_err_set(err, 2, "usage", "--listen wants HOST:PORT");
            break;
        case 'r':
            if (parse_hostport(optarg, c->redis_host, sizeof(c->redis_host), &c->redis_port) != 0)
                return mc_err_set(err, 2, "usage", "--redis wants HOST:PORT");
            break;
        case 'd':
            snprintf(c->data_dir, sizeof(c->data_dir), "%s", optarg);
            break;
        case 't':
            snprintf(c->trust_path, sizeof(c->trust_path), "%s", optarg);
            break;
        case 'w':
            snprintf(c->web_dir, sizeof(c->web_dir), "%s", optarg);
            break;
        case 'b':
            snprintf(c->public_base, sizeof(c->public_base), "%s", optarg);
            break;
        case 'o':
            if (c->norigins == MC_ORIGINS_MAX)
                return mc_err_set(err, 2, "usage", "too many --origin");
            snprintf(c->origins[c->norigins++], sizeof(c->origins[0]), "%s", optarg);
            break;
        case 's':
            if (parse_int(optarg, 1, 3600, &c->session_ttl) != 0)
                return mc_err_set(err, 2, "usage", "--session-ttl wants 1..3600");
            break;
        case 'W':
            if (parse_int(optarg, 60, 30 * 86400, &c->web_ttl) != 0)
                return mc_err_set(err, 2, "usage", "--web-ttl wants 60..2592000");
            break;
        case 'n':
            if (parse_int(optarg, 1, 64, &c->threads) != 0)
                return mc_err_set(err, 2, "usage", "--threads wants 1..64");
            break;
        case 'T':
            if (c->nproxies == MC_PROXIES_MAX)
                return mc_err_set(err, 2, "usage", "too many --trusted-proxy");
            if (mc_cidr_parse(optarg, &c->proxies[c->nproxies]) != 0)
                return mc_err_set(err, 2, "usage", "--trusted-proxy wants ADDRESS or ADDRESS/BITS");
            c->nproxies++;
            break;
        case 'O':
            if (parse_int(optarg, 0, 1000000, &c->limit_opens) != 0)
                return mc_err_set(err, 2, "usage", "--limit-opens wants 0..1000000");
            break;
        case 'P':
            if (parse_int(optarg, 0, 1000000, &c->limit_pending) != 0)
                return mc_err_set(err, 2, "usage", "--limit-pending wants 0..1000000");
            break;
        case 'A':
            if (parse_int(optarg, 0, 1000000, &c->limit_waiters) != 0)
                return mc_err_set(err, 2, "usage", "--limit-waiters wants 0..1000000");
            break;
        case 'K':
            if (parse_int(optarg, 0, 1000000, &c->limit_apikey) != 0)
                return mc_err_set(err, 2, "usage", "--limit-apikey wants 0..1000000");
            break;
        case 'G':
            if (parse_int(optarg, 0, MC_REN_GRACE_DAYS_MAX, &c->renew_grace_days) != 0)
                return mc_err_set(err, 2, "usage", "--renew-grace wants 0..365 (days)");
            break;
        case 'D':
            if (parse_int(optarg, 50, 60000, &c->store_deadline_ms) != 0)
                return mc_err_set(err, 2, "usage", "--store-deadline wants 50..60000 (ms)");
            break;
        case 'C':
            if (parse_int(optarg, 1, 1 << 24, &c->max_conns) != 0)
                return mc_err_set(err, 2, "usage", "--max-conns wants 1..16777216");
            break;
        case 'H':
            if (parse_int(optarg, 1, 300, &c->header_timeout) != 0)
                return mc_err_set(err, 2, "usage", "--header-timeout wants 1..300 (seconds)");
            break;
        case 'R':
            if (parse_int(optarg, 1, 1 << 30, &c->min_body_rate) != 0)
                return mc_err_set(err, 2, "usage", "--min-body-rate wants 1..1073741824 (bytes/s)");
            break;
        case 'q':
            c->quiet = 1;
            break;
        case 'V': {
            size_t pl = strlen(optarg);
            int ok = pl >= 1 && pl <= 32 && c->nproviders < MC_PROVIDERS_MAX;
            for (size_t i = 0; ok && i < pl; i++)
                ok = (optarg[i] >= 'a' && optarg[i] <= 'z') ||
                     (optarg[i] >= '0' && optarg[i] <= '9') || optarg[i] == '_' ||
                     optarg[i] == '-';
            if (!ok)
                return mc_err_set(err, 2, "usage",
                                  "--ca-provider wants [a-z0-9_-]{1,32}, at most %d of them",
                                  MC_PROVIDERS_MAX);
            snprintf(c->providers[c->nproviders++], sizeof(c->providers[0]), "%s", optarg);
            break;
        }
        case 'h':
            *help = 1;
            return 0;
        default:
            return mc_err_set(err, 2, "usage", "unknown option");
        }
    }
    if (optind != argc)
        return mc_err_set(err, 2, "usage", "unexpected argument: %s", argv[optind]);
    if (c->trust_path[0] == '\0')
        snprintf(c->trust_path, sizeof(c->trust_path), "%s/trust", c->data_dir);
    if (c->public_base[0] == '\0')
        snprintf(c->public_base, sizeof(c->public_base), "http://%s:%d", c->listen_host,
                 c->listen_port);
    size_t bl = strlen(c->public_base);
    if (bl > 0 && c->public_base[bl - 1] == '/')
        c->public_base[bl - 1] = '\0';
    if (c->norigins == 0)
        snprintf(c->origins[c->norigins++], sizeof(c->origins[0]), "%s", c->public_base);
    if (c->nproviders == 0)
        snprintf(c->providers[c->nproviders++], sizeof(c->providers[0]), "mcert");
    for (int i = 0; i < c->nproviders; i++)
        c->providerv[i] = c->providers[i];
    c->providerv[c->nproviders] = NULL;
    return 0;
}

int mc_config_origin_allowed(const mc_config *c, const char *origin, size_t n)
{
    for (int i = 0; i < c->norigins; i++)
        if (strlen(c->origins[i]) == n && memcmp(c->origins[i], origin, n) == 0)
            return 1;
    return 0;
}
