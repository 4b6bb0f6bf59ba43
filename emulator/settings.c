/* settings.c - the emulator's environment variables, defaults and checks (see settings.h). */
#include "settings.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rng.h"

#define DEFAULT_LISTEN "127.0.0.1:8090"
#define DEFAULT_ACCESS_KEY_ID "AKIAQUARRYEMULATOR01"
#define DEFAULT_SECRET_ACCESS_KEY "quarryEmulatorSecretKey0000000000000000"
#define DEFAULT_REGION "us-east-1"

void emu_settings_usage(FILE *out)
{
    fputs("usage: quarry-emulator [--help]\n"
          "\n"
          "A local stand-in for the Amazon Bedrock Runtime API (InvokeModel) with SigV4\n"
          "verification, Bedrock-shaped errors, throttling and deterministic answers.\n"
          "\n"
          "Environment:\n"
          "  QUARRY_EMULATOR_LISTEN             address:port to listen on (" DEFAULT_LISTEN
          "; port 0 picks a free one)\n"
          "  QUARRY_EMULATOR_ACCESS_KEY_ID      accepted access key id (" DEFAULT_ACCESS_KEY_ID
          ")\n"
          "  QUARRY_EMULATOR_SECRET_ACCESS_KEY  its secret (" DEFAULT_SECRET_ACCESS_KEY ")\n"
          "  QUARRY_EMULATOR_SESSION_TOKEN      if set, signed requests must carry it in\n"
          "                                     X-Amz-Security-Token (unset)\n"
          "  QUARRY_EMULATOR_BEARER_TOKEN       if set, accepted as 'Authorization: Bearer'\n"
          "                                     Bedrock API key (unset)\n"
          "  AWS_REGION                         region served and signed for (" DEFAULT_REGION
          ")\n"
          "  QUARRY_EMULATOR_THROTTLE_RATE      fraction 0..1 of valid invocations answered\n"
          "                                     with ThrottlingException (0)\n"
          "  QUARRY_EMULATOR_LATENCY_MS         latency added to each success, ms (0)\n"
          "  QUARRY_EMULATOR_SEED               seed of the throttle draw (random)\n"
          "  QUARRY_LOG_LEVEL                   debug|info|warn|error (info)\n"
          "\n"
          "Admin endpoints (no authentication): GET /_emulator/health, GET /_emulator/stats,\n"
          "GET|POST /_emulator/config, GET /_emulator/requests/{requestId},\n"
          "GET /_emulator/models.\n",
          out);
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);

    return v && *v ? v : fallback;
}

static int parse_listen(emu_settings *c, const char *s, char *err, size_t errlen)
{
    const char *colon, *host = s;
    size_t host_len;
    char *end;
    unsigned long port;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (!close || close[1] != ':')
            goto bad;
        host = s + 1;
        host_len = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            goto bad;
        host_len = (size_t)(colon - s);
    }
    if (host_len == 0 || host_len >= sizeof(c->listen_host))
        goto bad;
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port > 65535)
        goto bad;
    memcpy(c->listen_host, host, host_len);
    c->listen_host[host_len] = '\0';
    c->listen_port = (unsigned)port;
    return 0;

bad:
    snprintf(err, errlen, "invalid QUARRY_EMULATOR_LISTEN \"%.100s\": expected host:port", s);
    return -1;
}

/* Worker threads: the CPUs this process may run on (taskset and cgroup cpusets count). */
static unsigned usable_cpus(void)
{
    cpu_set_t set;
    long n = 0;

    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

int emu_settings_load(emu_settings *c, char *err, size_t errlen)
{
    const char *v;
    char *end;
    unsigned long ms;

    memset(c, 0, sizeof(*c));
    if (parse_listen(c, env_or("QUARRY_EMULATOR_LISTEN", DEFAULT_LISTEN), err, errlen))
        goto fail;
    c->access_key_id = env_or("QUARRY_EMULATOR_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID);
    c->secret_access_key = env_or("QUARRY_EMULATOR_SECRET_ACCESS_KEY",
                                  DEFAULT_SECRET_ACCESS_KEY);
    c->session_token = env_or("QUARRY_EMULATOR_SESSION_TOKEN", NULL);
    c->bearer_token = env_or("QUARRY_EMULATOR_BEARER_TOKEN", NULL);
    c->region = env_or("AWS_REGION", DEFAULT_REGION);
    c->threads = usable_cpus();

    v = env_or("QUARRY_EMULATOR_THROTTLE_RATE", "0");
    errno = 0;
    c->throttle_rate = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(c->throttle_rate) || c->throttle_rate < 0 ||
        c->throttle_rate > 1) {
        snprintf(err, errlen,
                 "invalid QUARRY_EMULATOR_THROTTLE_RATE \"%.40s\": expected a number 0..1", v);
        goto fail;
    }

    v = env_or("QUARRY_EMULATOR_LATENCY_MS", "0");
    errno = 0;
    ms = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || ms > EMU_LATENCY_MAX_MS) {
        snprintf(err, errlen, "invalid QUARRY_EMULATOR_LATENCY_MS \"%.40s\": expected 0..%u",
                 v, EMU_LATENCY_MAX_MS);
        goto fail;
    }
    c->latency_ms = (unsigned)ms;

    v = env_or("QUARRY_EMULATOR_SEED", NULL);
    c->seed_from_env = v != NULL;
    if (!v) {
        c->seed = emu_rng_entropy();
    } else {
        errno = 0;
        c->seed = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-') {
            snprintf(err, errlen,
                     "invalid QUARRY_EMULATOR_SEED \"%.40s\": expected an unsigned integer", v);
            goto fail;
        }
    }
    return 0;

fail:
    return -1;
}
