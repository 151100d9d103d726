/*
 * test_store.c — the async store transport (core/store/mc_store.c) against
 * a fake Redis that answers exactly what each test scripts: replies stay
 * with their callers, a reply of the wrong shape or garbage on the wire
 * fails everything in flight and the connection is replaced, an unanswered
 * command fails at the deadline, nothing is re-sent, calls made while down
 * fail on a later loop turn (never inside the call), a missing library is
 * loaded before any call goes out, and freeing the store fails what is in
 * flight. The real Redis paths are in test_faults.c; this one controls every
 * byte.
 *
 * The fake runs on its own thread: it reads RESP commands, records each
 * command's first words, and answers with a script function.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mc_store_int.h"
#include "mc_store_loop.h"
#include "mc_store_rec.h"
#include "mc_store_sess.h"

/* ---- the fake Redis ---- */

typedef struct fake fake;
/* The reply bytes to command number n (0-based, per connection) whose
 * words are argv[0..argc); NULL: no reply (hang). */
typedef const char *(*fake_script)(fake *f, int conn, int n, char **argv, int argc, char *buf,
                                   size_t bufsz);

struct fake {
    int lfd, port;
    pthread_t th;
    fake_script script;
    pthread_mutex_t mu;
    int conns;                 /* connections accepted */
    int fds[16];               /* their sockets, for fake_stop */
    int active;                /* connection threads still running */
    char log[64][48];          /* "conn:cmd word1 word2" of every command */
    int nlog;
    volatile int stop;
};

/* Read one RESP array of bulk strings from fd into argv (strdup'ed). Returns
 * argc, or -1 at EOF/error. Test-only: small commands. */
static int read_cmd(int fd, char *argv[8])
{
    char line[128];
    size_t n = 0;
    char c;
    while (n < sizeof(line) - 1) {
        if (read(fd, &c, 1) != 1)
            return -1;
        line[n++] = c;
        if (n >= 2 && line[n - 2] == '\r' && line[n - 1] == '\n')
            break;
    }
    line[n] = '\0';
    if (line[0] != '*')
        return -1;
    int argc = atoi(line + 1), kept = 0;
    for (int i = 0; i < argc; i++) {
        n = 0;
        while (n < sizeof(line) - 1) {
            if (read(fd, &c, 1) != 1)
                return -1;
            line[n++] = c;
            if (n >= 2 && line[n - 2] == '\r' && line[n - 1] == '\n')
                break;
        }
        long len = atol(line + 1);
        char *v = malloc((size_t)len + 3);
        size_t got = 0;
        while (got < (size_t)len + 2) {
            ssize_t r = read(fd, v + got, (size_t)len + 2 - got);
            if (r <= 0) {
                free(v);
                return -1;
            }
            got += (size_t)r;
        }
        v[len] = '\0';
        if (kept < 8)
            argv[kept++] = v;
        else
            free(v);
    }
    return kept;
}

typedef struct fake_conn {
    fake *f;
    int fd, id;
} fake_conn;

static void *fake_conn_main(void *arg)
{
    fake_conn *fc = arg;
    fake *f = fc->f;
    for (int n = 0; !f->stop; n++) {
        char *argv[8];
        int argc = read_cmd(fc->fd, argv);
        if (argc < 0)
            break;
        pthread_mutex_lock(&f->mu);
        if (f->nlog < 64)
            snprintf(f->log[f->nlog++], sizeof(f->log[0]), "%d:%s %s", fc->id, argv[0],
                     argc > 1 ? argv[1] : "");
        pthread_mutex_unlock(&f->mu);
        char buf[512];
        const char *rep = f->script(f, fc->id, n, argv, argc, buf, sizeof(buf));
        for (int i = 0; i < argc; i++)
            free(argv[i]);
        /* the store may have dropped this connection: no SIGPIPE */
        if (rep != NULL && send(fc->fd, rep, strlen(rep), MSG_NOSIGNAL) < 0)
            break;
    }
    pthread_mutex_lock(&f->mu);
    f->active--;
    pthread_mutex_unlock(&f->mu);
    free(fc);
    return NULL;
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    while (!f->stop) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            break;
        fake_conn *fc = calloc(1, sizeof(*fc));
        fc->f = f;
        fc->fd = fd;
        pthread_mutex_lock(&f->mu);
        fc->id = f->conns++;
        if (fc->id < 16)
            f->fds[fc->id] = fd;
        f->active++;
        pthread_mutex_unlock(&f->mu);
        pthread_t t;
        pthread_create(&t, NULL, fake_conn_main, fc);
        pthread_detach(t);
    }
    return NULL;
}

static fake *fake_start(fake_script script)
{
    fake *f = calloc(1, sizeof(*f));
    f->script = script;
    pthread_mutex_init(&f->mu, NULL);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t al = sizeof(a);
    getsockname(f->lfd, (struct sockaddr *)&a, &al);
    f->port = ntohs(a.sin_port);
    assert_int_equal(listen(f->lfd, 16), 0);
    pthread_create(&f->th, NULL, fake_main, f);
    return f;
}

static void fake_stop(fake *f)
{
    f->stop = 1;
    shutdown(f->lfd, SHUT_RDWR);
    close(f->lfd);
    pthread_join(f->th, NULL);
    /* end every connection thread before f goes */
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->conns && i < 16; i++)
        shutdown(f->fds[i], SHUT_RDWR);
    pthread_mutex_unlock(&f->mu);
    for (;;) {
        pthread_mutex_lock(&f->mu);
        int n = f->active;
        pthread_mutex_unlock(&f->mu);
        if (n == 0)
            break;
        usleep(1000);
    }
    for (int i = 0; i < f->conns && i < 16; i++)
        close(f->fds[i]);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static int fake_conns(fake *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->conns;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* The version reply that makes a connection ready. */
static const char *version_reply(char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "$%zu\r\n%s\r\n", strlen(mc_lua_version), mc_lua_version);
    return buf;
}

static int is_version(char **argv, int argc)
{
    return argc >= 2 && strcmp(argv[0], "FCALL_RO") == 0 && strcmp(argv[1], "mc_version") == 0;
}

/* ---- the store on a test loop ---- */

typedef struct rig {
    struct event_base *base;
    mc_store *st;
    struct event *tick;
} rig;

static void on_tick(evutil_socket_t fd, short w, void *arg)
{
    mc_store_tick(arg);
}

static void rig_start(rig *g, int port, int deadline_ms)
{
    g->base = event_base_new();
    mc_store_loop loop = mc_store_loop_libevent(g->base);
    mc_err err;
    g->st = mc_store_new("127.0.0.1", port, &loop, deadline_ms, &err);
    assert_non_null(g->st);
    g->tick = event_new(g->base, -1, EV_PERSIST, on_tick, g->st);
    struct timeval tv = {0, 20000};
    event_add(g->tick, &tv);
}

static void rig_stop(rig *g)
{
    event_free(g->tick);
    mc_store_free(g->st);
    event_base_loop(g->base, EVLOOP_NONBLOCK);
    event_base_free(g->base);
}

/* Run the loop until *done reaches want, or max_ms pass. */
static void run_until(rig *g, int *done, int want, int max_ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (*done < want) {
        event_base_loop(g->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > max_ms)
            fail_msg("only %d of %d callbacks within %d ms", *done, want, max_ms);
    }
}

/* One call's outcome. */
typedef struct outcome {
    long long value;
    mc_err err;
    int called;
    int *done;
} outcome;

static void on_done(void *privdata, const mc_err *err)
{
    outcome *o = privdata;
    o->err = *err;
    o->called++;
    (*o->done)++;
}

/* One call whose reply names its request: EXISTS {mc}:sess:<i>, which the
 * fake answers with :<i>. */
static void count_get(rig *g, int i, outcome *o, int *done)
{
    char id[16];
    snprintf(id, sizeof(id), "%d", i);
    memset(o, 0, sizeof(*o));
    o->done = done;
    mc_store_sess_exists(g->st, id, &o->value, on_done, o);
}

/* After a drop: a call made within the back-off fails at once (503); one
 * made later is answered on a new connection. Returns the answered value. */
static long long call_until_answered(rig *g, int i)
{
    for (int tries = 0; tries < 100; tries++) {
        outcome o;
        int done = 0;
        count_get(g, i, &o, &done);
        run_until(g, &done, 1, 5000);
        if (o.err.status == 0)
            return o.value;
        assert_int_equal(o.err.status, 503);
        for (int k = 0; k < 20; k++) {
            event_base_loop(g->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
            usleep(1000);
        }
    }
    fail_msg("no call was answered after the connection was dropped");
    return -1;
}

/* ---- scripts ---- */

/* EXISTS {mc}:sess:<i> -> :<i> (the reply names its request) */
static const char *echo_script(fake *f, int conn, int n, char **argv, int argc, char *buf,
                               size_t bufsz)
{
    if (is_version(argv, argc))
        return version_reply(buf, bufsz);
    const char *k = argc > 1 ? strrchr(argv[1], ':') : NULL;
    snprintf(buf, bufsz, ":%s\r\n", k ? k + 1 : "0");
    return buf;
}

static void replies_go_to_their_own_callers_in_order(void **state)
{
    fake *f = fake_start(echo_script);
    rig g;
    rig_start(&g, f->port, 2000);
    enum { N = 200 };
    outcome o[N];
    int done = 0;
    for (int i = 0; i < N; i++)
        count_get(&g, i, &o[i], &done);
    run_until(&g, &done, N, 5000);
    for (int i = 0; i < N; i++) {
        assert_int_equal(o[i].called, 1);
        assert_int_equal(o[i].err.status, 0);
        assert_int_equal(o[i].value, i);
    }
    assert_int_equal(fake_conns(f), 1);
    rig_stop(&g);
    fake_stop(f);
}

/* On the first connection, the 2nd call gets an array where an integer is
 * expected: a reply of a shape no mapper takes. */
static const char *wrong_shape_script(fake *f, int conn, int n, char **argv, int argc,
                                      char *buf, size_t bufsz)
{
    if (is_version(argv, argc))
        return version_reply(buf, bufsz);
    if (conn == 0 && n == 2)
        return "*1\r\n:7\r\n";
    return echo_script(f, conn, n, argv, argc, buf, bufsz);
}

/* n calls; the first `good` are answered; the reply to the next one is
 * bad (the script's doing), so it and every later call in flight fail with
 * 503 — never answered with another's reply, never re-sent — and a later
 * call is answered on a new connection. */
static void expect_drop(fake_script script, int n, int good)
{
    fake *f = fake_start(script);
    rig g;
    rig_start(&g, f->port, 2000);
    outcome o[8];
    int done = 0;
    for (int i = 0; i < n; i++)
        count_get(&g, i, &o[i], &done);
    run_until(&g, &done, n, 5000);
    for (int i = 0; i < n; i++) {
        assert_int_equal(o[i].called, 1);
        if (i < good) {
            assert_int_equal(o[i].err.status, 0);
            assert_int_equal(o[i].value, i);
        } else {
            assert_int_equal(o[i].err.status, 503);
            assert_string_equal(o[i].err.code, "store_unavailable");
        }
    }
    assert_int_equal(call_until_answered(&g, 42), 42);
    assert_int_equal(fake_conns(f), 2);
    rig_stop(&g);
    fake_stop(f);
}

static void a_wrong_shaped_reply_fails_all_in_flight_and_the_connection_is_replaced(void **state)
{
    expect_drop(wrong_shape_script, 4, 1);
}

/* Garbage that is no RESP at all, on the first connection. */
static const char *garbage_script(fake *f, int conn, int n, char **argv, int argc, char *buf,
                                  size_t bufsz)
{
    if (is_version(argv, argc))
        return version_reply(buf, bufsz);
    if (conn == 0 && n == 1)
        return "!!this is not redis\r\n";
    return echo_script(f, conn, n, argv, argc, buf, bufsz);
}

static void garbage_on_the_wire_fails_all_in_flight_with_503(void **state)
{
    expect_drop(garbage_script, 3, 0);
}

/* Never answers anything but the version check. */
static const char *silent_script(fake *f, int conn, int n, char **argv, int argc, char *buf,
                                 size_t bufsz)
{
    if (is_version(argv, argc))
        return version_reply(buf, bufsz);
    return NULL;
}

static void an_unanswered_command_fails_at_the_deadline_and_is_not_resent(void **state)
{
    fake *f = fake_start(silent_script);
    rig g;
    rig_start(&g, f->port, 200);
    outcome o;
    int done = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    count_get(&g, 1, &o, &done);
    run_until(&g, &done, 1, 3000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_int_equal(o.err.status, 503);
    assert_true(ms >= 150); /* not before the deadline */
    /* the command went out once: the log has one EXISTS */
    usleep(300000);
    event_base_loop(g.base, EVLOOP_NONBLOCK);
    pthread_mutex_lock(&f->mu);
    int gets = 0;
    for (int i = 0; i < f->nlog; i++)
        gets += strstr(f->log[i], ":EXISTS ") != NULL;
    pthread_mutex_unlock(&f->mu);
    assert_int_equal(gets, 1);
    rig_stop(&g);
    fake_stop(f);
}

static void a_call_while_down_fails_on_a_later_turn_not_inside_the_call(void **state)
{
    /* a port where nothing listens */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s, (struct sockaddr *)&a, sizeof(a));
    socklen_t al = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &al);
    int port = ntohs(a.sin_port);
    close(s);
    rig g;
    rig_start(&g, port, 500);
    outcome o;
    int done = 0;
    count_get(&g, 1, &o, &done);
    assert_int_equal(o.called, 0); /* never inside the call */
    run_until(&g, &done, 1, 3000);
    assert_int_equal(o.err.status, 503);
    assert_string_equal(o.err.code, "store_unavailable");
    assert_int_equal(mc_store_up(g.st), 0);
    rig_stop(&g);
}

/* The first connection has no library: the version check fails. */
static const char *no_library_script(fake *f, int conn, int n, char **argv, int argc, char *buf,
                                     size_t bufsz)
{
    if (is_version(argv, argc))
        return "-ERR Function not found\r\n";
    if (strcmp(argv[0], "FUNCTION") == 0)
        return "$5\r\nmcert\r\n";
    return echo_script(f, conn, n, argv, argc, buf, bufsz);
}

static void a_missing_library_is_loaded_before_any_call_goes_out(void **state)
{
    fake *f = fake_start(no_library_script);
    rig g;
    rig_start(&g, f->port, 2000);
    outcome o[3];
    int done = 0;
    for (int i = 0; i < 3; i++)
        count_get(&g, i, &o[i], &done);
    run_until(&g, &done, 3, 5000);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(o[i].err.status, 0);
        assert_int_equal(o[i].value, i);
    }
    pthread_mutex_lock(&f->mu);
    assert_true(f->nlog >= 5);
    assert_string_equal(f->log[0], "0:FCALL_RO mc_version");
    assert_string_equal(f->log[1], "0:FUNCTION LOAD");
    assert_string_equal(f->log[2], "0:EXISTS {mc}:sess:0");
    pthread_mutex_unlock(&f->mu);
    mc_store_stats stats;
    mc_store_get_stats(g.st, &stats);
    assert_int_equal(stats.loads, 1);
    rig_stop(&g);
    fake_stop(f);
}

static void freeing_the_store_fails_every_call_in_flight(void **state)
{
    fake *f = fake_start(silent_script);
    rig g;
    rig_start(&g, f->port, 5000);
    outcome o[5];
    int done = 0;
    for (int i = 0; i < 5; i++)
        count_get(&g, i, &o[i], &done);
    for (int i = 0; i < 20; i++) { /* let them go out */
        event_base_loop(g.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(2000);
    }
    assert_int_equal(done, 0);
    rig_stop(&g);
    assert_int_equal(done, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(o[i].called, 1);
        assert_int_equal(o[i].err.status, 503);
    }
    fake_stop(f);
}

/* An error reply is an in-order reply: it fails only its own call, with
 * the function's wire code, and the connection stays. */
static const char *refusal_script(fake *f, int conn, int n, char **argv, int argc, char *buf,
                                  size_t bufsz)
{
    if (is_version(argv, argc))
        return version_reply(buf, bufsz);
    if (n == 2)
        return "-ERR session_done\r\n";
    if (n == 3)
        return "-LOADING Redis is loading the dataset in memory\r\n";
    return echo_script(f, conn, n, argv, argc, buf, bufsz);
}

static void an_error_reply_fails_only_its_own_call_with_its_code(void **state)
{
    fake *f = fake_start(refusal_script);
    rig g;
    rig_start(&g, f->port, 2000);
    outcome o[4];
    int done = 0;
    for (int i = 0; i < 4; i++)
        count_get(&g, i, &o[i], &done);
    run_until(&g, &done, 4, 5000);
    assert_int_equal(o[0].err.status, 0);
    assert_int_equal(o[1].err.status, 409);
    assert_string_equal(o[1].err.code, "session_done");
    assert_int_equal(o[2].err.status, 503);
    assert_string_equal(o[2].err.code, "store_unavailable");
    assert_int_equal(o[3].err.status, 0);
    assert_int_equal(o[3].value, 3);
    assert_int_equal(fake_conns(f), 1);
    rig_stop(&g);
    fake_stop(f);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as mcertd: a dropped peer is an error, not a kill */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replies_go_to_their_own_callers_in_order),
        cmocka_unit_test(a_wrong_shaped_reply_fails_all_in_flight_and_the_connection_is_replaced),
        cmocka_unit_test(garbage_on_the_wire_fails_all_in_flight_with_503),
        cmocka_unit_test(an_unanswered_command_fails_at_the_deadline_and_is_not_resent),
        cmocka_unit_test(a_call_while_down_fails_on_a_later_turn_not_inside_the_call),
        cmocka_unit_test(a_missing_library_is_loaded_before_any_call_goes_out),
        cmocka_unit_test(freeing_the_store_fails_every_call_in_flight),
        cmocka_unit_test(an_error_reply_fails_only_its_own_call_with_its_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
