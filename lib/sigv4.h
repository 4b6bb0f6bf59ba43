/* sigv4.h - AWS Signature Version 4 (HMAC-SHA256) signing and verification helpers.
 *
 * Quarry signs Bedrock calls itself because libcurl 7.88's CURLOPT_AWS_SIGV4 builds the
 * wrong canonical URI for model ids containing ':'. The rules follow botocore's SigV4Auth
 * for every service but S3: the canonical URI is the wire path with dot segments and
 * repeated slashes removed and then URI-encoded again (so ':' on the wire becomes %3A,
 * and %3A on the wire becomes %253A); the canonical query decodes each name's and
 * value's %XX escapes, URI-encodes them again ('+' is a literal plus) and sorts the
 * name=value pairs by encoded name then value; header names are lower-cased, values
 * trimmed with inner runs of whitespace (line breaks too) folded to one space, and
 * repeated headers joined with ',' in request order.
 *
 * All strings are NUL-terminated; the request does not need to outlive the call.
 * On success every char* in q_sigv4_result is heap memory owned by the result and
 * released with q_sigv4_result_free() (which accepts a zeroed result). On failure
 * the functions return -1 and leave the result zeroed. */
#ifndef QUARRY_SIGV4_H
#define QUARRY_SIGV4_H

#include <stddef.h>

typedef struct {
    const char *name;
    const char *value;
} q_http_header;

typedef struct {
    const char *method;          /* "POST" */
    const char *path;            /* wire path, already percent-encoded: "/model/a%3Ab/invoke" */
    const char *query;           /* wire query without '?', or NULL/"" */
    const q_http_header *headers;/* headers to sign, as they go on the wire (Host included) */
    size_t n_headers;
    const void *body;            /* may be NULL when body_len is 0 */
    size_t body_len;
} q_sigv4_request;

typedef struct {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;   /* NULL or "" when none */
} q_aws_credentials;

typedef struct {
    char *canonical_request;
    char *string_to_sign;
    char *signature;             /* 64 lowercase hex digits */
    char *signed_headers;        /* "host;x-amz-date" */
    char *authorization;         /* full Authorization header value */
} q_sigv4_result;

/* Signs `req` with the given scope. `amz_date` is "YYYYMMDDTHHMMSSZ"; the date part of
 * the scope is taken from it. Every header in req->headers is signed. The caller must
 * already have put X-Amz-Date (and X-Amz-Security-Token when a session token is used,
 * and x-amz-content-sha256 if wanted) into req->headers; q_sigv4_sign does not add
 * headers. Returns 0, or -1 on bad arguments / out of memory. Bad arguments include a
 * request without a Host header, a header name that is not an HTTP token, and a
 * session token in creds that is not the value of an X-Amz-Security-Token header. */
int q_sigv4_sign(const q_sigv4_request *req, const q_aws_credentials *creds,
                 const char *region, const char *service, const char *amz_date,
                 q_sigv4_result *out);

void q_sigv4_result_free(q_sigv4_result *r);

/* The signing key (HMAC chain "AWS4"+secret -> date -> region -> service ->
 * "aws4_request") changes only when the date, region, service or secret does, so a
 * signer that signs many requests keeps it here instead of computing four HMACs per
 * request. Holds key material: clear it with q_sigv4_key_cache_clear when done. A zeroed
 * struct is an empty cache. Not thread-safe: one cache per signing thread. */
typedef struct {
    int valid;
    char date8[9];
    char region[64];
    char service[64];
    char secret[128];            /* the secret the key was derived from (to notice rotation) */
    unsigned char key[32];
} q_sigv4_key_cache;

/* As q_sigv4_sign, using and refreshing `cache` (may be NULL: then nothing is cached).
 * Secrets, regions or services too long for the cache are signed without caching. */
int q_sigv4_sign_cached(const q_sigv4_request *req, const q_aws_credentials *creds,
                        const char *region, const char *service, const char *amz_date,
                        q_sigv4_key_cache *cache, q_sigv4_result *out);

/* Forgets the cached key, wiping it and the secret from memory. Accepts NULL. */
void q_sigv4_key_cache_clear(q_sigv4_key_cache *cache);

/* Formats time `t` (UTC) as "YYYYMMDDTHHMMSSZ" into out[17]; t is clamped to
 * 1970-01-01T00:00:00Z..9999-12-31T23:59:59Z. */
void q_sigv4_amz_date(long long t, char out[17]);

/* Lowercase hex SHA-256 of data into out[65]. */
void q_sha256_hex(const void *data, size_t len, char out[65]);

/* Appends the AWS URI-encoding of s (unreserved A-Z a-z 0-9 - _ . ~ kept, every other
 * byte as %XX uppercase; '/' kept when keep_slash) to a NUL-terminated malloc'd string.
 * Returns NULL when out of memory. */
char *q_aws_uri_encode(const char *s, size_t len, int keep_slash);

/* Parsed form of an "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/svc/aws4_request,
 * SignedHeaders=a;b, Signature=hex" header. Fields point into `storage` (owned by the
 * struct; free with q_sigv4_authz_free). The three parameters may come in any order,
 * with spaces or tabs around the commas; the signature is returned lower-cased. Returns
 * 0, or -1 (and a zeroed struct) when the header is malformed. */
typedef struct {
    char *storage;
    const char *access_key_id;
    const char *date;            /* "20150830" */
    const char *region;
    const char *service;
    const char *signed_headers;  /* "host;x-amz-date" */
    const char *signature;
} q_sigv4_authz;

int q_sigv4_parse_authorization(const char *header, q_sigv4_authz *out);
void q_sigv4_authz_free(q_sigv4_authz *a);

/* Comparison of two NUL-terminated strings in time independent of their contents (not
 * of their lengths); 1 when equal, 0 when not or either is NULL. */
int q_const_time_streq(const char *a, const char *b);

#endif
