/*
 * mc_pages.c — the static web pages (login, bindings) and the page a
 * generic QR scanner lands on.
 *
 * Files come from cfg->web_dir, by a fixed table (no path from the request
 * ever reaches the file system). Pages carry a strict Content-Security-Policy:
 * scripts and styles only from this origin, images also as data: URIs (the
 * QR PNG).
 */
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_web.h"

static const struct {
    const char *path;   /* request path */
    const char *file;   /* under web_dir */
    const char *ctype;
} pages[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/bindings", "bindings.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
};

#define PAGE_MAX (512 * 1024)

void mc_page_static(mc_req *r)
{
    const char *path = r->route->path;
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        if (strcmp(pages[i].path, path) != 0)
            continue;
        char fn[700];
        snprintf(fn, sizeof(fn), "%s/%s", r->node->cfg->web_dir, pages[i].file);
        FILE *f = fopen(fn, "rb");
        if (f == NULL) {
            mc_reply_errf(r, 404, "not_found", "page not installed");
            return;
        }
        char *buf = malloc(PAGE_MAX);
        size_t n = buf ? fread(buf, 1, PAGE_MAX, f) : 0;
        fclose(f);
        if (buf == NULL) {
            mc_reply_errf(r, 503, "internal", "out of memory");
            return;
        }
        struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
        evhttp_add_header(h, "Content-Security-Policy",
                          "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
        evhttp_add_header(h, "X-Frame-Options", "DENY");
        mc_reply_raw(r->req, 200, pages[i].ctype, buf, n);
        free(buf);
        return;
    }
    mc_reply_errf(r, 404, "not_found", "no such page");
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
    mc_reply_raw(r->req, 200, "text/html; charset=utf-8", html, sizeof(html) - 1);
}
