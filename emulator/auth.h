/* auth.h - Bedrock request authentication: Bedrock API keys and SigV4 verification.
 *
 * Mirrors what AWS checks and answers, in AWS's order and wording: no Authorization header
 * (MissingAuthenticationTokenException), a bearer token that is not the configured API
 * key, an unknown access key or session token (UnrecognizedClientException), a malformed
 * header (IncompleteSignatureException), a credential scope for another region, service
 * or day, a request date more than 5 minutes off, or a signature that does not match
 * (InvalidSignatureException, with the canonical request and string to sign AWS would
 * show). All of them are 403. */
#ifndef QUARRY_EMU_AUTH_H
#define QUARRY_EMU_AUTH_H

#include "wire.h"

typedef struct {
    const char *access_key_id;     /* the one accepted credential pair */
    const char *secret_access_key;
    const char *session_token;     /* NULL: requests must not carry X-Amz-Security-Token */
    const char *bearer_token;      /* NULL: Bedrock API keys are refused */
    const char *region;            /* the region the emulator serves */
    const char *service;           /* SigV4 signing name: "bedrock" */
} emu_auth_config;

/* Checks the request's credentials against `cfg` at unix time `now`. When req->body is
 * NULL (the body was too large to keep) every check but the signature itself is done.
 * Returns 0 when the request may proceed, or -1 with `err` set. */
int emu_auth_verify(const emu_auth_config *cfg, const emu_wire_request *req, long long now,
                    emu_error *err);

#endif
