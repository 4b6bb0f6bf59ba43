/* aws_credentials.h - AWS credentials and the two text formats they arrive in: the
 * shared credentials/config INI files (~/.aws/credentials, ~/.aws/config) and the JSON
 * served by the container credentials endpoint and EC2 IMDS. Pure parsing: fetching is
 * the consumer's credentials provider. Secrets are never logged by this module. */
#ifndef QUARRY_AWS_CREDENTIALS_H
#define QUARRY_AWS_CREDENTIALS_H

#include <stddef.h>
#include <time.h>

typedef struct {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;   /* NULL when none */
    time_t expiration;     /* 0 when they do not expire */
} q_aws_creds;

/* Frees the strings (wiping the secret) and zeroes the struct. Accepts NULL/zeroed. */
void q_aws_creds_free(q_aws_creds *c);

/* Reads `profile` from an INI text. In a credentials file sections are "[name]"; in a
 * config file they are "[profile name]" (and "[default]"); config_style selects which.
 * Returns 0, 1 when the profile (or its keys) is absent, -1 on malformed input. */
int q_aws_creds_from_ini(const char *text, const char *profile, int config_style,
                         q_aws_creds *out);

/* Parses {"AccessKeyId","SecretAccessKey","Token","Expiration"} (IMDS also has "Code":
 * "Success", checked when present). Returns 0, or -1 with a reason in err. */
int q_aws_creds_from_json(const char *json, size_t len, q_aws_creds *out, char *err,
                          size_t err_size);

/* Parses "2026-11-25T10:00:00Z" (fractional seconds and +00:00 accepted). Returns the
 * time, or (time_t)-1 when malformed. */
time_t q_parse_iso8601_utc(const char *s);

#endif
