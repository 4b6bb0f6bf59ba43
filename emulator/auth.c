/* auth.c - Bedrock API key and SigV4 verification with AWS's errors (see auth.h). */
#include "auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sigv4.h"

#define CLOCK_SKEW_SECONDS 300

#define FORBIDDEN 403
#define INVALID_TOKEN "The security token included in the request is invalid."

/* Parses "YYYYMMDDTHHMMSSZ" into unix time; -1 when it is not exactly that. */
static int parse_amz_date(const char *s, long long *out)
{
    struct tm tm = {0};
    char again[17];
    time_t t;
    int ok = strlen(s) == 16 && s[8] == 'T' && s[15] == 'Z';

    for (int i = 0; ok && i < 15; i++)
        ok = i == 8 || (s[i] >= '0' && s[i] <= '9');
    if (ok) {
        tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
                     (s[3] - '0') - 1900;
        tm.tm_mon = (s[4] - '0') * 10 + (s[5] - '0') - 1;
        tm.tm_mday = (s[6] - '0') * 10 + (s[7] - '0');
        tm.tm_hour = (s[9] - '0') * 10 + (s[10] - '0');
        tm.tm_min = (s[11] - '0') * 10 + (s[12] - '0');
        tm.tm_sec = (s[13] - '0') * 10 + (s[14] - '0');
        t = timegm(&tm);
        /* timegm normalises 20250230 into March: only a round trip proves the date real. */
        q_sigv4_amz_date((long long)t, again);
        ok = t != (time_t)-1 && strcmp(again, s) == 0;
        if (ok)
            *out = (long long)t;
    }
    return ok ? 0 : -1;
}

static int signed_list_has(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len == n && strncasecmp(p, name, n) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static int check_bearer(const emu_auth_config *cfg, const char *token, emu_error *err)
{
    if (cfg->bearer_token && *cfg->bearer_token && q_const_time_streq(token, cfg->bearer_token))
        return 0;
    emu_error_set(err, FORBIDDEN, "UnrecognizedClientException",
                  "The bearer token included in the request is invalid.");
    return -1;
}

/* Credential scope, date header and clock checks that need no signature. */
static int check_scope(const emu_auth_config *cfg, const q_sigv4_authz *a, const char *amz_date,
                       long long now, emu_error *err)
{
    long long t = 0;
    char now_s[17], earliest_s[17], latest_s[17];
    int rc = -1;

    q_sigv4_amz_date(now, now_s);
    q_sigv4_amz_date(now - CLOCK_SKEW_SECONDS, earliest_s);
    q_sigv4_amz_date(now + CLOCK_SKEW_SECONDS, latest_s);
    if (!amz_date)
        emu_error_set(err, FORBIDDEN, "IncompleteSignatureException",
                      "Authorization header requires existence of either a 'X-Amz-Date' or a "
                      "'Date' header.");
    else if (parse_amz_date(amz_date, &t) != 0)
        emu_error_set(err, FORBIDDEN, "IncompleteSignatureException",
                      "Date must be in ISO-8601 'basic format'. Got '%.32s'. See "
                      "http://en.wikipedia.org/wiki/ISO_8601",
                      amz_date);
    else if (strlen(a->date) != 8 || strncmp(a->date, amz_date, 8) != 0)
        emu_error_set(err, FORBIDDEN, "InvalidSignatureException",
                      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                      "of date from HTTP: '%.16s' != '%.8s', from 'X-Amz-Date'.",
                      a->date, amz_date);
    else if (strcmp(a->region, cfg->region) != 0)
        emu_error_set(err, FORBIDDEN, "InvalidSignatureException",
                      "Credential should be scoped to a valid region. ");
    else if (strcmp(a->service, cfg->service) != 0)
        emu_error_set(err, FORBIDDEN, "InvalidSignatureException",
                      "Credential should be scoped to correct service: '%s'. ", cfg->service);
    else if (t < now - CLOCK_SKEW_SECONDS)
        emu_error_set(err, FORBIDDEN, "InvalidSignatureException",
                      "Signature expired: %s is now earlier than %s (%s - 5 min.)", amz_date,
                      earliest_s, now_s);
    else if (t > now + CLOCK_SKEW_SECONDS)
        emu_error_set(err, FORBIDDEN, "InvalidSignatureException",
                      "Signature not yet current: %s is still later than %s (%s + 5 min.)",
                      amz_date, latest_s, now_s);
    else if (!signed_list_has(a->signed_headers, "host"))
        emu_error_set(err, FORBIDDEN, "InvalidSignatureException",
                      "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                      "Authorization.");
    else
        rc = 0;
    return rc;
}

/* Recomputes the signature over exactly the headers in SignedHeaders and compares. */
static int check_signature(const emu_auth_config *cfg, const emu_wire_request *req,
                           const q_sigv4_authz *a, const char *amz_date, emu_error *err)
{
    q_aws_credentials creds = {cfg->access_key_id, cfg->secret_access_key, NULL};
    q_sigv4_result res = {0};
    q_sigv4_request sreq;
    q_http_header *hdrs = NULL;
    size_t n = 0, cap = req->n_headers;
    int rc = -1;

    hdrs = calloc(cap ? cap : 1, sizeof(*hdrs));
    if (!hdrs)
        goto nomem;
    /* Every header the client signed, repeated ones included (the signer joins them);
     * a signed header that is missing is signed empty and so cannot match. */
    for (const char *p = a->signed_headers; p && *p;) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p), found = 0;

        for (size_t i = 0; i < req->n_headers; i++) {
            if (n < cap && strlen(req->headers[i].name) == len &&
                strncasecmp(req->headers[i].name, p, len) == 0) {
                hdrs[n++] = req->headers[i];
                found++;
            }
        }
        if (!found) {
            emu_error_set(err, FORBIDDEN, "InvalidSignatureException",
                          "The request signature we calculated does not match the signature "
                          "you provided: signed header '%.*s' is missing from the request.",
                          (int)(len > 64 ? 64 : len), p);
            goto out;
        }
        p = end ? end + 1 : NULL;
    }
    sreq = (q_sigv4_request){req->method, req->path, req->query, hdrs, n, req->body,
                             req->body_len};
    if (q_sigv4_sign(&sreq, &creds, a->region, a->service, amz_date, &res) != 0)
        goto nomem;
    if (!q_const_time_streq(res.signature, a->signature)) {
        emu_error_set(err, FORBIDDEN, "InvalidSignatureException",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method. Consult "
                      "the service documentation for details.\n\nThe Canonical String for "
                      "this request should have been\n'%s'\n\nThe String-to-Sign should have "
                      "been\n'%s'\n",
                      res.canonical_request, res.string_to_sign);
        goto out;
    }
    rc = 0;
    goto out;

nomem:
    emu_error_set(err, 500, "InternalServerException", "could not verify the signature");
out:
    q_sigv4_result_free(&res);
    free(hdrs);
    return rc;
}

int emu_auth_verify(const emu_auth_config *cfg, const emu_wire_request *req, long long now,
                    emu_error *err)
{
    const char *header = emu_wire_header(req, "authorization");
    const char *token = emu_wire_header(req, "x-amz-security-token");
    const char *amz_date = emu_wire_header(req, "x-amz-date");
    q_sigv4_authz a = {0};
    int rc = -1;

    if (!header || !*header) {
        emu_error_set(err, FORBIDDEN, "MissingAuthenticationTokenException",
                      "Missing Authentication Token");
        goto out;
    }
    if (strncasecmp(header, "Bearer ", 7) == 0) {
        rc = check_bearer(cfg, header + 7, err);
        goto out;
    }
    if (q_sigv4_parse_authorization(header, &a) != 0) {
        emu_error_set(err, FORBIDDEN, "IncompleteSignatureException",
                      "Authorization header requires 'Credential', 'SignedHeaders' and "
                      "'Signature' parameters in the AWS4-HMAC-SHA256 format.");
        goto out;
    }
    if (!q_const_time_streq(a.access_key_id, cfg->access_key_id)) {
        emu_error_set(err, FORBIDDEN, "UnrecognizedClientException", INVALID_TOKEN);
        goto out;
    }
    if (cfg->session_token && *cfg->session_token
            ? !token || !q_const_time_streq(token, cfg->session_token)
            : token != NULL) {
        emu_error_set(err, FORBIDDEN, "UnrecognizedClientException", INVALID_TOKEN);
        goto out;
    }
    if (check_scope(cfg, &a, amz_date, now, err))
        goto out;
    rc = req->body ? check_signature(cfg, req, &a, amz_date, err) : 0;
out:
    q_sigv4_authz_free(&a);
    return rc;
}
