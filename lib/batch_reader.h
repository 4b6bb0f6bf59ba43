/* batch_reader.h - splits a batch upload into its requests as the bytes arrive, without
 * ever holding more than one request: JSONL (one request per line) or the JSON form
 * {"requests": [...], "metadata": {...}}. It finds where each request starts and ends (it
 * does not parse them: each one is handed over whole, to be parsed and validated on its own,
 * so one bad request never hides the others).
 *
 * Positions: JSONL requests are numbered by line (1-based; blank lines are skipped but
 * counted); JSON requests by index in the array (0-based). */
#ifndef QUARRY_BATCH_READER_H
#define QUARRY_BATCH_READER_H

#include <jansson.h>
#include <stddef.h>

typedef enum { Q_BATCH_FORMAT_JSONL, Q_BATCH_FORMAT_JSON } q_batch_format;

/* One request: `len` bytes at `data` (NUL-terminated), or, when too_large is set, a request
 * longer than max_item whose bytes were dropped (data is then ""). Returns 0 to go on, or -1
 * to stop reading (q_batch_reader_feed then returns -1 with the error "stopped"). */
typedef int (*q_batch_item_fn)(void *ctx, const char *data, size_t len, long position,
                             int too_large);

typedef struct q_batch_reader q_batch_reader;

/* NULL when out of memory. */
q_batch_reader *q_batch_reader_new(q_batch_format format, size_t max_item, q_batch_item_fn fn,
                               void *ctx);
void q_batch_reader_free(q_batch_reader *r);

/* Feeds the next bytes. Returns 0, or -1 when the body is not a valid batch (JSON form
 * only: q_batch_reader_error says why) or fn stopped. */
int q_batch_reader_feed(q_batch_reader *r, const char *data, size_t len);
/* The body ended: hands over a last line without a newline; for the JSON form checks that
 * the document is complete. Returns 0 or -1 (see q_batch_reader_error). */
int q_batch_reader_finish(q_batch_reader *r);
/* Why the body is not a valid batch ("stopped" when fn stopped it), or NULL. */
const char *q_batch_reader_error(const q_batch_reader *r);
/* The JSON form's "metadata" (a new reference), or NULL when it had none. */
json_t *q_batch_reader_metadata(const q_batch_reader *r);

#endif
