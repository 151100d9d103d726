/*
 * mc_web.h — handlers of the web JSON API (mc_web.c), the phone msgpack API
 * (mc_phone_api.c) and the static pages (mc_pages.c). Each is an mc_handler:
 * called by the dispatcher after its checks, sends exactly one reply.
 */
#ifndef MC_WEB_H
#define MC_WEB_H

#include "mc_httpd.h"

void mc_web_login(mc_req *r);
void mc_web_logout(mc_req *r);
void mc_web_me(mc_req *r);
void mc_web_session_open(mc_req *r);
void mc_web_session_poll(mc_req *r);
void mc_web_bindings(mc_req *r);
void mc_web_unbind(mc_req *r);
void mc_web_health(mc_req *r);

void mc_phone_session_get(mc_req *r);
void mc_phone_session_respond(mc_req *r);

void mc_page_static(mc_req *r);
void mc_page_scan_hint(mc_req *r);

#endif
