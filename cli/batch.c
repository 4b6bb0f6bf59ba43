/* batch.c - `quarry batch submit|wait|status|results|cancel|list`: the batch API of
 * docs/batches.md from the command line.
 *
 * Bodies are streamed both ways: the JSONL file goes up through libcurl's read callback
 * and the results come down straight into the output file, so neither is ever held in
 * memory whole. While waiting, progress goes to stderr (a bar on a terminal, a line every
 * few seconds otherwise); Ctrl-C stops the waiting, never the batch. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "buf.h"
#include "cli.h"

/* Returned inside this file when Ctrl-C stopped a wait or a transfer; cli_batch() turns
 * it into death by SIGINT so a calling shell script stops too. */
#define BATCH_INTERRUPTED 130

/* How long polling may keep failing (network, 5xx, 429) before the wait gives up. */
#define POLL_GRACE_S 120.0

/* Largest answer kept in memory: a batch object, a list page, or an error. The 202
 * answer lists at most 1,000 invalid requests, well under this. */
#define ANSWER_CAP (16u * 1024 * 1024)

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A libcurl progress callback that stops the transfer on Ctrl-C. */
static int abort_on_interrupt(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                              curl_off_t un)
{
    (void)p, (void)dt, (void)dn, (void)ut, (void)un;
    return interrupted ? 1 : 0;
}

static long long count_of(const json_t *batch, const char *name)
{
    return (long long)json_integer_value(
        json_object_get(json_object_get(batch, "request_counts"), name));
}

static const char *str_of(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

static long long done_of(const json_t *batch)
{
    return count_of(batch, "succeeded") + count_of(batch, "failed") +
           count_of(batch, "cancelled") + count_of(batch, "expired");
}

static int batch_ended(const char *status)
{
    return status && (strcmp(status, "completed") == 0 || strcmp(status, "cancelled") == 0 ||
                      strcmp(status, "expired") == 0);
}

/* "1h02m", "3m05s", "42s" */
static void fmt_duration(double s, char *out, size_t size)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);

    if (t >= 3600)
        snprintf(out, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, size, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(out, size, "%lds", t);
}

/* Seconds since the epoch of "2026-11-25T10:56:50.988Z", or -1. */
static double parse_time(const char *s)
{
    struct tm tm;
    const char *rest;
    double frac = 0;

    if (!s)
        return -1;
    memset(&tm, 0, sizeof(tm));
    rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    if (*rest == '.')
        frac = strtod(rest, NULL);
    return (double)timegm(&tm) + frac;
}

static void print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (s)
        puts(s);
    free(s);
}

/* ---- progress on stderr ----------------------------------------------------------- */

enum { PROGRESS_NONE, PROGRESS_PLAIN, PROGRESS_BAR };

#define RATE_SAMPLES 32
#define RATE_WINDOW_S 30.0

typedef struct {
    int mode;
    int drawn;                 /* a bar is on the current line of stderr */
    const char *id;
    double last_line;          /* PROGRESS_PLAIN: when the last line was printed */
    long long last_done;       /* ... and how many requests had ended then */
    char last_status[32];
    struct { double t; long long done; } samples[RATE_SAMPLES];
    int nsamples, next;
    int tail_room;             /* PROGRESS_BAR: columns kept for the figures after the bar */
} progress;

static void progress_init(progress *p, int quiet, const char *id)
{
    const char *term = getenv("TERM");

    memset(p, 0, sizeof(*p));
    p->id = id;
    p->last_done = -1;
    if (quiet)
        p->mode = PROGRESS_NONE;
    else if (isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0))
        p->mode = PROGRESS_BAR;
    else
        p->mode = PROGRESS_PLAIN;
}

/* Takes the bar off the line so that a message can be printed. */
static void progress_clear(progress *p)
{
    if (p->drawn)
        fputs("\r\033[K", stderr);
    p->drawn = 0;
}

/* Prints a message line on stderr, around the bar. */
static void progress_note(progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void progress_note(progress *p, const char *fmt, ...)
{
    va_list ap;

    progress_clear(p);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Requests ended per second over the last RATE_WINDOW_S, or -1 when not known yet. */
static double progress_rate(progress *p, double now, long long done)
{
    int oldest = -1;

    p->samples[p->next].t = now;
    p->samples[p->next].done = done;
    p->next = (p->next + 1) % RATE_SAMPLES;
    if (p->nsamples < RATE_SAMPLES)
        p->nsamples++;
    for (int k = 0; k < p->nsamples; k++) {
        int i = (p->next - p->nsamples + k + RATE_SAMPLES) % RATE_SAMPLES;
        if (now - p->samples[i].t <= RATE_WINDOW_S) {
            oldest = i;
            break;
        }
    }
    if (oldest < 0 || now - p->samples[oldest].t < 0.5)
        return -1;
    return (double)(done - p->samples[oldest].done) / (now - p->samples[oldest].t);
}

static int term_columns(void)
{
    struct winsize ws;

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

static void progress_update(progress *p, const json_t *batch)
{
    const char *status = str_of(batch, "status");
    long long total = count_of(batch, "total"), done = done_of(batch);
    long long ok = count_of(batch, "succeeded"), failed = count_of(batch, "failed");
    long long cancelled = count_of(batch, "cancelled"), expired = count_of(batch, "expired");
    double now = mono_now(), rate = progress_rate(p, now, done);
    char rate_s[32] = "-", eta_s[32] = "-", tail[256], extra[64] = "";
    int pct = total > 0 ? (int)(done * 100 / total) : 100;

    if (p->mode == PROGRESS_NONE)
        return;
    if (rate >= 0)
        snprintf(rate_s, sizeof(rate_s), rate < 10 ? "%.1f" : "%.0f", rate);
    if (rate > 0 && total > done)
        fmt_duration((double)(total - done) / rate, eta_s, sizeof(eta_s));
    else if (total == done)
        snprintf(eta_s, sizeof(eta_s), "0s");
    if (cancelled || expired)
        snprintf(extra, sizeof(extra), "  cancelled %lld  expired %lld", cancelled, expired);
    if (!status)
        status = "unknown";

    if (p->mode == PROGRESS_PLAIN) {
        int changed = strcmp(status, p->last_status) != 0;

        /* A line when the status changes, every 10 s while requests end, at least once a
         * minute otherwise: enough for a log without flooding it over a day. */
        if (!changed && !(now - p->last_line >= 10 && done != p->last_done) &&
            !(now - p->last_line >= 60))
            return;
        fprintf(stderr, "batch %s: %s, %lld/%lld done (%d%%), succeeded %lld, failed %lld%s, "
                "%s/s, eta %s\n", p->id, status, done, total, pct, ok, failed, extra, rate_s,
                eta_s);
        fflush(stderr);
        p->last_line = now;
        p->last_done = done;
        snprintf(p->last_status, sizeof(p->last_status), "%s", status);
        return;
    }

    /* " 37/50 [#######.....]  74%  ok 36  failed 1  4.2/s  ETA 3s" */
    {
        int cols = term_columns(), digits = snprintf(NULL, 0, "%lld", total), width;
        char head[64];

        /* fixed widths, so that the bar does not jump about as the numbers grow */
        snprintf(head, sizeof(head), "%*lld/%lld ", digits, done, total);
        snprintf(tail, sizeof(tail), " %3d%%  ok %lld  failed %lld%s  %s/s  ETA %s%s%s", pct,
                 ok, failed, extra, rate_s, eta_s, strcmp(status, "in_progress") ? "  " : "",
                 strcmp(status, "in_progress") ? status : "");
        /* the room for the tail only grows, so the bar does not change length as the
         * rate and ETA do */
        if ((int)strlen(tail) > p->tail_room)
            p->tail_room = (int)strlen(tail) + 4;
        width = cols - 1 - (int)strlen(head) - 2 - p->tail_room;
        if (width > 30)
            width = 30;
        fputc('\r', stderr);
        fputs(head, stderr);
        if (width >= 5) {
            int fill = total > 0 ? (int)(done * width / total) : width;
            fputc('[', stderr);
            for (int k = 0; k < width; k++)
                fputc(k < fill ? '#' : '.', stderr);
            fputc(']', stderr);
        }
        fputs(tail, stderr);
        fputs("\033[K", stderr);
        fflush(stderr);
        p->drawn = 1;
    }
}

/* Ends the bar's line (the last drawing stays on screen). */
static void progress_end(progress *p)
{
    if (p->drawn)
        fputc('\n', stderr);
    p->drawn = 0;
}

/* ---- requests ----------------------------------------------------------------------- */

/* GET of a JSON document that reports instead of printing, so that the caller can keep its
 * progress bar tidy. Returns the HTTP status or 0 with *cc set; *out as cli_api_request. */
static long get_json_quiet(const cli_client *c, const char *path, json_t **out, CURLcode *cc)
{
    struct curl_slist *headers;
    CURL *curl = cli_api_handle(c, "GET", path, NULL, "application/json", &headers);
    q_buf resp;
    long status = 0;

    *out = NULL;
    *cc = CURLE_OUT_OF_MEMORY;
    if (!curl)
        return 0;
    q_buf_init(&resp, ANSWER_CAP);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, q_buf_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_on_interrupt);
    *cc = curl_easy_perform(curl);
    if (*cc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (resp.len)
        *out = json_loadb(q_buf_cstr(&resp), resp.len, 0, NULL);
    q_buf_free(&resp);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

/* "/v1/batches/ID" + suffix, with the id escaped. Returns 0, or -1 (printed). */
static int batch_path(const char *id, const char *suffix, char *out, size_t size)
{
    char esc[512];

    if (cli_api_escape(id, esc, sizeof(esc)) != 0 ||
        (size_t)snprintf(out, size, "/v1/batches/%s%s", esc, suffix) >= size) {
        fprintf(stderr, "quarry batch: the batch id is too long\n");
        return -1;
    }
    return 0;
}

/* ---- waiting -------------------------------------------------------------------------- */

typedef struct {
    double poll_s;             /* seconds between two reads of the batch */
    double timeout_s;          /* 0: wait as long as it takes */
    int quiet;                 /* no progress at all */
    const char *resume_output; /* -o for the "follow it" hint, or NULL */
} wait_opts;

static void print_resume_hint(const char *id, const char *output)
{
    fprintf(stderr, "  follow it:  quarry batch wait %s%s%s\n", id, output ? " -o " : "",
            output ? output : "");
    fprintf(stderr, "  results:    quarry batch results %s -o FILE\n", id);
    fprintf(stderr, "  cancel it:  quarry batch cancel %s\n", id);
}

/* Sleeps `s` seconds or until Ctrl-C. */
static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    while (!interrupted && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Polls the batch until it ends. Returns CLI_OK with *final set to the ended batch (the
 * caller's), CLI_TIMEOUT, BATCH_INTERRUPTED, CLI_FAILED (404 and other refusals) or
 * CLI_UNAVAILABLE (the intake stayed unreachable for POLL_GRACE_S); every case but CLI_OK
 * is printed. */
static int wait_batch(const cli_client *c, const char *id, const wait_opts *o, json_t **final)
{
    char path[600];
    progress p;
    double start = mono_now(), failing_since = -1, last_note = -1;
    int rc;

    *final = NULL;
    if (batch_path(id, "", path, sizeof(path)) != 0)
        return CLI_USAGE;
    progress_init(&p, o->quiet, id);
    for (;;) {
        json_t *batch;
        CURLcode cc;
        long status = get_json_quiet(c, path, &batch, &cc);

        if (interrupted) {
            json_decref(batch);
            progress_end(&p);
            fprintf(stderr, "quarry batch: stopped waiting; batch %s goes on\n", id);
            print_resume_hint(id, o->resume_output);
            return BATCH_INTERRUPTED;
        }
        if (status == 200 && json_is_object(batch)) {
            failing_since = last_note = -1;
            progress_update(&p, batch);
            if (batch_ended(str_of(batch, "status"))) {
                progress_end(&p);
                *final = batch;
                return CLI_OK;
            }
        } else if (status == 0 || status >= 500 || status == 429) {
            /* A blip on a wait that may last hours is not the end of it. */
            const json_t *err = json_object_get(batch, "error");
            double now = mono_now();

            if (failing_since < 0)
                failing_since = now;
            /* one line per 15 s of trouble, not one per retry */
            if (last_note < 0 || now - last_note >= 15) {
                last_note = now;
                if (status)
                    progress_note(&p, "quarry batch: HTTP %ld %s reading batch %s; retrying",
                                  status, str_of(err, "code") ? str_of(err, "code") : "ERROR",
                                  id);
                else
                    progress_note(&p, "quarry batch: could not reach %s: %s; retrying",
                                  c->url, curl_easy_strerror(cc));
            }
            if (now - failing_since >= POLL_GRACE_S) {
                json_decref(batch);
                fprintf(stderr, "quarry batch: gave up after %.0f s of errors; batch %s may "
                        "go on\n", POLL_GRACE_S, id);
                print_resume_hint(id, o->resume_output);
                return CLI_UNAVAILABLE;
            }
        } else {
            progress_end(&p);
            rc = cli_api_error(status, batch);
            json_decref(batch);
            return rc;
        }
        json_decref(batch);
        if (o->timeout_s > 0 && mono_now() - start >= o->timeout_s) {
            progress_end(&p);
            fprintf(stderr, "quarry batch: batch %s has not ended after %.0f s; it goes on\n",
                    id, o->timeout_s);
            print_resume_hint(id, o->resume_output);
            return CLI_TIMEOUT;
        }
        nap(status == 200 ? o->poll_s : (o->poll_s > 2 ? o->poll_s : 2));
    }
}

/* ---- results ------------------------------------------------------------------------ */

typedef struct {
    CURL *curl;
    FILE *out;
    const char *out_name;
    int decided, ok;           /* the status was looked at; it is 200 */
    q_buf err;                 /* the body of an error answer */
    long long lines, bytes;
    char last;                 /* the last byte written */
    int write_errno;
} results_sink;

static size_t results_write(char *data, size_t size, size_t nmemb, void *arg)
{
    results_sink *s = arg;
    size_t n = size * nmemb;

    if (!s->decided) {
        long status = 0;
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        s->ok = status == 200;
        s->decided = 1;
    }
    if (!s->ok)
        return q_buf_add(&s->err, data, n) == Q_BUF_OK ? n : 0;
    if (fwrite(data, 1, n, s->out) != n) {
        s->write_errno = errno;
        return 0;
    }
    for (size_t k = 0; k < n; k++)
        s->lines += data[k] == '\n';
    s->bytes += (long long)n;
    if (n)
        s->last = data[n - 1];
    return n;
}

/* Streams the results of batch `id` into `output` ("-": stdout). A file is written as
 * OUTPUT.part and renamed when complete, so a file by that name is always whole. Returns
 * CLI_OK with *lines set, or an exit code (printed). */
static int fetch_results(const cli_client *c, const char *id, const char *output,
                         long long *lines)
{
    char path[600], part[4096];
    struct curl_slist *headers = NULL;
    results_sink s;
    int to_stdout = strcmp(output, "-") == 0, rc = CLI_OK;
    long status;
    CURLcode cc;

    memset(&s, 0, sizeof(s));
    q_buf_init(&s.err, 64 * 1024);
    *lines = 0;
    if (batch_path(id, "/results", path, sizeof(path)) != 0)
        return CLI_USAGE;
    if (to_stdout) {
        s.out = stdout;
        s.out_name = "stdout";
    } else {
        if ((size_t)snprintf(part, sizeof(part), "%s.part", output) >= sizeof(part)) {
            fprintf(stderr, "quarry batch: output path too long: %s\n", output);
            return CLI_USAGE;
        }
        s.out = fopen(part, "w");
        s.out_name = output;
        if (!s.out) {
            fprintf(stderr, "quarry batch: could not create %s: %s\n", part, strerror(errno));
            return CLI_FAILED;
        }
    }
    s.curl = cli_api_handle(c, "GET", path, NULL, "application/x-ndjson", &headers);
    if (!s.curl) {
        rc = CLI_FAILED;
        goto out;
    }
    curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, results_write);
    curl_easy_setopt(s.curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(s.curl, CURLOPT_CONNECTTIMEOUT, 10L);
    /* no overall limit: 50,000 results take a while; a stalled stream is what to stop */
    curl_easy_setopt(s.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s.curl, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(s.curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(s.curl, CURLOPT_XFERINFOFUNCTION, abort_on_interrupt);
    status = cli_api_perform(c, s.curl, &cc);
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        fprintf(stderr, "quarry batch: interrupted while fetching the results of batch %s\n",
                id);
        rc = BATCH_INTERRUPTED;
    } else if (cc == CURLE_WRITE_ERROR && s.ok) {
        fprintf(stderr, "quarry batch: could not write %s: %s\n", s.out_name,
                strerror(s.write_errno));
        rc = CLI_FAILED;
    } else if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && !s.ok)) {
        /* printed by cli_api_perform: the stream broke off */
        rc = CLI_UNAVAILABLE;
    } else if (!s.ok) {
        json_t *body = json_loadb(q_buf_cstr(&s.err), s.err.len, 0, NULL);
        rc = cli_api_error(status, body);
        json_decref(body);
    } else if (s.bytes && s.last != '\n') {
        fprintf(stderr, "quarry batch: the results of batch %s end in the middle of a line\n",
                id);
        rc = CLI_UNAVAILABLE;
    }
    if (rc == CLI_OK && fflush(s.out) != 0) {
        fprintf(stderr, "quarry batch: could not write %s: %s\n", s.out_name, strerror(errno));
        rc = CLI_FAILED;
    }
out:
    if (!to_stdout) {
        if (fclose(s.out) != 0 && rc == CLI_OK) {
            fprintf(stderr, "quarry batch: could not write %s: %s\n", part, strerror(errno));
            rc = CLI_FAILED;
        }
        if (rc == CLI_OK && rename(part, output) != 0) {
            fprintf(stderr, "quarry batch: could not rename %s to %s: %s\n", part, output,
                    strerror(errno));
            rc = CLI_FAILED;
        }
        if (rc != CLI_OK)
            unlink(part);
    }
    q_buf_free(&s.err);
    curl_slist_free_all(headers);
    curl_easy_cleanup(s.curl);
    *lines = s.lines;
    return rc;
}

/* ---- submit --------------------------------------------------------------------------- */

typedef struct {
    double started, last_drawn;
    int tty;
    const char *name;
} upload_progress;

static void fmt_bytes(double b, char *out, size_t size)
{
    if (b >= 1024.0 * 1024)
        snprintf(out, size, "%.1f MiB", b / 1024 / 1024);
    else if (b >= 1024)
        snprintf(out, size, "%.1f KiB", b / 1024);
    else
        snprintf(out, size, "%.0f B", b);
}

/* Shows how much of a large file went up, on a terminal; stops the upload on Ctrl-C. */
static int upload_info(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    upload_progress *u = arg;
    double now = mono_now();
    char sent[32], total[32];

    (void)dt, (void)dn;
    if (interrupted)
        return 1;
    if (!u->tty || ut < 1024 * 1024 || now - u->last_drawn < 0.2 || now - u->started < 0.5)
        return 0;
    u->last_drawn = now;
    fmt_bytes((double)un, sent, sizeof(sent));
    fmt_bytes((double)ut, total, sizeof(total));
    if (un < ut)
        fprintf(stderr, "\ruploading %s: %s of %s (%d%%)\033[K", u->name, sent, total,
                (int)(un * 100 / ut));
    else
        fprintf(stderr, "\ruploaded %s (%s); the intake is checking it\033[K", u->name, total);
    fflush(stderr);
    return 0;
}

/* Prints the invalid requests of a 202 answer or of error.details (BATCH_INVALID,
 * BATCH_EMPTY): "FILE:LINE: CODE: message (custom_id X)". */
static void print_invalid(const json_t *holder, const char *name)
{
    const json_t *errors = json_object_get(holder, "errors"), *e;
    long long total = (long long)json_integer_value(json_object_get(holder, "errors_total"));
    size_t k, shown = json_array_size(errors);

    json_array_foreach(errors, k, e) {
        const char *id = str_of(e, "custom_id"), *code = str_of(e, "code");
        const char *msg = str_of(e, "message");
        const json_t *line = json_object_get(e, "line");

        if (json_is_integer(line))
            fprintf(stderr, "%s:%lld: ", name, (long long)json_integer_value(line));
        else
            fprintf(stderr, "%s: request %lld: ", name,
                    (long long)json_integer_value(json_object_get(e, "index")));
        fprintf(stderr, "%s: %s", code ? code : "INVALID", msg ? msg : "no message");
        if (id)
            fprintf(stderr, " (custom_id %s)", id);
        fputc('\n', stderr);
    }
    if (total > (long long)shown)
        fprintf(stderr, "%s: ... and %lld more invalid lines (%lld in all)\n", name,
                total - (long long)shown, total);
}

/* questions.jsonl -> questions.results.jsonl, next to the input. */
static int default_output(const char *input, char *out, size_t size)
{
    static const char *const exts[] = {".jsonl", ".ndjson", ".jsonlines", ".json", ".txt"};
    size_t n = strlen(input);

    for (size_t k = 0; k < sizeof(exts) / sizeof(exts[0]); k++) {
        size_t e = strlen(exts[k]);
        const char *slash = strrchr(input, '/');
        if (n > e && strcmp(input + n - e, exts[k]) == 0 &&
            (slash ? (size_t)(slash - input) + 1 : 0) < n - e) {
            n -= e;
            break;
        }
    }
    return (size_t)snprintf(out, size, "%.*s.results.jsonl", (int)n, input) < size ? 0 : -1;
}

/* Checks before uploading that the results can be written where asked: a wait can be
 * long, and losing its results at the end to a typo would be a shame. */
static int check_output(const char *output, const struct stat *input_st)
{
    char dir[4096];
    const char *slash = strrchr(output, '/');
    struct stat st;

    if (strcmp(output, "-") == 0)
        return 0;
    if (input_st && stat(output, &st) == 0 && st.st_dev == input_st->st_dev &&
        st.st_ino == input_st->st_ino) {
        fprintf(stderr, "quarry batch submit: the output %s is the input file\n", output);
        return -1;
    }
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == output ? 1 : (int)(slash - output), output);
    if (access(dir, W_OK) != 0) {
        fprintf(stderr, "quarry batch submit: cannot write results into %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* Prints how a batch ended and returns the exit code for it: CLI_OK only when every
 * request succeeded and no line was invalid. */
static int print_summary(const json_t *batch, long long invalid, const char *input)
{
    const char *status = str_of(batch, "status"), *cost = str_of(batch, "cost_usd");
    const json_t *usage = json_object_get(batch, "usage");
    long long total = count_of(batch, "total"), ok = count_of(batch, "succeeded");
    double created = parse_time(str_of(batch, "created_at"));
    double ended = parse_time(str_of(batch, "ended_at"));
    char took[32] = "";

    if (created > 0 && ended >= created) {
        char d[24];
        fmt_duration(ended - created, d, sizeof(d));
        snprintf(took, sizeof(took), " in %s", d);
    }
    fprintf(stderr, "batch %s %s%s: %lld succeeded, %lld failed, %lld cancelled, "
            "%lld expired\n", str_of(batch, "id"), status ? status : "ended", took, ok,
            count_of(batch, "failed"), count_of(batch, "cancelled"),
            count_of(batch, "expired"));
    if (invalid > 0)
        fprintf(stderr, "%lld line%s of %s %s invalid and not submitted\n", invalid,
                invalid == 1 ? "" : "s", input, invalid == 1 ? "was" : "were");
    if (json_is_object(usage))
        fprintf(stderr, "usage: %lld input tokens, %lld output tokens, %s USD\n",
                (long long)json_integer_value(json_object_get(usage, "input_tokens")),
                (long long)json_integer_value(json_object_get(usage, "output_tokens")),
                cost ? cost : "0");
    return status && strcmp(status, "completed") == 0 && ok == total && invalid == 0
               ? CLI_OK
               : CLI_FAILED;
}

/* After the batch ended: results, then the summary. */
static int finish(const cli_client *c, const json_t *batch, const char *output,
                  long long invalid, const char *input)
{
    const char *id = str_of(batch, "id");
    long long lines = 0, total = count_of(batch, "total");
    int rc = CLI_OK, summary;

    if (output) {
        rc = fetch_results(c, id, output, &lines);
        if (rc == BATCH_INTERRUPTED) {
            fprintf(stderr, "  results:    quarry batch results %s -o %s\n", id,
                    strcmp(output, "-") ? output : "FILE");
            return rc;
        }
    }
    summary = print_summary(batch, invalid, input);
    if (output && rc == CLI_OK) {
        fprintf(stderr, "results: %lld line%s in %s\n", lines, lines == 1 ? "" : "s",
                strcmp(output, "-") ? output : "stdout");
        if (lines != total) {
            fprintf(stderr, "quarry batch: expected %lld result lines, got %lld\n", total,
                    lines);
            rc = CLI_FAILED;
        }
    }
    return rc != CLI_OK ? rc : summary;
}

static int parse_seconds(const char *cmd, const char *opt, const char *v, double min,
                         double *out)
{
    char *end;
    double d;

    errno = 0;
    d = strtod(v, &end);
    if (errno || end == v || *end || !(d >= min && d <= 86400.0 * 7)) {
        fprintf(stderr, "quarry batch %s: %s must be a number of seconds from %g, not \"%s\"\n",
                cmd, opt, min, v);
        return -1;
    }
    *out = d;
    return 0;
}

/* Options shared by submit and wait. Returns 1 when argv[*i] was one, 0 when not, -1 on
 * a usage error (printed). */
static int wait_option(const char *cmd, int argc, char **argv, int *i, wait_opts *o,
                       const char **output)
{
    const char *v;
    int bad = 0;

    if ((v = cli_opt(argc, argv, i, "--poll-interval", &bad)))
        return parse_seconds(cmd, "--poll-interval", v, 0.1, &o->poll_s) ? -1 : 1;
    if ((v = cli_opt(argc, argv, i, "--timeout", &bad)))
        return parse_seconds(cmd, "--timeout", v, 0, &o->timeout_s) ? -1 : 1;
    if ((v = cli_opt(argc, argv, i, "--output", &bad)) || (!bad && (v = cli_opt(argc, argv, i,
                                                                          "-o", &bad)))) {
        *output = v;
        return 1;
    }
    if (!bad && (strcmp(argv[*i], "--quiet") == 0 || strcmp(argv[*i], "-q") == 0)) {
        o->quiet = 1;
        return 1;
    }
    return bad ? -1 : 0;
}

static const char submit_help[] =
    "usage: quarry batch submit FILE.jsonl [--strict] [-o|--output RESULTS.jsonl]\n"
    "                           [--no-wait] [--poll-interval S] [--timeout S] [-q|--quiet]\n"
    "                           [--json] [--url URL] [--key KEY]\n\n"
    "Uploads FILE.jsonl (one {\"custom_id\", \"question\", ...} per line; - reads stdin) as\n"
    "one batch, streamed, and prints the batch id on stdout and each invalid line on\n"
    "stderr as FILE:LINE: CODE: message. Then waits for the batch to end, with a progress\n"
    "bar on stderr (a progress line every few seconds when stderr is not a terminal), and\n"
    "writes one result line per request to RESULTS.jsonl (default FILE.results.jsonl next\n"
    "to the input; stdout with -o -, or when the input is stdin).\n\n"
    "  --strict            one invalid line rejects the whole batch; nothing is created\n"
    "  --no-wait           print the batch id and return at once\n"
    "  --poll-interval S   seconds between two reads of the batch (default 1)\n"
    "  --timeout S         stop waiting after S seconds (exit 3; the batch goes on)\n"
    "  --quiet             no progress bar or lines\n"
    "  --json              print the intake's answer (with the invalid lines) as JSON\n"
    "                      on stdout instead of the bare id\n\n"
    "Ctrl-C while waiting leaves the batch running and says how to follow or cancel it.\n"
    "Exit: 0 every line was accepted and every request succeeded (with --no-wait: every\n"
    "line accepted); 1 some line was invalid, some request did not succeed, or the intake\n"
    "refused the batch; 2 usage; 3 --timeout ran out; 4 intake unreachable or 5xx;\n"
    "killed by SIGINT (130 in a shell) after Ctrl-C.";

static int batch_submit(int argc, char **argv)
{
    cli_client c;
    wait_opts o = {1.0, 0, 0, NULL};
    const char *input = NULL, *output = NULL;
    char default_out[4096], path[64];
    int strict = 0, no_wait = 0, rc = CLI_OK, from_stdin;
    FILE *in = NULL;
    struct stat st;
    struct curl_slist *headers = NULL;
    CURL *curl = NULL;
    upload_progress up;
    q_buf resp;
    json_t *answer = NULL, *final = NULL;
    const char *id;
    long status;
    CURLcode cc;
    long long invalid;

    cli_client_init(&c);
    q_buf_init(&resp, ANSWER_CAP);
    for (int i = 1; i < argc; i++) {
        int r = cli_client_option(argc, argv, &i, &c, NULL);

        if (r == 0)
            r = wait_option("submit", argc, argv, &i, &o, &output);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts(submit_help);
            return CLI_OK;
        } else if (strcmp(argv[i], "--strict") == 0) {
            strict = 1;
        } else if (strcmp(argv[i], "--no-wait") == 0) {
            no_wait = 1;
        } else if ((argv[i][0] == '-' && argv[i][1]) || input) {
            fprintf(stderr, "quarry batch submit: unexpected argument %s\n", argv[i]);
            return CLI_USAGE;
        } else {
            input = argv[i];
        }
    }
    if (!input) {
        fprintf(stderr, "quarry batch submit: the file of requests is required (- for stdin)\n");
        return CLI_USAGE;
    }
    if (no_wait && output) {
        fprintf(stderr, "quarry batch submit: --output needs waiting; drop --no-wait, or use "
                "quarry batch results later\n");
        return CLI_USAGE;
    }
    if (cli_need_key(&c))
        return CLI_USAGE;
    from_stdin = strcmp(input, "-") == 0;
    if (!no_wait && !output) {
        if (from_stdin) {
            output = "-";
        } else if (default_output(input, default_out, sizeof(default_out)) == 0) {
            output = default_out;
        } else {
            fprintf(stderr, "quarry batch submit: input path too long: %s\n", input);
            return CLI_USAGE;
        }
    }
    in = from_stdin ? stdin : fopen(input, "rb");
    if (!in) {
        fprintf(stderr, "quarry batch submit: could not open %s: %s\n", input, strerror(errno));
        return CLI_USAGE;
    }
    if (fstat(fileno(in), &st) != 0 || S_ISDIR(st.st_mode)) {
        fprintf(stderr, "quarry batch submit: could not read %s: %s\n", input,
                S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
        rc = CLI_USAGE;
        goto out;
    }
    if (output && check_output(output, from_stdin ? NULL : &st) != 0) {
        rc = CLI_USAGE;
        goto out;
    }
    if (from_stdin)
        input = "stdin";

    /* The upload: the file is the body, read by libcurl as it sends (fread on the FILE*
     * given as READDATA); a regular file has a Content-Length, stdin goes chunked. */
    snprintf(path, sizeof(path), "/v1/batches%s", strict ? "?strict=true" : "");
    curl = cli_api_handle(&c, "POST", path, "application/x-ndjson", "application/json",
                          &headers);
    if (!curl) {
        rc = CLI_FAILED;
        goto out;
    }
    memset(&up, 0, sizeof(up));
    up.started = mono_now();
    up.tty = !o.quiet && isatty(STDERR_FILENO);
    up.name = input;
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READDATA, in);
    if (S_ISREG(st.st_mode))
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)st.st_size);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, q_buf_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    /* no overall limit: 100 MiB over a slow link takes long, and so does checking 50,000
     * requests; a transfer that stalls for minutes is what to stop */
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 300L);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, upload_info);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &up);
    status = cli_api_perform(&c, curl, &cc);
    if (up.last_drawn > 0)
        fputs("\r\033[K", stderr);
    if (cc == CURLE_READ_ERROR) {
        fprintf(stderr, "quarry batch submit: could not read %s: %s\n", input, strerror(errno));
        rc = CLI_FAILED;
        goto out;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        fprintf(stderr, "quarry batch submit: interrupted during the upload; if the intake "
                "had all of it, `quarry batch list` shows the batch\n");
        rc = BATCH_INTERRUPTED;
        goto out;
    }
    if (cc == CURLE_WRITE_ERROR) {
        fprintf(stderr, "quarry batch submit: the answer is larger than %u bytes\n",
                ANSWER_CAP);
        rc = CLI_UNAVAILABLE;
        goto out;
    }
    if (resp.len)
        answer = json_loadb(q_buf_cstr(&resp), resp.len, 0, NULL);
    if (status != 202 || !json_is_object(answer) || !str_of(answer, "id")) {
        if (status == 202)
            fprintf(stderr, "quarry batch submit: the intake's answer has no batch id\n");
        rc = status == 202 ? CLI_UNAVAILABLE : cli_api_error(status, answer);
        /* BATCH_INVALID and BATCH_EMPTY say which lines */
        print_invalid(json_object_get(json_object_get(answer, "error"), "details"), input);
        goto out;
    }
    id = str_of(answer, "id");
    invalid = (long long)json_integer_value(json_object_get(answer, "errors_total"));
    {
        /* stdout carries the results with -o -: then the id goes to stderr */
        FILE *idout = output && strcmp(output, "-") == 0 ? stderr : stdout;
        char *s = c.json ? json_dumps(answer, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

        fprintf(idout, "%s\n", s ? s : id);
        free(s);
        fflush(idout);
    }
    print_invalid(answer, input);
    if (no_wait) {
        rc = invalid ? CLI_FAILED : CLI_OK;
        goto out;
    }
    if (!o.quiet)
        fprintf(stderr, "batch %s: %lld request%s accepted%s; waiting (Ctrl-C stops waiting, "
                "not the batch)\n", id, count_of(answer, "total"),
                count_of(answer, "total") == 1 ? "" : "s",
                invalid ? ", invalid lines skipped" : "");
    o.resume_output = strcmp(output, "-") ? output : NULL;
    rc = wait_batch(&c, id, &o, &final);
    if (rc == CLI_OK)
        rc = finish(&c, final, output, invalid, input);

out:
    json_decref(final);
    json_decref(answer);
    q_buf_free(&resp);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (in && in != stdin)
        fclose(in);
    return rc;
}

static const char wait_help[] =
    "usage: quarry batch wait ID [-o|--output RESULTS.jsonl] [--poll-interval S]\n"
    "                            [--timeout S] [-q|--quiet] [--url URL] [--key KEY]\n\n"
    "Follows a batch until it ends, with the same progress as submit, then prints a\n"
    "summary; with --output, also writes its results (- for stdout).\n"
    "Exit: 0 every request succeeded, 1 some did not (or the batch is unknown), 2 usage,\n"
    "3 --timeout ran out, 4 intake unreachable; killed by SIGINT after Ctrl-C.";

static int batch_wait(int argc, char **argv)
{
    cli_client c;
    wait_opts o = {1.0, 0, 0, NULL};
    const char *id = NULL, *output = NULL;
    json_t *final = NULL;
    int rc;

    cli_client_init(&c);
    for (int i = 1; i < argc; i++) {
        int r = cli_client_option(argc, argv, &i, &c, NULL);

        if (r == 0)
            r = wait_option("wait", argc, argv, &i, &o, &output);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts(wait_help);
            return CLI_OK;
        }
        if (argv[i][0] == '-' || id) {
            fprintf(stderr, "quarry batch wait: unexpected argument %s\n", argv[i]);
            return CLI_USAGE;
        }
        id = argv[i];
    }
    if (!id) {
        fprintf(stderr, "quarry batch wait: the batch id is required\n");
        return CLI_USAGE;
    }
    if (cli_need_key(&c) || (output && check_output(output, NULL) != 0))
        return CLI_USAGE;
    o.resume_output = output && strcmp(output, "-") ? output : NULL;
    rc = wait_batch(&c, id, &o, &final);
    if (rc == CLI_OK)
        rc = finish(&c, final, output, 0, NULL);
    json_decref(final);
    return rc;
}

/* ---- status, results, cancel, list ---------------------------------------------------- */

static void print_batch(const json_t *b)
{
    const json_t *usage = json_object_get(b, "usage"), *meta = json_object_get(b, "metadata");
    const char *t;

    printf("id:        %s\n", str_of(b, "id"));
    printf("status:    %s\n", str_of(b, "status"));
    printf("requests:  %lld/%lld done: %lld succeeded, %lld failed, %lld cancelled, "
           "%lld expired; %lld queued, %lld running\n", done_of(b), count_of(b, "total"),
           count_of(b, "succeeded"), count_of(b, "failed"), count_of(b, "cancelled"),
           count_of(b, "expired"), count_of(b, "queued"), count_of(b, "running"));
    if (json_is_object(usage))
        printf("tokens:    %lld in, %lld out\n",
               (long long)json_integer_value(json_object_get(usage, "input_tokens")),
               (long long)json_integer_value(json_object_get(usage, "output_tokens")));
    if ((t = str_of(b, "cost_usd")))
        printf("cost:      %s USD\n", t);
    printf("created:   %s\n", str_of(b, "created_at"));
    if ((t = str_of(b, "expires_at")))
        printf("expires:   %s\n", t);
    if ((t = str_of(b, "cancel_requested_at")))
        printf("cancel:    requested %s\n", t);
    if ((t = str_of(b, "ended_at")))
        printf("ended:     %s\n", t);
    if (json_is_object(meta)) {
        char *s = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("metadata:  %s\n", s ? s : "");
        free(s);
    }
}

/* The command line of status, results and cancel: ID plus the client options (and -o for
 * results). Returns 0, 1 after --help (printed), or -1 on a usage error (printed). */
static int id_args(const char *cmd, const char *help, int argc, char **argv, cli_client *c,
                   const char **id, const char **output)
{
    *id = NULL;
    cli_client_init(c);
    for (int i = 1; i < argc; i++) {
        int r = cli_client_option(argc, argv, &i, c, NULL), bad = 0;
        const char *v;

        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts(help);
            return 1;
        }
        if (output && ((v = cli_opt(argc, argv, &i, "--output", &bad)) ||
                       (!bad && (v = cli_opt(argc, argv, &i, "-o", &bad))))) {
            *output = v;
            continue;
        }
        if (bad)
            return -1;
        if (argv[i][0] == '-' || *id) {
            fprintf(stderr, "quarry batch %s: unexpected argument %s\n", cmd, argv[i]);
            return -1;
        }
        *id = argv[i];
    }
    if (!*id) {
        fprintf(stderr, "quarry batch %s: the batch id is required\n", cmd);
        return -1;
    }
    return cli_need_key(c) ? -1 : 0;
}

static int batch_status(int argc, char **argv)
{
    cli_client c;
    const char *id;
    char path[600];
    json_t *b;
    long status;
    int rc = id_args("status", "usage: quarry batch status ID [--json] [--url URL] [--key KEY]\n\n"
                     "Shows a batch: status, request counts, tokens, cost and times.\n"
                     "Exit: 0 shown (whatever its status), 1 unknown batch, 2 usage,\n"
                     "4 intake unreachable.", argc, argv, &c, &id, NULL);

    if (rc)
        return rc > 0 ? CLI_OK : CLI_USAGE;
    if (batch_path(id, "", path, sizeof(path)) != 0)
        return CLI_USAGE;
    status = cli_api_request(&c, "GET", path, NULL, &b);
    if (status == 200) {
        if (c.json)
            print_json(b);
        else
            print_batch(b);
        rc = CLI_OK;
    } else {
        rc = cli_api_error(status, b);
    }
    json_decref(b);
    return rc;
}

static int batch_results(int argc, char **argv)
{
    cli_client c;
    const char *id, *output = "-";
    long long lines;
    int rc = id_args("results", "usage: quarry batch results ID [-o|--output FILE] [--url URL] "
                     "[--key KEY]\n\n"
                     "Streams the results of a batch as JSON lines, one per request in\n"
                     "submission order, to stdout or FILE (written whole or not at all).\n"
                     "Requests that have not ended yet show their current status.\n"
                     "Exit: 0 written, 1 unknown batch or write error, 2 usage,\n"
                     "4 intake unreachable.", argc, argv, &c, &id, &output);

    if (rc)
        return rc > 0 ? CLI_OK : CLI_USAGE;
    if (check_output(output, NULL) != 0)
        return CLI_USAGE;
    rc = fetch_results(&c, id, output, &lines);
    if (rc == CLI_OK && strcmp(output, "-") != 0)
        fprintf(stderr, "results: %lld line%s in %s\n", lines, lines == 1 ? "" : "s", output);
    return rc;
}

static int batch_cancel(int argc, char **argv)
{
    cli_client c;
    const char *id;
    char path[600];
    json_t *b;
    long status;
    int rc = id_args("cancel", "usage: quarry batch cancel ID [--json] [--url URL] [--key KEY]\n\n"
                     "Cancels every request of the batch that has not started (its quota\n"
                     "reservation is released); requests already running finish and keep\n"
                     "their results. Cancelling again is harmless.\n"
                     "Exit: 0 cancelled or cancelling, 1 unknown batch or one that already\n"
                     "ended (BATCH_NOT_CANCELLABLE), 2 usage, 4 intake unreachable.",
                     argc, argv, &c, &id, NULL);

    if (rc)
        return rc > 0 ? CLI_OK : CLI_USAGE;
    if (batch_path(id, "/cancel", path, sizeof(path)) != 0)
        return CLI_USAGE;
    status = cli_api_request(&c, "POST", path, NULL, &b);
    if (status == 200) {
        if (c.json) {
            print_json(b);
        } else {
            printf("batch %s %s: %lld cancelled, %lld still running, %lld succeeded, "
                   "%lld failed\n", str_of(b, "id"), str_of(b, "status"),
                   count_of(b, "cancelled"), count_of(b, "running"), count_of(b, "succeeded"),
                   count_of(b, "failed"));
        }
        rc = CLI_OK;
    } else {
        rc = cli_api_error(status, b);
    }
    json_decref(b);
    return rc;
}

static int batch_list(int argc, char **argv)
{
    cli_client c;
    const char *after = NULL, *v;
    long limit = 20;
    char path[700], esc[512];
    json_t *page, *b;
    size_t k;
    long status;
    int rc;

    cli_client_init(&c);
    for (int i = 1; i < argc; i++) {
        int r = cli_client_option(argc, argv, &i, &c, NULL), bad = 0;

        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts("usage: quarry batch list [--limit N] [--after ID] [--json] [--url URL] "
                 "[--key KEY]\n\n"
                 "Lists the key's batches, newest first: N of them (1 to 100, default 20),\n"
                 "starting after batch ID; says how to get the next page when there is one.\n"
                 "Exit: 0 listed, 1 refused, 2 usage, 4 intake unreachable.");
            return CLI_OK;
        }
        if ((v = cli_opt(argc, argv, &i, "--limit", &bad))) {
            char *end;
            limit = strtol(v, &end, 10);
            if (end == v || *end || limit < 1 || limit > 100) {
                fprintf(stderr, "quarry batch list: --limit must be 1 to 100, not \"%s\"\n", v);
                return CLI_USAGE;
            }
        } else if ((v = cli_opt(argc, argv, &i, "--after", &bad))) {
            after = v;
        } else {
            if (!bad)
                fprintf(stderr, "quarry batch list: unexpected argument %s\n", argv[i]);
            return CLI_USAGE;
        }
    }
    if (cli_need_key(&c))
        return CLI_USAGE;
    if (after && cli_api_escape(after, esc, sizeof(esc)) != 0) {
        fprintf(stderr, "quarry batch list: the batch id is too long\n");
        return CLI_USAGE;
    }
    snprintf(path, sizeof(path), "/v1/batches?limit=%ld%s%s", limit, after ? "&after=" : "",
             after ? esc : "");
    status = cli_api_request(&c, "GET", path, NULL, &page);
    if (status != 200) {
        rc = cli_api_error(status, page);
        json_decref(page);
        return rc;
    }
    if (c.json) {
        print_json(page);
    } else {
        printf("%-36s  %-11s  %6s  %9s  %6s  %9s  %7s  %s\n", "ID", "STATUS", "TOTAL",
               "SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED", "CREATED");
        json_array_foreach(json_object_get(page, "data"), k, b) {
            printf("%-36s  %-11s  %6lld  %9lld  %6lld  %9lld  %7lld  %s\n", str_of(b, "id"),
                   str_of(b, "status"), count_of(b, "total"), count_of(b, "succeeded"),
                   count_of(b, "failed"), count_of(b, "cancelled"), count_of(b, "expired"),
                   str_of(b, "created_at"));
        }
        if (json_is_true(json_object_get(page, "has_more")) && str_of(page, "last_id"))
            fprintf(stderr, "more: quarry batch list --limit %ld --after %s\n", limit,
                    str_of(page, "last_id"));
    }
    json_decref(page);
    return CLI_OK;
}

static void batch_usage(FILE *out)
{
    fputs("usage: quarry batch COMMAND [OPTIONS]\n\n"
          "Many questions in one request, answered at a lower priority (docs/batches.md).\n\n"
          "Commands:\n"
          "  submit FILE.jsonl [--strict] [-o RESULTS] [--no-wait]\n"
          "                          upload a batch, follow it, write its results\n"
          "  wait ID [-o RESULTS]    follow a batch until it ends (after Ctrl-C, say)\n"
          "  status ID [--json]      show a batch\n"
          "  results ID [-o FILE]    stream its results as JSON lines\n"
          "  cancel ID               cancel the requests that have not started\n"
          "  list [--limit N]        the key's batches, newest first\n\n"
          "Every command takes --help, --url URL and --key KEY (default QUARRY_URL and\n"
          "QUARRY_API_KEY; `source .run/env` sets the URL for the local stack).\n\n"
          "Exit codes: 0 ok (submit, wait: every request succeeded), 1 refused by the\n"
          "intake, or a batch with invalid lines or requests that did not succeed, 2 usage,\n"
          "3 --timeout ran out (the batch goes on), 4 intake unreachable or 5xx;\n"
          "Ctrl-C while waiting leaves the batch running and ends by SIGINT (130).\n",
          out);
}

int cli_batch(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"submit", batch_submit}, {"wait", batch_wait},       {"status", batch_status},
                {"results", batch_results}, {"cancel", batch_cancel}, {"list", batch_list}};
    struct sigaction sa, old;
    int rc = -1, watch;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        batch_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    /* For the commands that wait or stream, Ctrl-C only sets a flag (no SA_RESTART, so
     * sleeps end at once) that the wait loop and the transfers look at to leave cleanly;
     * the others are short requests that Ctrl-C may simply kill. */
    watch = strcmp(argv[1], "submit") == 0 || strcmp(argv[1], "wait") == 0 ||
            strcmp(argv[1], "results") == 0;
    if (watch) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old);
    }
    for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
        if (strcmp(argv[1], cmds[k].name) == 0)
            rc = cmds[k].fn(argc - 1, argv + 1);
    if (watch)
        sigaction(SIGINT, &old, NULL);
    if (rc == -1) {
        fprintf(stderr, "quarry batch: unknown command \"%s\"\n\n", argv[1]);
        batch_usage(stderr);
        rc = CLI_USAGE;
    }
    if (rc == BATCH_INTERRUPTED) {
        /* Die of SIGINT, as the shell expects of a program it sent Ctrl-C: a script
         * running us stops too, instead of reading an exit code as an answer. */
        fflush(stdout);
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
    }
    return rc;
}
