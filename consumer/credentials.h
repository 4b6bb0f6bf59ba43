/* credentials.h - where the consumer's AWS credentials come from, in the AWS SDKs' order:
 *
 *   1. AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key: Authorization: Bearer, no SigV4)
 *   2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
 *   3. the shared files for AWS_PROFILE (default "default"): AWS_SHARED_CREDENTIALS_FILE
 *      (~/.aws/credentials), then AWS_CONFIG_FILE (~/.aws/config)
 *   4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2)
 *      or AWS_CONTAINER_CREDENTIALS_FULL_URI (plain http only to loopback or the ECS/EKS
 *      agent addresses), with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)
 *   5. EC2 IMDSv2 (session token, then the instance role's credentials). Quarry only asks
 *      IMDS when it runs on EC2 (DMI says "Amazon EC2"), when
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT is set, or when QUARRY_USE_IMDS=true, so off EC2
 *      it never sends traffic to 169.254.169.254; AWS_EC2_METADATA_DISABLED=true turns it off.
 *
 * Credentials with an expiry (container, IMDS) are fetched again five minutes before
 * they expire; when a refresh fails the old ones are used until they expire. Secrets
 * are never logged. One thread uses a provider at a time. */
#ifndef QUARRY_CONSUMER_CREDENTIALS_H
#define QUARRY_CONSUMER_CREDENTIALS_H

#include <time.h>

#include "aws_credentials.h"

typedef struct credentials credentials;

/* Resolves the chain above. Returns a provider, or NULL when no source has credentials
 * (err then says what was tried; not an error when the caller can use the emulator). */
credentials *credentials_from_chain(char *err, size_t err_size);

/* A provider with fixed keys (the emulator's development pair). */
credentials *credentials_fixed(const char *access_key_id, const char *secret_access_key);

void credentials_free(credentials *c);

/* "bearer", "env", "shared-file", "container", "imds" or "fixed". */
const char *credentials_source(const credentials *c);

/* The credentials to sign with now, refreshing them first when they are about to
 * expire. *bearer is set (and *creds NULL) for a Bedrock API key. Returns 0, or -1 when
 * there are no valid credentials right now (a retryable condition). Pointers stay valid
 * until the next call. */
int credentials_get(credentials *c, time_t now, const q_aws_creds **creds, const char **bearer);

#endif
