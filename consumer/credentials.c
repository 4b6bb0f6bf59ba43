/* credentials.c - the consumer's AWS credentials provider chain (see credentials.h). */
#include "credentials.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "log.h"

#define REFRESH_BEFORE_SECONDS 300
#define RETRY_REFRESH_SECONDS 10
#define FETCH_TIMEOUT_MS 2000

typedef enum { SRC_BEARER, SRC_ENV, SRC_FILE, SRC_CONTAINER, SRC_IMDS, SRC_FIXED } source;

struct credentials {
    source src;
    q_aws_creds creds;
    char *bearer;
    time_t next_refresh_try;
};

static const char *const source_names[] = {"bearer", "env", "shared-file", "container", "imds",
                                           "fixed"};

const char *credentials_source(const credentials *c)
{
    return source_names[c->src];
}

void credentials_free(credentials *c)
{
    if (!c)
        return;
    q_aws_creds_free(&c->creds);
    free(c->bearer);
    free(c);
}

/* One small HTTP exchange. Returns the status (0 on transport failure); body in out. */
static long fetch(const char *method, const char *url, struct curl_slist *headers, q_buf *out)
{
    CURL *curl = curl_easy_init();
    long status = 0;

    if (!curl)
        return 0;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, q_buf_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)FETCH_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    return status;
}

static int from_files(q_aws_creds *out)
{
    const char *home = q_env_str("HOME", "/root");
    const char *profile = q_env_str("AWS_PROFILE", q_env_str("AWS_DEFAULT_PROFILE", "default"));
    char path[1024];
    char *text;
    int rc = 1;

    snprintf(path, sizeof(path), "%s/.aws/credentials", home);
    text = q_buf_read_file(q_env_str("AWS_SHARED_CREDENTIALS_FILE", path), 1 << 20);
    if (text) {
        rc = q_aws_creds_from_ini(text, profile, 0, out);
        free(text);
    }
    if (rc != 0) {
        snprintf(path, sizeof(path), "%s/.aws/config", home);
        text = q_buf_read_file(q_env_str("AWS_CONFIG_FILE", path), 1 << 20);
        if (text) {
            rc = q_aws_creds_from_ini(text, profile, 1, out);
            free(text);
        }
    }
    return rc == 0 ? 0 : -1;
}

/* Plain-http full URIs are allowed only to the addresses the SDKs allow. */
static int container_uri_allowed(const char *uri)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int ok = 0;

    if (u && curl_url_set(u, CURLUPART_URL, uri, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        ok = strcmp(scheme, "https") == 0 || strncmp(host, "127.", 4) == 0 ||
             strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
             strcmp(host, "169.254.170.2") == 0 || strcmp(host, "169.254.170.23") == 0 ||
             strcmp(host, "[fd00:ec2::23]") == 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

static int from_container(q_aws_creds *out, char *err, size_t err_size)
{
    const char *rel = q_env_str("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", NULL);
    const char *full = q_env_str("AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL);
    const char *token = q_env_str("AWS_CONTAINER_AUTHORIZATION_TOKEN", NULL);
    const char *token_file = q_env_str("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", NULL);
    char url[2048], header[4096];
    char *file_token = NULL;
    struct curl_slist *headers = NULL;
    q_buf body;
    long status;
    int rc = -1;

    q_buf_init(&body, 64 * 1024);
    if (rel) {
        snprintf(url, sizeof(url), "http://169.254.170.2%s", rel);
    } else if (full && container_uri_allowed(full)) {
        snprintf(url, sizeof(url), "%s", full);
    } else {
        snprintf(err, err_size, "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a "
                                "loopback/ECS/EKS agent address");
        goto out;
    }
    if (token_file) {
        file_token = q_buf_read_file(token_file, 16 * 1024);
        if (file_token)
            file_token[strcspn(file_token, "\r\n")] = '\0';
        token = file_token;
    }
    if (token) {
        snprintf(header, sizeof(header), "Authorization: %s", token);
        headers = curl_slist_append(headers, header);
    }
    status = fetch("GET", url, headers, &body);
    if (status != 200) {
        snprintf(err, err_size, "container credentials endpoint answered HTTP %ld", status);
        goto out;
    }
    rc = q_aws_creds_from_json(q_buf_cstr(&body), body.len, out, err, err_size);
out:
    curl_slist_free_all(headers);
    if (file_token)
        free(file_token);
    q_buf_free(&body);
    return rc;
}

static int on_ec2(void)
{
    char *vendor = q_buf_read_file("/sys/class/dmi/id/sys_vendor", 256);
    char *uuid = q_buf_read_file("/sys/hypervisor/uuid", 256);
    int yes = (vendor && strncmp(vendor, "Amazon EC2", 10) == 0) ||
              (uuid && strncasecmp(uuid, "ec2", 3) == 0);

    free(vendor);
    free(uuid);
    return yes;
}

static int imds_wanted(void)
{
    const char *disabled = q_env_str("AWS_EC2_METADATA_DISABLED", "false");
    const char *force = q_env_str("QUARRY_USE_IMDS", "false");

    if (strcasecmp(disabled, "true") == 0)
        return 0;
    return q_env_str("AWS_EC2_METADATA_SERVICE_ENDPOINT", NULL) || strcasecmp(force, "true") == 0 ||
           on_ec2();
}

static int from_imds(q_aws_creds *out, char *err, size_t err_size)
{
    const char *base = q_env_str("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254");
    char url[1024], header[1024], role[256];
    struct curl_slist *headers = NULL;
    q_buf body;
    long status;
    int rc = -1;
    size_t blen = strlen(base);

    q_buf_init(&body, 64 * 1024);
    while (blen && base[blen - 1] == '/')
        blen--;
    snprintf(url, sizeof(url), "%.*s/latest/api/token", (int)blen, base);
    headers = curl_slist_append(headers, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
    status = fetch("PUT", url, headers, &body);
    curl_slist_free_all(headers);
    headers = NULL;
    if (status != 200 || body.len == 0 || body.len > 900) {
        snprintf(err, err_size, "IMDS token request answered HTTP %ld", status);
        goto out;
    }
    snprintf(header, sizeof(header), "X-aws-ec2-metadata-token: %s", q_buf_cstr(&body));
    headers = curl_slist_append(headers, header);
    q_buf_reset(&body);
    snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/", (int)blen, base);
    status = fetch("GET", url, headers, &body);
    if (status != 200 || body.len == 0) {
        snprintf(err, err_size, "IMDS has no instance role (HTTP %ld)", status);
        goto out;
    }
    snprintf(role, sizeof(role), "%.*s", (int)strcspn(q_buf_cstr(&body), "\r\n"),
             q_buf_cstr(&body));
    q_buf_reset(&body);
    snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/%s", (int)blen,
             base, role);
    status = fetch("GET", url, headers, &body);
    if (status != 200) {
        snprintf(err, err_size, "IMDS role credentials answered HTTP %ld", status);
        goto out;
    }
    rc = q_aws_creds_from_json(q_buf_cstr(&body), body.len, out, err, err_size);
out:
    curl_slist_free_all(headers);
    q_buf_free(&body);
    return rc;
}

static int set_str(char **dst, const char *v)
{
    *dst = v ? strdup(v) : NULL;
    return v && !*dst ? -1 : 0;
}

credentials *credentials_from_chain(char *err, size_t err_size)
{
    credentials *c = calloc(1, sizeof(*c));
    char why[256] = "";

    if (!c)
        return NULL;
    if (q_env_str("AWS_BEARER_TOKEN_BEDROCK", NULL)) {
        c->src = SRC_BEARER;
        if (set_str(&c->bearer, q_env_str("AWS_BEARER_TOKEN_BEDROCK", NULL)))
            goto none;
        return c;
    }
    if (q_env_str("AWS_ACCESS_KEY_ID", NULL) && q_env_str("AWS_SECRET_ACCESS_KEY", NULL)) {
        c->src = SRC_ENV;
        if (set_str(&c->creds.access_key_id, q_env_str("AWS_ACCESS_KEY_ID", NULL)) ||
            set_str(&c->creds.secret_access_key, q_env_str("AWS_SECRET_ACCESS_KEY", NULL)) ||
            set_str(&c->creds.session_token, q_env_str("AWS_SESSION_TOKEN", NULL)))
            goto none;
        return c;
    }
    if (from_files(&c->creds) == 0) {
        c->src = SRC_FILE;
        return c;
    }
    if (q_env_str("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", NULL) ||
        q_env_str("AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL)) {
        if (from_container(&c->creds, why, sizeof(why)) == 0) {
            c->src = SRC_CONTAINER;
            return c;
        }
        snprintf(err, err_size, "container credentials: %s", why);
        goto none;
    }
    if (imds_wanted()) {
        if (from_imds(&c->creds, why, sizeof(why)) == 0) {
            c->src = SRC_IMDS;
            return c;
        }
        snprintf(err, err_size, "IMDS: %s", why);
        goto none;
    }
    snprintf(err, err_size, "no credentials in the environment, the shared files, the "
                            "container endpoint or IMDS");
none:
    credentials_free(c);
    return NULL;
}

credentials *credentials_fixed(const char *access_key_id, const char *secret_access_key)
{
    credentials *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->src = SRC_FIXED;
    if (set_str(&c->creds.access_key_id, access_key_id) ||
        set_str(&c->creds.secret_access_key, secret_access_key)) {
        credentials_free(c);
        return NULL;
    }
    return c;
}

int credentials_get(credentials *c, time_t now, const q_aws_creds **creds, const char **bearer)
{
    *creds = NULL;
    *bearer = NULL;
    if (c->src == SRC_BEARER) {
        *bearer = c->bearer;
        return 0;
    }
    if (c->creds.expiration && now >= c->creds.expiration - REFRESH_BEFORE_SECONDS &&
        now >= c->next_refresh_try) {
        q_aws_creds fresh;
        char why[256];
        int rc = c->src == SRC_CONTAINER ? from_container(&fresh, why, sizeof(why))
                                         : from_imds(&fresh, why, sizeof(why));

        if (rc == 0) {
            q_aws_creds_free(&c->creds);
            c->creds = fresh;
            q_log(Q_LOG_INFO, "credentials.refreshed",
                  json_pack("{s:s,s:I}", "source", credentials_source(c), "expires_in_s",
                            (json_int_t)(c->creds.expiration ? c->creds.expiration - now : 0)));
        } else {
            c->next_refresh_try = now + RETRY_REFRESH_SECONDS;
            q_log(Q_LOG_WARN, "credentials.refresh_failed",
                  json_pack("{s:s,s:s}", "source", credentials_source(c), "error", why));
        }
    }
    if (c->creds.expiration && now >= c->creds.expiration)
        return -1;
    *creds = &c->creds;
    return 0;
}
