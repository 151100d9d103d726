/*
 * mc_netaddr.c — see mc_netaddr.h.
 */
#include "mc_netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Parse a bare address into family + bytes. 0 / -1. */
static int parse_ip(const char *s, int *family, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, s, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, addr) == 1) {
        *family = AF_INET6;
        return 0;
    }
    return -1;
}

int mc_cidr_parse(const char *s, mc_cidr *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n + 1);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    if (parse_ip(buf, &out->family, out->addr) != 0)
        return -1;
    int max = out->family == AF_INET ? 32 : 128;
    out->bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || b < 0 || b > max)
            return -1;
        out->bits = (int)b;
    }
    return 0;
}

int mc_cidr_match(const mc_cidr *c, const char *ip)
{
    int family;
    uint8_t a[16];
    if (parse_ip(ip, &family, a) != 0 || family != c->family)
        return 0;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(a, c->addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (c->addr[full] & mask);
}

static int trusted_addr(const char *ip, const mc_cidr *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (mc_cidr_match(&t[i], ip))
            return 1;
    return 0;
}

void mc_client_addr(const char *peer, const char *xff, const mc_cidr *trusted, size_t ntrusted,
                    char *out, size_t outsz)
{
    snprintf(out, outsz, "%s", peer);
    if (xff == NULL || !trusted_addr(peer, trusted, ntrusted))
        return;
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        /* one entry, trimmed */
        const char *a = start, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        char ip[64];
        size_t len = (size_t)(b - a);
        int family;
        uint8_t bytes[16];
        if (len == 0 || len >= sizeof(ip))
            return; /* malformed: keep the last address we trust */
        memcpy(ip, a, len);
        ip[len] = '\0';
        if (parse_ip(ip, &family, bytes) != 0)
            return;
        snprintf(out, outsz, "%s", ip);
        if (!trusted_addr(ip, trusted, ntrusted))
            return;
        end = start > xff ? start - 1 : xff;
    }
}
