/* listener.c - LISTEN for key changes and finished jobs (see listener.h). */
#include "listener.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

#define NBUCKETS 4096

struct intake_listener {
    pthread_mutex_t mu;
    intake_waiter *buckets[NBUCKETS];
    size_t waiting;
    q_keycache *keys;
    char *db_url;
    PGconn *conn;
    pthread_t thread;
    atomic_int stop;
};

int64_t intake_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned bucket_of(const char *job_id)
{
    unsigned h = 2166136261u;

    for (const char *c = job_id; *c; c++)
        h = (h ^ (unsigned char)(*c | 0x20)) * 16777619u;
    return h % NBUCKETS;
}

static void unlink_waiter(intake_listener *l, intake_waiter *w)
{
    if (!w->registered)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        l->buckets[bucket_of(w->job_id)] = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->registered = 0;
    l->waiting--;
}

/* Called with the lock held. After http_resume the waiter may be freed at any moment. */
static void fire(intake_listener *l, intake_waiter *w)
{
    unlink_waiter(l, w);
    w->fired = 1;
    if (w->suspended) {
        w->suspended = 0;
        http_resume(w->req);
    }
}

void intake_listener_register(intake_listener *l, intake_waiter *w)
{
    unsigned b = bucket_of(w->job_id);

    pthread_mutex_lock(&l->mu);
    w->fired = 0;
    w->suspended = 0;
    w->prev = NULL;
    w->next = l->buckets[b];
    if (w->next)
        w->next->prev = w;
    l->buckets[b] = w;
    w->registered = 1;
    l->waiting++;
    if (atomic_load(&l->stop))
        fire(l, w);
    pthread_mutex_unlock(&l->mu);
}

void intake_listener_unregister(intake_listener *l, intake_waiter *w)
{
    pthread_mutex_lock(&l->mu);
    unlink_waiter(l, w);
    pthread_mutex_unlock(&l->mu);
}

int intake_listener_suspend(intake_listener *l, intake_waiter *w)
{
    int rc = -1;

    pthread_mutex_lock(&l->mu);
    if (!w->fired && w->registered) {
        http_suspend(w->req);
        w->suspended = 1;
        rc = 0;
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static void fire_where(intake_listener *l, const char *job_id, int64_t now_ms, int all)
{
    pthread_mutex_lock(&l->mu);
    if (job_id) {
        intake_waiter *w = l->buckets[bucket_of(job_id)];
        while (w) {
            intake_waiter *next = w->next;
            if (strcasecmp(w->job_id, job_id) == 0)
                fire(l, w);
            w = next;
        }
    } else if (all || l->waiting) {
        for (unsigned b = 0; b < NBUCKETS && l->waiting; b++) {
            intake_waiter *w = l->buckets[b];
            while (w) {
                intake_waiter *next = w->next;
                if (all || w->deadline_ms <= now_ms)
                    fire(l, w);
                w = next;
            }
        }
    }
    pthread_mutex_unlock(&l->mu);
}

static PGconn *listen_connect(const char *url)
{
    PGconn *conn = q_db_connect(url, 0);

    if (conn && q_db_exec(conn, "LISTEN quarry_job_done; LISTEN quarry_api_keys") != 0) {
        PQfinish(conn);
        conn = NULL;
    }
    return conn;
}

static void *listen_loop(void *arg)
{
    intake_listener *l = arg;
    int64_t last_sweep = 0;

    while (!atomic_load(&l->stop)) {
        struct pollfd pfd;
        PGnotify *n;
        int64_t now;

        if (!l->conn || PQstatus(l->conn) != CONNECTION_OK) {
            PQfinish(l->conn);
            l->conn = listen_connect(l->db_url);
            if (!l->conn) {
                sleep(1);
                continue;
            }
            /* Whatever was notified while we were deaf is re-read. */
            q_log(Q_LOG_WARN, "listener.reconnected", NULL);
            q_keycache_clear(l->keys);
            fire_where(l, NULL, 0, 1);
        }
        pfd = (struct pollfd){.fd = PQsocket(l->conn), .events = POLLIN};
        if (poll(&pfd, 1, 100) > 0 && !PQconsumeInput(l->conn)) {
            q_log(Q_LOG_WARN, "listener.connection_lost",
                  json_pack("{s:s}", "error", PQerrorMessage(l->conn)));
            PQfinish(l->conn);
            l->conn = NULL;
            continue;
        }
        while ((n = PQnotifies(l->conn))) {
            if (strcmp(n->relname, "quarry_job_done") == 0)
                fire_where(l, n->extra, 0, 0);
            else if (strcmp(n->relname, "quarry_api_keys") == 0)
                q_keycache_invalidate(l->keys, n->extra);
            PQfreemem(n);
        }
        now = intake_now_ms();
        if (now - last_sweep >= 100) {
            fire_where(l, NULL, now, 0);
            last_sweep = now;
        }
    }
    return NULL;
}

intake_listener *intake_listener_start(const char *db_url, q_keycache *keys)
{
    intake_listener *l = calloc(1, sizeof(*l));

    if (!l)
        return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->keys = keys;
    l->db_url = strdup(db_url);
    l->conn = l->db_url ? listen_connect(db_url) : NULL;
    if (!l->conn || pthread_create(&l->thread, NULL, listen_loop, l) != 0) {
        PQfinish(l->conn);
        free(l->db_url);
        pthread_mutex_destroy(&l->mu);
        free(l);
        return NULL;
    }
    return l;
}

void intake_listener_stop(intake_listener *l)
{
    if (!l || atomic_exchange(&l->stop, 1))
        return;
    pthread_join(l->thread, NULL);
    fire_where(l, NULL, 0, 1);
}

void intake_listener_free(intake_listener *l)
{
    if (!l)
        return;
    intake_listener_stop(l);
    PQfinish(l->conn);
    free(l->db_url);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
