/*
 * mc_web.h — the static pages (mc_pages.c): loaded once at start, served
 * from memory. The API handlers are in api/mc_api.h.
 */
#ifndef MC_WEB_H
#define MC_WEB_H

#include "mc_httpd.h"

mc_pages *mc_pages_load(const char *dir, mc_err *err);
void mc_pages_free(mc_pages *p);

void mc_page_static(mc_req *r);
void mc_page_scan_hint(mc_req *r);

#endif
