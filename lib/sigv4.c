/* sigv4.c - AWS Signature Version 4 signing (botocore SigV4Auth rules) and parsing. */
#include "sigv4.h"

#include "buf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"

/* Cap for every string built here. The body is only hashed, so a canonical request
 * is the path, query and signed headers: far below this for any sane request. */
#define SIGV4_MAX_TEXT ((size_t)1 << 20)

/* 9999-12-31T23:59:59Z: the last instant an amz-date's four-digit year can hold. */
#define SIGV4_MAX_TIME 253402300799LL

typedef struct {
    char *name;   /* lower-cased */
    char *value;  /* trimmed, whitespace runs folded */
    size_t order; /* position in the request, so repeated headers keep their order */
} sigv4_header;

typedef struct {
    char *name;   /* URI-encoded */
    char *value;  /* URI-encoded */
} sigv4_param;

static const char k_hex_lower[] = "0123456789abcdef";
static const char k_hex_upper[] = "0123456789ABCDEF";

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

/* The whitespace botocore's str.split() folds, restricted to ASCII. */
static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* RFC 9110 token characters: what a header name may be made of. */
static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = k_hex_lower[in[i] >> 4];
        out[2 * i + 1] = k_hex_lower[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static int encode_byte(q_buf *b, unsigned char c, int keep_slash)
{
    char esc[3];

    if (is_unreserved(c) || (keep_slash && c == '/'))
        return q_buf_addc(b, (char)c);
    esc[0] = '%';
    esc[1] = k_hex_upper[c >> 4];
    esc[2] = k_hex_upper[c & 0xf];
    return q_buf_add(b, esc, sizeof esc);
}

static int encode_into(q_buf *b, const char *s, size_t len, int keep_slash)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (encode_byte(b, (unsigned char)s[i], keep_slash) != Q_BUF_OK)
            return -1;
    return 0;
}

char *q_aws_uri_encode(const char *s, size_t len, int keep_slash)
{
    q_buf b;
    char *res = NULL;

    q_buf_init(&b, len <= SIZE_MAX / 3 ? len * 3 : 0);
    if ((!s && len) || len > SIZE_MAX / 3 || encode_into(&b, s, len, keep_slash) != 0)
        goto out;
    res = q_buf_take(&b);
out:
    q_buf_free(&b);
    return res;
}

/* SHA-256 fetched from the provider once: with OpenSSL 3, EVP_sha256() and HMAC() look
 * the algorithm up again on every call, which cost more than the hashing of a request. */
static EVP_MD *sha256_fetched;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256_md(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_fetched ? sha256_fetched : EVP_sha256();
}

void q_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    /* EVP_Digest only fails when OpenSSL cannot allocate; out is then "". */
    if (!EVP_Digest(data ? data : "", data ? len : 0, md, &md_len, sha256_md(), NULL) ||
        md_len != 32) {
        out[0] = '\0';
        return;
    }
    to_hex(md, 32, out);
}

/* HMAC-SHA256 (RFC 2104) over the fetched digest: H((K^opad) || H((K^ipad) || msg)), the
 * key hashed first when longer than the 64-byte block. Same bytes as HMAC(). */
static int hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                       unsigned char out[32])
{
    const EVP_MD *md = sha256_md();
    unsigned char k[64], pad[64], inner[32];
    unsigned int n = 0;
    EVP_MD_CTX *ctx;
    int rc = -1;

    if (key_len > INT_MAX)
        return -1;
    memset(k, 0, sizeof k);
    if (key_len > sizeof k) {
        if (!EVP_Digest(key, key_len, k, &n, md, NULL) || n != 32)
            return -1;
    } else if (key_len) {
        memcpy(k, key, key_len);
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx)
        goto out;
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = k[i] ^ 0x36;
    if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, pad, sizeof pad) ||
        !EVP_DigestUpdate(ctx, msg, msg_len) || !EVP_DigestFinal_ex(ctx, inner, &n) || n != 32)
        goto out;
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = k[i] ^ 0x5c;
    if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, pad, sizeof pad) ||
        !EVP_DigestUpdate(ctx, inner, sizeof inner) || !EVP_DigestFinal_ex(ctx, out, &n) ||
        n != 32)
        goto out;
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(inner, sizeof inner);
    return rc;
}

static void put_digits(char *p, unsigned v, int n)
{
    while (n-- > 0) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

void q_sigv4_amz_date(long long t, char out[17])
{
    long long days, z, era;
    unsigned secs, doe, yoe, doy, mp, day, month, year;

    /* Out-of-range times are clamped: the format has no room for them. */
    if (t < 0)
        t = 0;
    if (t > SIGV4_MAX_TIME)
        t = SIGV4_MAX_TIME;
    days = t / 86400;
    secs = (unsigned)(t % 86400);

    /* Howard Hinnant's civil_from_days, for days >= 0 (so no gmtime_r, no locale). */
    z = days + 719468;
    era = z / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    day = doy - (153 * mp + 2) / 5 + 1;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = (unsigned)(era * 400) + yoe + (month <= 2);

    put_digits(out, year, 4);
    put_digits(out + 4, month, 2);
    put_digits(out + 6, day, 2);
    out[8] = 'T';
    put_digits(out + 9, secs / 3600, 2);
    put_digits(out + 11, secs / 60 % 60, 2);
    put_digits(out + 13, secs % 60, 2);
    out[15] = 'Z';
    out[16] = '\0';
}

int q_const_time_streq(const char *a, const char *b)
{
    size_t la, lb;

    if (!a || !b)
        return 0;
    la = strlen(a);
    lb = strlen(b);
    /* Only the contents are secret; every signature has the same length. */
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}

static int valid_amz_date(const char *d)
{
    int i;

    if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return 0;
    for (i = 0; i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9'))
            return 0;
    return 1;
}

/* A scope part or access key must not be able to break the Authorization syntax. */
static int valid_scope_part(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!s || !*s)
        return 0;
    for (; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '/' || *p == ',')
            return 0;
    return 1;
}

/* Canonical URI: botocore's remove_dot_segments (which also drops empty segments, i.e.
 * collapses repeated '/'), then every segment URI-encoded again. */
static int append_canonical_uri(q_buf *b, const char *path)
{
    struct seg {
        const char *p;
        size_t n;
    } *segs = NULL;
    size_t n_segs = 0, max_segs = 1, len, i, start;
    int rc = -1;

    if (!path || !*path) {
        rc = q_buf_addc(b, '/') == Q_BUF_OK ? 0 : -1;
        goto out;
    }
    len = strlen(path);
    for (i = 0; i < len; i++)
        if (path[i] == '/')
            max_segs++;
    segs = malloc(max_segs * sizeof *segs);
    if (!segs)
        goto out;
    for (start = 0; start <= len; start = i + 1) {
        for (i = start; i < len && path[i] != '/'; i++)
            ;
        if (i == start || (i - start == 1 && path[start] == '.'))
            continue;
        if (i - start == 2 && path[start] == '.' && path[start + 1] == '.') {
            if (n_segs)
                n_segs--;
            continue;
        }
        segs[n_segs].p = path + start;
        segs[n_segs].n = i - start;
        n_segs++;
    }
    if (path[0] == '/' && q_buf_addc(b, '/') != Q_BUF_OK)
        goto out;
    for (i = 0; i < n_segs; i++) {
        if (i && q_buf_addc(b, '/') != Q_BUF_OK)
            goto out;
        if (encode_into(b, segs[i].p, segs[i].n, 0) != 0)
            goto out;
    }
    if (n_segs && path[len - 1] == '/' && q_buf_addc(b, '/') != Q_BUF_OK)
        goto out;
    rc = 0;
out:
    free(segs);
    return rc;
}

/* Normalises one query name or value: valid %XX escapes are decoded, then every byte is
 * URI-encoded. So already-encoded input ("%E1%88%B4") and raw input (UTF-8 bytes) give
 * the same canonical form, like botocore's params path. '+' is a literal plus (%2B). */
static char *requote(const char *s, size_t len)
{
    q_buf b;
    size_t i;
    char *res = NULL;
    int hi, lo;
    unsigned char c;

    q_buf_init(&b, SIGV4_MAX_TEXT);
    for (i = 0; i < len; i++) {
        c = (unsigned char)s[i];
        if (c == '%' && i + 2 < len) {
            hi = hex_value((unsigned char)s[i + 1]);
            lo = hex_value((unsigned char)s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (unsigned char)(hi << 4 | lo);
                i += 2;
            }
        }
        if (encode_byte(&b, c, 0) != Q_BUF_OK)
            goto out;
    }
    res = q_buf_take(&b);
out:
    q_buf_free(&b);
    return res;
}

static int param_cmp(const void *pa, const void *pb)
{
    const sigv4_param *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);

    return c ? c : strcmp(a->value, b->value);
}

/* Canonical query: split on '&' (empty pieces dropped), name and value at the first '='
 * (none means an empty value), each requoted, sorted by name then value. */
static int append_canonical_query(q_buf *b, const char *query)
{
    sigv4_param *params = NULL;
    size_t n = 0, max = 1, len, i, start, end;
    const char *eq;
    int rc = -1;

    if (!query || !*query) {
        rc = 0;
        goto out;
    }
    len = strlen(query);
    for (i = 0; i < len; i++)
        if (query[i] == '&')
            max++;
    params = calloc(max, sizeof *params);
    if (!params)
        goto out;
    for (start = 0; start <= len; start = end + 1) {
        for (end = start; end < len && query[end] != '&'; end++)
            ;
        if (end == start)
            continue;
        eq = memchr(query + start, '=', end - start);
        params[n].name = requote(query + start, (eq ? (size_t)(eq - query) : end) - start);
        params[n].value = eq ? requote(eq + 1, end - (size_t)(eq + 1 - query)) : strdup("");
        n++;
        if (!params[n - 1].name || !params[n - 1].value)
            goto out;
    }
    qsort(params, n, sizeof *params, param_cmp);
    for (i = 0; i < n; i++)
        if ((i && q_buf_addc(b, '&') != Q_BUF_OK) || q_buf_adds(b, params[i].name) != Q_BUF_OK ||
            q_buf_addc(b, '=') != Q_BUF_OK || q_buf_adds(b, params[i].value) != Q_BUF_OK)
            goto out;
    rc = 0;
out:
    for (i = 0; params && i < n; i++) {
        free(params[i].name);
        free(params[i].value);
    }
    free(params);
    return rc;
}

static char *lower_dup(const char *s)
{
    size_t i, len = strlen(s);
    char *r = malloc(len + 1);

    if (!r)
        return NULL;
    for (i = 0; i <= len; i++)
        r[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    return r;
}

/* botocore's ' '.join(value.split()): trim, fold each whitespace run (line breaks of a
 * folded header included) to one space. */
static char *fold_dup(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *r = malloc(strlen(s) + 1), *w = r;

    if (!r)
        return NULL;
    while (*p) {
        while (is_ws(*p))
            p++;
        if (!*p)
            break;
        if (w != r)
            *w++ = ' ';
        while (*p && !is_ws(*p))
            *w++ = (char)*p++;
    }
    *w = '\0';
    return r;
}

static int header_cmp(const void *pa, const void *pb)
{
    const sigv4_header *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);

    if (c)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int valid_header_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

/* Fills `hdrs` (n entries, caller frees names/values) sorted for signing; -1 on a bad
 * header or out of memory. */
static int collect_headers(const q_sigv4_request *req, sigv4_header *hdrs)
{
    size_t i;

    for (i = 0; i < req->n_headers; i++) {
        if (!valid_header_name(req->headers[i].name) || !req->headers[i].value)
            return -1;
        hdrs[i].order = i;
        hdrs[i].name = lower_dup(req->headers[i].name);
        hdrs[i].value = fold_dup(req->headers[i].value);
        if (!hdrs[i].name || !hdrs[i].value)
            return -1;
    }
    qsort(hdrs, req->n_headers, sizeof *hdrs, header_cmp);
    return 0;
}

/* Returns the index of the first header called `name` (lower-case), or n when absent. */
static size_t find_header(const sigv4_header *hdrs, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(hdrs[i].name, name) == 0)
            return i;
    return n;
}

/* Appends "name:v1,v2\n" lines to `canon` and "a;b" to `signed_hdrs`. */
static int append_canonical_headers(q_buf *canon, q_buf *signed_hdrs, const sigv4_header *hdrs,
                                    size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (i && strcmp(hdrs[i].name, hdrs[i - 1].name) == 0) {
            if (q_buf_addc(canon, ',') != Q_BUF_OK || q_buf_adds(canon, hdrs[i].value) != Q_BUF_OK)
                return -1;
            continue;
        }
        if ((i && q_buf_addc(canon, '\n') != Q_BUF_OK) ||
            q_buf_printf(canon, "%s:%s", hdrs[i].name, hdrs[i].value) != Q_BUF_OK ||
            (i && q_buf_addc(signed_hdrs, ';') != Q_BUF_OK) ||
            q_buf_adds(signed_hdrs, hdrs[i].name) != Q_BUF_OK)
            return -1;
    }
    return q_buf_addc(canon, '\n') == Q_BUF_OK ? 0 : -1;
}

/* kSigning = HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request". */
static int derive_signing_key(const char *secret, const char *date8, const char *region,
                              const char *service, unsigned char key[32])
{
    unsigned char k1[32], k2[32];
    char *k_secret = NULL;
    size_t secret_len = strlen(secret);
    int rc = -1;

    k_secret = malloc(secret_len + 5);
    if (!k_secret)
        goto out;
    memcpy(k_secret, "AWS4", 4);
    memcpy(k_secret + 4, secret, secret_len + 1);
    /* Two key buffers: HMAC() is not documented to allow key and output to alias. */
    if (hmac_sha256(k_secret, secret_len + 4, date8, 8, k1) != 0 ||
        hmac_sha256(k1, sizeof k1, region, strlen(region), k2) != 0 ||
        hmac_sha256(k2, sizeof k2, service, strlen(service), k1) != 0 ||
        hmac_sha256(k1, sizeof k1, SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR), key) != 0)
        goto out;
    rc = 0;
out:
    if (k_secret) {
        OPENSSL_cleanse(k_secret, secret_len + 5);
        free(k_secret);
    }
    OPENSSL_cleanse(k1, sizeof k1);
    OPENSSL_cleanse(k2, sizeof k2);
    return rc;
}

static int cache_holds(const q_sigv4_key_cache *c, const char *secret, const char *date8,
                       const char *region, const char *service)
{
    return c->valid && memcmp(c->date8, date8, 8) == 0 && strcmp(c->region, region) == 0 &&
           strcmp(c->service, service) == 0 && strcmp(c->secret, secret) == 0;
}

/* Returns hex HMAC(kSigning, sts) in out[65], taking kSigning from `cache` when it holds
 * the key for this secret and scope (and storing it there when it can). */
static int compute_signature(const char *secret, const char *date8, const char *region,
                             const char *service, const char *sts, q_sigv4_key_cache *cache,
                             char out[65])
{
    unsigned char key[32], mac[32];
    int rc = -1;

    if (cache && cache_holds(cache, secret, date8, region, service)) {
        memcpy(key, cache->key, sizeof key);
    } else {
        if (derive_signing_key(secret, date8, region, service, key) != 0)
            goto out;
        if (cache) {
            q_sigv4_key_cache_clear(cache);
            if (strlen(secret) < sizeof cache->secret && strlen(region) < sizeof cache->region &&
                strlen(service) < sizeof cache->service) {
                memcpy(cache->date8, date8, 8);
                cache->date8[8] = '\0';
                strcpy(cache->region, region);
                strcpy(cache->service, service);
                strcpy(cache->secret, secret);
                memcpy(cache->key, key, sizeof key);
                cache->valid = 1;
            }
        }
    }
    if (hmac_sha256(key, sizeof key, sts, strlen(sts), mac) != 0)
        goto out;
    to_hex(mac, sizeof mac, out);
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

void q_sigv4_key_cache_clear(q_sigv4_key_cache *cache)
{
    if (cache)
        OPENSSL_cleanse(cache, sizeof *cache);
}

void q_sigv4_result_free(q_sigv4_result *r)
{
    if (!r)
        return;
    free(r->canonical_request);
    free(r->string_to_sign);
    free(r->signature);
    free(r->signed_headers);
    free(r->authorization);
    memset(r, 0, sizeof *r);
}

int q_sigv4_sign(const q_sigv4_request *req, const q_aws_credentials *creds,
                 const char *region, const char *service, const char *amz_date,
                 q_sigv4_result *out)
{
    return q_sigv4_sign_cached(req, creds, region, service, amz_date, NULL, out);
}

int q_sigv4_sign_cached(const q_sigv4_request *req, const q_aws_credentials *creds,
                        const char *region, const char *service, const char *amz_date,
                        q_sigv4_key_cache *cache, q_sigv4_result *out)
{
    q_buf canon, signed_hdrs, sts, authz;
    sigv4_header *hdrs = NULL;
    q_sigv4_result res = {0};
    char payload_hash[65], creq_hash[65], sig[65], date8[9];
    size_t i, tok;
    int rc = -1;

    q_buf_init(&canon, SIGV4_MAX_TEXT);
    q_buf_init(&signed_hdrs, SIGV4_MAX_TEXT);
    q_buf_init(&sts, SIGV4_MAX_TEXT);
    q_buf_init(&authz, SIGV4_MAX_TEXT);
    if (out)
        memset(out, 0, sizeof *out);
    if (!req || !creds || !out || !req->method || !*req->method ||
        (!req->headers && req->n_headers) || (!req->body && req->body_len) ||
        !valid_scope_part(creds->access_key_id) || !creds->secret_access_key ||
        !*creds->secret_access_key || !valid_scope_part(region) ||
        !valid_scope_part(service) || !valid_amz_date(amz_date))
        goto out;
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';

    hdrs = calloc(req->n_headers ? req->n_headers : 1, sizeof *hdrs);
    if (!hdrs)
        goto out;
    if (collect_headers(req, hdrs) != 0)
        goto out;
    /* Host is always signed; a session token only works when it was signed too. */
    if (find_header(hdrs, req->n_headers, "host") == req->n_headers)
        goto out;
    if (creds->session_token && *creds->session_token) {
        tok = find_header(hdrs, req->n_headers, "x-amz-security-token");
        if (tok == req->n_headers || strcmp(hdrs[tok].value, creds->session_token) != 0)
            goto out;
    }

    q_sha256_hex(req->body, req->body_len, payload_hash);
    if (!payload_hash[0])
        goto out;
    if (q_buf_adds(&canon, req->method) != Q_BUF_OK || q_buf_addc(&canon, '\n') != Q_BUF_OK ||
        append_canonical_uri(&canon, req->path) != 0 || q_buf_addc(&canon, '\n') != Q_BUF_OK ||
        append_canonical_query(&canon, req->query) != 0 || q_buf_addc(&canon, '\n') != Q_BUF_OK ||
        append_canonical_headers(&canon, &signed_hdrs, hdrs, req->n_headers) != 0 ||
        q_buf_printf(&canon, "\n%s\n%s", q_buf_cstr(&signed_hdrs), payload_hash) != Q_BUF_OK)
        goto out;

    q_sha256_hex(q_buf_cstr(&canon), canon.len, creq_hash);
    if (!creq_hash[0])
        goto out;
    if (q_buf_printf(&sts, SIGV4_ALGORITHM "\n%s\n%s/%s/%s/" SIGV4_TERMINATOR "\n%s", amz_date,
                     date8, region, service, creq_hash) != Q_BUF_OK)
        goto out;
    if (compute_signature(creds->secret_access_key, date8, region, service, q_buf_cstr(&sts),
                          cache, sig) != 0)
        goto out;
    if (q_buf_printf(&authz,
                     SIGV4_ALGORITHM " Credential=%s/%s/%s/%s/" SIGV4_TERMINATOR
                                     ", SignedHeaders=%s, Signature=%s",
                     creds->access_key_id, date8, region, service, q_buf_cstr(&signed_hdrs),
                     sig) != Q_BUF_OK)
        goto out;

    res.canonical_request = q_buf_take(&canon);
    res.string_to_sign = q_buf_take(&sts);
    res.signed_headers = q_buf_take(&signed_hdrs);
    res.authorization = q_buf_take(&authz);
    res.signature = strdup(sig);
    if (!res.canonical_request || !res.string_to_sign || !res.signed_headers ||
        !res.authorization || !res.signature)
        goto out;
    *out = res;
    memset(&res, 0, sizeof res); /* ownership moved to *out */
    rc = 0;
out:
    q_sigv4_result_free(&res);
    for (i = 0; hdrs && i < req->n_headers; i++) {
        free(hdrs[i].name);
        free(hdrs[i].value);
    }
    free(hdrs);
    q_buf_free(&canon);
    q_buf_free(&signed_hdrs);
    q_buf_free(&sts);
    q_buf_free(&authz);
    return rc;
}

void q_sigv4_authz_free(q_sigv4_authz *a)
{
    if (!a)
        return;
    free(a->storage);
    memset(a, 0, sizeof *a);
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits "AK/date/region/service/aws4_request" in place. */
static int parse_credential(char *cred, q_sigv4_authz *a)
{
    char *parts[5];
    int n = 0, i;
    char *p = cred;

    for (;;) {
        if (n == 5)
            return -1;
        parts[n++] = p;
        p = strchr(p, '/');
        if (!p)
            break;
        *p++ = '\0';
    }
    if (n != 5)
        return -1;
    for (i = 0; i < 5; i++)
        if (!*parts[i])
            return -1;
    if (strlen(parts[1]) != 8 || strcmp(parts[4], SIGV4_TERMINATOR) != 0)
        return -1;
    for (i = 0; i < 8; i++)
        if (parts[1][i] < '0' || parts[1][i] > '9')
            return -1;
    a->access_key_id = parts[0];
    a->date = parts[1];
    a->region = parts[2];
    a->service = parts[3];
    return 0;
}

/* "a;b;c": non-empty lower-case header names. */
static int valid_signed_headers(const char *s)
{
    int at_start = 1;

    for (; *s; s++) {
        if (*s == ';') {
            if (at_start)
                return -1;
            at_start = 1;
        } else if (is_tchar((unsigned char)*s) && !(*s >= 'A' && *s <= 'Z')) {
            at_start = 0;
        } else {
            return -1;
        }
    }
    return at_start ? -1 : 0;
}

/* 64 hex digits, lower-cased in place so it compares equal to q_sigv4_sign's output. */
static int normalise_signature(char *s)
{
    size_t i;

    if (strlen(s) != 64)
        return -1;
    for (i = 0; i < 64; i++) {
        if (hex_value((unsigned char)s[i]) < 0)
            return -1;
        if (s[i] >= 'A' && s[i] <= 'F')
            s[i] = (char)(s[i] - 'A' + 'a');
    }
    return 0;
}

/* Grammar: OWS "AWS4-HMAC-SHA256" 1*OWS param *(OWS "," OWS param) OWS, where the three
 * params Credential=, SignedHeaders= and Signature= each appear exactly once, in any
 * order. The header is copied to storage and cut up in place. */
int q_sigv4_parse_authorization(const char *header, q_sigv4_authz *out)
{
    q_sigv4_authz a = {0};
    char *p, *key, *val, *end, *cred = NULL, *signed_hdrs = NULL, *sig = NULL;
    size_t alg_len = strlen(SIGV4_ALGORITHM);
    int more, rc = -1;

    if (out)
        memset(out, 0, sizeof *out);
    if (!header || !out)
        goto out;
    a.storage = strdup(header);
    if (!a.storage)
        goto out;
    p = a.storage;
    while (is_ows(*p))
        p++;
    if (strncmp(p, SIGV4_ALGORITHM, alg_len) != 0 || !is_ows(p[alg_len]))
        goto out;
    p += alg_len;
    do {
        while (is_ows(*p))
            p++;
        key = p;
        while (*p && *p != '=' && *p != ',' && !is_ows(*p))
            p++;
        if (*p != '=')
            goto out;
        *p++ = '\0';
        val = p;
        while (*p && *p != ',' && !is_ows(*p))
            p++;
        end = p;
        while (is_ows(*p))
            p++;
        if (*p && *p != ',')
            goto out;
        more = *p == ',';
        if (more)
            p++;
        *end = '\0'; /* may be the ',' just stepped over */
        if (!*val)
            goto out;
        if (strcmp(key, "Credential") == 0 && !cred)
            cred = val;
        else if (strcmp(key, "SignedHeaders") == 0 && !signed_hdrs)
            signed_hdrs = val;
        else if (strcmp(key, "Signature") == 0 && !sig)
            sig = val;
        else
            goto out; /* unknown or repeated */
    } while (more);
    if (!cred || !signed_hdrs || !sig)
        goto out;
    if (parse_credential(cred, &a) != 0 || valid_signed_headers(signed_hdrs) != 0 ||
        normalise_signature(sig) != 0)
        goto out;
    a.signed_headers = signed_hdrs;
    a.signature = sig;
    *out = a;
    a.storage = NULL; /* ownership moved to *out */
    rc = 0;
out:
    free(a.storage);
    return rc;
}
