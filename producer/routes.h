/* routes.h - the intake's public API: which handler answers which method and path.
 *
 *   GET     /healthz                        liveness
 *   POST    /v1/questions, GET /v1/questions/{id}, POST /v1/questions/{id}/cancel,
 *   GET     /v1/usage                       questions.h
 *   POST    /v1/batches, GET /v1/batches, GET /v1/batches/{id},
 *   GET     /v1/batches/{id}/results, POST /v1/batches/{id}/cancel    batches.h
 *   OPTIONS any path                        CORS preflight
 *
 * Unknown paths are 404 NOT_FOUND, known paths with another method 405 METHOD_NOT_ALLOWED
 * (with Allow). The contract is schema/openapi.yaml. */
#ifndef QUARRY_INTAKE_ROUTES_H
#define QUARRY_INTAKE_ROUTES_H

#include "http.h"

/* The server's handler and begin hook (http_config.begin); ctx is an intake_api. */
void intake_handle(http_request *req, void *ctx);
void intake_begin(http_request *req, void *ctx);

#endif
