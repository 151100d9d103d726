/*
 * mc_pages.c — the static web pages (login, bindings, sign, apply, review,
 * renew; invoice.js: the 发票申请 dialog of apply and renew) and the page a
 * generic QR scanner lands on.
 *
 * Files come from cfg->web_dir by a fixed table (no path from a request
 * ever reaches the file system) and are read ONCE at start (mc_pages_load):
 * serving a page never touches the disk nor waits for anything, so pages
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

static const struct {
    const char *path;   /* request path */
    const char *file;   /* under web_dir */
    const char *ctype;
} files[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/bindings", "bindings.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
    {"/sign", "sign.html", "text/html; charset=utf-8"},
    {"/sign.js", "sign.js", "text/javascript; charset=utf-8"},
    {"/sm3.js", "sm3.js", "text/javascript; charset=utf-8"},
    {"/pay/sandbox", "cashier.html", "text/html; charset=utf-8"},
    {"/cashier.js", "cashier.js", "text/javascript; charset=utf-8"},
    {"/apply", "apply.html", "text/html; charset=utf-8"},
    {"/apply.js", "apply.js", "text/javascript; charset=utf-8"},
    {"/review", "review.html", "text/html; charset=utf-8"},
    {"/review.js", "review.js", "text/javascript; charset=utf-8"},
    {"/renew", "renew.html", "text/html; charset=utf-8"},
    {"/renew.js", "renew.js", "text/javascript; charset=utf-8"},
    {"/invoice.js", "invoice.js", "text/javascript; charset=utf-8"},
};
#define NFILES (sizeof(files) / sizeof(files[0]))
#define PAGE_MAX (512 * 1024)

struct mc_pages {
    mc_buf body[NFILES];
};

mc_pages *mc_pages_load(const char *dir, mc_err *err)
{
    mc_pages *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < NFILES; i++) {
        char fn[700];
        snprintf(fn, sizeof(fn), "%s/%s", dir, files[i].file);
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
    for (size_t i = 0; i < NFILES; i++)
        mc_buf_free(&p->body[i]);
    free(p);
}

void mc_page_static(mc_req *r)
{
    static const char *const headers[] = {
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        "X-Frame-Options", "DENY", NULL,
    };
    const char *path = r->route->path;
    for (size_t i = 0; i < NFILES; i++) {
        if (strcmp(files[i].path, path) != 0)
            continue;
        const mc_buf *b = &r->node->pages->body[i];
        mc_reply_body(r, 200, files[i].ctype, b->ptr, b->len, headers);
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
    mc_reply_body(r, 200, "text/html; charset=utf-8", html, sizeof(html) - 1, NULL);
}
