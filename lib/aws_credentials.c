/* aws_credentials.c - AWS credentials parsing (see aws_credentials.h). */
#include "aws_credentials.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void q_aws_creds_free(q_aws_creds *c)
{
    if (!c)
        return;
    if (c->secret_access_key)
        OPENSSL_cleanse(c->secret_access_key, strlen(c->secret_access_key));
    if (c->session_token)
        OPENSSL_cleanse(c->session_token, strlen(c->session_token));
    free(c->access_key_id);
    free(c->secret_access_key);
    free(c->session_token);
    memset(c, 0, sizeof(*c));
}

static char *dup_trimmed(const char *s, size_t n)
{
    char *out;

    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

/* 1 when the header line "[...]" names the wanted profile. */
static int section_matches(const char *name, size_t n, const char *profile, int config_style)
{
    char want[512];

    while (n && (*name == ' ' || *name == '\t'))
        name++, n--;
    while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
        n--;
    if (config_style && strcmp(profile, "default") != 0)
        snprintf(want, sizeof(want), "profile %s", profile);
    else
        snprintf(want, sizeof(want), "%s", profile);
    if (n == strlen(want) && strncmp(name, want, n) == 0)
        return 1;
    /* botocore also accepts "[profile default]" in config files */
    return config_style && strcmp(profile, "default") == 0 && n == 15 &&
           strncmp(name, "profile default", 15) == 0;
}

int q_aws_creds_from_ini(const char *text, const char *profile, int config_style,
                         q_aws_creds *out)
{
    const char *line = text;
    int in_section = 0, found = 0;

    memset(out, 0, sizeof(*out));
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *p = line, *eq;

        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        if (len && p[len - 1] == '\r')
            len--;
        if (len == 0 || *p == '#' || *p == ';') {
            /* blank or comment */
        } else if (*p == '[') {
            const char *close = memchr(p, ']', len);
            if (!close)
                goto malformed;
            in_section = section_matches(p + 1, (size_t)(close - p - 1), profile, config_style);
            found |= in_section;
        } else if (in_section && (eq = memchr(p, '=', len))) {
            char *key = dup_trimmed(p, (size_t)(eq - p));
            char *val = dup_trimmed(eq + 1, len - (size_t)(eq - p) - 1);
            char **slot = NULL;

            if (!key || !val) {
                free(key);
                free(val);
                goto malformed;
            }
            if (strcmp(key, "aws_access_key_id") == 0)
                slot = &out->access_key_id;
            else if (strcmp(key, "aws_secret_access_key") == 0)
                slot = &out->secret_access_key;
            else if (strcmp(key, "aws_session_token") == 0)
                slot = &out->session_token;
            free(key);
            if (slot) {
                free(*slot);
                *slot = val;
            } else {
                free(val);
            }
        }
        line = end ? end + 1 : NULL;
    }
    if (!found || !out->access_key_id || !out->secret_access_key || !*out->access_key_id ||
        !*out->secret_access_key) {
        q_aws_creds_free(out);
        return 1;
    }
    return 0;
malformed:
    q_aws_creds_free(out);
    return -1;
}

time_t q_parse_iso8601_utc(const char *s)
{
    struct tm tm;
    int consumed = 0;
    const char *rest;

    memset(&tm, 0, sizeof(tm));
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
        return (time_t)-1;
    rest = s + consumed;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            ;
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0 && strcmp(rest, "+0000") != 0)
        return (time_t)-1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return (time_t)-1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

int q_aws_creds_from_json(const char *json, size_t len, q_aws_creds *out, char *err,
                          size_t err_size)
{
    json_t *o = json_loadb(json, len, 0, NULL);
    const char *ak, *sk, *tok, *exp, *code;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(o)) {
        snprintf(err, err_size, "credentials response is not a JSON object");
        goto out;
    }
    code = json_string_value(json_object_get(o, "Code"));
    if (code && strcmp(code, "Success") != 0) {
        snprintf(err, err_size, "credentials response has Code %.64s", code);
        goto out;
    }
    ak = json_string_value(json_object_get(o, "AccessKeyId"));
    sk = json_string_value(json_object_get(o, "SecretAccessKey"));
    tok = json_string_value(json_object_get(o, "Token"));
    exp = json_string_value(json_object_get(o, "Expiration"));
    if (!ak || !sk || !*ak || !*sk) {
        snprintf(err, err_size, "credentials response lacks AccessKeyId or SecretAccessKey");
        goto out;
    }
    if (exp && (out->expiration = q_parse_iso8601_utc(exp)) == (time_t)-1) {
        snprintf(err, err_size, "credentials response has a malformed Expiration");
        out->expiration = 0;
        goto out;
    }
    out->access_key_id = strdup(ak);
    out->secret_access_key = strdup(sk);
    out->session_token = tok && *tok ? strdup(tok) : NULL;
    if (!out->access_key_id || !out->secret_access_key || (tok && *tok && !out->session_token)) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (rc)
        q_aws_creds_free(out);
    json_decref(o);
    return rc;
}
