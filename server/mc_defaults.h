/*
 * mc_defaults.h — the defaults that mcertd, mcertctl and scripts/run share,
 * in one place. scripts/run reads them with `mcertd --print-defaults`, so
 * that the shell does not keep its own copy of the ports.
 *
 * Redis is on 6390, not 6379: Debian's redis-server package starts a system
 * instance on 6379, and mcert must never write into it by accident.
 */
#ifndef MC_DEFAULTS_H
#define MC_DEFAULTS_H

#define MC_DEFAULT_LISTEN_HOST "127.0.0.1"
#define MC_DEFAULT_LISTEN_PORT 8080
#define MC_DEFAULT_REDIS_HOST "127.0.0.1"
#define MC_DEFAULT_REDIS_PORT 6390
#define MC_DEFAULT_DATA_DIR "./var"
#define MC_DEFAULT_STORE_DEADLINE_MS 2000
/* Unauthenticated work per client address (0 turns a limit off): a QR is
 * open for 2 minutes, so even an office behind one NAT address opens far
 * fewer; one client flooding gets 429. */
#define MC_DEFAULT_LIMIT_OPENS 600     /* QR session opens per minute */
#define MC_DEFAULT_LIMIT_PENDING 200   /* QR sessions open at once */
#define MC_DEFAULT_LIMIT_WAITERS 16    /* long polls on one session, per loop */
#define MC_DEFAULT_LIMIT_APIKEY 600    /* calls per API key per minute */

#define MC_STR_(x) #x
#define MC_STR(x) MC_STR_(x)

#endif
