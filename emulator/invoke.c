/* invoke.c - the InvokeModel operation from authentication to accounting (see invoke.h). */
#include "invoke.h"

#include <string.h>
#include <time.h>

#include "answer.h"
#include "catalogue.h"
#include "claude.h"

#define MESSAGE_ID_PREFIX "msg_bdrk_"
#define MESSAGE_ID_RANDOM 24

uint64_t emu_monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes `in` into out[size]. Returns 0, or -1 on a bad escape, an encoded NUL
 * or when the result does not fit. */
static int percent_decode(const char *in, char *out, size_t size)
{
    size_t n = 0;
    int ok = 1;

    for (const char *p = in; *p && ok; p++) {
        int c = (unsigned char)*p;

        if (c == '%') {
            int hi = hex_value(p[1]), lo = hi < 0 ? -1 : hex_value(p[2]);

            c = hi * 16 + lo;
            ok = lo >= 0 && c != 0;
            p += ok ? 2 : 0;
        }
        ok = ok && n + 1 < size;
        if (ok)
            out[n++] = (char)c;
    }
    out[n] = '\0';
    return ok ? 0 : -1;
}

void emu_invoke(const emu_invoke_env *env, const emu_wire_request *req,
                const char *model_id_raw, emu_reply *out)
{
    char model_id[EMU_MODEL_ID_MAX + 1];
    char message_id[sizeof(MESSAGE_ID_PREFIX) + MESSAGE_ID_RANDOM];
    emu_outcome outcome = EMU_OUTCOME_OTHER_ERROR;
    emu_claude_request creq = {0};
    emu_answer answer = {0};
    emu_record rec = {0};
    emu_error err = {0};
    const emu_model *m = NULL;

    if (emu_auth_verify(env->auth, req, env->now, &err) != 0) {
        if (err.status == 403)
            outcome = EMU_OUTCOME_AUTH_ERROR;
        goto fail;
    }
    outcome = EMU_OUTCOME_VALIDATION_ERROR;
    if (!req->body) {
        emu_error_set(&err, 400, "ValidationException",
                      "The request body is larger than the %zu bytes the emulator accepts.",
                      EMU_MAX_BODY);
        goto fail;
    }
    if (percent_decode(model_id_raw, model_id, sizeof(model_id)) != 0 ||
        !(m = emu_catalogue_resolve(model_id, env->auth->region))) {
        emu_error_set(&err, 400, "ValidationException",
                      "The provided model identifier is invalid.");
        goto fail;
    }
    if (m->format != EMU_FORMAT_ANTHROPIC_MESSAGES) {
        emu_error_set(&err, 400, "ValidationException",
                      "The emulator does not support the request body of %s yet. Try again "
                      "with an Anthropic Claude model.",
                      m->id);
        goto fail;
    }
    if (emu_claude_parse(req->body, req->body_len, m, &creq, &err) != 0) {
        if (err.status != 400)
            outcome = EMU_OUTCOME_OTHER_ERROR;
        goto fail;
    }
    if (env->throttle_rate > 0 && emu_rng_unit(env->throttle_rng) < env->throttle_rate) {
        outcome = EMU_OUTCOME_THROTTLED;
        emu_error_set(&err, 429, "ThrottlingException",
                      "Too many requests, please wait before trying again.");
        goto fail;
    }

    outcome = EMU_OUTCOME_OTHER_ERROR;
    if (emu_answer_generate(m->id, creq.question, creq.question_len, creq.max_tokens,
                            creq.stops, creq.n_stops, &answer) != 0)
        goto nomem;
    memcpy(message_id, MESSAGE_ID_PREFIX, sizeof(MESSAGE_ID_PREFIX) - 1);
    emu_rng_base62(env->id_rng, message_id + sizeof(MESSAGE_ID_PREFIX) - 1, MESSAGE_ID_RANDOM);
    if (emu_reply_json(out, 200, emu_claude_response(m, message_id, &answer,
                                                     creq.input_tokens)) != 0)
        goto nomem;
    out->error_code = NULL;
    out->has_usage = 1;
    out->input_tokens = creq.input_tokens;
    out->output_tokens = answer.output_tokens;
    out->latency_ms = env->latency_ms +
                      (unsigned)((emu_monotonic_ns() - env->started_ns) / 1000000ULL);
    out->delay_ms = env->latency_ms;

    memcpy(rec.request_id, out->request_id, sizeof(rec.request_id));
    memcpy(rec.model_id, model_id, strlen(model_id) + 1);
    rec.input_tokens = out->input_tokens;
    rec.output_tokens = out->output_tokens;
    rec.latency_ms = out->latency_ms;
    rec.stop_reason = answer.stop_reason;
    emu_ledger_add(env->ledger, EMU_OUTCOME_SUCCEEDED, &rec);
    goto out;

nomem:
    emu_error_set(&err, 500, "InternalServerException", "The emulator ran out of memory.");
fail:
    emu_ledger_add(env->ledger, outcome, NULL);
    emu_reply_error(out, &err);
out:
    emu_answer_free(&answer);
    emu_claude_request_free(&creq);
    emu_error_clear(&err);
}
