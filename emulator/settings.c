/* settings.c - the emulator's environment variables, defaults and checks (see settings.h). */
#include "settings.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "rng.h"

#define DEFAULT_LISTEN "127.0.0.1:8090"
#define DEFAULT_ACCESS_KEY_ID "AKIAQUARRYEMULATOR01"
#define DEFAULT_SECRET_ACCESS_KEY "quarryEmulatorSecretKey0000000000000000"
#define DEFAULT_REGION "us-east-1"

void emu_settings_usage(FILE *out)
{
    fputs("usage: quarry-emulator [--help] [--listen HOST:PORT] [--seed N] [--config FILE]\n"
          "                       [--set JSON] [--KEY VALUE]...\n"
          "\n"
          "A local stand-in for the Amazon Bedrock Runtime API (InvokeModel and Converse)\n"
          "with SigV4 verification, Bedrock-shaped errors, quotas, fault injection, latency\n"
          "distributions and deterministic answers.\n"
          "\n"
          "Behaviour (the same JSON keys as POST /_emulator/config; see docs/emulator.md):\n"
          "  --config FILE       a JSON object of config keys\n"
          "  --set JSON          the same, inline: --set '{\"throttle_rate\": 0.3}'\n"
          "  --KEY VALUE         one key; dashes count as underscores and VALUE is JSON or a\n"
          "                      bare string: --throttle-rate 0.3, --quotas aws_defaults,\n"
          "                      --latency '{\"distribution\":\"uniform\",\"min_ms\":900,"
          "\"max_ms\":1100}'\n"
          "  Keys: throttle_rate, error_rates, stall_rate, stall_ms, reset_rate,\n"
          "  malformed_rate, malformed_kind, latency_ms, latency, model_latency, quotas.\n"
          "  Applied in this order: the environment, QUARRY_EMULATOR_CONFIG, then the\n"
          "  command line from left to right.\n"
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
          "  QUARRY_EMULATOR_LATENCY_MS         fixed latency added to each success, ms (0)\n"
          "  QUARRY_EMULATOR_CONFIG             a JSON config file, as --config (unset)\n"
          "  QUARRY_EMULATOR_SEED               seed of the fault and latency draws (random)\n"
          "  QUARRY_LOG_LEVEL                   debug|info|warn|error (info)\n"
          "\n"
          "Admin endpoints (no authentication): GET /_emulator/health, GET /_emulator/stats,\n"
          "POST /_emulator/stats/reset, GET|POST /_emulator/config, POST\n"
          "/_emulator/config/reset, GET /_emulator/requests/{requestId}, GET /_emulator/models.\n",
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

/* Applies one JSON config object from `source` (named in errors) to the plan. */
static int apply(emu_settings *c, const json_t *patch, const char *source, char *err,
                 size_t errlen)
{
    char why[400];

    if (emu_plan_apply(&c->plan, patch, c->region, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "invalid config in %.200s: %s", source, why);
        return -1;
    }
    return 0;
}

static int apply_file(emu_settings *c, const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    int rc;

    if (!root) {
        snprintf(err, errlen, "could not read config file %.200s: %s (line %d)", path,
                 jerr.text, jerr.line);
        return -1;
    }
    rc = apply(c, root, path, err, errlen);
    json_decref(root);
    return rc;
}

/* --KEY VALUE: {"key": VALUE as JSON, or as a string when it is not JSON}. */
static int apply_flag(emu_settings *c, const char *flag, const char *value, char *err,
                      size_t errlen)
{
    char key[64];
    size_t n = 0;
    json_t *v, *patch;
    int rc;

    for (const char *p = flag + 2; *p && n + 1 < sizeof(key); p++)
        key[n++] = *p == '-' ? '_' : *p;
    key[n] = '\0';
    v = json_loads(value, JSON_DECODE_ANY, NULL);
    if (!v)
        v = json_string(value);
    patch = v ? json_pack("{s:o}", key, v) : NULL;
    if (!patch) {
        snprintf(err, errlen, "out of memory reading %.64s", flag);
        return -1;
    }
    rc = apply(c, patch, flag, err, errlen);
    json_decref(patch);
    return rc;
}

static int parse_seed(emu_settings *c, const char *v, const char *source, char *err,
                      size_t errlen)
{
    char *end;

    errno = 0;
    c->seed = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-') {
        snprintf(err, errlen, "invalid %s \"%.40s\": expected an unsigned integer", source, v);
        return -1;
    }
    c->seed_from_env = 1;
    return 0;
}

static int load_argv(emu_settings *c, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        json_t *patch;
        int rc;

        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0)
            return 1;
        if (strncmp(flag, "--", 2) != 0 || !flag[2]) {
            snprintf(err, errlen, "unexpected argument \"%.64s\" (see --help)", flag);
            return -1;
        }
        if (!value) {
            snprintf(err, errlen, "%.64s needs a value (see --help)", flag);
            return -1;
        }
        i++;
        if (strcmp(flag, "--listen") == 0) {
            rc = parse_listen(c, value, err, errlen);
        } else if (strcmp(flag, "--seed") == 0) {
            rc = parse_seed(c, value, "--seed", err, errlen);
        } else if (strcmp(flag, "--config") == 0) {
            rc = apply_file(c, value, err, errlen);
        } else if (strcmp(flag, "--set") == 0) {
            json_error_t jerr;

            patch = json_loads(value, JSON_REJECT_DUPLICATES, &jerr);
            if (!patch) {
                snprintf(err, errlen, "invalid --set: %s", jerr.text);
                return -1;
            }
            rc = apply(c, patch, "--set", err, errlen);
            json_decref(patch);
        } else {
            rc = apply_flag(c, flag, value, err, errlen);
        }
        if (rc)
            return -1;
    }
    return 0;
}

int emu_settings_load(emu_settings *c, int argc, char **argv, char *err, size_t errlen)
{
    const char *v;
    char *end;
    unsigned long ms;
    double rate;

    memset(c, 0, sizeof(*c));
    emu_plan_init(&c->plan);
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
    rate = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(rate) || rate < 0 || rate > 1) {
        snprintf(err, errlen,
                 "invalid QUARRY_EMULATOR_THROTTLE_RATE \"%.40s\": expected a number 0..1", v);
        goto fail;
    }
    c->plan.rates[EMU_FAULT_THROTTLING] = rate;

    v = env_or("QUARRY_EMULATOR_LATENCY_MS", "0");
    errno = 0;
    ms = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || ms > EMU_LATENCY_MAX_MS) {
        snprintf(err, errlen, "invalid QUARRY_EMULATOR_LATENCY_MS \"%.40s\": expected 0..%u",
                 v, EMU_LATENCY_MAX_MS);
        goto fail;
    }
    c->plan.latency = emu_latency_fixed((unsigned)ms);

    v = env_or("QUARRY_EMULATOR_SEED", NULL);
    if (!v)
        c->seed = emu_rng_entropy();
    else if (parse_seed(c, v, "QUARRY_EMULATOR_SEED", err, errlen))
        goto fail;

    v = env_or("QUARRY_EMULATOR_CONFIG", NULL);
    if (v && apply_file(c, v, err, errlen))
        goto fail;
    return load_argv(c, argc, argv, err, errlen);

fail:
    return -1;
}
