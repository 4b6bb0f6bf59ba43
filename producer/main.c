/* main.c - quarry-intake: the HTTP intake service. Wires config, the database pool,
 * the Kafka producer, the price table and the HTTP server together, then waits for
 * SIGINT/SIGTERM. Every setting comes from the environment (see --help). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "prices.h"
#include "questions.h"
#include "queue.h"
#include "store.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(void)
{
    puts("usage: quarry-intake\n\n"
         "The Quarry intake HTTP service. Settings (environment):\n"
         "  QUARRY_INTAKE_LISTEN        address to listen on (default 127.0.0.1:8080)\n"
         "  QUARRY_DATABASE_URL         PostgreSQL connection URL (required)\n"
         "  QUARRY_KAFKA_BROKERS        Kafka bootstrap servers (default 127.0.0.1:19092)\n"
         "  QUARRY_KAFKA_TOPIC          job topic (default quarry.jobs)\n"
         "  QUARRY_INTAKE_THREADS       HTTP worker threads (default 8)\n"
         "  QUARRY_DB_POOL_SIZE         database connections (default: threads)\n"
         "  QUARRY_MAX_BODY_BYTES       largest request body accepted (default 262144)\n"
         "  QUARRY_DEFAULT_MODEL        model when a question names none\n"
         "                              (default anthropic.claude-3-haiku-20240307-v1:0)\n"
         "  QUARRY_DEFAULT_MAX_TOKENS   max_tokens when a question gives none (default 1024)\n"
         "  QUARRY_MAX_TOKENS_LIMIT     highest max_tokens accepted (default 4096)\n"
         "  QUARRY_LOG_LEVEL            debug|info|warn|error (default info)");
}

int main(int argc, char **argv)
{
    const char *listen_addr, *db_url, *brokers, *topic;
    long threads, pool_size, max_body, default_max_tokens, max_tokens_limit;
    char host[256];
    int port, rc = 1;
    intake_store *store = NULL;
    intake_queue *queue = NULL;
    q_prices *prices = NULL;
    http_server *server = NULL;
    intake_api api;
    struct sigaction sa;
    time_t prices_loaded;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage();
        return 0;
    }
    q_log_init("intake");
    listen_addr = q_env_str("QUARRY_INTAKE_LISTEN", "127.0.0.1:8080");
    db_url = q_env_str("QUARRY_DATABASE_URL", NULL);
    brokers = q_env_str("QUARRY_KAFKA_BROKERS", "127.0.0.1:19092");
    topic = q_env_str("QUARRY_KAFKA_TOPIC", "quarry.jobs");
    if (!db_url) {
        q_logf(Q_LOG_ERROR, "config.missing", "QUARRY_DATABASE_URL is not set");
        return 2;
    }
    if (q_parse_listen(listen_addr, host, sizeof(host), &port) != 0) {
        q_log(Q_LOG_ERROR, "config.invalid",
              json_pack("{s:s,s:s}", "setting", "QUARRY_INTAKE_LISTEN", "msg", "want HOST:PORT"));
        return 2;
    }
    if (q_env_long("QUARRY_INTAKE_THREADS", 8, 1, 256, &threads) ||
        q_env_long("QUARRY_DB_POOL_SIZE", threads, 1, 512, &pool_size) ||
        q_env_long("QUARRY_MAX_BODY_BYTES", 262144, 1024, 16 * 1024 * 1024, &max_body) ||
        q_env_long("QUARRY_DEFAULT_MAX_TOKENS", 1024, 1, 200000, &default_max_tokens) ||
        q_env_long("QUARRY_MAX_TOKENS_LIMIT", 4096, 1, 200000, &max_tokens_limit))
        return 2;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    store = intake_store_open(db_url, (unsigned)pool_size, 30);
    prices = q_prices_new();
    if (!store || !prices)
        goto out;
    {
        PGconn *conn = intake_store_acquire(store);
        int n = conn ? q_prices_load(prices, conn) : -1;

        if (conn)
            intake_store_release(store, conn);
        if (n <= 0) {
            q_logf(Q_LOG_ERROR, "prices.empty",
                   "no model prices loaded: has `quarry migrate` run on this database?");
            goto out;
        }
    }
    prices_loaded = time(NULL);
    queue = intake_queue_start(brokers, topic);
    if (!queue)
        goto out;
    api = (intake_api){.store = store, .queue = queue, .prices = prices,
                       .default_model = q_env_str("QUARRY_DEFAULT_MODEL",
                                                  "anthropic.claude-3-haiku-20240307-v1:0"),
                       .default_max_tokens = (int)default_max_tokens,
                       .max_tokens_limit = (int)max_tokens_limit};
    if (default_max_tokens > max_tokens_limit || !q_prices_known(prices, api.default_model)) {
        q_logf(Q_LOG_ERROR, "config.invalid",
               "QUARRY_DEFAULT_MODEL must have a price row and QUARRY_DEFAULT_MAX_TOKENS must "
               "not exceed QUARRY_MAX_TOKENS_LIMIT");
        goto out;
    }
    server = http_server_start(host, port, (unsigned)threads, (size_t)max_body, intake_handle, &api);
    if (!server)
        goto out;
    q_log(Q_LOG_INFO, "intake.started",
          json_pack("{s:s,s:i,s:i,s:s}", "host", host, "port", port, "threads", (int)threads,
                    "topic", topic));

    while (!stop_requested) {
        sleep(1);
        /* Reload prices every minute, so new models and future-dated prices take effect. */
        if (time(NULL) - prices_loaded >= 60) {
            PGconn *conn = intake_store_acquire(store);

            if (conn) {
                q_prices_load(prices, conn);
                intake_store_release(store, conn);
            }
            prices_loaded = time(NULL);
        }
    }
    q_log(Q_LOG_INFO, "intake.stopping", NULL);
    rc = 0;
out:
    /* Order: stop taking requests, then flush Kafka, then close the database. */
    http_server_stop(server);
    intake_queue_stop(queue);
    intake_store_close(store);
    q_prices_free(prices);
    if (rc)
        q_log(Q_LOG_ERROR, "intake.exit", json_pack("{s:i}", "code", rc));
    return rc;
}
