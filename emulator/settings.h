/* settings.h - the emulator's settings, read once at start from the environment, a
 * config file and the command line. */
#ifndef QUARRY_EMU_SETTINGS_H
#define QUARRY_EMU_SETTINGS_H

#include <stdint.h>
#include <stdio.h>

#include "plan.h"

typedef struct {
    char listen_host[256];       /* numeric address or host name from QUARRY_EMULATOR_LISTEN */
    unsigned listen_port;        /* 0 picks a free port */
    const char *access_key_id;   /* the strings point into the environment */
    const char *secret_access_key;
    const char *session_token;   /* NULL when unset or empty */
    const char *bearer_token;    /* NULL when unset or empty */
    const char *region;
    emu_plan plan;               /* the start-up behaviour (faults, latency, quotas) */
    uint64_t seed;
    int seed_from_env;           /* 0: seed was drawn from the kernel */
    unsigned threads;            /* libmicrohttpd worker threads: one per usable CPU */
} emu_settings;

/* Fills `c` from the environment, then the config file QUARRY_EMULATOR_CONFIG names, then
 * the command line in order (see emu_settings_usage). Returns 0; 1 when --help was asked
 * for (usage is printed: exit 0); or -1 with a one-line reason in err[errlen] (lowercase,
 * naming the variable, file or flag and the bad value). */
int emu_settings_load(emu_settings *c, int argc, char **argv, char *err, size_t errlen);

/* Prints usage and every variable with its default to `out`. */
void emu_settings_usage(FILE *out);

#endif
