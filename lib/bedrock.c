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

/* A fast path for reading an answer: one pass over the text, no tree, taking only the
 * members the answer needs. It accepts a conservative subset of JSON (ASCII text, the
 * two-character escapes, integers of up to 18 digits, nesting up to 64, no repeated
 * member among those it reads) and gives up on anything else - \u escapes, non-ASCII
 * bytes, fractions and exponents, errors of any kind - so that parse_answer then reads the
 * text with jansson as before: whatever it accepts, jansson reads the same way, and every
 * error message still comes from the jansson path. */
typedef struct {
    const char *p, *end;
    const answer_format *f;
    q_buf *text;            /* the text blocks, joined */
    q_buf scratch;          /* a decoded string */
    int have_content, have_usage, have_stop, have_id, content_found;
    long long usage[4];     /* input, output, cache read, cache write; -1 when absent */
    int usage_seen[4];
    char *stop_reason, *id;
} fast_parse;

enum { FAST_ANY, FAST_ROOT, FAST_CONTENT, FAST_BLOCK, FAST_USAGE, FAST_OUTPUT, FAST_MESSAGE };

static void fast_ws(fast_parse *fp)
{
    while (fp->p < fp->end &&
           (*fp->p == ' ' || *fp->p == '\t' || *fp->p == '\n' || *fp->p == '\r'))
        fp->p++;
}

/* A string at fp->p (past nothing yet) decoded into fp->scratch; -1 to give up. */
static int fast_string(fast_parse *fp)
{
    q_buf_reset(&fp->scratch);
    if (fp->p >= fp->end || *fp->p != '"')
        return -1;
    fp->p++;
    for (;;) {
        const char *run = fp->p;

        while (fp->p < fp->end && (unsigned char)*fp->p >= 0x20 &&
               (unsigned char)*fp->p < 0x80 && *fp->p != '"' && *fp->p != '\\')
            fp->p++;
        if (fp->p > run && q_buf_add(&fp->scratch, run, (size_t)(fp->p - run)) != Q_BUF_OK)
            return -1;
        if (fp->p >= fp->end)
            return -1;
        if (*fp->p == '"') {
            fp->p++;
            return 0;
        }
        if (*fp->p != '\\' || fp->p + 1 >= fp->end)
            return -1; /* a control character or a non-ASCII byte */
        {
            char c;

            switch (fp->p[1]) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            default: return -1; /* \u (or an invalid escape) */
            }
            if (q_buf_addc(&fp->scratch, c) != Q_BUF_OK)
                return -1;
            fp->p += 2;
        }
    }
}

/* An integer: -?(0|[1-9][0-9]{0,17}) not followed by a fraction or exponent. */
static int fast_number(fast_parse *fp, long long *out)
{
    int neg = 0, digits = 0;
    long long v = 0;

    if (fp->p < fp->end && *fp->p == '-')
        neg = 1, fp->p++;
    if (fp->p >= fp->end || *fp->p < '0' || *fp->p > '9')
        return -1;
    if (*fp->p == '0') {
        fp->p++;
    } else {
        while (fp->p < fp->end && *fp->p >= '0' && *fp->p <= '9') {
            if (++digits > 18)
                return -1;
            v = v * 10 + (*fp->p++ - '0');
        }
    }
    if (fp->p < fp->end && (*fp->p == '.' || *fp->p == 'e' || *fp->p == 'E' ||
                            (*fp->p >= '0' && *fp->p <= '9')))
        return -1;
    *out = neg ? -v : v;
    return 0;
}

static int fast_literal(fast_parse *fp, const char *word, size_t n)
{
    if ((size_t)(fp->end - fp->p) < n || memcmp(fp->p, word, n) != 0)
        return -1;
    fp->p += n;
    return 0;
}

static int fast_value(fast_parse *fp, int role, int depth);

/* Which role a member of an object in `role` plays, by its (decoded) name in scratch;
 * FAST_ANY for members not read. *slot gets the usage index for usage members. */
static int fast_member_role(fast_parse *fp, int role, int *slot)
{
    const char *k = q_buf_cstr(&fp->scratch);
    const answer_format *f = fp->f;

    *slot = -1;
    if (strlen(k) != fp->scratch.len)
        return -1; /* cannot happen without \u, but never compare past a NUL */
    switch (role) {
    case FAST_ROOT:
        if (strcmp(k, "usage") == 0)
            return FAST_USAGE;
        if (strcmp(k, f->content_path[0]) == 0)
            return f->content_path[1] ? FAST_OUTPUT : FAST_CONTENT;
        if (strcmp(k, f->stop_reason) == 0) {
            *slot = 0;
            return FAST_ANY;
        }
        if (f->id && strcmp(k, f->id) == 0) {
            *slot = 1;
            return FAST_ANY;
        }
        return FAST_ANY;
    case FAST_OUTPUT:
        return strcmp(k, f->content_path[1]) == 0 ? FAST_MESSAGE : FAST_ANY;
    case FAST_MESSAGE:
        return strcmp(k, f->content_path[2]) == 0 ? FAST_CONTENT : FAST_ANY;
    case FAST_BLOCK:
        if (strcmp(k, "text") == 0)
            *slot = 0;
        return FAST_ANY;
    case FAST_USAGE: {
        const char *names[4] = {f->input, f->output, f->cache_read, f->cache_write};

        for (int i = 0; i < 4; i++)
            if (strcmp(k, names[i]) == 0)
                *slot = i;
        return FAST_ANY;
    }
    default:
        return FAST_ANY;
    }
}

static int fast_object(fast_parse *fp, int role, int depth)
{
    int block_text_seen = 0, seen_output_child = 0;

    fp->p++; /* '{' */
    fast_ws(fp);
    if (fp->p < fp->end && *fp->p == '}') {
        fp->p++;
        return 0;
    }
    for (;;) {
        int child, slot;

        fast_ws(fp);
        if (fast_string(fp) != 0)
            return -1;
        child = fast_member_role(fp, role, &slot);
        if (child < 0)
            return -1;
        fast_ws(fp);
        if (fp->p >= fp->end || *fp->p != ':')
            return -1;
        fp->p++;
        fast_ws(fp);
        if (role == FAST_ROOT && child == FAST_USAGE) {
            if (fp->have_usage++)
                return -1; /* repeated: jansson keeps the last, give up */
            if (fp->p >= fp->end || *fp->p != '{')
                return -1;
        } else if (role == FAST_ROOT && (child == FAST_CONTENT || child == FAST_OUTPUT)) {
            if (fp->have_content++)
                return -1;
            if (fp->p >= fp->end || *fp->p != (child == FAST_CONTENT ? '[' : '{'))
                return -1;
        } else if ((role == FAST_OUTPUT || role == FAST_MESSAGE) && child != FAST_ANY) {
            if (seen_output_child++)
                return -1;
            if (fp->p >= fp->end || *fp->p != (child == FAST_CONTENT ? '[' : '{'))
                return -1;
        }
        if (role == FAST_ROOT && slot >= 0) {
            /* stop reason or id: a string is kept, anything else means the default */
            if ((slot == 0 ? fp->have_stop++ : fp->have_id++) != 0)
                return -1;
            if (fp->p < fp->end && *fp->p == '"') {
                char *s;

                if (fast_string(fp) != 0 || !(s = strdup(q_buf_cstr(&fp->scratch))))
                    return -1;
                if (strlen(s) != fp->scratch.len) {
                    free(s);
                    return -1;
                }
                if (slot == 0)
                    fp->stop_reason = s;
                else
                    fp->id = s;
            } else if (fast_value(fp, FAST_ANY, depth + 1) != 0) {
                return -1;
            }
        } else if (role == FAST_BLOCK && slot == 0) {
            if (block_text_seen++)
                return -1;
            if (fp->p < fp->end && *fp->p == '"') {
                if (fast_string(fp) != 0 ||
                    q_buf_add(fp->text, q_buf_cstr(&fp->scratch), fp->scratch.len) != Q_BUF_OK)
                    return -1;
            } else if (fast_value(fp, FAST_ANY, depth + 1) != 0) {
                return -1;
            }
        } else if (role == FAST_USAGE && slot >= 0) {
            if (fp->usage_seen[slot]++)
                return -1;
            if (fp->p < fp->end && (*fp->p == '-' || (*fp->p >= '0' && *fp->p <= '9'))) {
                long long v;

                if (fast_number(fp, &v) != 0)
                    return -1;
                fp->usage[slot] = v >= 0 ? v : -1;
            } else if (fast_value(fp, FAST_ANY, depth + 1) != 0) {
                return -1;
            }
        } else if (fast_value(fp, child, depth + 1) != 0) {
            return -1;
        }
        fast_ws(fp);
        if (fp->p >= fp->end)
            return -1;
        if (*fp->p == '}') {
            fp->p++;
            return 0;
        }
        if (*fp->p != ',')
            return -1;
        fp->p++;
    }
}

static int fast_array(fast_parse *fp, int role, int depth)
{
    if (role == FAST_CONTENT)
        fp->content_found++;
    fp->p++; /* '[' */
    fast_ws(fp);
    if (fp->p < fp->end && *fp->p == ']') {
        fp->p++;
        return 0;
    }
    for (;;) {
        fast_ws(fp);
        /* the elements of the content array are blocks; a block that is not an object
         * has no text (json_object_get on it gives NULL) */
        if (fast_value(fp, role == FAST_CONTENT ? FAST_BLOCK : FAST_ANY, depth + 1) != 0)
            return -1;
        fast_ws(fp);
        if (fp->p >= fp->end)
            return -1;
        if (*fp->p == ']') {
            fp->p++;
            return 0;
        }
        if (*fp->p != ',')
            return -1;
        fp->p++;
    }
}

static int fast_value(fast_parse *fp, int role, int depth)
{
    long long ignored;

    if (depth > 64 || fp->p >= fp->end)
        return -1;
    switch (*fp->p) {
    case '{':
        return fast_object(fp, role, depth);
    case '[':
        return fast_array(fp, role, depth);
    case '"':
        return fast_string(fp);
    case 't':
        return fast_literal(fp, "true", 4);
    case 'f':
        return fast_literal(fp, "false", 5);
    case 'n':
        return fast_literal(fp, "null", 4);
    default:
        return fast_number(fp, &ignored);
    }
}

/* 0 with *out filled when the fast path could read the answer; -1 to read it with
 * jansson instead (out is then left empty). */
static int parse_answer_fast(const answer_format *f, const char *body, size_t len,
                             q_bedrock_answer *out)
{
    fast_parse fp = {.p = body, .end = body + len, .f = f};
    q_buf text;
    int rc = -1;

    q_buf_init(&text, 4 * 1024 * 1024);
    q_buf_init(&fp.scratch, 4 * 1024 * 1024);
    fp.text = &text;
    for (int i = 0; i < 4; i++)
        fp.usage[i] = -1;
    fast_ws(&fp);
    if (fp.p >= fp.end || *fp.p != '{' || fast_object(&fp, FAST_ROOT, 1) != 0)
        goto out;
    fast_ws(&fp);
    if (fp.p != fp.end || !fp.have_content || !fp.have_usage || fp.usage[0] < 0 ||
        fp.usage[1] < 0)
        goto out;
    if (fp.content_found != 1)
        goto out;
    memset(out, 0, sizeof(*out));
    out->input_tokens = fp.usage[0];
    out->output_tokens = fp.usage[1];
    out->cache_read_tokens = fp.usage[2] < 0 ? 0 : fp.usage[2];
    out->cache_write_tokens = fp.usage[3] < 0 ? 0 : fp.usage[3];
    out->text = q_buf_take(&text);
    out->stop_reason = fp.stop_reason ? fp.stop_reason : strdup("unknown");
    out->id = fp.id ? fp.id : strdup("");
    fp.stop_reason = fp.id = NULL;
    if (!out->text || !out->stop_reason || !out->id) {
        q_bedrock_answer_free(out);
        goto out;
    }
    rc = 0;
out:
    free(fp.stop_reason);
    free(fp.id);
    q_buf_free(&text);
    q_buf_free(&fp.scratch);
    return rc;
}

static int parse_answer_jansson(const answer_format *f, const char *body, size_t len,
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

static int parse_answer(const answer_format *f, const char *body, size_t len,
                        q_bedrock_answer *out, char *err, size_t err_size)
{
    if (parse_answer_fast(f, body, len, out) == 0)
        return 0;
    return parse_answer_jansson(f, body, len, out, err, err_size);
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
