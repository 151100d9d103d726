/*
 * mc_netaddr.h — which address a request comes from.
 *
 * Behind a reverse proxy (TLS terminator, load balancer) the TCP peer is the
 * proxy; the client's address is in X-Forwarded-For, which anyone can send.
 * So X-Forwarded-For counts only when the peer is a configured trusted
 * proxy, and then only up to the first hop that is not trusted: the
 * header is read from the right (the entry our proxy appended) leftwards,
 * skipping trusted proxies, and the first other address is the client.
 * That address is what throttles, limits, the audit and the phone's display
 * use. Pure functions, no I/O.
 */
#ifndef MC_NETADDR_H
#define MC_NETADDR_H

#include <stddef.h>
#include <stdint.h>

typedef struct mc_cidr {
    int family;          /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int bits;            /* prefix length */
} mc_cidr;

/* "10.0.0.0/8", "192.0.2.7", "::1", "fd00::/8". 0 / -1. */
int mc_cidr_parse(const char *s, mc_cidr *out);
/* 1 if ip (text) is inside c. */
int mc_cidr_match(const mc_cidr *c, const char *ip);
/* The client address of a request from `peer` with X-Forwarded-For `xff`
 * (NULL if none; several headers joined with ","), into out. */
void mc_client_addr(const char *peer, const char *xff, const mc_cidr *trusted, size_t ntrusted,
                    char *out, size_t outsz);

#endif
