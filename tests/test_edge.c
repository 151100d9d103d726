/*
 * test_edge.c — the HTTP edge of mcertd under hostile connections (issue 9,
 * items 3, 4 and 7): the connection guard (server/mc_conn.h) and the
 * dispatcher's first check, against the real mcertd and redis-server.
 *
 *  - fd exhaustion under `ulimit -n 256`, twice: with the default cap (the
 *    listener pauses at its share of the fd limit) and with a --max-conns
 *    far above it (accept fails with EMFILE and the listener pauses on a
 *    timer). Either way mcertd's CPU stays low, its log small, and it
 *    serves again once the clients leave;
 *  - a request whose headers trickle in (one line every 2 s), or whose
 *    body does, is closed by the deadline with 408 {code, message};
 *  - a long poll of 20 s on a keep-alive connection is not cut, the
 *    connection serves the next request, and the idle connection is then
 *    closed by the deadline counted from the end of that reply;
 *  - two Content-Length headers (or one with Transfer-Encoding) get
 *    400 bad_request and the connection is closed: the bytes after the
 *    first body are never served as a request of their own;
 *  - a 70 KB body, a 20 KB header block, a request past the guard's raw
 *    cap and what libevent refuses itself (unknown method, malformed
 *    request line, header or length, broken chunks) get {code, message},
 *    never libevent's HTML.
 *
 * Raw sockets are used where the test needs to see the connection itself
 * (trickling, keep-alive, closing); bounds on time are generous (a loaded
 * machine must not fail them), while the failures they catch are orders
 * of magnitude apart (a spinning server uses a whole core, a server
 * without the deadline never closes).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mc_conn.h"
#include "mc_httpd.h"
/* mc_conn.h's header cap and the phone client's header count share this
 * name; this file uses neither */
#undef MC_HTTP_HEADERS_MAX
#include "mc_http.h"
#include "mc_testenv.h"

#define HEADER_TIMEOUT "4" /* seconds, for the deadline group */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A blocking TCP connection to the env's mcertd; -1 if connect fails. */
static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int raw_send(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* What came back on a raw connection. */
typedef struct raw_reply {
    char buf[16384];
    size_t len;
    int eof;          /* the server closed (FIN or reset) */
    double closed_at; /* mc_testenv_now() when it did */
} raw_reply;

/* Read until the server closes, or until `want_responses` complete
 * responses (by Content-Length) are in, or timeout_s passes. */
static void raw_read(int fd, double timeout_s, int want_responses, raw_reply *rr)
{
    memset(rr, 0, sizeof(*rr));
    double end = mc_testenv_now() + timeout_s;
    for (;;) {
        if (want_responses > 0) {
            /* count complete responses */
            int done = 0;
            const char *p = rr->buf;
            while (p && (p = strstr(p, "HTTP/1.1 ")) != NULL) {
                const char *hend = strstr(p, "\r\n\r\n");
                const char *cl = strstr(p, "Content-Length: ");
                if (hend == NULL || cl == NULL || cl > hend)
                    break;
                size_t blen = strtoul(cl + 16, NULL, 10);
                if ((size_t)(hend + 4 - rr->buf) + blen > rr->len)
                    break;
                done++;
                p = hend + 4 + blen;
            }
            if (done >= want_responses)
                return;
        }
        double left = end - mc_testenv_now();
        if (left <= 0)
            return;
        struct pollfd pf = {fd, POLLIN, 0};
        int pr = poll(&pf, 1, (int)(left * 1000) + 1);
        if (pr <= 0)
            continue;
        ssize_t n = recv(fd, rr->buf + rr->len, sizeof(rr->buf) - 1 - rr->len, 0);
        if (n <= 0) {
            rr->eof = 1;
            rr->closed_at = mc_testenv_now();
            return;
        }
        rr->len += (size_t)n;
        rr->buf[rr->len] = '\0';
        if (rr->len == sizeof(rr->buf) - 1)
            return;
    }
}

/* Status of the first response in rr, 0 if none. */
static int raw_status(const raw_reply *rr)
{
    if (rr->len < 12 || strncmp(rr->buf, "HTTP/1.", 7) != 0)
        return 0;
    return atoi(rr->buf + 9);
}

/* Number of responses in rr (status lines). */
static int raw_count(const raw_reply *rr)
{
    int n = 0;
    for (const char *p = rr->buf; (p = strstr(p, "HTTP/1.1 ")) != NULL; p += 9)
        n++;
    return n;
}

/* The body of a {code, message} JSON object: code must be `code`. */
static void assert_json_error(const char *body, size_t len, const char *code)
{
    json_error_t je;
    json_t *o = json_loadb(body, len, 0, &je);
    if (o == NULL)
        fail_msg("not JSON: %.*s", (int)(len > 200 ? 200 : len), body);
    assert_true(json_is_object(o));
    assert_true(json_is_string(json_object_get(o, "message")));
    assert_true(strlen(mc_testenv_jstr(o, "message")) > 0);
    if (strcmp(mc_testenv_jstr(o, "code"), code) != 0)
        fail_msg("code %s, want %s", mc_testenv_jstr(o, "code"), code);
    json_decref(o);
}

/* The first response of rr is `status` with a JSON {code, message}. */
static void assert_raw_json_error(const raw_reply *rr, int status, const char *code)
{
    if (raw_status(rr) != status || strstr(rr->buf, "Content-Type: application/json") == NULL)
        fail_msg("want %d JSON, got: %.300s", status, rr->buf);
    const char *b = strstr(rr->buf, "\r\n\r\n");
    assert_non_null(b);
    const char *cl = strstr(rr->buf, "Content-Length: ");
    assert_true(cl != NULL && cl < b);
    size_t blen = strtoul(cl + 16, NULL, 10);
    assert_true((size_t)(b + 4 - rr->buf) + blen <= rr->len);
    assert_json_error(b + 4, blen, code);
}

/* CPU seconds (user + system) used by pid so far. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* fields after the command name "(...)": state is field 3, utime 14, stime 15 */
    char *p = strrchr(buf, ')');
    assert_non_null(p);
    unsigned long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        fail_msg("cannot parse %s", path);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* /healthz answers 200 within timeout_s (each try 2 s); returns the time
 * it took, or -1. */
static double healthz_within(mc_testenv *env, double timeout_s)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/healthz", env->base);
    double t0 = mc_testenv_now();
    while (mc_testenv_now() - t0 < timeout_s) {
        mc_http_reply rep;
        memset(&rep, 0, sizeof(rep));
        mc_err e;
        int rc = mc_http_request("GET", url, NULL, NULL, 0, 2, &rep, &e);
        int st = rep.status;
        mc_http_reply_free(&rep);
        if (rc == 0 && st == 200)
            return mc_testenv_now() - t0;
        sleep_ms(100);
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* fd exhaustion                                                        */
/* ------------------------------------------------------------------ */

#define FLOOD 300

/* Open FLOOD idle connections to an mcertd running under ulimit -n 256;
 * its CPU over 2 s and its log must stay small; after they close it
 * serves again. */
static void flood_and_recover(mc_testenv *env, const char *what)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < FLOOD + 64) {
        rl.rlim_cur = rl.rlim_max;
        if (rl.rlim_cur < FLOOD + 64 || setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fail_msg("the test itself needs %d fds (ulimit -n)", FLOOD + 64);
    }
    char log[320];
    snprintf(log, sizeof(log), "%s/mcertd.log", env->dir);
    long log0 = file_size(log);
    assert_true(log0 >= 0);

    int fds[FLOOD];
    int opened = 0;
    for (int i = 0; i < FLOOD; i++) {
        fds[i] = raw_connect(env->port);
        if (fds[i] >= 0)
            opened++;
    }
    /* the kernel completes the handshakes of those it holds in the backlog */
    assert_true(opened >= FLOOD - 10);
    sleep_ms(500);
    double c0 = cpu_seconds(env->mcertd_pid);
    double t0 = mc_testenv_now();
    sleep_ms(2000);
    double cpu = (cpu_seconds(env->mcertd_pid) - c0) / (mc_testenv_now() - t0);
    long grown = file_size(log) - log0;
    print_message("%s: %d connections open, mcertd CPU %.1f %% of a core, log +%ld bytes\n",
                  what, opened, cpu * 100, grown);
    /* a spinning accept loop takes ~100 % and writes megabytes */
    assert_true(cpu < 0.30);
    assert_true(grown < 16 * 1024);

    for (int i = 0; i < FLOOD; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    double back = healthz_within(env, 15);
    print_message("%s: served again %.2f s after the clients left\n", what, back);
    assert_true(back >= 0);
    /* and the log stayed small through all of it */
    assert_true(file_size(log) - log0 < 32 * 1024);
}

/* Lines of the env's mcertd log that contain `what`. */
static int log_lines(mc_testenv *env, const char *what)
{
    char path[320], line[1024];
    snprintf(path, sizeof(path), "%s/mcertd.log", env->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, what) != NULL;
    fclose(f);
    return n;
}

/* mcertd under ulimit -n 256, with the deadline out of the way (the
 * flood's connections stay idle) and --max-conns if not NULL. */
static mc_testenv *start_with_256_fds(const char *max_conns)
{
    const char *const args[] = {"--header-timeout", "120", max_conns ? "--max-conns" : NULL,
                                max_conns, NULL};
    mc_testenv_opts o = {.mcertd_args = args, .mcertd_nofile = 256};
    return mc_testenv_start_opts(&o);
}

static void at_the_connection_cap_the_listener_pauses_and_resumes(void **state)
{
    mc_testenv *env = start_with_256_fds(NULL);
    flood_and_recover(env, "cap");
    /* the cap is what stopped it, before any accept error */
    assert_true(log_lines(env, "the cap of this loop") >= 1);
    assert_int_equal(log_lines(env, "accept: "), 0);
    mc_testenv_stop(env);
}

static void out_of_fds_accept_errors_pause_the_listener(void **state)
{
    /* a cap far above the fd limit: accept() itself fails with EMFILE */
    mc_testenv *env = start_with_256_fds("4000");
    flood_and_recover(env, "EMFILE");
    assert_true(log_lines(env, "accept: Too many open files") >= 1);
    /* at most about one line per second per loop */
    assert_true(log_lines(env, "accept: ") <= 40);
    mc_testenv_stop(env);
}

/* ------------------------------------------------------------------ */
/* deadlines, framing, sizes (one mcertd with a 4 s header deadline)    */
/* ------------------------------------------------------------------ */

static int group_setup(void **state)
{
    const char *const args[] = {"--header-timeout", HEADER_TIMEOUT, NULL};
    mc_testenv_opts o = {.mcertd_args = args};
    *state = mc_testenv_start_opts(&o);
    return 0;
}

static int group_teardown(void **state)
{
    mc_testenv_stop(*state);
    return 0;
}

/* After `first`, send `piece` every `every_s` seconds until the server
 * answers or closes (then read up to the close); fails after 30 s.
 * Returns the seconds from `first` to the close; *pieces = pieces sent. */
static double trickle_until_closed(int fd, const char *first, const char *piece,
                                   double every_s, raw_reply *rr, int *pieces)
{
    double t0 = mc_testenv_now();
    assert_int_equal(raw_send(fd, first, strlen(first)), 0);
    *pieces = 0;
    for (;;) {
        raw_read(fd, every_s, 0, rr);
        if (rr->eof || rr->len > 0)
            break;
        if (mc_testenv_now() - t0 > 30)
            fail_msg("not closed after 30 s of trickling");
        if (raw_send(fd, piece, strlen(piece)) != 0)
            break;
        (*pieces)++;
    }
    if (!rr->eof)
        raw_read(fd, 5.0, 0, rr); /* the rest, up to the close */
    return mc_testenv_now() - t0;
}

static void trickled_headers_are_closed_by_the_deadline_with_408(void **state)
{
    mc_testenv *env = *state;
    int fd = raw_connect(env->port);
    assert_true(fd >= 0);
    /* one header line every 2 s, never the empty line: evhttp's idle timer
     * restarts on each, the guard's deadline does not */
    raw_reply rr;
    int lines;
    double took = trickle_until_closed(fd, "GET /healthz HTTP/1.1\r\n", "X-Trickle: 1\r\n", 2.0,
                                       &rr, &lines);
    print_message("trickled headers: %d lines, closed after %.1f s\n", lines, took);
    assert_true(lines >= 1);
    assert_true(took < 12.0);
    assert_raw_json_error(&rr, 408, "request_timeout");
    assert_true(rr.eof);
    close(fd);
}

static void trickled_body_is_closed_by_the_minimum_rate(void **state)
{
    mc_testenv *env = *state;
    int fd = raw_connect(env->port);
    assert_true(fd >= 0);
    const char *h = "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: 4000\r\n\r\n{\"account\":\"";
    raw_reply rr;
    int pieces;
    double took = trickle_until_closed(fd, h, "aaaaaaaaaa", 1.0, &rr, &pieces); /* 10 bytes/s */
    print_message("trickled body: %d bytes, closed after %.1f s\n", pieces * 10, took);
    assert_true(took < 15.0);
    assert_raw_json_error(&rr, 408, "request_timeout");
    assert_true(rr.eof);
    close(fd);
}

static void keepalive_long_poll_of_20s_is_not_cut_and_idle_is_closed_after(void **state)
{
    mc_testenv *env = *state;
    char sid[MC_SID_LEN + 1], poll[64], path[160], hdr[128];
    int match;
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    mc_testenv_poll_request(sid, poll, "pending", 20, path, hdr);
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n", path, hdr);
    int fd = raw_connect(env->port);
    assert_true(fd >= 0);
    double t0 = mc_testenv_now();
    assert_int_equal(raw_send(fd, req, (size_t)n), 0);
    raw_reply rr;
    raw_read(fd, 40, 1, &rr);
    double took = mc_testenv_now() - t0;
    print_message("long poll answered after %.1f s\n", took);
    assert_false(rr.eof);
    assert_int_equal(raw_status(&rr), 200);
    assert_non_null(strstr(rr.buf, "\"pending\""));
    assert_true(took > 17.0 && took < 30.0);
    /* the same connection serves the next request */
    const char *hz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(raw_send(fd, hz, strlen(hz)), 0);
    raw_read(fd, 10, 1, &rr);
    assert_false(rr.eof);
    assert_int_equal(raw_status(&rr), 200);
    /* idle now: closed by the deadline from the end of that reply, without
     * a reply (nothing was asked) */
    double t1 = mc_testenv_now();
    raw_read(fd, 20, 0, &rr);
    assert_true(rr.eof);
    if (rr.len != 0)
        fail_msg("an idle connection got a reply: %.300s", rr.buf);
    double idle = rr.closed_at - t1;
    print_message("idle keep-alive connection closed after %.1f s\n", idle);
    assert_true(idle > 2.0 && idle < 12.0);
    close(fd);
}

/* Two requests in one write, the second hidden after the first's body by
 * a second Content-Length. */
static void expect_framing_refused(mc_testenv *env, const char *headers, const char *body,
                                   const char *why)
{
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "POST /api/v1/login HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: application/json\r\n%s\r\n"
                     "%sGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                     headers, body);
    int fd = raw_connect(env->port);
    assert_true(fd >= 0);
    assert_int_equal(raw_send(fd, req, (size_t)n), 0);
    raw_reply rr;
    raw_read(fd, 10, 0, &rr); /* up to the close */
    print_message("%s: %.*s\n", why, (int)strcspn(rr.buf, "\r"), rr.buf);
    assert_true(rr.eof);
    assert_raw_json_error(&rr, 400, "bad_request");
    assert_non_null(strstr(rr.buf, "Connection: close"));
    /* the smuggled request was not served */
    assert_int_equal(raw_count(&rr), 1);
    close(fd);
}

static void duplicate_or_conflicting_content_length_is_400_and_closes(void **state)
{
    mc_testenv *env = *state;
    char before[41], after[41];
    mc_testenv_digest(env, before);
    expect_framing_refused(env, "Content-Length: 2\r\nContent-Length: 40\r\n", "{}",
                           "two lengths");
    expect_framing_refused(env, "Content-Length: 2\r\nContent-Length: 2\r\n", "{}",
                           "same twice");
    expect_framing_refused(env, "Content-Length: 2\r\ncontent-length: 40\r\n", "{}",
                           "case");
    /* a length with chunks: libevent 2.1.12 refuses it itself, before the
     * dispatcher (its error page is made {code, message} by the guard) */
    expect_framing_refused(env, "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n",
                           "2\r\n{}\r\n0\r\n\r\n", "length and chunked");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    /* one Content-Length is fine, and keep-alive goes on */
    int fd = raw_connect(env->port);
    assert_true(fd >= 0);
    const char *two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(raw_send(fd, two, strlen(two)), 0);
    raw_reply rr;
    raw_read(fd, 10, 2, &rr);
    assert_int_equal(raw_count(&rr), 2);
    assert_false(rr.eof);
    close(fd);
}

static void a_70kb_body_gets_413_json(void **state)
{
    mc_testenv *env = *state;
    char url[160];
    size_t n = 70 * 1000;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    const char *const hj[] = {"Content-Type: application/json", NULL};
    const char *paths[] = {"/api/v1/login", "/api/v1/sessions", "/healthz"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        snprintf(url, sizeof(url), "%s%s", env->base, paths[i]);
        mc_http_reply rep;
        mc_err e;
        if (mc_http_request(i == 2 ? "GET" : "POST", url, hj, big, n, 10, &rep, &e) != 0)
            fail_msg("%s: %s", paths[i], e.msg);
        const char *ct = mc_http_reply_header(&rep, "Content-Type");
        assert_non_null(ct);
        assert_non_null(strstr(ct, "application/json"));
        assert_json_error((const char *)rep.body.ptr, rep.body.len,
                          i == 2 ? "unexpected_body" : "too_large");
        assert_int_equal(rep.status, i == 2 ? 400 : 413);
        mc_http_reply_free(&rep);
    }
    free(big);
}

static void a_20kb_header_block_gets_431_json(void **state)
{
    mc_testenv *env = *state;
    char url[160];
    snprintf(url, sizeof(url), "%s/healthz", env->base);
    char *hdr = malloc(20 * 1024 + 16);
    assert_non_null(hdr);
    memcpy(hdr, "X-Junk: ", 8);
    memset(hdr + 8, 'b', 20 * 1024);
    hdr[8 + 20 * 1024] = '\0';
    const char *const hh[] = {hdr, NULL};
    mc_http_reply rep;
    mc_err e;
    if (mc_http_request("GET", url, hh, NULL, 0, 10, &rep, &e) != 0)
        fail_msg("healthz with a 20 KiB header: %s", e.msg);
    assert_int_equal(rep.status, 431);
    assert_json_error((const char *)rep.body.ptr, rep.body.len, "too_large");
    mc_http_reply_free(&rep);
    /* many small headers add up the same */
    const char *many[40];
    char bufs[40][600];
    for (int i = 0; i < 39; i++) {
        snprintf(bufs[i], sizeof(bufs[i]), "X-Junk-%d: %0500d", i, 0);
        many[i] = bufs[i];
    }
    many[39] = NULL;
    if (mc_http_request("GET", url, many, NULL, 0, 10, &rep, &e) != 0)
        fail_msg("healthz with 39 headers: %s", e.msg);
    assert_int_equal(rep.status, 431);
    assert_json_error((const char *)rep.body.ptr, rep.body.len, "too_large");
    mc_http_reply_free(&rep);
    free(hdr);
    assert_true(healthz_within(env, 5) >= 0);
}

/* What libevent refuses before the dispatcher sees it: its own error page
 * is replaced by the guard; the connection is closed. */
static void what_libevent_refuses_itself_is_json_too(void **state)
{
    mc_testenv *env = *state;
    static const struct {
        const char *req;
        int status;
        const char *code;
    } cases[] = {
        {"FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"},
        {"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 400, "bad_request"},
        {"GET / HTTP/1.1\r\nNo-colon-here\r\n\r\n", 400, "bad_request"},
        {"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n", 400,
         "bad_request"},
        {"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         "zz\r\n{}\r\n0\r\n\r\n",
         413, "too_large"}, /* libevent files a broken chunk under "too long" */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fd = raw_connect(env->port);
        assert_true(fd >= 0);
        assert_int_equal(raw_send(fd, cases[i].req, strlen(cases[i].req)), 0);
        raw_reply rr;
        raw_read(fd, 10, 0, &rr);
        assert_raw_json_error(&rr, cases[i].status, cases[i].code);
        assert_true(rr.eof);
        close(fd);
    }
    assert_true(healthz_within(env, 5) >= 0);
}

/* Past the guard's raw cap (128 KiB) the guard answers itself and closes;
 * a declared length past every cap is no longer libevent's HTML 413. */
static void past_the_raw_cap_the_reply_is_still_json(void **state)
{
    mc_testenv *env = *state;
    /* a huge Content-Length, sent slowly enough that the reply is read */
    int fd = raw_connect(env->port);
    assert_true(fd >= 0);
    const char *h = "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: 100000000\r\n\r\n";
    assert_int_equal(raw_send(fd, h, strlen(h)), 0);
    raw_reply rr;
    raw_read(fd, 0.5, 0, &rr);
    assert_int_equal(rr.len, 0); /* no HTML 413 for the declared length */
    char chunk[8192];
    memset(chunk, 'a', sizeof(chunk));
    for (int i = 0; i < 17 && !rr.eof && rr.len == 0; i++) {
        if (raw_send(fd, chunk, sizeof(chunk)) != 0)
            break;
        raw_read(fd, 0.2, 0, &rr);
    }
    if (!rr.eof)
        raw_read(fd, 5, 0, &rr);
    assert_raw_json_error(&rr, 413, "too_large");
    assert_true(rr.eof);
    close(fd);
    assert_true(healthz_within(env, 5) >= 0);
}

/* The upload route's 5 MiB cap is held by at most MC_CONN_LARGE_MAX (8)
 * requests of a loop at once (their bodies are read before anyone is
 * authenticated): a 9th large body gets the usual 128 KiB cap, 413; when
 * one of the 8 ends, the allowance is free again. One event loop. */
static void only_eight_uploads_of_a_loop_may_exceed_the_usual_cap(void **state)
{
    (void)state;
    const char *const args[] = {"--threads", "1", NULL};
    mc_testenv_opts o = {.mcertd_args = args};
    mc_testenv *env = mc_testenv_start_opts(&o);
    const char *h = "POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                    "Authorization: Bearer x\r\nContent-Length: 5000000\r\n\r\n";
    static char chunk[160 * 1024];
    memset(chunk, 'a', sizeof(chunk));
    int fds[9];
    raw_reply rr;
    for (int i = 0; i < 8; i++) {
        fds[i] = raw_connect(env->port);
        assert_true(fds[i] >= 0);
        assert_int_equal(raw_send(fds[i], h, strlen(h)), 0);
        assert_int_equal(raw_send(fds[i], chunk, sizeof(chunk)), 0);
    }
    for (int i = 0; i < 8; i++) {
        raw_read(fds[i], 0.3, 0, &rr);
        assert_int_equal(rr.len, 0); /* still reading: past 128 KiB, allowed */
        assert_false(rr.eof);
    }
    /* the 9th: the usual cap */
    fds[8] = raw_connect(env->port);
    assert_true(fds[8] >= 0);
    assert_int_equal(raw_send(fds[8], h, strlen(h)), 0);
    (void)raw_send(fds[8], chunk, sizeof(chunk));
    raw_read(fds[8], 5, 0, &rr);
    assert_raw_json_error(&rr, 413, "too_large");
    close(fds[8]);
    /* one of the 8 goes: a new one may hold the cap */
    close(fds[0]);
    sleep_ms(300);
    int fd = raw_connect(env->port);
    assert_true(fd >= 0);
    assert_int_equal(raw_send(fd, h, strlen(h)), 0);
    assert_int_equal(raw_send(fd, chunk, sizeof(chunk)), 0);
    raw_read(fd, 0.5, 0, &rr);
    assert_int_equal(rr.len, 0);
    assert_false(rr.eof);
    close(fd);
    for (int i = 1; i < 8; i++)
        close(fds[i]);
    assert_true(healthz_within(env, 5) >= 0);
    mc_testenv_stop(env);
}

/* The guard's copy of a request line is peer bytes with no NUL after it:
 * the route's cap is decided from line[0..n) alone. The line is put at
 * the end of a heap block of exactly n bytes (ASan sees any read past it),
 * and the same n bytes followed by others get the same cap. Truncated,
 * unknown or empty parts get the usual cap. */
static void the_route_cap_is_read_from_the_request_line_alone(void **state)
{
    (void)state;
    static const char up[] = "POST /api/v1/uploads";
    size_t n = sizeof(up) - 1;
    char *exact = malloc(n);
    assert_non_null(exact);
    memcpy(exact, up, n);
    size_t cap = mc_http_request_max(exact, n);
    free(exact);
    assert_true(cap > MC_HTTP_REQUEST_MAX);
    assert_int_equal(mc_http_request_max("POST /api/v1/uploadsXX HTTP/1.1", n), cap);
    assert_int_equal(mc_http_request_max("POST /api/v1/uploads HTTP/1.1", 29), cap);
    assert_int_equal(mc_http_request_max("POST /api/v1/uploads?x=1 HTTP/1.1", 33), cap);
    assert_int_equal(mc_http_request_max("GET /api/v1/uploads HTTP/1.1", 28),
                     MC_HTTP_REQUEST_MAX);
    assert_int_equal(mc_http_request_max("POSTX /api/v1/uploads HTTP/1.1", 30),
                     MC_HTTP_REQUEST_MAX);
    assert_int_equal(mc_http_request_max("POST /api/v1/uploads/x HTTP/1.1", 31),
                     MC_HTTP_REQUEST_MAX);
    assert_int_equal(mc_http_request_max("POST /api/v1/upl", 16), MC_HTTP_REQUEST_MAX);
    assert_int_equal(mc_http_request_max("POST  HTTP/1.1", 14), MC_HTTP_REQUEST_MAX);
    assert_int_equal(mc_http_request_max("POST ", 5), MC_HTTP_REQUEST_MAX);
    assert_int_equal(mc_http_request_max("POST", 4), MC_HTTP_REQUEST_MAX);
    assert_int_equal(mc_http_request_max("", 0), MC_HTTP_REQUEST_MAX);
}

int main(void)
{
    const struct CMUnitTest edge[] = {
        cmocka_unit_test(trickled_headers_are_closed_by_the_deadline_with_408),
        cmocka_unit_test(trickled_body_is_closed_by_the_minimum_rate),
        cmocka_unit_test(keepalive_long_poll_of_20s_is_not_cut_and_idle_is_closed_after),
        cmocka_unit_test(duplicate_or_conflicting_content_length_is_400_and_closes),
        cmocka_unit_test(a_70kb_body_gets_413_json),
        cmocka_unit_test(a_20kb_header_block_gets_431_json),
        cmocka_unit_test(past_the_raw_cap_the_reply_is_still_json),
        cmocka_unit_test(what_libevent_refuses_itself_is_json_too),
    };
    const struct CMUnitTest cap[] = {
        cmocka_unit_test(the_route_cap_is_read_from_the_request_line_alone),
    };
    const struct CMUnitTest large[] = {
        cmocka_unit_test(only_eight_uploads_of_a_loop_may_exceed_the_usual_cap),
    };
    const struct CMUnitTest fds[] = {
        cmocka_unit_test(at_the_connection_cap_the_listener_pauses_and_resumes),
        cmocka_unit_test(out_of_fds_accept_errors_pause_the_listener),
    };
    /* EDGE_FILTER=<glob> runs only the matching tests (for debugging) */
    if (getenv("EDGE_FILTER") != NULL)
        cmocka_set_test_filter(getenv("EDGE_FILTER"));
    int failed = cmocka_run_group_tests_name("edge", edge, group_setup, group_teardown);
    failed += cmocka_run_group_tests_name("cap", cap, NULL, NULL);
    failed += cmocka_run_group_tests_name("large", large, NULL, NULL);
    failed += cmocka_run_group_tests_name("fds", fds, NULL, NULL);
    return failed;
}
