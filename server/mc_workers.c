/*
 * mc_workers.c — see mc_workers.h.
 *
 * Every job sits on one list (`jobs`, under the mutex) from submit until
 * its done has run; `queue` points at the first job not started (jobs are
 * started in order). Cost: O(1) per submit and per completion (the list is
 * doubly linked).
 */
#include "mc_workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Pool threads run at a lower priority than the event loops (Linux: nice
 * is per thread): a storm of password checks may fill every core, and the
 * loops must still answer at once. */
#define WORKER_NICE 10

typedef struct job {
    struct job *prev, *next;
    mc_work_fn fn;
    mc_work_done done;
    void *arg;
    struct event *ev;     /* on the loop: activated when the work is done */
    mc_workers *w;
    int started;
} job;

struct mc_workers {
    struct event_base *base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t *threads;
    int nthreads;
    int queue_max;
    int queued;           /* not started */
    int load;             /* queued + running */
    int stop;
    job *head, *tail;     /* every undelivered job, oldest first */
    job *queue;           /* first not started */
};

static void unlink_job(mc_workers *w, job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        w->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        w->tail = j->prev;
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    job *j = arg;
    mc_workers *w = j->w;
    pthread_mutex_lock(&w->mu);
    unlink_job(w, j);
    w->load--;
    pthread_mutex_unlock(&w->mu);
    event_free(j->ev);
    j->done(j->arg, 1);
    free(j);
}

static void *worker(void *arg)
{
    mc_workers *w = arg;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && w->queue == NULL)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop)
            break;
        job *j = w->queue;
        w->queue = j->next;
        w->queued--;
        j->started = 1;
        pthread_mutex_unlock(&w->mu);
        j->fn(j->arg);
        event_active(j->ev, EV_TIMEOUT, 1);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

mc_workers *mc_workers_new(struct event_base *base, int nthreads, int queue_max)
{
    mc_workers *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->base = base;
    w->queue_max = queue_max;
    w->threads = calloc((size_t)nthreads, sizeof(*w->threads));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (w->threads == NULL) {
        mc_workers_free(w);
        return NULL;
    }
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&w->threads[i], NULL, worker, w) != 0) {
            mc_workers_free(w);
            return NULL;
        }
        w->nthreads++;
    }
    return w;
}

void mc_workers_free(mc_workers *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    /* threads are gone: deliver what is left, here */
    while (w->head != NULL) {
        job *j = w->head;
        unlink_job(w, j);
        event_free(j->ev);
        j->done(j->arg, j->started);
        free(j);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->threads);
    free(w);
}

int mc_workers_submit(mc_workers *w, mc_work_fn fn, mc_work_done done, void *arg)
{
    job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return -1;
    j->fn = fn;
    j->done = done;
    j->arg = arg;
    j->w = w;
    j->ev = event_new(w->base, -1, 0, on_done, j);
    if (j->ev == NULL) {
        free(j);
        return -1;
    }
    pthread_mutex_lock(&w->mu);
    if (w->queued >= w->queue_max) {
        pthread_mutex_unlock(&w->mu);
        event_free(j->ev);
        free(j);
        return -1;
    }
    j->prev = w->tail;
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    if (w->queue == NULL)
        w->queue = j;
    w->queued++;
    w->load++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int mc_workers_load(mc_workers *w)
{
    pthread_mutex_lock(&w->mu);
    int n = w->load;
    pthread_mutex_unlock(&w->mu);
    return n;
}
