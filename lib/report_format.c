/* report_format.c - result tables as aligned text, CSV or JSON, and the duration and
 * day parsers of the `quarry` reports (see report_format.h). */
#include "report_format.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CELLS (1L << 24)   /* a report larger than this is a mistake, not a report */

struct q_rf_table {
    int ncols;
    char **names;        /* ncols */
    q_rf_kind *kinds;    /* ncols */
    char **cells;        /* nrows * ncols, row-major; NULL is SQL NULL */
    int nrows;
    int cap_rows;
};

q_rf_table *q_rf_table_new(int ncols)
{
    q_rf_table *t;

    if (ncols <= 0)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->names = calloc((size_t)ncols, sizeof(*t->names));
    t->kinds = calloc((size_t)ncols, sizeof(*t->kinds));
    if (!t->names || !t->kinds) {
        q_rf_table_free(t);
        return NULL;
    }
    return t;
}

void q_rf_table_free(q_rf_table *t)
{
    if (!t)
        return;
    if (t->names)
        for (int c = 0; c < t->ncols; c++)
            free(t->names[c]);
    for (long i = 0; i < (long)t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->names);
    free(t->kinds);
    free(t);
}

int q_rf_table_column(q_rf_table *t, int col, const char *name, q_rf_kind kind)
{
    char *copy;

    if (!t || col < 0 || col >= t->ncols || !name)
        return -1;
    copy = strdup(name);
    if (!copy)
        return -1;
    free(t->names[col]);
    t->names[col] = copy;
    t->kinds[col] = kind;
    return 0;
}

int q_rf_table_add_row(q_rf_table *t, const char *const *cells)
{
    long base;

    if (t->nrows == t->cap_rows) {
        int cap = t->cap_rows ? t->cap_rows * 2 : 16;
        char **grown;

        if ((long)cap * t->ncols > MAX_CELLS)
            return -1;
        grown = realloc(t->cells, (size_t)cap * (size_t)t->ncols * sizeof(*grown));
        if (!grown)
            return -1;
        t->cells = grown;
        t->cap_rows = cap;
    }
    base = (long)t->nrows * t->ncols;
    for (int c = 0; c < t->ncols; c++) {
        t->cells[base + c] = NULL;
        if (cells[c] && !(t->cells[base + c] = strdup(cells[c]))) {
            for (int d = 0; d < c; d++)
                free(t->cells[base + d]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

int q_rf_table_rows(const q_rf_table *t)
{
    return t ? t->nrows : 0;
}

/* Display width: UTF-8 characters (bytes that do not continue a sequence). */
static size_t width(const char *s)
{
    size_t n = 0;

    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static const char *cell(const q_rf_table *t, int row, int col)
{
    return t->cells[(long)row * t->ncols + col];
}

/* Spaces are held back until something visible follows, so no line ends in blanks. */
static int flush_pad(FILE *out, size_t *pending)
{
    for (; *pending; (*pending)--)
        if (fputc(' ', out) == EOF)
            return -1;
    return 0;
}

static int write_table(const q_rf_table *t, FILE *out)
{
    size_t *w = calloc((size_t)t->ncols, sizeof(*w));
    int rc = -1;

    if (!w)
        return -1;
    for (int c = 0; c < t->ncols; c++) {
        w[c] = width(t->names[c]);
        for (int r = 0; r < t->nrows; r++)
            if (width(cell(t, r, c)) > w[c])
                w[c] = width(cell(t, r, c));
    }
    /* line -2 is the header, -1 the rule under it */
    for (int r = -2; r < t->nrows; r++) {
        size_t pending = 0;

        for (int c = 0; c < t->ncols; c++) {
            const char *s = r == -2 ? t->names[c] : r == -1 ? NULL : cell(t, r, c);
            size_t sw = width(s);

            if (c > 0)
                pending += 2;
            if (r == -1) {
                if (flush_pad(out, &pending))
                    goto out;
                for (size_t i = 0; i < w[c]; i++)
                    if (fputc('-', out) == EOF)
                        goto out;
                continue;
            }
            if (t->kinds[c] != Q_RF_TEXT) {   /* right-aligned */
                pending += w[c] - sw;
                if (sw && (flush_pad(out, &pending) || fputs(s, out) == EOF))
                    goto out;
            } else {
                if (sw && (flush_pad(out, &pending) || fputs(s, out) == EOF))
                    goto out;
                pending += w[c] - sw;
            }
        }
        if (fputc('\n', out) == EOF)
            goto out;
    }
    if (t->nrows == 0 && fputs("(no rows)\n", out) == EOF)
        goto out;
    rc = 0;
out:
    free(w);
    return rc;
}

static int write_csv_field(const char *s, FILE *out)
{
    if (!s)
        return 0;
    if (!strpbrk(s, ",\"\r\n"))
        return fputs(s, out) == EOF ? -1 : 0;
    if (fputc('"', out) == EOF)
        return -1;
    for (; *s; s++)
        if ((*s == '"' && fputc('"', out) == EOF) || fputc(*s, out) == EOF)
            return -1;
    return fputc('"', out) == EOF ? -1 : 0;
}

static int write_csv(const q_rf_table *t, FILE *out)
{
    for (int r = -1; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            if (c > 0 && fputc(',', out) == EOF)
                return -1;
            if (write_csv_field(r < 0 ? t->names[c] : cell(t, r, c), out))
                return -1;
        }
        if (fputc('\n', out) == EOF)
            return -1;
    }
    return 0;
}

static json_t *json_cell(const char *s, q_rf_kind kind)
{
    char *end;
    long long v;

    if (!s)
        return json_null();
    if (kind == Q_RF_INT) {
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == 0 && end != s && *end == '\0')
            return json_integer(v);
    }
    return json_string(s);
}

static int write_json(const q_rf_table *t, FILE *out)
{
    json_t *rows = json_array();
    int rc = -1;

    if (!rows)
        return -1;
    for (int r = 0; r < t->nrows; r++) {
        json_t *obj = json_object();

        if (!obj || json_array_append_new(rows, obj))
            goto out;
        for (int c = 0; c < t->ncols; c++) {
            json_t *v = json_cell(cell(t, r, c), t->kinds[c]);

            /* json_string fails on invalid UTF-8: the database never sends any */
            if (!v || json_object_set_new(obj, t->names[c], v))
                goto out;
        }
    }
    if (json_dumpf(rows, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) || fputc('\n', out) == EOF)
        goto out;
    rc = 0;
out:
    json_decref(rows);
    return rc;
}

int q_rf_table_write(const q_rf_table *t, q_rf_format format, FILE *out)
{
    for (int c = 0; c < t->ncols; c++)
        if (!t->names[c])
            return -1;
    switch (format) {
    case Q_RF_FORMAT_CSV:
        return write_csv(t, out);
    case Q_RF_FORMAT_JSON:
        return write_json(t, out);
    default:
        return write_table(t, out);
    }
}

int q_rf_parse_format(const char *s, q_rf_format *out)
{
    if (!s)
        return -1;
    if (strcmp(s, "table") == 0)
        *out = Q_RF_FORMAT_TABLE;
    else if (strcmp(s, "csv") == 0)
        *out = Q_RF_FORMAT_CSV;
    else if (strcmp(s, "json") == 0)
        *out = Q_RF_FORMAT_JSON;
    else
        return -1;
    return 0;
}

/* Non-negative decimal integer of at most 9 digits in s[0..len). */
static int parse_count(const char *s, size_t len, long long *out)
{
    long long v = 0;

    if (len == 0 || len > 9)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int q_rf_parse_duration(const char *s, long long *seconds)
{
    size_t n = s ? strlen(s) : 0;
    long long v, unit;

    if (n < 2 || parse_count(s, n - 1, &v))
        return -1;
    switch (s[n - 1]) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return -1;
    }
    if (v > 100LL * 366 * 86400 / unit)
        return -1;
    *seconds = v * unit;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long days_from_civil(long y, long m, long d)
{
    long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void q_rf_format_day(long day, char *out)
{
    long z = day + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;

    char tmp[64];

    snprintf(tmp, sizeof(tmp), "%04ld-%02ld-%02ld", (y + (m <= 2)) % 10000, m, d);
    memcpy(out, tmp, 10);
    out[10] = '\0';
}

int q_rf_parse_day(const char *s, long today, long *day)
{
    size_t n = s ? strlen(s) : 0;
    long long y, m, d;
    char back[11];

    if (n >= 2 && s[n - 1] == 'd' && parse_count(s, n - 1, &d) == 0) {
        *day = today - (long)d;
        return 0;
    }
    if (n != 10 || s[4] != '-' || s[7] != '-' || parse_count(s, 4, &y) ||
        parse_count(s + 5, 2, &m) || parse_count(s + 8, 2, &d) || y < 1 || m < 1 || m > 12 ||
        d < 1 || d > 31)
        return -1;
    *day = days_from_civil((long)y, (long)m, (long)d);
    q_rf_format_day(*day, back);   /* rejects 2026-02-30 and friends */
    return strcmp(back, s) == 0 ? 0 : -1;
}
