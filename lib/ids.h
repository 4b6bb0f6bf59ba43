/* ids.h - identifiers: job ids (UUIDv7, time-ordered so the primary key index stays
 * append-mostly), request ids, and API keys (random, prefixed, stored only as SHA-256).
 * Ids take their random bits from the kernel's CSPRNG (getrandom, buffered per thread),
 * API keys from OpenSSL's. */
#ifndef QUARRY_IDS_H
#define QUARRY_IDS_H

#include <stddef.h>

#define Q_UUID_LEN 36
#define Q_API_KEY_PREFIX "qk_"
/* "qk_" + 43 base62 characters (~256 bits of entropy) */
#define Q_API_KEY_LEN 46

/* Writes a lowercase UUIDv7 ("0190b0c3-....") into out[37]. Returns 0, or -1 when the
 * random generator fails. */
int q_uuid_v7(char out[Q_UUID_LEN + 1]);

/* Writes a random UUIDv4 into out[37]. Returns 0 or -1. */
int q_uuid_v4(char out[Q_UUID_LEN + 1]);

/* 1 when s is a canonical lowercase or uppercase 8-4-4-4-12 hex UUID. */
int q_uuid_valid(const char *s);

/* Generates a new raw API key into out[Q_API_KEY_LEN + 1]. Returns 0 or -1. */
int q_api_key_generate(char out[Q_API_KEY_LEN + 1]);

/* Lowercase hex SHA-256 of an API key as stored in api_keys.key_sha256. */
void q_api_key_hash_hex(const char *raw_key, size_t len, char out[65]);

#endif
