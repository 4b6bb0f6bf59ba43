/* bedrock.h - Bedrock Runtime wire format: request bodies, responses, error
 * classification and the retry schedule. No I/O here: the consumer's bedrock_client
 * does the HTTP; this module is pure so every rule can be unit-tested. */
#ifndef QUARRY_BEDROCK_H
#define QUARRY_BEDROCK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define Q_ANTHROPIC_VERSION "bedrock-2023-05-31"

/* The InvokeModel body and answer formats Quarry speaks. A model id (a foundation model, a
 * cross-region inference profile such as "us.amazon.nova-lite-v1:0", or an ARN of either)
 * names its family: Amazon Nova ids contain "amazon.nova-"; everything else is sent the
 * Anthropic Claude Messages format. */
typedef enum { Q_BEDROCK_CLAUDE = 0, Q_BEDROCK_NOVA = 1 } q_bedrock_family;

q_bedrock_family q_bedrock_family_of(const char *model_id);

/* The request body for `family` (q_bedrock_claude_body or q_bedrock_nova_body). */
char *q_bedrock_request_body(q_bedrock_family family, const char *system_prompt,
                             const char *question, int max_tokens, int has_temperature,
                             double temperature);

/* Builds the InvokeModel body for an Amazon Nova model (schemaVersion "messages-v1"):
 * system (omitted when NULL/""), one user message, inferenceConfig with max_new_tokens
 * and temperature (when has_temperature and finite). Returns a malloc'd compact JSON
 * string, or NULL on bad input or when out of memory, as q_bedrock_claude_body. */
char *q_bedrock_nova_body(const char *system_prompt, const char *question, int max_tokens,
                          int has_temperature, double temperature);

/* Builds the InvokeModel body for an Anthropic Claude model: anthropic_version,
 * max_tokens, system (omitted when NULL/""), one user message, temperature (when
 * has_temperature; left out, as jansson would, when not finite). Returns a malloc'd
 * compact JSON string, or NULL on bad input (no question, max_tokens < 1, text that is
 * not UTF-8) or when out of memory. */
char *q_bedrock_claude_body(const char *system_prompt, const char *question, int max_tokens,
                            int has_temperature, double temperature);

/* The InvokeModel wire path for a model id, percent-encoded as the AWS SDKs send it:
 * every byte but unreserved characters is escaped, so ':' -> %3A and '/' (in ARNs)
 * -> %2F. Returns a malloc'd "/model/<id>/invoke", or NULL when out of memory. */
char *q_bedrock_invoke_path(const char *model_id);

/* The same path appended to a q_buf (see buf.h). Returns Q_BUF_OK or a Q_BUF_ error;
 * on error the buffer may hold part of the path. */
int q_bedrock_add_invoke_path(q_buf *b, const char *model_id);

typedef struct {
    char *id;              /* "msg_bdrk_..." */
    char *text;            /* concatenated text blocks */
    char *stop_reason;
    long long input_tokens;
    long long output_tokens;
    long long cache_read_tokens;
    long long cache_write_tokens;
} q_bedrock_answer;

/* Parses a 200 InvokeModel body of a Claude model. Returns 0, or -1 when the body is
 * not JSON or lacks content/usage (a malformed answer); err (may be NULL) then gets a
 * short reason. The answer owns its strings: q_bedrock_answer_free (accepts zeroed). */
int q_bedrock_parse_claude_answer(const char *body, size_t len, q_bedrock_answer *out,
                                  char *err, size_t err_size);

/* Parses a 200 InvokeModel body of an Amazon Nova model: output.message.content[].text,
 * stopReason, usage.inputTokens/outputTokens/cacheReadInputTokenCount/
 * cacheWriteInputTokenCount. The answer's id is "" (Nova bodies carry none; the
 * x-amzn-RequestId header identifies the call). Returns and owns as the Claude parser. */
int q_bedrock_parse_nova_answer(const char *body, size_t len, q_bedrock_answer *out,
                                char *err, size_t err_size);

/* The parser for `family`. */
int q_bedrock_parse_answer(q_bedrock_family family, const char *body, size_t len,
                           q_bedrock_answer *out, char *err, size_t err_size);
void q_bedrock_answer_free(q_bedrock_answer *a);

typedef enum {
    Q_RETRY_NEVER = 0,     /* the request itself is wrong: 400/403/404, bad answers */
    Q_RETRY_THROTTLED,     /* throttling: retry and slow down */
    Q_RETRY_TRANSIENT,     /* 5xx, ModelNotReady, connection errors, client timeouts */
    Q_RETRY_BOUNDED        /* ModelTimeoutException / ModelErrorException: a few times */
} q_retry_class;

typedef struct {
    char code[64];         /* "ThrottlingException", or a Quarry code for transport errors */
    char message[256];
    int http_status;       /* 0 for transport errors */
    q_retry_class retry;
} q_bedrock_error;

/* Classifies a non-2xx response the way botocore does: the code is the part of the
 * x-amzn-ErrorType header before ':' (falling back to the body's "__type"/"code", then
 * to the status), the message comes from the body's "message"/"Message". */
void q_bedrock_classify(int http_status, const char *error_type_header, const char *body,
                        size_t body_len, q_bedrock_error *out);

/* Exponential backoff with full jitter: a uniform delay in [0, min(cap, base * 2^n)]
 * for retry number n (0 for the first retry). `random01` is a uniform draw in [0, 1). */
long q_backoff_full_jitter_ms(int retry, long base_ms, long cap_ms, double random01);

/* Parses Retry-After / x-amz-retry-after: delta seconds ("3") for Retry-After,
 * milliseconds for x-amz-retry-after. Returns milliseconds, or -1 when absent/invalid. */
long q_parse_retry_after_ms(const char *retry_after, const char *amz_retry_after_ms);

#endif
