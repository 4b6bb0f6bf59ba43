/* sigv4_sign.c - signs one HTTP request with Quarry's SigV4 signer and prints the
 * Authorization header value. Used by tests/e2e/test_sigv4_botocore.py to compare with
 * AWS's own SDK, and handy for debugging a signature by hand.
 *
 *   sigv4_sign METHOD PATH AMZ_DATE REGION SERVICE BODY_FILE NAME:VALUE...
 * with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the
 * environment; PATH is the wire path (percent-encoded), optionally with ?query. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sigv4.h"

int main(int argc, char **argv)
{
    q_http_header headers[32];
    size_t n = 0;
    q_sigv4_request req;
    q_aws_credentials creds;
    q_sigv4_result res = {0};
    char *body = NULL, *path = NULL, *query;
    int rc = 1;

    if (argc < 7 || argc - 7 > 32) {
        fprintf(stderr, "usage: sigv4_sign METHOD PATH AMZ_DATE REGION SERVICE BODY_FILE "
                        "NAME:VALUE...\n");
        return 2;
    }
    body = q_buf_read_file(argv[6], 16 * 1024 * 1024);
    if (!body) {
        fprintf(stderr, "sigv4_sign: could not read %s\n", argv[6]);
        goto out;
    }
    for (int i = 7; i < argc; i++) {
        char *colon = strchr(argv[i], ':');
        if (!colon) {
            fprintf(stderr, "sigv4_sign: header \"%s\" has no ':'\n", argv[i]);
            goto out;
        }
        *colon = '\0';
        headers[n++] = (q_http_header){argv[i], colon + 1};
    }
    path = strdup(argv[2]);
    if (!path)
        goto out;
    query = strchr(path, '?');
    if (query)
        *query++ = '\0';
    req = (q_sigv4_request){.method = argv[1], .path = path, .query = query, .headers = headers,
                            .n_headers = n, .body = body, .body_len = strlen(body)};
    creds = (q_aws_credentials){getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"),
                                getenv("AWS_SESSION_TOKEN")};
    if (!creds.access_key_id || !creds.secret_access_key) {
        fprintf(stderr, "sigv4_sign: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n");
        goto out;
    }
    if (q_sigv4_sign(&req, &creds, argv[4], argv[5], argv[3], &res) != 0) {
        fprintf(stderr, "sigv4_sign: signing failed (missing Host header?)\n");
        goto out;
    }
    printf("%s\n", res.authorization);
    rc = 0;
out:
    q_sigv4_result_free(&res);
    free(body);
    free(path);
    return rc;
}
