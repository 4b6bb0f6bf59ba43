/* catalogue.h - the foundation models the emulator knows, and how model ids resolve to them.
 *
 * The table is static data: every pointer returned here stays valid for the whole run. */
#ifndef QUARRY_EMU_CATALOGUE_H
#define QUARRY_EMU_CATALOGUE_H

#include <stddef.h>

/* Longest model id (plain id, inference profile or ARN) the emulator accepts. */
#define EMU_MODEL_ID_MAX 200

typedef enum {
    EMU_FORMAT_ANTHROPIC_MESSAGES, /* anthropic_version / messages / max_tokens body */
    EMU_FORMAT_NOVA                /* Amazon Nova "messages-v1" body */
} emu_body_format;

typedef struct {
    const char *id;                /* "anthropic.claude-3-haiku-20240307-v1:0" */
    const char *name;              /* "claude-3-haiku-20240307": the response's "model" */
    const char *provider;          /* "anthropic", "amazon" */
    emu_body_format format;
    unsigned max_output_tokens;    /* largest max_tokens a request may ask for */
    unsigned context_tokens;       /* context window, for reference in /_emulator/models */
    /* The "profile" latency: log-normal with this median and 99th percentile. Plausible
     * figures for a short answer, not measurements of Bedrock. */
    unsigned profile_median_ms;
    unsigned profile_p99_ms;
    /* On-demand quotas like AWS's default ones in us-east-1 (requests and tokens per
     * minute), applied when the config asks for "quotas": "aws_defaults". Accounts differ:
     * check Service Quotas for real figures. */
    unsigned default_rpm;
    unsigned default_tpm;
} emu_model;

/* Upper bound of emu_catalogue_count(), for per-model arrays. */
#define EMU_CATALOGUE_MAX 16

/* Resolves what a client put in the path (already percent-decoded) to a catalogue model.
 * Accepts a plain foundation model id, a cross-region inference profile id ("us.", "eu.",
 * "apac.", "us-gov.", "global." + id, the geography matching `region`), and ARNs
 * "arn:aws:bedrock:REGION:ACCOUNT:foundation-model/ID" or
 * "arn:aws:bedrock:REGION:ACCOUNT:inference-profile/PROFILE" for `region`.
 * Returns NULL when the id is unknown or malformed. */
const emu_model *emu_catalogue_resolve(const char *model_id, const char *region);

/* Iteration over the whole table: i from 0 to emu_catalogue_count() - 1. */
size_t emu_catalogue_count(void);
const emu_model *emu_catalogue_at(size_t i);

/* The index of `m` in the table (0 .. emu_catalogue_count() - 1). */
size_t emu_catalogue_index(const emu_model *m);

#endif
