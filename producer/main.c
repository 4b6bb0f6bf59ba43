/* main.c - quarry-intake: the HTTP intake service. Wires config, the database pool, the key
 * cache, the rate limiter, the accept pipeline (PostgreSQL group commit + Kafka), the
 * listener (key changes, finished jobs), the price table and the HTTP server together, then
 * waits for SIGINT/SIGTERM. Every setting comes from the environment (see --help). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "keycache.h"
#include "listener.h"
#include "log.h"
#include "pipeline.h"
#include "prices.h"
#include "batches.h"
#include "routes.h"
#include "ratelimit.h"
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
         "  QUARRY_INTAKE_LISTEN             address to listen on (default 127.0.0.1:8080)\n"
         "  QUARRY_DATABASE_URL              PostgreSQL connection URL (required)\n"
         "  QUARRY_KAFKA_BROKERS             Kafka bootstrap servers (default 127.0.0.1:19092)\n"
         "  QUARRY_KAFKA_TOPIC               job topic (default quarry.jobs)\n"
         "  QUARRY_KAFKA_BATCH_TOPIC         batch jobs' topic (default quarry.batch)\n"
         "  QUARRY_BATCH_MAX_REQUESTS        requests per batch at most (default 50000)\n"
         "  QUARRY_BATCH_MAX_BYTES           batch upload size at most (default 104857600)\n"
         "  QUARRY_BATCH_MAX_UPLOADS         batch uploads at once on this instance (default 4)\n"
         "  QUARRY_BATCH_COMPLETION_WINDOW_SECONDS  a batch's requests not started this long\n"
         "                                   after its creation expire (default 86400)\n"
         "  QUARRY_INTAKE_THREADS            HTTP worker threads (default 4)\n"
         "  QUARRY_DB_POOL_SIZE              connections for reads and key loads (default: threads)\n"
         "  QUARRY_INTAKE_COMMITTERS         accept-pipeline threads, one connection each (default 1)\n"
         "  QUARRY_INTAKE_SLOW_COMMIT_MS     group commits this slow are logged (default 100)\n"
         "  QUARRY_INTAKE_MAX_CONNECTIONS    open client connections at most (default 10000)\n"
         "  QUARRY_INTAKE_IDLE_TIMEOUT       seconds a silent client connection is kept (default 15)\n"
         "  QUARRY_INTAKE_CONNECTION_MEMORY  bytes of header/read buffer per connection; larger\n"
         "                                   headers get 431 (default 16384: header blocks up\n"
         "                                   to about 14,000 bytes)\n"
         "  QUARRY_INTAKE_MAX_BUFFERED_BYTES request bodies held at once, all clients together;\n"
         "                                   past it a submission gets 503 (default 67108864)\n"
         "  QUARRY_KEY_CACHE_TTL_MS          how long a cached API key is trusted without a change\n"
         "                                   notification (default 5000)\n"
         "  QUARRY_PROMPT_OVERHEAD_TOKENS    tokens reserved on top of the question's bytes for the\n"
         "                                   system prompt and framing (default 1024)\n"
         "  QUARRY_MAX_BODY_BYTES            largest request body accepted (default 262144)\n"
         "  QUARRY_DEFAULT_MODEL             model when a question names none\n"
         "                                   (default anthropic.claude-3-haiku-20240307-v1:0)\n"
         "  QUARRY_DEFAULT_MAX_TOKENS        max_tokens when a question gives none (default 1024)\n"
         "  QUARRY_MAX_TOKENS_LIMIT          highest max_tokens accepted (default 4096)\n"
         "  QUARRY_INTAKE_FIXED_RESPONSE     1: POST /v1/questions answers a constant 202 without\n"
         "                                   PostgreSQL or Kafka (benchmark ceiling only)\n"
         "  QUARRY_LOG_LEVEL                 debug|info|warn|error (default info)");
}

int main(int argc, char **argv)
{
    const char *listen_addr, *db_url, *brokers, *topic;
    long threads, pool_size, committers, publish_attempts, slow_commit_ms, message_timeout;
    long max_body;
    long default_max_tokens, max_tokens_limit;
    long max_conns, idle_timeout, conn_memory, key_ttl, overhead, fixed, max_buffered;
    long batch_max_requests, batch_max_bytes, batch_max_uploads, batch_window;
    char host[256];
    int port, rc = 1;
    intake_store *store = NULL;
    intake_pipeline *pipeline = NULL;
    intake_listener *listener = NULL;
    intake_batches *batches = NULL;
    q_keycache *keys = NULL;
    q_ratelimit *rates = NULL;
    q_prices *prices = NULL;
    http_server *server = NULL;
    intake_api api;
    http_config hc;
    struct sigaction sa;
    time_t prices_loaded, cleaned;

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
    if (q_env_long("QUARRY_INTAKE_THREADS", 4, 1, 256, &threads) ||
        q_env_long("QUARRY_DB_POOL_SIZE", threads, 1, 512, &pool_size) ||
        q_env_long("QUARRY_INTAKE_COMMITTERS", 1, 1, 16, &committers) ||
        q_env_long("QUARRY_INTAKE_PUBLISH_ATTEMPTS", 3, 1, 100, &publish_attempts) ||
        q_env_long("QUARRY_INTAKE_SLOW_COMMIT_MS", 100, 1, 3600000, &slow_commit_ms) ||
        /* read again by the producers (queue.c) */
        q_env_long("QUARRY_KAFKA_MESSAGE_TIMEOUT_MS", 10000, 100, 3600000, &message_timeout) ||
        q_env_long("QUARRY_INTAKE_MAX_CONNECTIONS", 10000, 16, 1000000, &max_conns) ||
        q_env_long("QUARRY_INTAKE_IDLE_TIMEOUT", 15, 1, 3600, &idle_timeout) ||
        q_env_long("QUARRY_INTAKE_CONNECTION_MEMORY", 16384, 4096, 1048576, &conn_memory) ||
        q_env_long("QUARRY_INTAKE_MAX_BUFFERED_BYTES", 64L << 20, 1L << 20, 1L << 34,
                   &max_buffered) ||
        q_env_long("QUARRY_KEY_CACHE_TTL_MS", 5000, 0, 3600000, &key_ttl) ||
        q_env_long("QUARRY_PROMPT_OVERHEAD_TOKENS", 1024, 0, 1000000, &overhead) ||
        q_env_long("QUARRY_INTAKE_FIXED_RESPONSE", 0, 0, 1, &fixed) ||
        q_env_long("QUARRY_MAX_BODY_BYTES", 262144, 1024, 16 * 1024 * 1024, &max_body) ||
        q_env_long("QUARRY_DEFAULT_MAX_TOKENS", 1024, 1, 200000, &default_max_tokens) ||
        q_env_long("QUARRY_MAX_TOKENS_LIMIT", 4096, 1, 200000, &max_tokens_limit) ||
        q_env_long("QUARRY_BATCH_MAX_REQUESTS", 50000, 1, 1000000, &batch_max_requests) ||
        q_env_long("QUARRY_BATCH_MAX_BYTES", 100L << 20, 1024, 1L << 34, &batch_max_bytes) ||
        q_env_long("QUARRY_BATCH_MAX_UPLOADS", 4, 1, 1024, &batch_max_uploads) ||
        q_env_long("QUARRY_BATCH_COMPLETION_WINDOW_SECONDS", 86400, 60, 30L * 86400,
                   &batch_window))
        return 2;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    store = intake_store_open(db_url, (unsigned)pool_size, 30);
    prices = q_prices_new();
    rates = q_ratelimit_new();
    if (!store || !prices || !rates)
        goto out;
    keys = q_keycache_new(100000, (int)key_ttl, 2000, intake_store_load_key, store);
    if (!keys)
        goto out;
    if (q_keycache_start_refresher(keys, intake_store_load_keys) != 0)
        q_logf(Q_LOG_WARN, "keycache.no_refresher",
               "could not start the key refresher: keys are loaded again as they expire");
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
    prices_loaded = cleaned = time(NULL);
    api = (intake_api){.store = store, .keys = keys, .rates = rates, .prices = prices,
                       .default_model = q_env_str("QUARRY_DEFAULT_MODEL",
                                                  "anthropic.claude-3-haiku-20240307-v1:0"),
                       .default_max_tokens = (int)default_max_tokens,
                       .max_tokens_limit = (int)max_tokens_limit,
                       .prompt_overhead_tokens = (int)overhead, .fixed_response = (int)fixed};
    if (default_max_tokens > max_tokens_limit || !q_prices_known(prices, api.default_model)) {
        q_logf(Q_LOG_ERROR, "config.invalid",
               "QUARRY_DEFAULT_MODEL must have a price row and QUARRY_DEFAULT_MAX_TOKENS must "
               "not exceed QUARRY_MAX_TOKENS_LIMIT");
        goto out;
    }
    {
        intake_pipeline_config pc = {.db_url = db_url, .committers = (unsigned)committers,
                                     .publish_attempts = (int)publish_attempts,
                                     .slow_commit_ms = (int)slow_commit_ms,
                                     .brokers = brokers, .topic = topic};

        pipeline = intake_pipeline_start(&pc);
    }
    listener = pipeline ? intake_listener_start(db_url, keys) : NULL;
    if (!pipeline || !listener)
        goto out;
    {
        intake_batches_config bc = {
            .db_url = db_url, .brokers = brokers,
            .topic = q_env_str("QUARRY_KAFKA_BATCH_TOPIC", "quarry.batch"),
            .max_requests = batch_max_requests, .max_bytes = batch_max_bytes,
            .max_request_bytes = (size_t)max_body, .completion_window_seconds = batch_window,
            .max_uploads = (int)batch_max_uploads};

        batches = intake_batches_start(&bc);
        if (!batches)
            goto out;
    }
    api.pipeline = pipeline;
    api.listener = listener;
    api.batches = batches;
    hc = (http_config){.host = host, .port = port, .threads = (unsigned)threads,
                       .max_body = (size_t)max_body, .connection_limit = (unsigned)max_conns,
                       .idle_timeout = (unsigned)idle_timeout,
                       .connection_memory = (size_t)conn_memory,
                       .max_buffered = (size_t)max_buffered, .begin = intake_begin};
    server = http_server_start(&hc, intake_handle, &api);
    if (!server)
        goto out;
    q_log(Q_LOG_INFO, "intake.started",
          json_pack("{s:s,s:i,s:i,s:i,s:s,s:b}", "host", host, "port", port, "threads",
                    (int)threads, "committers", (int)committers, "topic", topic,
                    "fixed_response", (int)fixed));

    while (!stop_requested) {
        sleep(1);
        /* Reload prices every minute, so new models and future-dated prices take effect;
         * drop idempotency keys older than their retention. */
        if (time(NULL) - prices_loaded >= 60 || time(NULL) - cleaned >= 60) {
            PGconn *conn = intake_store_acquire(store);

            if (conn) {
                if (time(NULL) - prices_loaded >= 60) {
                    q_prices_load(prices, conn);
                    prices_loaded = time(NULL);
                } else {
                    intake_store_cleanup(conn);
                    cleaned = time(NULL);
                }
                intake_store_release(store, conn);
            }
        }
    }
    q_log(Q_LOG_INFO, "intake.stopping", NULL);
    rc = 0;
out:
    /* Order: answer every parked request (waiters, then the pipeline, which flushes Kafka)
     * while the server still runs to send the answers (requests arriving meanwhile are
     * answered at once), then stop the server, then free what requests used. libmicrohttpd
     * must not be stopped with a request still suspended. */
    intake_listener_stop(listener);
    intake_batches_stop(batches);
    intake_pipeline_stop(pipeline);
    if (server)
        sleep(1); /* let the workers write the answers just resumed */
    http_server_stop(server);
    intake_batches_free(batches);
    intake_pipeline_free(pipeline);
    intake_listener_free(listener);
    q_keycache_free(keys); /* stops its refresher, which loads keys through the store */
    intake_store_close(store);
    q_ratelimit_free(rates);
    q_prices_free(prices);
    if (rc)
        q_log(Q_LOG_ERROR, "intake.exit", json_pack("{s:i}", "code", rc));
    return rc;
}
