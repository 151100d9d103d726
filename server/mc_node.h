/*
 * mc_node.h — construction of one event loop of mcertd (mc_node, declared
 * in mc_httpd.h): its listener socket (SO_REUSEPORT, so that several loops
 * share one port and the kernel spreads connections), evhttp, the async
 * store with its deadline timer, the worker pool, the pub/sub
 * subscription and the connection guard (mc_conn.h: accept-error pause,
 * connection cap, request deadlines). evhttp's own size limits are set out
 * of reach so that every refusal is {code, message}.
 */
#ifndef MC_NODE_H
#define MC_NODE_H

#include "mc_httpd.h"

/* NULL with err on failure. cfg, trust, ca (may be NULL: no online CA)
 * and pages are borrowed and must outlive the node. dummy_pw is copied. */
mc_node *mc_node_new(const mc_config *cfg, const mc_trust *trust, mc_ca *ca,
                     const mc_pages *pages, int id, const char *dummy_pw, mc_err *err);
void mc_node_free(mc_node *n);

#endif
