/*
 * mc_pages.c — the static web pages (login, bindings, sign, apply, review,
 * renew; invoice.js: the 发票申请 dialog of apply and renew) and the page a
 * generic QR scanner lands on.
 *
 * Files come from cfg->web_dir by the route table's page field (mc_routes.c,
 * the one list of the pages: no path from a request ever reaches the file
 * system) and are read ONCE at start (mc_pages_load): serving a page never
 * touches the disk nor waits for anything, so pages
 * keep answering while Redis is down or hung. Pages carry a strict
 * Content-Security-Policy: scripts, styles and images only from this
 * origin (images also as data: URIs).
 *
 * Non-goals: reloading files without a restart; compression.
 */
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_web.h"

/* A page's Content-Type, by its file's extension. */
static const char *page_ctype(const char *file)
{
    const char *dot = strrchr(file, '.');
    if (dot != NULL && strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (dot != NULL && strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    return "text/html; charset=utf-8";
}

#define PAGE_MAX (512 * 1024)

/* body[i]: the file of mc_routes[i] when that route has a page, else empty. */
struct mc_pages {
    mc_buf *body; /* [mc_nroutes] */
};

mc_pages *mc_pages_load(const char *dir, mc_err *err)
{
    mc_pages *p = calloc(1, sizeof(*p));
    if (p == NULL || (p->body = calloc(mc_nroutes, sizeof(p->body[0]))) == NULL) {
        free(p);
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < mc_nroutes; i++) {
        if (mc_routes[i].page == NULL)
            continue;
        char fn[700];
        snprintf(fn, sizeof(fn), "%s/%s", dir, mc_routes[i].page);
        FILE *f = fopen(fn, "rb");
        if (f == NULL) {
            mc_err_set(err, 500, "config", "web page %s: cannot open", fn);
            mc_pages_free(p);
            return NULL;
        }
        mc_buf_reserve(&p->body[i], PAGE_MAX);
        p->body[i].len = fread(p->body[i].ptr, 1, PAGE_MAX, f);
        fclose(f);
    }
    return p;
}

void mc_pages_free(mc_pages *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; p->body != NULL && i < mc_nroutes; i++)
        mc_buf_free(&p->body[i]);
    free(p->body);
    free(p);
}

void mc_page_static(mc_req *r)
{
    static const char *const headers[] = {
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        "X-Frame-Options", "DENY", NULL,
    };
    size_t i = (size_t)(r->route - mc_routes);
    if (i >= mc_nroutes || r->route->page == NULL) {
        mc_reply_errf(r, 404, "not_found", "no such page");
        return;
    }
    const mc_buf *b = &r->node->pages->body[i];
    mc_reply_body(r, 200, page_ctype(r->route->page), b->ptr, b->len, headers);
}

/* GET /M/:sid — a generic scanner (not the mcert app) opened the QR. */
void mc_page_scan_hint(mc_req *r)
{
    static const char html[] =
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        "<title>mcert</title></head><body>"
        "<h1>请使用移动证书 App 扫码</h1>"
        "<p>This code is for the mcert mobile certificate app. Open the app and scan it "
        "there; nothing happens from a browser.</p></body></html>";
    mc_reply_body(r, 200, "text/html; charset=utf-8", html, sizeof(html) - 1, NULL);
}
