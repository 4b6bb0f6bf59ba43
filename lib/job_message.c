/* job_message.c - the Kafka job message (see job_message.h). */
#include "job_message.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

/* Written out by hand (one per accepted submission): the same compact text json_dumps gives
 * for the object, keys in this order. */
char *q_job_message_encode(const q_job_message *m)
{
    q_buf b;

    q_buf_init(&b, 4096);
    if (q_buf_reserve(&b, 100 + strlen(m->id) + strlen(m->model)) != Q_BUF_OK ||
        q_buf_printf(&b, "{\"v\":%d,\"id\":", Q_JOB_MESSAGE_VERSION) != Q_BUF_OK ||
        q_buf_add_json_string(&b, m->id, strlen(m->id), 0) != Q_BUF_OK ||
        q_buf_printf(&b, ",\"api_key_id\":%lld,\"model\":", (long long)m->api_key_id) !=
            Q_BUF_OK ||
        q_buf_add_json_string(&b, m->model, strlen(m->model), 0) != Q_BUF_OK ||
        q_buf_printf(&b, ",\"created_at_ms\":%lld}", (long long)m->created_at_ms) != Q_BUF_OK) {
        q_buf_free(&b);
        return NULL;
    }
    return q_buf_take(&b);
}

int q_job_message_decode(const void *payload, size_t len, q_job_message *out, char *err,
                         size_t err_size)
{
    json_error_t jerr;
    json_t *o;
    int version = 0;
    const char *id = NULL, *model = NULL;
    json_int_t key_id = 0, created = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    o = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf(err, err_size, "not JSON: %s", jerr.text);
        return -1;
    }
    if (json_unpack_ex(o, &jerr, JSON_STRICT, "{s:i,s:s,s:I,s:s,s:I}", "v", &version, "id", &id,
                       "api_key_id", &key_id, "model", &model, "created_at_ms", &created)) {
        snprintf(err, err_size, "does not match the job message schema: %s", jerr.text);
        goto out;
    }
    if (version != Q_JOB_MESSAGE_VERSION) {
        snprintf(err, err_size, "unsupported message version %d", version);
        goto out;
    }
    if (!q_uuid_valid(id)) {
        snprintf(err, err_size, "id is not a UUID");
        goto out;
    }
    if (strlen(model) == 0 || strlen(model) >= sizeof(out->model) || key_id <= 0 || created <= 0) {
        snprintf(err, err_size, "model, api_key_id or created_at_ms out of range");
        goto out;
    }
    memcpy(out->id, id, Q_UUID_LEN + 1);
    snprintf(out->model, sizeof(out->model), "%s", model);
    out->api_key_id = key_id;
    out->created_at_ms = created;
    rc = 0;
out:
    json_decref(o);
    return rc;
}
