/* invoke.c - InvokeModel and Converse from authentication to accounting (see invoke.h). */
#include "invoke.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "catalogue.h"
#include "claude.h"
#include "converse.h"
#include "nova.h"

#define MESSAGE_ID_PREFIX "msg_bdrk_"
#define MESSAGE_ID_RANDOM 24
/* What a "non_json" malformed reply carries: a proxy's page where JSON should be. */
#define NON_JSON_BODY "<html><body><h1>200 OK</h1><p>upstream response</p></body></html>\n"

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

static int parse_body(emu_operation op, const emu_model *m, const emu_wire_request *req,
                      emu_prompt *p, emu_error *err)
{
    if (op == EMU_OP_CONVERSE)
        return emu_converse_parse(req->body, req->body_len, m, p, err);
    if (m->format == EMU_FORMAT_NOVA)
        return emu_nova_parse(req->body, req->body_len, m, p, err);
    return emu_claude_parse(req->body, req->body_len, m, p, err);
}

static json_t *response_body(emu_operation op, const emu_model *m, const emu_prompt *p,
                             const emu_answer *a, const char *message_id, unsigned latency_ms)
{
    if (op == EMU_OP_CONVERSE)
        return emu_converse_response(m, p, a, latency_ms);
    if (m->format == EMU_FORMAT_NOVA)
        return emu_nova_response(a, p->input_tokens);
    return emu_claude_response(m, message_id, a, p->input_tokens);
}

/* An injected error reply; ModelErrorException carries the model's own status and ARN. */
static int fault_reply(emu_reply *out, emu_fault f, const emu_model *m, const char *region)
{
    const emu_fault_error *fe = emu_fault_error_of(f);
    emu_error e = {fe->status, fe->code, (char *)fe->message};
    char arn[EMU_MODEL_ID_MAX + 96];

    if (f != EMU_FAULT_MODEL_ERROR)
        return emu_reply_error(out, &e);
    snprintf(arn, sizeof(arn), "arn:aws:bedrock:%s::foundation-model/%s", region, m->id);
    if (emu_reply_json(out, fe->status,
                       json_pack("{s:s,s:i,s:s}", "message", fe->message, "originalStatusCode",
                                 500, "resourceName", arn)) != 0)
        return -1;
    out->error_code = fe->code;
    return 0;
}

/* Turns a finished success body into a malformed one. */
static void malform(emu_reply *out, emu_malformed_kind kind, emu_rng *rng)
{
    if (kind == EMU_MALFORMED_MIXED)
        kind = emu_rng_unit(rng) < 0.5 ? EMU_MALFORMED_TRUNCATED : EMU_MALFORMED_NON_JSON;
    if (kind == EMU_MALFORMED_TRUNCATED) {
        out->body_len /= 2;
        out->body[out->body_len] = '\0';
    } else {
        char *text = strdup(NON_JSON_BODY);

        if (text) {
            free(out->body);
            out->body = text;
            out->body_len = strlen(text);
        }
    }
}

void emu_invoke(const emu_invoke_env *env, emu_operation op, const emu_wire_request *req,
                const char *model_id_raw, emu_reply *out)
{
    char model_id[EMU_MODEL_ID_MAX + 1];
    char message_id[sizeof(MESSAGE_ID_PREFIX) + MESSAGE_ID_RANDOM];
    emu_ledger_entry entry = {EMU_OUTCOME_OTHER_ERROR, op, -1, NULL, EMU_THROTTLE_RATE, NULL};
    emu_prompt prompt = {0};
    emu_answer answer = {0};
    emu_record rec = {0};
    emu_error err = {0};
    emu_plan_view view;
    emu_fault fault;
    emu_quota_verdict verdict;
    const emu_model *m = NULL;
    unsigned delay_ms, charge;

    if (emu_auth_verify(env->auth, req, env->now, &err) != 0) {
        if (err.status == 403)
            entry.outcome = EMU_OUTCOME_AUTH_ERROR;
        goto fail;
    }
    entry.outcome = EMU_OUTCOME_VALIDATION_ERROR;
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
    entry.model = (int)emu_catalogue_index(m);
    if (parse_body(op, m, req, &prompt, &err) != 0) {
        if (err.status != 400)
            entry.outcome = EMU_OUTCOME_OTHER_ERROR;
        goto fail;
    }

    emu_plan_store_view(env->plan, m, &view);
    fault = emu_plan_draw(&view, env->fault_rng);
    entry.outcome = EMU_OUTCOME_OTHER_ERROR;
    if (fault >= EMU_FAULT_ERROR_COUNT &&
        emu_answer_generate(m->id, prompt.question, prompt.question_len, prompt.max_tokens,
                            prompt.stops, prompt.n_stops, &answer) != 0)
        goto nomem;
    /* Bedrock admits a call if input + max_tokens fit in the minute, then charges what
     * was used; failed calls use nothing. */
    charge = fault == EMU_FAULT_NONE || fault == EMU_FAULT_STALL || fault == EMU_FAULT_MALFORMED
                 ? prompt.input_tokens + answer.output_tokens
                 : 0;
    verdict = emu_quota_admit(env->quota, (size_t)entry.model, view.quota,
                              prompt.input_tokens + prompt.max_tokens, charge, emu_monotonic_ns());
    if (verdict != EMU_QUOTA_OK) {
        entry.outcome = EMU_OUTCOME_THROTTLED;
        entry.cause = verdict == EMU_QUOTA_RPM ? EMU_THROTTLE_RPM : EMU_THROTTLE_TPM;
        emu_error_set(&err, 429, "ThrottlingException",
                      verdict == EMU_QUOTA_RPM
                          ? "Too many requests, please wait before trying again."
                          : "Too many tokens, please wait before trying again.");
        goto fail;
    }
    if (fault < EMU_FAULT_ERROR_COUNT) {
        entry.outcome = fault == EMU_FAULT_THROTTLING ? EMU_OUTCOME_THROTTLED
                                                      : EMU_OUTCOME_INJECTED_ERROR;
        entry.error_code = emu_fault_error_of(fault)->code;
        if (fault_reply(out, fault, m, env->auth->region) != 0)
            goto nomem;
        goto done;
    }

    delay_ms = fault == EMU_FAULT_STALL
                   ? view.stall_ms
                   : emu_latency_draw(&view.latency, env->fault_rng, answer.output_tokens);
    out->latency_ms = delay_ms + (unsigned)((emu_monotonic_ns() - env->started_ns) / 1000000ULL);
    out->delay_ms = delay_ms;
    if (fault == EMU_FAULT_RESET) {
        entry.outcome = EMU_OUTCOME_RESET;
        out->action = EMU_REPLY_RESET;
        goto done;
    }
    memcpy(message_id, MESSAGE_ID_PREFIX, sizeof(MESSAGE_ID_PREFIX) - 1);
    emu_rng_base62(env->id_rng, message_id + sizeof(MESSAGE_ID_PREFIX) - 1, MESSAGE_ID_RANDOM);
    if (emu_reply_json(out, 200,
                       response_body(op, m, &prompt, &answer, message_id, out->latency_ms)) != 0)
        goto nomem;
    out->error_code = NULL;
    out->has_usage = op == EMU_OP_INVOKE; /* Converse reports usage in the body only */
    out->input_tokens = prompt.input_tokens;
    out->output_tokens = answer.output_tokens;
    if (fault == EMU_FAULT_STALL) {
        entry.outcome = EMU_OUTCOME_STALLED;
    } else if (fault == EMU_FAULT_MALFORMED) {
        entry.outcome = EMU_OUTCOME_MALFORMED;
        malform(out, view.malformed_kind, env->fault_rng);
    } else {
        entry.outcome = EMU_OUTCOME_SUCCEEDED;
        memcpy(rec.request_id, out->request_id, sizeof(rec.request_id));
        memcpy(rec.model_id, model_id, strlen(model_id) + 1);
        rec.input_tokens = out->input_tokens;
        rec.output_tokens = out->output_tokens;
        rec.latency_ms = out->latency_ms;
        rec.stop_reason = answer.stop_reason;
        entry.rec = &rec;
    }
    goto done;

nomem:
    entry.outcome = EMU_OUTCOME_OTHER_ERROR;
    entry.error_code = NULL;
    emu_error_set(&err, 500, "InternalServerException", "The emulator ran out of memory.");
fail:
    if (!entry.error_code)
        entry.error_code = err.code;
    emu_reply_error(out, &err);
done:
    emu_ledger_add(env->ledger, &entry);
    emu_answer_free(&answer);
    emu_prompt_free(&prompt);
    emu_error_clear(&err);
}
