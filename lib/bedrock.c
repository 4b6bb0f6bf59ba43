/* bedrock.c - Bedrock Runtime wire format and retry rules (see bedrock.h). */
#include "bedrock.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

q_bedrock_family q_bedrock_family_of(const char *model_id)
{
    return model_id && strstr(model_id, "amazon.nova-") ? Q_BEDROCK_NOVA : Q_BEDROCK_CLAUDE;
}

/* ",\"temperature\":T" as jansson prints a real: 17 significant digits, ".0" when it reads
 * as an integer. Nothing when the value is not finite. */
static int add_temperature(q_buf *b, double temperature)
{
    char num[40];
    int n;

    if (!isfinite(temperature))
        return Q_BUF_OK;
    n = snprintf(num, sizeof(num), "%.17g", temperature);
    if (n < 0 || (size_t)n >= sizeof(num) - 2)
        return Q_BUF_NOMEM;
    if (!strpbrk(num, ".eE"))
        memcpy(num + n, ".0", 3);
    return q_buf_printf(b, ",\"temperature\":%s", num);
}

/* Built with q_buf rather than jansson: one body per job, and building a json_t tree
 * just to print it cost more than the rest of the job's own code (issue 4). Same
 * members, order and escaping as json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER). */
char *q_bedrock_claude_body(const char *system_prompt, const char *question, int max_tokens,
                            int has_temperature, double temperature)
{
    q_buf b;

    if (!question || max_tokens < 1)
        return NULL;
    q_buf_init(&b, (size_t)1 << 30);
    if (q_buf_printf(&b, "{\"anthropic_version\":\"%s\",\"max_tokens\":%d,"
                         "\"messages\":[{\"role\":\"user\",\"content\":",
                     Q_ANTHROPIC_VERSION, max_tokens) != Q_BUF_OK ||
        q_buf_add_json_string(&b, question, strlen(question), 0) != Q_BUF_OK ||
        q_buf_adds(&b, "}]") != Q_BUF_OK)
        goto fail;
    if (system_prompt && *system_prompt &&
        (q_buf_adds(&b, ",\"system\":") != Q_BUF_OK ||
         q_buf_add_json_string(&b, system_prompt, strlen(system_prompt), 0) != Q_BUF_OK))
        goto fail;
    if (has_temperature && add_temperature(&b, temperature) != Q_BUF_OK)
        goto fail;
    if (q_buf_addc(&b, '}') != Q_BUF_OK)
        goto fail;
    return q_buf_take(&b);
fail:
    q_buf_free(&b);
    return NULL;
}

char *q_bedrock_nova_body(const char *system_prompt, const char *question, int max_tokens,
                          int has_temperature, double temperature)
{
    q_buf b;

    if (!question || max_tokens < 1)
        return NULL;
    q_buf_init(&b, (size_t)1 << 30);
    if (q_buf_adds(&b, "{\"schemaVersion\":\"messages-v1\"") != Q_BUF_OK)
        goto fail;
    if (system_prompt && *system_prompt &&
        (q_buf_adds(&b, ",\"system\":[{\"text\":") != Q_BUF_OK ||
         q_buf_add_json_string(&b, system_prompt, strlen(system_prompt), 0) != Q_BUF_OK ||
         q_buf_adds(&b, "}]") != Q_BUF_OK))
        goto fail;
    if (q_buf_adds(&b, ",\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":") != Q_BUF_OK ||
        q_buf_add_json_string(&b, question, strlen(question), 0) != Q_BUF_OK ||
        q_buf_printf(&b, "}]}],\"inferenceConfig\":{\"max_new_tokens\":%d", max_tokens) !=
            Q_BUF_OK)
        goto fail;
    if (has_temperature && add_temperature(&b, temperature) != Q_BUF_OK)
        goto fail;
    if (q_buf_adds(&b, "}}") != Q_BUF_OK)
        goto fail;
    return q_buf_take(&b);
fail:
    q_buf_free(&b);
    return NULL;
}

char *q_bedrock_request_body(q_bedrock_family family, const char *system_prompt,
                             const char *question, int max_tokens, int has_temperature,
                             double temperature)
{
    return family == Q_BEDROCK_NOVA
               ? q_bedrock_nova_body(system_prompt, question, max_tokens, has_temperature,
                                     temperature)
               : q_bedrock_claude_body(system_prompt, question, max_tokens, has_temperature,
                                       temperature);
}

int q_bedrock_add_invoke_path(q_buf *b, const char *model_id)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = q_buf_adds(b, "/model/");

    for (const unsigned char *p = (const unsigned char *)model_id; *p && rc == Q_BUF_OK; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            rc = q_buf_addc(b, (char)*p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = q_buf_add(b, esc, 3);
        }
    }
    return rc == Q_BUF_OK ? q_buf_adds(b, "/invoke") : rc;
}

char *q_bedrock_invoke_path(const char *model_id)
{
    q_buf b;

    q_buf_init(&b, 8192);
    if (q_bedrock_add_invoke_path(&b, model_id) != Q_BUF_OK) {
        q_buf_free(&b);
        return NULL;
    }
    return q_buf_take(&b);
}

void q_bedrock_answer_free(q_bedrock_answer *a)
{
    if (!a)
        return;
    free(a->id);
    free(a->text);
    free(a->stop_reason);
    memset(a, 0, sizeof(*a));
}

static void set_err(char *err, size_t err_size, const char *msg)
{
    if (err && err_size)
        snprintf(err, err_size, "%s", msg);
}

static long long usage_field(const json_t *usage, const char *name)
{
    const json_t *v = json_object_get(usage, name);

    return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

/* The text blocks of `content` joined into one string (non-text blocks skipped). */
static char *join_text_blocks(const json_t *content, char *err, size_t err_size)
{
    q_buf text;
    const json_t *block;
    size_t i;

    q_buf_init(&text, 4 * 1024 * 1024);
    json_array_foreach(content, i, block) {
        const json_t *t = json_object_get(block, "text");

        if (json_is_string(t) &&
            q_buf_add(&text, json_string_value(t), json_string_length(t)) != Q_BUF_OK) {
            set_err(err, err_size, "answer text too large");
            q_buf_free(&text);
            return NULL;
        }
    }
    return q_buf_take(&text);
}

/* Where each family keeps the parts of an answer. */
typedef struct {
    const char *content_path[3];  /* members leading to the array of text blocks */
    const char *missing;          /* the error when that array or usage is missing */
    const char *input, *output, *cache_read, *cache_write; /* members of "usage" */
    const char *stop_reason;
    const char *id;               /* NULL: the family's answers carry none ("") */
} answer_format;

static const answer_format claude_answer = {
    {"content", NULL, NULL}, "answer lacks content or usage", "input_tokens", "output_tokens",
    "cache_read_input_tokens", "cache_creation_input_tokens", "stop_reason", "id"};
static const answer_format nova_answer = {
    {"output", "message", "content"}, "answer lacks output.message.content or usage",
    "inputTokens", "outputTokens", "cacheReadInputTokenCount", "cacheWriteInputTokenCount",
    "stopReason", NULL};

static int parse_answer(const answer_format *f, const char *body, size_t len,
                        q_bedrock_answer *out, char *err, size_t err_size)
{
    json_error_t jerr;
    json_t *root, *content, *usage, *v;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    root = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(root)) {
        set_err(err, err_size, "answer is not a JSON object");
        goto out;
    }
    content = root;
    for (size_t i = 0; i < 3 && f->content_path[i]; i++)
        content = json_object_get(content, f->content_path[i]);
    usage = json_object_get(root, "usage");
    if (!json_is_array(content) || !json_is_object(usage)) {
        set_err(err, err_size, f->missing);
        goto out;
    }
    out->input_tokens = usage_field(usage, f->input);
    out->output_tokens = usage_field(usage, f->output);
    if (out->input_tokens < 0 || out->output_tokens < 0) {
        set_err(err, err_size, "answer usage lacks token counts");
        goto out;
    }
    out->cache_read_tokens = usage_field(usage, f->cache_read);
    out->cache_write_tokens = usage_field(usage, f->cache_write);
    if (out->cache_read_tokens < 0)
        out->cache_read_tokens = 0;
    if (out->cache_write_tokens < 0)
        out->cache_write_tokens = 0;
    if (!(out->text = join_text_blocks(content, err, err_size)))
        goto out;
    v = json_object_get(root, f->stop_reason);
    out->stop_reason = strdup(json_is_string(v) ? json_string_value(v) : "unknown");
    v = f->id ? json_object_get(root, f->id) : NULL;
    out->id = strdup(json_is_string(v) ? json_string_value(v) : "");
    if (!out->stop_reason || !out->id)
        goto out;
    rc = 0;
out:
    if (rc)
        q_bedrock_answer_free(out);
    json_decref(root);
    return rc;
}

int q_bedrock_parse_claude_answer(const char *body, size_t len, q_bedrock_answer *out,
                                  char *err, size_t err_size)
{
    return parse_answer(&claude_answer, body, len, out, err, err_size);
}

int q_bedrock_parse_nova_answer(const char *body, size_t len, q_bedrock_answer *out,
                                char *err, size_t err_size)
{
    return parse_answer(&nova_answer, body, len, out, err, err_size);
}

int q_bedrock_parse_answer(q_bedrock_family family, const char *body, size_t len,
                           q_bedrock_answer *out, char *err, size_t err_size)
{
    return family == Q_BEDROCK_NOVA ? q_bedrock_parse_nova_answer(body, len, out, err, err_size)
                                    : q_bedrock_parse_claude_answer(body, len, out, err,
                                                                    err_size);
}

static const char *const throttling_codes[] = {
    /* botocore's retryhandler / standard mode throttling error codes */
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException", NULL};

static const char *const transient_codes[] = {
    "RequestTimeout", "RequestTimeoutException", "ModelNotReadyException",
    "InternalServerException", "ServiceUnavailableException", "InternalFailure",
    "ServiceUnavailable", NULL};

static int in_list(const char *code, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(code, *list) == 0)
            return 1;
    return 0;
}

void q_bedrock_classify(int http_status, const char *error_type_header, const char *body,
                        size_t body_len, q_bedrock_error *out)
{
    json_t *root = NULL;
    const char *msg = NULL;

    memset(out, 0, sizeof(*out));
    out->http_status = http_status;
    if (body && body_len)
        root = json_loadb(body, body_len, 0, NULL);
    if (error_type_header && *error_type_header) {
        size_t n = strcspn(error_type_header, ":");
        if (n >= sizeof(out->code))
            n = sizeof(out->code) - 1;
        memcpy(out->code, error_type_header, n);
        out->code[n] = '\0';
    } else if (json_is_object(root)) {
        const json_t *t = json_object_get(root, "__type");
        if (!json_is_string(t))
            t = json_object_get(root, "code");
        if (json_is_string(t)) {
            const char *s = json_string_value(t), *hash = strrchr(s, '#');
            snprintf(out->code, sizeof(out->code), "%s", hash ? hash + 1 : s);
        }
    }
    if (!out->code[0])
        snprintf(out->code, sizeof(out->code), "HTTP%d", http_status);
    if (json_is_object(root)) {
        const json_t *m = json_object_get(root, "message");
        if (!json_is_string(m))
            m = json_object_get(root, "Message");
        if (json_is_string(m))
            msg = json_string_value(m);
    }
    snprintf(out->message, sizeof(out->message), "%s", msg ? msg : "no message in the response");
    json_decref(root);

    if (in_list(out->code, throttling_codes) || http_status == 429)
        out->retry = in_list(out->code, transient_codes) ? Q_RETRY_TRANSIENT : Q_RETRY_THROTTLED;
    else if (strcmp(out->code, "ModelTimeoutException") == 0 ||
             strcmp(out->code, "ModelErrorException") == 0)
        out->retry = Q_RETRY_BOUNDED;
    else if (in_list(out->code, transient_codes) || http_status >= 500)
        out->retry = Q_RETRY_TRANSIENT;
    else
        out->retry = Q_RETRY_NEVER;
}

long q_backoff_full_jitter_ms(int retry, long base_ms, long cap_ms, double random01)
{
    long ceiling = base_ms;

    for (int i = 0; i < retry && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    if (random01 < 0)
        random01 = 0;
    if (random01 >= 1)
        random01 = 0.999999;
    return (long)(random01 * (double)(ceiling + 1));
}

long q_parse_retry_after_ms(const char *retry_after, const char *amz_retry_after_ms)
{
    char *end;
    long v;

    if (amz_retry_after_ms && *amz_retry_after_ms) {
        v = strtol(amz_retry_after_ms, &end, 10);
        if (*end == '\0' && v >= 0)
            return v;
    }
    if (retry_after && *retry_after) {
        v = strtol(retry_after, &end, 10);
        if (*end == '\0' && v >= 0 && v < 86400)
            return v * 1000;
    }
    return -1;
}
