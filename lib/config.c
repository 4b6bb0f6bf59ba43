/* config.c - settings from the environment (see config.h). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

const char *q_env_str(const char *name, const char *def)
{
    const char *v = getenv(name);

    return v && *v ? v : def;
}

int q_env_long(const char *name, long def, long min, long max, long *out)
{
    const char *v = getenv(name);
    char *end;
    long n;

    if (!v || !*v) {
        *out = def;
        return 0;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || *end || n < min || n > max) {
        q_log(Q_LOG_ERROR, "config.invalid",
              json_pack("{s:s,s:s,s:I,s:I}", "setting", name, "msg",
                        "must be an integer in range", "min", (json_int_t)min, "max",
                        (json_int_t)max));
        return -1;
    }
    *out = n;
    return 0;
}

int q_env_double(const char *name, double def, double min, double max, double *out)
{
    const char *v = getenv(name);
    char *end;
    double d;

    if (!v || !*v) {
        *out = def;
        return 0;
    }
    errno = 0;
    d = strtod(v, &end);
    if (errno || *end || !isfinite(d) || d < min || d > max) {
        q_log(Q_LOG_ERROR, "config.invalid",
              json_pack("{s:s,s:s,s:f,s:f}", "setting", name, "msg", "must be a number in range",
                        "min", min, "max", max));
        return -1;
    }
    *out = d;
    return 0;
}

int q_parse_listen(const char *addr, char *host, unsigned long host_size, int *port)
{
    const char *colon, *h = addr;
    size_t hlen;
    char *end;
    long p;

    if (!addr)
        return -1;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -1;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - addr);
    }
    if (hlen == 0 || hlen >= host_size)
        return -1;
    p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}
