/*
 * test_workers.c — the worker pool (server/mc_workers.c): work runs off
 * the loop's thread and its completion back on the loop; the queue is
 * bounded (a full one refuses at once, which the login handler answers
 * with 503 busy); freeing the pool delivers every accepted job exactly
 * once, with ran = 0 for work that never started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <event2/thread.h>
#include <pthread.h>
#include <unistd.h>

#include "mc_workers.h"

typedef struct job {
    pthread_t ran_on;             /* the thread the work ran on */
    pthread_t done_on;            /* the thread done ran on */
    int ran, done_calls, sleep_ms;
    volatile int started;
    int *finished;
} job;

static void work(void *arg)
{
    job *j = arg;
    j->ran_on = pthread_self();
    j->started = 1;
    if (j->sleep_ms)
        usleep((useconds_t)j->sleep_ms * 1000);
}

static void done(void *arg, int ran)
{
    job *j = arg;
    j->done_on = pthread_self();
    j->ran = ran;
    j->done_calls++;
    (*j->finished)++;
}

static void run_until(struct event_base *base, int *finished, int want)
{
    for (int i = 0; i < 5000 && *finished < want; i++) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
    assert_int_equal(*finished, want);
}

static void work_runs_off_the_loop_and_completes_on_it(void **state)
{
    struct event_base *base = event_base_new();
    mc_workers *w = mc_workers_new(base, 2, 8);
    assert_non_null(w);
    int finished = 0;
    job j[4];
    memset(j, 0, sizeof(j));
    for (int i = 0; i < 4; i++) {
        j[i].finished = &finished;
        assert_int_equal(mc_workers_submit(w, work, done, &j[i]), 0);
    }
    run_until(base, &finished, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(j[i].done_calls, 1);
        assert_int_equal(j[i].ran, 1);
        assert_false(pthread_equal(j[i].ran_on, pthread_self()));
        assert_true(pthread_equal(j[i].done_on, pthread_self()));
    }
    assert_int_equal(mc_workers_load(w), 0);
    mc_workers_free(w);
    event_base_free(base);
}

static void a_full_queue_refuses_at_once(void **state)
{
    struct event_base *base = event_base_new();
    mc_workers *w = mc_workers_new(base, 1, 2);
    int finished = 0;
    job j[5];
    memset(j, 0, sizeof(j));
    for (int i = 0; i < 5; i++) {
        j[i].finished = &finished;
        j[i].sleep_ms = 200;
    }
    /* one runs (after the thread picks it up), two wait: the queue holds 2 */
    assert_int_equal(mc_workers_submit(w, work, done, &j[0]), 0);
    for (int i = 0; i < 5000 && !j[0].started; i++)
        usleep(1000);
    assert_true(j[0].started);
    assert_int_equal(mc_workers_submit(w, work, done, &j[1]), 0);
    assert_int_equal(mc_workers_submit(w, work, done, &j[2]), 0);
    assert_int_equal(mc_workers_submit(w, work, done, &j[3]), -1);
    assert_int_equal(mc_workers_load(w), 3);
    run_until(base, &finished, 3);
    /* room again */
    assert_int_equal(mc_workers_submit(w, work, done, &j[4]), 0);
    run_until(base, &finished, 4);
    assert_int_equal(j[3].done_calls, 0); /* refused: never delivered */
    mc_workers_free(w);
    event_base_free(base);
}

static void freeing_the_pool_delivers_every_job_once(void **state)
{
    struct event_base *base = event_base_new();
    mc_workers *w = mc_workers_new(base, 1, 8);
    int finished = 0;
    job j[4];
    memset(j, 0, sizeof(j));
    for (int i = 0; i < 4; i++) {
        j[i].finished = &finished;
        j[i].sleep_ms = 100;
        assert_int_equal(mc_workers_submit(w, work, done, &j[i]), 0);
    }
    for (int i = 0; i < 5000 && !j[0].started; i++) /* the first runs, three wait */
        usleep(1000);
    mc_workers_free(w); /* joins: the running one finishes */
    assert_int_equal(finished, 4);
    int ran = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(j[i].done_calls, 1);
        ran += j[i].ran;
    }
    assert_int_equal(ran, 1);
    assert_int_equal(j[0].ran, 1);
    event_base_free(base);
}

int main(void)
{
    evthread_use_pthreads(); /* as mcertd: completions cross threads */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(work_runs_off_the_loop_and_completes_on_it),
        cmocka_unit_test(a_full_queue_refuses_at_once),
        cmocka_unit_test(freeing_the_pool_delivers_every_job_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
