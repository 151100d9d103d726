/*
 * test_routes.c — the dispatcher's checks (PROTOCOL.md §0, "Order of
 * checks") sent to EVERY web route of the route table, against a real
 * redis-server and mcertd: a route added later is covered without a line
 * here. Per route, one fault at a time:
 *   - no-body routes: a body -> 400 unexpected_body;
 *   - JSON-body routes: another Content-Type -> 415 unsupported_media_type,
 *     one byte over the route's limit -> 413 too_large, a duplicate key, a
 *     body cut short, an array, bytes that are not UTF-8 -> 400 bad_json;
 *   - routes that need a token (or an API key): none, or a made-up one ->
 *     401 unauthorized.
 * Every reply is exactly {code, message}, and the data set is unchanged
 * after all of them (DEBUG DIGEST): these refusals come before any handler.
 * Routes with a Content-Type of their own (uploads, OCSP), the phone's
 * msgpack routes and the pages are out of scope here (their own tests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mc_http.h"
#include "mc_httpd.h"
#include "mc_proto.h"
#include "mc_testhelp.h"

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    default:
        return NULL;
    }
}

/* The route's path with its ":param" segment filled with a plain value. */
static void concrete(const char *pattern, char out[256])
{
    size_t o = 0;
    for (const char *p = pattern; *p != '\0' && o + 24 < 256;) {
        if (*p == ':') {
            o += (size_t)snprintf(out + o, 256 - o, "X1");
            while (*p != '\0' && *p != '/')
                p++;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

/* One request; status and the error's code (asserting the {code, message}
 * shape of every error). */
static int send_one(mc_testenv *env, const char *method, const char *path, const char *auth,
                    const char *ctype, const void *body, size_t len, char code[64])
{
    char url[400], ct[96], ah[200];
    snprintf(url, sizeof(url), "%s%s", env->base, path);
    const char *h[4];
    size_t nh = 0;
    if (ctype != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
        h[nh++] = ct;
    }
    if (auth != NULL) {
        snprintf(ah, sizeof(ah), "Authorization: %s", auth);
        h[nh++] = ah;
    }
    h[nh] = NULL;
    mc_http_reply rep;
    memset(&rep, 0, sizeof(rep));
    mc_err e;
    if (mc_http_request(method, url, h, body, len, 20, &rep, &e) != 0)
        fail_msg("%s %s: no reply: %s", method, path, e.msg);
    code[0] = '\0';
    if (rep.status >= 400) {
        json_error_t je;
        json_t *o = json_loadb((const char *)rep.body.ptr, rep.body.len, 0, &je);
        if (!json_is_object(o) || json_object_size(o) != 2 ||
            !json_is_string(json_object_get(o, "code")) ||
            !json_is_string(json_object_get(o, "message")))
            fail_msg("%s %s: %d is not {code, message}: %.*s", method, path, rep.status,
                     (int)rep.body.len, (const char *)rep.body.ptr);
        snprintf(code, 64, "%s", json_string_value(json_object_get(o, "code")));
        json_decref(o);
    }
    int st = rep.status;
    mc_http_reply_free(&rep);
    return st;
}

static void expect(mc_testenv *env, const char *method, const char *path, const char *auth,
                   const char *ctype, const void *body, size_t len, int status,
                   const char *want, const char *what, int *checks)
{
    char code[64];
    int st = send_one(env, method, path, auth, ctype, body, len, code);
    if (st != status || strcmp(code, want) != 0)
        fail_msg("%s %s (%s): got %d %s, want %d %s", method, path, what, st, code, status, want);
    (*checks)++;
}

static void every_web_route_refuses_what_the_dispatcher_refuses(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char d1[41], d2[41];
    mc_testenv_digest(env, d1);
    int checks = 0, routes = 0;
    static const char *const bad_json[] = {
        "{\"a\":1,\"a\":2}", /* a duplicate key */
        "{\"a\":",           /* cut short */
        "[]",                /* not an object */
        "{\"a\":\"\xff\"}",  /* not UTF-8 */
    };
    for (size_t i = 0; i < mc_nroutes; i++) {
        const mc_route *rt = &mc_routes[i];
        const char *m = method_name(rt->method);
        if (rt->api != MC_API_WEB || rt->ctype != NULL || m == NULL)
            continue;
        routes++;
        char path[256];
        concrete(rt->path, path);
        if (rt->body_max == 0) {
            expect(env, m, path, NULL, "application/json", "{}", 2, 400, "unexpected_body",
                   "a body", &checks);
        } else {
            expect(env, m, path, NULL, "text/plain", "{}", 2, 415, "unsupported_media_type",
                   "text/plain", &checks);
            for (size_t k = 0; k < sizeof(bad_json) / sizeof(bad_json[0]); k++)
                expect(env, m, path, NULL, "application/json", bad_json[k], strlen(bad_json[k]),
                       400, "bad_json", bad_json[k], &checks);
            /* one byte over the route's own limit (under the connection's
             * 128 KiB, which is a route-independent refusal) */
            if (rt->body_max + 1 < 128 * 1024) {
                size_t n = rt->body_max + 1;
                char *big = malloc(n);
                assert_non_null(big);
                memset(big, ' ', n);
                big[0] = '{';
                big[n - 1] = '}';
                expect(env, m, path, NULL, "application/json", big, n, 413, "too_large",
                       "over the limit", &checks);
                free(big);
            }
        }
        if (rt->auth == MC_AUTH_REQUIRED || rt->auth == MC_AUTH_CALLER) {
            const char *body = rt->body_max ? "{}" : NULL;
            const char *ct = body ? "application/json" : NULL;
            expect(env, m, path, NULL, ct, body, body ? 2 : 0, 401, "unauthorized", "no token",
                   &checks);
            expect(env, m, path,
                   "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.admin", ct, body,
                   body ? 2 : 0, 401, "unauthorized", "a made-up token", &checks);
        }
    }
    /* the table was walked: at least the endpoints of every capability */
    if (routes < 40)
        fail_msg("only %d web routes in the table", routes);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    print_message("%d web routes, %d refusals\n", routes, checks);
    mc_testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_web_route_refuses_what_the_dispatcher_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
