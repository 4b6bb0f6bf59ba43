/* catalogue.c - the emulator's model table and model id resolution (see catalogue.h).
 *
 * Output limits are the Bedrock model cards' maximum output tokens without beta
 * headers (Claude 3.7 Sonnet and Sonnet 4 go further only with extended output betas). */
#include "catalogue.h"

#include <ctype.h>
#include <string.h>

static const emu_model models[] = {
    {"anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku-20240307", "anthropic",
     EMU_FORMAT_ANTHROPIC_MESSAGES, 4096, 200000,
     600, 2500, 1000, 2000000},
    {"anthropic.claude-3-sonnet-20240229-v1:0", "claude-3-sonnet-20240229", "anthropic",
     EMU_FORMAT_ANTHROPIC_MESSAGES, 4096, 200000,
     1500, 6000, 500, 1000000},
    {"anthropic.claude-3-opus-20240229-v1:0", "claude-3-opus-20240229", "anthropic",
     EMU_FORMAT_ANTHROPIC_MESSAGES, 4096, 200000,
     4000, 15000, 50, 400000},
    {"anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku-20241022", "anthropic",
     EMU_FORMAT_ANTHROPIC_MESSAGES, 8192, 200000,
     800, 3000, 1000, 2000000},
    {"anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet-20240620", "anthropic",
     EMU_FORMAT_ANTHROPIC_MESSAGES, 4096, 200000,
     1500, 6000, 50, 400000},
    {"anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet-20241022", "anthropic",
     EMU_FORMAT_ANTHROPIC_MESSAGES, 8192, 200000,
     1500, 6000, 50, 400000},
    {"anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet-20250219", "anthropic",
     EMU_FORMAT_ANTHROPIC_MESSAGES, 64000, 200000,
     2000, 8000, 250, 1000000},
    {"anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4-20250514", "anthropic",
     EMU_FORMAT_ANTHROPIC_MESSAGES, 64000, 200000,
     2000, 8000, 200, 200000},
    {"anthropic.claude-opus-4-20250514-v1:0", "claude-opus-4-20250514", "anthropic",
     EMU_FORMAT_ANTHROPIC_MESSAGES, 32000, 200000,
     4000, 15000, 100, 100000},
    {"amazon.nova-micro-v1:0", "nova-micro", "amazon", EMU_FORMAT_NOVA, 5000, 128000,
     300, 1200, 2000, 4000000},
    {"amazon.nova-lite-v1:0", "nova-lite", "amazon", EMU_FORMAT_NOVA, 5000, 300000,
     400, 1500, 2000, 4000000},
    {"amazon.nova-pro-v1:0", "nova-pro", "amazon", EMU_FORMAT_NOVA, 5000, 300000,
     800, 3000, 250, 1000000},
};

#define N_MODELS (sizeof(models) / sizeof(models[0]))

_Static_assert(N_MODELS <= EMU_CATALOGUE_MAX, "raise EMU_CATALOGUE_MAX");

/* Cross-region inference profile prefixes and the region name prefix each serves. */
static const struct {
    const char *prefix;
    const char *region_prefix;
} geographies[] = {
    {"us-gov.", "us-gov-"}, {"us.", "us-"}, {"eu.", "eu-"}, {"apac.", "ap-"}, {"global.", ""},
};

size_t emu_catalogue_count(void)
{
    return N_MODELS;
}

const emu_model *emu_catalogue_at(size_t i)
{
    return i < N_MODELS ? &models[i] : NULL;
}

size_t emu_catalogue_index(const emu_model *m)
{
    return (size_t)(m - models);
}

static const emu_model *find_foundation(const char *id)
{
    for (size_t i = 0; i < N_MODELS; i++)
        if (strcmp(models[i].id, id) == 0)
            return &models[i];
    return NULL;
}

/* Strips a geography prefix that serves `region`; NULL when `id` has none. */
static const char *strip_profile(const char *id, const char *region)
{
    for (size_t i = 0; i < sizeof(geographies) / sizeof(geographies[0]); i++) {
        size_t n = strlen(geographies[i].prefix);

        if (strncmp(id, geographies[i].prefix, n) != 0)
            continue;
        if (strncmp(region, geographies[i].region_prefix,
                    strlen(geographies[i].region_prefix)) != 0)
            return NULL;
        return id + n;
    }
    return NULL;
}

/* "arn:aws:bedrock:REGION:ACCOUNT:TYPE/ID" -> the model behind it, or NULL. The account
 * is empty or digits (and 12 digits for an inference profile, which lives in one). */
static const emu_model *resolve_arn(const char *arn, const char *region)
{
    static const char head[] = "arn:aws:bedrock:";
    size_t region_len = strlen(region), account_len = 0;
    const char *p = arn + sizeof(head) - 1, *id = NULL;

    if (strncmp(arn, head, sizeof(head) - 1) == 0 && strncmp(p, region, region_len) == 0 &&
        p[region_len] == ':') {
        p += region_len + 1;
        while (isdigit((unsigned char)p[account_len]))
            account_len++;
        p += account_len;
        if (strncmp(p, ":foundation-model/", 18) == 0)
            id = p + 18;
        else if (account_len == 12 && strncmp(p, ":inference-profile/", 19) == 0)
            id = strip_profile(p + 19, region);
    }
    return id ? find_foundation(id) : NULL;
}

const emu_model *emu_catalogue_resolve(const char *model_id, const char *region)
{
    const emu_model *m;
    const char *id;

    if (!model_id || !*model_id || strlen(model_id) > EMU_MODEL_ID_MAX)
        return NULL;
    if (strncmp(model_id, "arn:", 4) == 0)
        return resolve_arn(model_id, region);
    m = find_foundation(model_id);
    if (m)
        return m;
    id = strip_profile(model_id, region);
    return id ? find_foundation(id) : NULL;
}
