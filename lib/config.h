/* config.h - reading settings from the environment, with defaults and range checks.
 *
 * Daemons take every setting from the environment (README's configuration table).
 * A malformed or out-of-range value is a startup error: the getters log it and return
 * -1 so main() can exit non-zero, rather than silently using a default. */
#ifndef QUARRY_CONFIG_H
#define QUARRY_CONFIG_H

/* Value of `name`, or `def` when unset or empty. Never NULL unless def is NULL. */
const char *q_env_str(const char *name, const char *def);

/* Integer in [min, max], `def` when unset. Returns 0, or -1 (logged) when invalid. */
int q_env_long(const char *name, long def, long min, long max, long *out);

/* Decimal in [min, max], `def` when unset. Returns 0, or -1 (logged) when invalid. */
int q_env_double(const char *name, double def, double min, double max, double *out);

/* Splits "host:port" (IPv4 or name; "[v6]:port" too) into host and port. Returns 0 or -1. */
int q_parse_listen(const char *addr, char *host, unsigned long host_size, int *port);

#endif
