/* model_routes.h - fallback routes: for a requested model, the ordered list of model ids
 * (or cross-region inference profiles, or ARNs) to try when it keeps throttling or is
 * unavailable, and the price-table name of whatever model answered.
 *
 * Configuration text (QUARRY_MODEL_FALLBACKS):
 *   "MODEL=ALT1,ALT2;MODEL2=ALT3"
 * e.g. "anthropic.claude-3-haiku-20240307-v1:0=us.anthropic.claude-3-haiku-20240307-v1:0".
 * Whitespace around names is ignored. */
#ifndef QUARRY_MODEL_ROUTES_H
#define QUARRY_MODEL_ROUTES_H

#include <stddef.h>

#define Q_MAX_FALLBACKS 8

typedef struct q_model_routes q_model_routes;

/* Parses the configuration. Returns a table (possibly empty for NULL/"" text), or NULL
 * with a reason in err when the text is malformed. */
q_model_routes *q_model_routes_parse(const char *text, char *err, size_t err_size);
void q_model_routes_free(q_model_routes *r);

/* The route for `model`: the model itself first, then its fallbacks. Fills ids (borrowed
 * from the table or from `model`) and returns their count (>= 1). */
size_t q_model_routes_for(const q_model_routes *r, const char *model,
                          const char *ids[Q_MAX_FALLBACKS + 1]);

/* The base model id that prices a Bedrock model identifier: strips an ARN prefix up to
 * the last '/', and a cross-region profile prefix ("us.", "eu.", "apac.", "us-gov.",
 * "global."). Writes into out; returns out. */
char *q_model_price_name(const char *model_id, char *out, size_t out_size);

#endif
