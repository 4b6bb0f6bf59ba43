/* messages.c - the conversation rules shared by every body format (see messages.h). */
#include "messages.h"

#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "schema.h"

/* The role of a message that passed syntax->check: "user" or "assistant". */
static const char *role_of(const json_t *msg)
{
    return json_string_value(json_object_get(msg, "role"));
}

/* emu_messages_schema's check. */
static int check_schema(const json_t *messages, emu_error *err)
{
    static const char *const message_keys[] = {"role", "content"};
    size_t i;
    json_t *msg;
    char path[64], buf[EMU_ECHO_MAX + 4];
    int rc = -1;

    if (!messages) {
        emu_schema_malformed(err, "#: required key [messages] not found");
        goto out;
    }
    if (emu_schema_type(messages, JSON_ARRAY, "JSONArray", "#/messages", err))
        goto out;
    if (json_array_size(messages) == 0) {
        emu_schema_malformed(err, "#/messages: expected minimum item count: 1, found: 0");
        goto out;
    }
    json_array_foreach(messages, i, msg) {
        const json_t *role;

        snprintf(path, sizeof(path), "#/messages/%zu", i);
        if (emu_schema_type(msg, JSON_OBJECT, "JSONObject", path, err) ||
            emu_schema_keys(msg, message_keys, 2, path, err))
            goto out;
        role = json_object_get(msg, "role");
        if (!role || !json_object_get(msg, "content")) {
            emu_schema_malformed(err, "%s: required key [%s] not found", path,
                                 role ? "content" : "role");
            goto out;
        }
        if (!json_is_string(role) || (strcmp(json_string_value(role), "user") != 0 &&
                                      strcmp(json_string_value(role), "assistant") != 0)) {
            emu_schema_malformed(err, "%s/role: %s is not a valid enum value", path,
                                 json_is_string(role)
                                     ? emu_schema_echo(json_string_value(role), buf)
                                     : emu_schema_type_name(role));
            goto out;
        }
    }
    rc = 0;
out:
    return rc;
}

const emu_messages_syntax emu_messages_schema = {
    .check = check_schema,
    .content_path = {"#/messages/", "/content"},
    .system_path = "#/system",
    .require_text = 1,
};

int emu_messages_read(const json_t *root, const emu_messages_syntax *syntax,
                      emu_content_reader reader, emu_prompt *out, emu_error *err)
{
    const json_t *messages = json_object_get(root, "messages");
    const json_t *system = json_object_get(root, "system");
    size_t i, n, last_user, bytes = 0;
    json_t *msg;
    char path[96];
    q_buf question;
    int rc = -1;

    q_buf_init(&question, EMU_MAX_BODY);
    if (syntax->check(messages, err))
        goto out;
    n = last_user = json_array_size(messages);
    json_array_foreach(messages, i, msg) {
        if (strcmp(role_of(msg), "user") == 0)
            last_user = i;
    }
    if (n == 0 || strcmp(role_of(json_array_get(messages, 0)), "user") != 0) {
        emu_error_set(err, 400, "ValidationException",
                      "A conversation must start with a user message. Try again with a "
                      "conversation that starts with a user message.");
        goto out;
    }
    json_array_foreach(messages, i, msg) {
        size_t before = bytes;

        snprintf(path, sizeof(path), "%s%zu%s", syntax->content_path[0], i,
                 syntax->content_path[1]);
        if (reader(json_object_get(msg, "content"), path, i == last_user ? &question : NULL,
                   &bytes, err))
            goto out;
        /* Only a final assistant message (a prefill) may be empty. */
        if (syntax->require_text && bytes == before && !(i + 1 == n && i != last_user)) {
            emu_error_set(err, 400, "ValidationException",
                          "messages: all messages must have non-empty content except for "
                          "the optional final assistant message");
            goto out;
        }
    }
    if (system && reader(system, syntax->system_path, NULL, &bytes, err))
        goto out;
    out->input_tokens = emu_tokens(bytes) + EMU_MESSAGE_OVERHEAD_TOKENS * (unsigned)n +
                        EMU_REQUEST_OVERHEAD_TOKENS;
    out->question_len = question.len;
    out->question = q_buf_take(&question);
    if (!out->question) {
        emu_error_set(err, 500, "InternalServerException", "out of memory");
        goto out;
    }
    rc = 0;
out:
    q_buf_free(&question);
    return rc;
}
