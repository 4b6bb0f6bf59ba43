/* questions.h - single questions and the key's usage:
 *
 *   POST    /v1/questions                   submit a question -> 202 {"id", "status": "queued", ...}
 *   GET     /v1/questions/{id}[?wait=N]     the job, for the key that submitted it only;
 *                                           with wait, long-polls up to N (<= 60) seconds
 *   POST    /v1/questions/{id}/cancel       cancels a job that has not started
 *   GET     /v1/usage                       the key's usage today against its limits
 *
 * routes.h sends requests here; the contract is schema/openapi.yaml. */
#ifndef QUARRY_INTAKE_QUESTIONS_H
#define QUARRY_INTAKE_QUESTIONS_H

#include "checks.h"
#include "http.h"

void intake_question_submit(http_request *req, intake_api *api);
void intake_question_get(http_request *req, intake_api *api, const char *id);
void intake_question_cancel(http_request *req, intake_api *api, const char *id);
void intake_usage_get(http_request *req, intake_api *api);

#endif
