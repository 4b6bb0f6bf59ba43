/* bedrock_client.h - calls Bedrock Runtime InvokeModel over HTTPS (libcurl), signing
 * each request with Quarry's own SigV4 (or a Bedrock API key as a bearer token).
 *
 * Target selection, the rule the README documents:
 *   QUARRY_BEDROCK_ENDPOINT set                -> that endpoint (emulator, VPC endpoint)
 *   else AWS credentials in the environment     -> https://bedrock-runtime.REGION.amazonaws.com
 *   else                                        -> the local emulator (127.0.0.1:8090) with
 *                                                  its documented development key pair
 * One client is used by one thread at a time. */
#ifndef QUARRY_BEDROCK_CLIENT_H
#define QUARRY_BEDROCK_CLIENT_H

#include "bedrock.h"

typedef struct bedrock_client bedrock_client;

/* Reads the target, region and credentials from the environment. NULL (logged, without
 * secrets) when the configuration is unusable. */
bedrock_client *bedrock_client_new(void);
void bedrock_client_free(bedrock_client *c);

/* For logs: the endpoint in use (no secrets). */
const char *bedrock_client_endpoint(const bedrock_client *c);

typedef struct {
    int ok;                     /* 1: answer is set; 0: error is set */
    q_bedrock_answer answer;
    q_bedrock_error error;
    char request_id[96];        /* x-amzn-RequestId, "" when none */
    long retry_after_ms;        /* from Retry-After / x-amz-retry-after, -1 when none */
    long latency_ms;            /* wall time of the HTTP exchange */
} bedrock_result;

/* One InvokeModel attempt (no retries here: the caller owns the retry policy).
 * Always fills *out; release it with bedrock_result_free. */
void bedrock_client_invoke(bedrock_client *c, const char *model_id, const char *body,
                           bedrock_result *out);
void bedrock_result_free(bedrock_result *r);

#endif
