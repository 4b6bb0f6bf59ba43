/* main.c - quarry-emulator: reads the settings, serves until SIGINT/SIGTERM, cleans up. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "settings.h"
#include "log.h"
#include "server.h"

#define POLL_INTERVAL_MS 100

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

int main(int argc, char **argv)
{
    struct timespec tick = {0, POLL_INTERVAL_MS * 1000000L};
    emu_settings cfg;
    emu_server *server;
    char err[512], seed[24];
    json_t *plan;
    int rc;

    q_log_init("emulator");
    rc = emu_settings_load(&cfg, argc, argv, err, sizeof(err));
    if (rc == 1) {
        emu_settings_usage(stdout);
        return 0;
    }
    if (rc != 0) {
        q_log(Q_LOG_ERROR, "emulator.config_invalid", json_pack("{s:s}", "msg", err));
        return 2;
    }
    /* Before the worker threads exist, so they inherit the dispositions. */
    install_signals();
    server = emu_server_start(&cfg, &cfg.plan);
    if (!server)
        return 1;
    /* The seed as a string: it is a full 64-bit value, and logged so a run can be
     * repeated with QUARRY_EMULATOR_SEED. */
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)cfg.seed);
    plan = emu_plan_json(&cfg.plan);
    q_log(Q_LOG_INFO, "emulator.listening",
          json_pack("{s:s,s:i,s:s,s:i,s:o*,s:s,s:s,s:b,s:b}", "host", cfg.listen_host, "port",
                    (int)emu_server_port(server), "region", cfg.region, "threads",
                    (int)cfg.threads, "config", plan, "seed", seed, "seed_source",
                    cfg.seed_from_env ? "configured" : "random",
                    "session_token_required", cfg.session_token != NULL,
                    "bearer_token_accepted", cfg.bearer_token != NULL));
    while (!stop_requested)
        nanosleep(&tick, NULL);
    q_log(Q_LOG_INFO, "emulator.stopping", NULL);
    emu_server_stop(server);
    q_log(Q_LOG_INFO, "emulator.stopped", NULL);
    return 0;
}
