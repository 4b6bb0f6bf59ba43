/* report_format.h - pure helpers of the `quarry` reports: a result table written as an
 * aligned text table, CSV or JSON, and the parsers for durations ("30d") and days
 * ("2026-11-25", "7d" ago).
 *
 * Ownership: a q_rf_table owns copies of every string given to it; q_rf_table_free
 * releases them all and accepts NULL. Nothing here does I/O except q_rf_table_write,
 * which writes to the FILE it is given. */
#ifndef QUARRY_REPORT_FORMAT_H
#define QUARRY_REPORT_FORMAT_H

#include <stdio.h>

typedef enum {
    Q_RF_TEXT = 0,     /* left-aligned; JSON string */
    Q_RF_INT,          /* right-aligned; JSON integer */
    Q_RF_DECIMAL       /* right-aligned; JSON string, so exact numeric values survive */
} q_rf_kind;

typedef enum {
    Q_RF_FORMAT_TABLE = 0,
    Q_RF_FORMAT_CSV,
    Q_RF_FORMAT_JSON
} q_rf_format;

typedef struct q_rf_table q_rf_table;

/* A new empty table with `ncols` columns, or NULL when out of memory. Column names and
 * kinds are set with q_rf_table_column before the first row is added. */
q_rf_table *q_rf_table_new(int ncols);
void q_rf_table_free(q_rf_table *t);

/* Names column `col` (0-based). Returns 0, or -1 when col is out of range or out of memory. */
int q_rf_table_column(q_rf_table *t, int col, const char *name, q_rf_kind kind);

/* Appends a row of `ncols` cells; a NULL cell is SQL NULL (empty in the table and CSV,
 * null in JSON). Returns 0, or -1 when out of memory (the table is unchanged). */
int q_rf_table_add_row(q_rf_table *t, const char *const *cells);

int q_rf_table_rows(const q_rf_table *t);

/* Writes the table. Table: a header, a rule, one line per row, columns separated by two
 * spaces, numbers right-aligned, widths counted in UTF-8 characters; "(no rows)" when
 * empty. CSV: RFC 4180 (CRLF-free: "\n" line ends), a header line, fields quoted when
 * they contain a comma, quote or line break. JSON: an array of objects, one per row,
 * keys in column order. Returns 0, or -1 when writing failed. */
int q_rf_table_write(const q_rf_table *t, q_rf_format format, FILE *out);

/* "table", "csv" or "json". Returns 0, or -1 for anything else. */
int q_rf_parse_format(const char *s, q_rf_format *out);

/* Parses a duration "N" + unit, unit one of s, m, h, d, w (seconds, minutes, hours,
 * days, weeks), N a non-negative decimal integer; "30d" -> 2592000. Returns 0, or -1
 * when malformed or larger than 100 years. */
int q_rf_parse_duration(const char *s, long long *seconds);

/* Parses a UTC day for --since/--until: either "YYYY-MM-DD" (a real calendar date) or
 * "Nd" meaning N days before `today` (given as days since 1970-01-01). Writes the day
 * as days since 1970-01-01. Returns 0, or -1 when malformed. */
int q_rf_parse_day(const char *s, long today, long *day);

/* Formats days since 1970-01-01 as "YYYY-MM-DD" into out (at least 11 bytes). */
void q_rf_format_day(long day, char *out);

#endif
