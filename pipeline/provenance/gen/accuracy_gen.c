/* accuracy_gen.c: build- and test-time tool over docs/accuracy.csv, the one source of the
 * accuracy figures: writes the manifest's known-error table (C), the generated tables of
 * docs/accuracy.md and README.md, gives the accuracy tests their floors, checks the file.
 *
 *   gd_accuracy_gen c CSV OUT.c                  known-error table for the manifest
 *   gd_accuracy_gen docs CSV [--check] FILE.md…  rewrite (or compare) the generated blocks
 *   gd_accuracy_gen floors CSV ID                print "pcc kappa f1" floors ("-" = none)
 *   gd_accuracy_gen get CSV ID COLUMN            print one field
 *   gd_accuracy_gen set CSV ID COLUMN=VALUE…     change fields of a row (checked, atomic)
 *   gd_accuracy_gen check CSV [--ids ID…] [--tests NAME…]
 *
 * Plain C with no library beyond libc, so the build needs nothing new (no Python). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* a floor must sit under its figure by at most this much ("just under"): the widest gap
 * in the table when this check was written is 0.038 (cva on OSCD bercy, kappa) */
#define MAX_GAP 0.04

/* COL_PCC_LO..COL_F1_HI: the 95 % spatial block-bootstrap interval of each figure (pcc_lo,
 * pcc_hi, kappa_lo, ...; tests/accuracy/intervals.sh writes them), over blocks of ci_block
 * px and ci_resamples resamples; loo_kappa, loo_f1: the leave-one-dataset-out figure of a
 * default chosen by a sweep on the benchmarks (sweep_sar.sh, sweep_urban.sh) */
enum { COL_ID, COL_TEST, COL_METHOD, COL_DATASET, COL_SETTING, COL_PCC, COL_KAPPA, COL_F1, COL_PCC_FLOOR,
       COL_KAPPA_FLOOR, COL_F1_FLOOR, COL_PCC_LO, COL_PCC_HI, COL_KAPPA_LO, COL_KAPPA_HI,
       COL_F1_LO, COL_F1_HI, COL_CI_BLOCK, COL_CI_RESAMPLES, COL_LOO_KAPPA, COL_LOO_F1,
       COL_MANIFEST, COL_NOTES, NFIELDS };

static const char *const header[NFIELDS] = {
    "id", "test", "method", "dataset", "setting", "pcc", "kappa", "f1", "pcc_floor",
    "kappa_floor", "f1_floor", "pcc_lo", "pcc_hi", "kappa_lo", "kappa_hi", "f1_lo", "f1_hi",
    "ci_block", "ci_resamples", "loo_kappa", "loo_f1", "manifest_dataset", "notes"};

/* a figure rounded to the CSV's digits may sit this far outside the interval measured on
 * the unrounded one */
#define ROUNDING 5e-4

typedef struct {
    char *f[NFIELDS];
    int line;
} row;

typedef struct {
    row *rows;
    size_t n;
} table;

static void table_free(table *t)
{
    for (size_t i = 0; i < t->n; i++)
        for (int j = 0; j < NFIELDS; j++)
            free(t->rows[i].f[j]);
    free(t->rows);
    t->rows = NULL;
    t->n = 0;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!fp) {
        fprintf(stderr, "gd_accuracy_gen: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 4096, fp);
        n += got;
        if (got < 4096)
            break;
    }
    fclose(fp);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* one RFC 4180 record from *p; fields may be quoted ("" = a quote); returns the number
 * of fields, -1 on a malformed or over-long record */
static int parse_record(const char **p, char *fields[NFIELDS + 1])
{
    const char *s = *p;
    int nf = 0;
    for (;;) {
        size_t cap = strlen(s) + 1, k = 0;
        char *out = malloc(cap);
        if (!out)
            return -1;
        if (*s == '"') {
            s++;
            while (*s && !(*s == '"' && s[1] != '"')) {
                if (*s == '"')
                    s++;
                out[k++] = *s++;
            }
            if (*s != '"') {
                free(out);
                return -1;
            }
            s++;
        } else {
            while (*s && *s != ',' && *s != '\n' && *s != '\r')
                out[k++] = *s++;
        }
        out[k] = '\0';
        if (nf > NFIELDS) {
            free(out);
            return -1;
        }
        fields[nf++] = out;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\r')
            s++;
        if (*s == '\n')
            s++;
        else if (*s) {
            *p = s;
            return -1; /* text after a closing quote */
        }
        *p = s;
        return nf;
    }
}

static int load(const char *path, table *t)
{
    size_t len;
    char *text = read_all(path, &len);
    int st = 0, line = 0;
    const char *p = text;
    t->rows = NULL;
    t->n = 0;
    if (!text)
        return -1;
    size_t cap = 0;
    while (*p) {
        char *fields[NFIELDS + 1] = {0};
        line++;
        int nf = parse_record(&p, fields);
        if (nf != NFIELDS) {
            fprintf(stderr, "%s:%d: %d fields, expected %d (quote fields holding commas)\n",
                    path, line, nf, NFIELDS);
            for (int j = 0; j < NFIELDS + 1; j++)
                free(fields[j]);
            st = -1;
            break;
        }
        if (line == 1) {
            for (int j = 0; j < NFIELDS; j++)
                if (strcmp(fields[j], header[j]) != 0) {
                    fprintf(stderr, "%s:1: column %d is \"%s\", expected \"%s\"\n", path,
                            j + 1, fields[j], header[j]);
                    st = -1;
                }
            for (int j = 0; j < NFIELDS; j++)
                free(fields[j]);
            if (st)
                break;
            continue;
        }
        if (t->n == cap) {
            cap = cap ? 2 * cap : 64;
            row *nr = realloc(t->rows, cap * sizeof *nr);
            if (!nr) {
                for (int j = 0; j < NFIELDS; j++)
                    free(fields[j]);
                st = -1;
                break;
            }
            t->rows = nr;
        }
        row *r = &t->rows[t->n++];
        memcpy(r->f, fields, sizeof r->f);
        r->line = line;
    }
    free(text);
    if (st)
        table_free(t);
    return st;
}

/* empty = no figure; else a plain decimal in [-1, 1] */
static int number(const char *s, double *v)
{
    char *end;
    if (!*s)
        return 0;
    errno = 0;
    *v = strtod(s, &end);
    if (errno || *end || end == s || !(*v >= -1.0 && *v <= 1.0) || strchr(s, 'e') ||
        strchr(s, 'E') || strchr(s, 'x') || strchr(s, 'X'))
        return -1;
    return 1;
}

/* empty = none; else a whole number in [lo, hi] */
static int whole(const char *s, long lo, long hi, long *v)
{
    char *end;
    if (!*s)
        return 0;
    errno = 0;
    *v = strtol(s, &end, 10);
    return errno || *end || end == s || *v < lo || *v > hi ? -1 : 1;
}

/* accuracy.floors (the check command): a manifest row also needs its intervals; the build
 * (c) and the docs do not refuse a row that lacks them */
static int strict;

/* the interval columns of a row: for each metric both ends or neither, only beside a
 * figure, lo <= figure <= hi (to the CSV's rounding), and the block size and the number of
 * resamples with any interval; a manifest row needs all three intervals */
static int check_intervals(const char *path, const row *r)
{
    int bad = 0, any = 0;
    for (int m = 0; m < 3; m++) {
        double v, lo, hi;
        int hv = number(r->f[COL_PCC + m], &v), hl = number(r->f[COL_PCC_LO + 2 * m], &lo),
            hh = number(r->f[COL_PCC_LO + 2 * m + 1], &hi);
        if (hl < 0 || hh < 0) {
            fprintf(stderr, "%s:%d: %s: %s or %s is not a number in [-1, 1]\n", path, r->line,
                    r->f[COL_ID], header[COL_PCC_LO + 2 * m], header[COL_PCC_LO + 2 * m + 1]);
            bad++;
            continue;
        }
        if (hl != hh) {
            fprintf(stderr, "%s:%d: %s: %s and %s go together\n", path, r->line, r->f[COL_ID],
                    header[COL_PCC_LO + 2 * m], header[COL_PCC_LO + 2 * m + 1]);
            bad++;
        } else if (hl && hv != 1) {
            fprintf(stderr, "%s:%d: %s: an interval of %s without the figure\n", path,
                    r->line, r->f[COL_ID], header[COL_PCC + m]);
            bad++;
        } else if (hl && !(lo <= hi && lo - ROUNDING <= v && v <= hi + ROUNDING)) {
            fprintf(stderr, "%s:%d: %s: %s %s is outside its interval %s-%s (a figure and its "
                            "interval from different runs?)\n",
                    path, r->line, r->f[COL_ID], header[COL_PCC + m], r->f[COL_PCC + m],
                    r->f[COL_PCC_LO + 2 * m], r->f[COL_PCC_LO + 2 * m + 1]);
            bad++;
        }
        any |= hl == 1;
        if (strict && *r->f[COL_MANIFEST] && hl != 1) {
            fprintf(stderr, "%s:%d: %s: a manifest row needs the interval of %s\n", path,
                    r->line, r->f[COL_ID], header[COL_PCC + m]);
            bad++;
        }
    }
    long blk, nres;
    int hb = whole(r->f[COL_CI_BLOCK], 1, 4096, &blk),
        hr = whole(r->f[COL_CI_RESAMPLES], 100, 1000000, &nres);
    if (hb < 0 || hr < 0 || (any && (hb != 1 || hr != 1)) || (!any && (hb || hr))) {
        fprintf(stderr, "%s:%d: %s: an interval needs ci_block (1-4096 px) and ci_resamples "
                        "(100-1000000), and they need an interval\n",
                path, r->line, r->f[COL_ID]);
        bad++;
    }
    for (int m = 0; m < 2; m++) {
        double v;
        if (number(r->f[COL_LOO_KAPPA + m], &v) < 0) {
            fprintf(stderr, "%s:%d: %s: %s is not a number in [-1, 1]\n", path, r->line,
                    r->f[COL_ID], header[COL_LOO_KAPPA + m]);
            bad++;
        }
    }
    return bad;
}

static int check_table(const char *path, const table *t)
{
    int bad = 0;
    for (size_t i = 0; i < t->n; i++) {
        const row *r = &t->rows[i];
        if (!*r->f[COL_ID] || !*r->f[COL_METHOD] || !*r->f[COL_DATASET]) {
            fprintf(stderr, "%s:%d: id, method and dataset are required\n", path, r->line);
            bad++;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(t->rows[k].f[COL_ID], r->f[COL_ID]) == 0) {
                fprintf(stderr, "%s:%d: id %s already on line %d\n", path, r->line,
                        r->f[COL_ID], t->rows[k].line);
                bad++;
            }
        for (int m = 0; m < 3; m++) {
            double v, fl;
            int hv = number(r->f[COL_PCC + m], &v), hf = number(r->f[COL_PCC_FLOOR + m], &fl);
            if (hv < 0 || hf < 0) {
                fprintf(stderr, "%s:%d: %s: %s or %s is not a number in [-1, 1]\n", path,
                        r->line, r->f[COL_ID], header[COL_PCC + m], header[COL_PCC_FLOOR + m]);
                bad++;
                continue;
            }
            if (hf && !hv) {
                fprintf(stderr, "%s:%d: %s: %s without a measured %s\n", path, r->line,
                        r->f[COL_ID], header[COL_PCC_FLOOR + m], header[COL_PCC + m]);
                bad++;
            } else if (hf && (fl > v || v - fl > MAX_GAP + 1e-9)) {
                fprintf(stderr,
                        "%s:%d: %s: %s %s is not just under the measured %s %s (0 to %.2f "
                        "below)\n",
                        path, r->line, r->f[COL_ID], header[COL_PCC_FLOOR + m],
                        r->f[COL_PCC_FLOOR + m], header[COL_PCC + m], r->f[COL_PCC + m], MAX_GAP);
                bad++;
            }
        }
        if (*r->f[COL_MANIFEST]) {
            double v;
            for (int m = 0; m < 3; m++)
                if (number(r->f[COL_PCC + m], &v) != 1) {
                    fprintf(stderr, "%s:%d: %s: a manifest row needs pcc, kappa and f1\n",
                            path, r->line, r->f[COL_ID]);
                    bad++;
                    break;
                }
        }
        bad += check_intervals(path, r);
        if (*r->f[COL_PCC_FLOOR] || *r->f[COL_KAPPA_FLOOR] || *r->f[COL_F1_FLOOR])
            if (!*r->f[COL_TEST]) {
                fprintf(stderr, "%s:%d: %s has floors but no test that asserts them\n", path,
                        r->line, r->f[COL_ID]);
                bad++;
            }
    }
    return bad;
}

static const row *find(const table *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].f[COL_ID], id) == 0)
            return &t->rows[i];
    return NULL;
}

/* write to PATH.tmp-<pid>, then rename: a failed run never leaves a half file */
static int write_atomic(const char *path, const char *text)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        fprintf(stderr, "gd_accuracy_gen: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    int ok = fputs(text, fp) >= 0;
    ok &= fclose(fp) == 0;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "gd_accuracy_gen: cannot write %s\n", path);
        remove(tmp);
        return -1;
    }
    return 0;
}

/* a growing string */
typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0 || b->oom)
        return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = (b->n + (size_t)k + 1) * 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

/* a CSV number as a C literal: the CSV's digits (the same literals give the same
 * doubles), NAN when empty */
static void c_number(buf *b, const char *s)
{
    put(b, "%s", *s ? s : "NAN");
}

static int gen_c(const table *t, const char *csv, const char *out)
{
    buf b = {0};
    put(&b, "/* known_errors.c: generated by gd_accuracy_gen from %s; do not edit (edit the "
            "CSV) */\n#include \"known_errors.h\"\n\n#include <math.h>\n\n"
            "const struct gd_known_error gd_known_errors[] = {\n", csv);
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const row *r = &t->rows[i];
        if (!*r->f[COL_MANIFEST])
            continue;
        /* C string literals: escape what C would read otherwise */
        const char *s[2] = {r->f[COL_METHOD], r->f[COL_MANIFEST]};
        put(&b, "    {\"");
        for (int k = 0; k < 2; k++) {
            for (const char *c = s[k]; *c; c++)
                put(&b, (*c == '"' || *c == '\\') ? "\\%c" : "%c", *c);
            put(&b, k == 0 ? "\", \"" : "\", ");
        }
        put(&b, "%s, %s, %s, {", r->f[COL_PCC], r->f[COL_KAPPA], r->f[COL_F1]);
        for (int m = 0; m < 3; m++) {
            put(&b, m ? ", " : "");
            c_number(&b, r->f[COL_PCC_LO + 2 * m]);
        }
        put(&b, "}, {");
        for (int m = 0; m < 3; m++) {
            put(&b, m ? ", " : "");
            c_number(&b, r->f[COL_PCC_LO + 2 * m + 1]);
        }
        put(&b, "}, %s, %s, ", *r->f[COL_CI_BLOCK] ? r->f[COL_CI_BLOCK] : "0",
            *r->f[COL_CI_RESAMPLES] ? r->f[COL_CI_RESAMPLES] : "0");
        c_number(&b, r->f[COL_LOO_KAPPA]);
        put(&b, ", ");
        c_number(&b, r->f[COL_LOO_F1]);
        put(&b, "},\n");
        n++;
    }
    if (n == 0)
        put(&b, "    {0},\n");
    put(&b, "};\nconst size_t gd_known_errors_count = %zu;\n", n);
    int st = b.oom ? -1 : write_atomic(out, b.s);
    free(b.s);
    return st;
}

/* a figure for reading: the CSV's digits, with a true minus sign; "—" when empty */
static void fig(buf *b, const char *s)
{
    if (!*s)
        put(b, "—");
    else if (*s == '-')
        put(b, "−%s", s + 1);
    else
        put(b, "%s", s);
}

/* a figure and, when measured, its 95 % interval in brackets */
static void fig_ci(buf *b, const row *r, int m)
{
    fig(b, r->f[COL_PCC + m]);
    if (*r->f[COL_PCC_LO + 2 * m]) {
        put(b, " (");
        fig(b, r->f[COL_PCC_LO + 2 * m]);
        put(b, "–");
        fig(b, r->f[COL_PCC_LO + 2 * m + 1]);
        put(b, ")");
    }
}

static void block_table(const table *t, buf *b)
{
    put(b, "| dataset | method | setting | PCC (95 %% interval) | κ (95 %% interval) | "
           "F1 (95 %% interval) | leave-one-out | floors PCC / κ / F1 | test | notes |\n"
           "|---|---|---|---:|---:|---:|---|---|---|---|\n");
    for (size_t i = 0; i < t->n; i++) {
        const row *r = &t->rows[i];
        put(b, "| %s | `%s` | %s | ", r->f[COL_DATASET], r->f[COL_METHOD], r->f[COL_SETTING]);
        for (int m = 0; m < 3; m++) {
            fig_ci(b, r, m);
            put(b, " | ");
        }
        if (*r->f[COL_LOO_KAPPA] || *r->f[COL_LOO_F1]) {
            if (*r->f[COL_LOO_KAPPA]) {
                put(b, "κ ");
                fig(b, r->f[COL_LOO_KAPPA]);
            }
            if (*r->f[COL_LOO_F1]) {
                put(b, "%sF1 ", *r->f[COL_LOO_KAPPA] ? ", " : "");
                fig(b, r->f[COL_LOO_F1]);
            }
        } else {
            put(b, "—");
        }
        put(b, " | ");
        if (*r->f[COL_PCC_FLOOR] || *r->f[COL_KAPPA_FLOOR] || *r->f[COL_F1_FLOOR]) {
            fig(b, r->f[COL_PCC_FLOOR]);
            put(b, " / ");
            fig(b, r->f[COL_KAPPA_FLOOR]);
            put(b, " / ");
            fig(b, r->f[COL_F1_FLOOR]);
        } else {
            put(b, "—");
        }
        put(b, " | %s%s%s | %s |\n", *r->f[COL_TEST] ? "`" : "",
            *r->f[COL_TEST] ? r->f[COL_TEST] : "—", *r->f[COL_TEST] ? "`" : "", r->f[COL_NOTES]);
    }
}

/* the interval settings of the table (one line; "" when none is measured) */
static void block_ci_note(const table *t, buf *b)
{
    const char *blk = NULL, *nres = NULL;
    int mixed = 0;
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const row *r = &t->rows[i];
        if (!*r->f[COL_CI_BLOCK])
            continue;
        n++;
        if (!blk) {
            blk = r->f[COL_CI_BLOCK];
            nres = r->f[COL_CI_RESAMPLES];
        } else if (strcmp(blk, r->f[COL_CI_BLOCK]) || strcmp(nres, r->f[COL_CI_RESAMPLES])) {
            mixed = 1;
        }
    }
    if (!n)
        return;
    /* a blank line first: a line right under a table would be read as one of its rows */
    if (mixed)
        put(b, "\nIntervals: 95 %% spatial block bootstrap (percentile), block size and "
               "resamples per row in the CSV (%zu rows).\n", n);
    else
        put(b, "\nIntervals: 95 %% spatial block bootstrap (percentile): %s × %s px blocks drawn "
               "with replacement, %s resamples, %zu rows.\n", blk, blk, nres, n);
}

/* the group of a manifest row in the spread table: its method, the first word of its
 * manifest_dataset (SAR, OSCD, Landsat) and the qualifier in brackets, if any (flood's
 * adaptive and ratio rules are two groups) */
static int same_group(const row *a, const row *b)
{
    const char *da = a->f[COL_MANIFEST], *db = b->f[COL_MANIFEST];
    size_t wa = strcspn(da, " "), wb = strcspn(db, " ");
    const char *qa = strchr(da, '('), *qb = strchr(db, '(');
    return !strcmp(a->f[COL_METHOD], b->f[COL_METHOD]) && wa == wb && !strncmp(da, db, wa) &&
           !qa == !qb && (!qa || !strcmp(qa, qb));
}

/* across datasets, per method and benchmark group (same_group), the rows the manifest
 * discloses: mean, standard deviation and range of κ and F1, and the mean leave-one-out
 * figure where there is one */
/* a computed figure to 3 decimals, with a true minus sign */
static void fig3(buf *b, double v)
{
    char s[32];
    snprintf(s, sizeof s, "%.3f", v);
    fig(b, strcmp(s, "-0.000") ? s : "0.000");
}

static void block_spread(const table *t, buf *b)
{
    put(b, "| method | benchmarks | n | κ mean ± sd (min – max) | F1 mean ± sd (min – max) | "
           "leave-one-out mean (n) |\n|---|---|---:|---|---|---|\n");
    for (size_t i = 0; i < t->n; i++) {
        const row *r = &t->rows[i];
        if (!*r->f[COL_MANIFEST])
            continue;
        int first = 1;
        for (size_t k = 0; k < i && first; k++)
            if (*t->rows[k].f[COL_MANIFEST] && same_group(&t->rows[k], r))
                first = 0;
        if (!first)
            continue;
        size_t w = strcspn(r->f[COL_MANIFEST], " ");
        const char *qual = strchr(r->f[COL_MANIFEST], '(');
        double s[2] = {0, 0}, ss[2] = {0, 0}, lo[2] = {HUGE_VAL, HUGE_VAL},
               hi[2] = {-HUGE_VAL, -HUGE_VAL}, ls[2] = {0, 0};
        int n = 0, nl[2] = {0, 0};
        for (size_t k = i; k < t->n; k++) {
            const row *q = &t->rows[k];
            if (!*q->f[COL_MANIFEST] || !same_group(q, r))
                continue;
            n++;
            for (int m = 0; m < 2; m++) {
                double v = strtod(q->f[COL_KAPPA + m], NULL);
                s[m] += v;
                ss[m] += v * v;
                lo[m] = v < lo[m] ? v : lo[m];
                hi[m] = v > hi[m] ? v : hi[m];
                if (*q->f[COL_LOO_KAPPA + m]) {
                    ls[m] += strtod(q->f[COL_LOO_KAPPA + m], NULL);
                    nl[m]++;
                }
            }
        }
        put(b, "| `%s` | %.*s%s%s | %d", r->f[COL_METHOD], (int)w, r->f[COL_MANIFEST],
            qual ? " " : "", qual ? qual : "", n);
        for (int m = 0; m < 2; m++) {
            double mean = s[m] / n, var = n > 1 ? (ss[m] - n * mean * mean) / (n - 1) : 0;
            put(b, " | ");
            fig3(b, mean);
            put(b, " ± ");
            fig3(b, sqrt(var > 0 ? var : 0));
            put(b, " (");
            fig3(b, lo[m]);
            put(b, " – ");
            fig3(b, hi[m]);
            put(b, ")");
        }
        put(b, " | ");
        if (!nl[0] && !nl[1])
            put(b, "—");
        if (nl[0])
            put(b, "κ %.4f (%d)", ls[0] / nl[0], nl[0]);
        if (nl[1])
            put(b, "%sF1 %.4f (%d)", nl[0] ? ", " : "", ls[1] / nl[1], nl[1]);
        put(b, " |\n");
    }
}

/* per method, the figures the manifest discloses: the benchmarks and the range of each
 * metric */
static void block_glance(const table *t, buf *b)
{
    put(b, "| method | benchmarks (default settings) | PCC | κ | F1 |\n"
           "|---|---|---|---|---|\n");
    for (size_t i = 0; i < t->n; i++) {
        const row *r = &t->rows[i];
        if (!*r->f[COL_MANIFEST])
            continue;
        int first = 1;
        for (size_t k = 0; k < i && first; k++)
            if (*t->rows[k].f[COL_MANIFEST] && !strcmp(t->rows[k].f[COL_METHOD], r->f[COL_METHOD]))
                first = 0;
        if (!first)
            continue;
        /* benchmark families: the first word of the dataset (SAR, Landsat, OSCD) */
        char fam[8][32];
        int cnt[8] = {0}, nfam = 0;
        const char *lo[3] = {0}, *hi[3] = {0};
        double vlo[3] = {HUGE_VAL, HUGE_VAL, HUGE_VAL}, vhi[3] = {-HUGE_VAL, -HUGE_VAL,
                                                                  -HUGE_VAL};
        for (size_t k = i; k < t->n; k++) {
            const row *q = &t->rows[k];
            if (!*q->f[COL_MANIFEST] || strcmp(q->f[COL_METHOD], r->f[COL_METHOD]))
                continue;
            size_t w = strcspn(q->f[COL_MANIFEST], " ");
            int j;
            for (j = 0; j < nfam; j++)
                if (strlen(fam[j]) == w && !strncmp(fam[j], q->f[COL_MANIFEST], w))
                    break;
            if (j == nfam && nfam < 8) {
                snprintf(fam[j], sizeof fam[j], "%.*s", (int)w, q->f[COL_MANIFEST]);
                nfam++;
            }
            if (j < 8)
                cnt[j]++;
            for (int m = 0; m < 3; m++) {
                double v = strtod(q->f[COL_PCC + m], NULL);
                if (v < vlo[m]) {
                    vlo[m] = v;
                    lo[m] = q->f[COL_PCC + m];
                }
                if (v > vhi[m]) {
                    vhi[m] = v;
                    hi[m] = q->f[COL_PCC + m];
                }
            }
        }
        put(b, "| `%s` | ", r->f[COL_METHOD]);
        for (int j = 0; j < nfam; j++)
            put(b, "%s%s × %d", j ? ", " : "", fam[j], cnt[j]);
        for (int m = 0; m < 3; m++) {
            put(b, " | ");
            fig(b, lo[m]);
            if (vhi[m] > vlo[m]) {
                put(b, " – ");
                fig(b, hi[m]);
            }
        }
        put(b, " |\n");
    }
}

/* replace (or compare) every "<!-- accuracy.csv:NAME -->" … "<!-- /accuracy.csv:NAME -->"
 * block of a markdown file */
static int gen_docs(const table *t, const char *path, int check)
{
    size_t len;
    char *text = read_all(path, &len);
    buf out = {0};
    int st = 0, blocks = 0;
    if (!text)
        return -1;
    const char *p = text;
    for (;;) {
        const char *open = strstr(p, "<!-- accuracy.csv:");
        if (!open) {
            put(&out, "%s", p);
            break;
        }
        const char *name = open + strlen("<!-- accuracy.csv:");
        size_t nl = strcspn(name, " -");
        const char *eol = strchr(open, '\n');
        char close[96];
        snprintf(close, sizeof close, "<!-- /accuracy.csv:%.*s -->", (int)nl, name);
        const char *end = eol ? strstr(eol, close) : NULL;
        if (!end) {
            fprintf(stderr, "%s: block %.*s has no closing %s\n", path, (int)nl, name, close);
            st = -1;
            break;
        }
        put(&out, "%.*s", (int)(eol + 1 - p), p);
        if (nl == 5 && !strncmp(name, "table", 5)) {
            block_table(t, &out);
            block_ci_note(t, &out);
        } else if (nl == 6 && !strncmp(name, "spread", 6))
            block_spread(t, &out);
        else if (nl == 6 && !strncmp(name, "glance", 6))
            block_glance(t, &out);
        else {
            fprintf(stderr, "%s: unknown block %.*s (table, glance, spread)\n", path, (int)nl, name);
            st = -1;
            break;
        }
        blocks++;
        p = end;
    }
    if (!st && blocks == 0) {
        fprintf(stderr, "%s: no <!-- accuracy.csv:NAME --> block\n", path);
        st = -1;
    }
    if (!st && out.oom)
        st = -1;
    if (!st && strcmp(out.s, text) != 0) {
        if (check) {
            fprintf(stderr,
                    "%s: the generated accuracy table differs from docs/accuracy.csv; "
                    "rebuild the docs: cmake --build BUILD --target accuracy-docs\n",
                    path);
            st = 1;
        } else {
            st = write_atomic(path, out.s);
            if (!st)
                printf("%s: %d block(s) regenerated\n", path, blocks);
        }
    }
    free(out.s);
    free(text);
    return st;
}

/* the table back as CSV: a field is quoted only when it holds a comma, a quote or a line
 * break (RFC 4180) */
static int save(const table *t, const char *path)
{
    buf b = {0};
    for (size_t i = 0; i <= t->n; i++) {
        for (int j = 0; j < NFIELDS; j++) {
            const char *f = i ? t->rows[i - 1].f[j] : header[j];
            put(&b, j ? "," : "");
            if (strpbrk(f, ",\"\r\n")) {
                put(&b, "\"");
                for (const char *c = f; *c; c++)
                    put(&b, *c == '"' ? "\"\"" : "%c", *c);
                put(&b, "\"");
            } else {
                put(&b, "%s", f);
            }
        }
        put(&b, "\n");
    }
    int st = b.oom ? -1 : write_atomic(path, b.s);
    free(b.s);
    return st;
}

static int column(const char *name)
{
    for (int j = 0; j < NFIELDS; j++)
        if (!strcmp(header[j], name))
            return j;
    return -1;
}

/* set CSV ID COL=VALUE...: the new row must pass the same checks as the file */
static int cmd_set(table *t, const char *csv, const char *id, int n, char **kv)
{
    row *r = (row *)find(t, id);
    if (!r) {
        fprintf(stderr, "gd_accuracy_gen: no row %s in %s\n", id, csv);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        char name[64];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - kv[i]) : 0, kv[i]);
        int j = eq ? column(name) : -1;
        if (j < 0 || j == COL_ID) {
            fprintf(stderr, "gd_accuracy_gen: %s is not COLUMN=VALUE of a column other than id\n",
                    kv[i]);
            return 1;
        }
        char *v = strdup(eq + 1);
        if (!v)
            return 1;
        free(r->f[j]);
        r->f[j] = v;
    }
    /* only the changed row: a script filling new columns row by row passes through files
     * that the other commands refuse (e.g. a manifest row without its interval yet) */
    table one = {r, 1};
    if (check_table(csv, &one) != 0) {
        fprintf(stderr, "gd_accuracy_gen: %s not changed\n", csv);
        return 1;
    }
    return save(t, csv) ? 1 : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: gd_accuracy_gen c CSV OUT.c\n"
                    "       gd_accuracy_gen docs CSV [--check] FILE.md...\n"
                    "       gd_accuracy_gen floors CSV ID\n"
                    "       gd_accuracy_gen get CSV ID COLUMN\n"
                    "       gd_accuracy_gen set CSV ID COLUMN=VALUE...\n"
                    "       gd_accuracy_gen check CSV [--ids ID...] [--tests NAME...]\n");
    return 1;
}

int main(int argc, char **argv)
{
    table t = {0};
    int st = 1;
    if (argc < 3)
        return usage();
    const char *cmd = argv[1], *csv = argv[2];
    if (load(csv, &t) != 0)
        return 1;
    strict = !strcmp(cmd, "check");
    /* set and get work on a file under change (see cmd_set) */
    int bad = strcmp(cmd, "set") && strcmp(cmd, "get") ? check_table(csv, &t) : 0;
    if (bad) {
        fprintf(stderr, "%s: %d problem(s)\n", csv, bad);
        goto done;
    }
    if (!strcmp(cmd, "c") && argc == 4) {
        st = gen_c(&t, "docs/accuracy.csv", argv[3]) ? 1 : 0;
    } else if (!strcmp(cmd, "docs") && argc >= 4) {
        int check = !strcmp(argv[3], "--check"), first = 3 + check;
        st = 0;
        for (int i = first; i < argc; i++)
            if (gen_docs(&t, argv[i], check) != 0)
                st = 1;
        if (first == argc)
            st = usage();
    } else if (!strcmp(cmd, "floors") && argc == 4) {
        const row *r = find(&t, argv[3]);
        if (!r) {
            fprintf(stderr, "gd_accuracy_gen: no row %s in %s\n", argv[3], csv);
            goto done;
        }
        printf("%s %s %s\n", *r->f[COL_PCC_FLOOR] ? r->f[COL_PCC_FLOOR] : "-",
               *r->f[COL_KAPPA_FLOOR] ? r->f[COL_KAPPA_FLOOR] : "-",
               *r->f[COL_F1_FLOOR] ? r->f[COL_F1_FLOOR] : "-");
        st = 0;
    } else if (!strcmp(cmd, "get") && argc == 5) {
        const row *r = find(&t, argv[3]);
        int j = column(argv[4]);
        if (!r || j < 0) {
            fprintf(stderr, "gd_accuracy_gen: no row %s or column %s in %s\n", argv[3],
                    argv[4], csv);
            goto done;
        }
        printf("%s\n", r->f[j]);
        st = 0;
    } else if (!strcmp(cmd, "set") && argc >= 5) {
        st = cmd_set(&t, csv, argv[3], argc - 4, argv + 4);
    } else if (!strcmp(cmd, "check")) {
        /* --ids: the cases that take all three floors from the CSV (gd_accuracy in
         * tests/accuracy); --tests: every test registered there. Each floor in the CSV
         * must belong to a registered test, each case must have its floors. */
        int mode = 0, nbad = 0, ntests = 0;
        for (int i = 3; i < argc; i++) {
            if (!strcmp(argv[i], "--ids") || !strcmp(argv[i], "--tests")) {
                mode = argv[i][2] == 'i' ? 1 : 2;
                continue;
            }
            if (mode == 2) {
                ntests++;
                continue;
            }
            if (mode != 1)
                return table_free(&t), usage();
            const row *r = find(&t, argv[i]);
            char want[256];
            snprintf(want, sizeof want, "accuracy.%s", argv[i]);
            if (!r || !*r->f[COL_PCC_FLOOR] || !*r->f[COL_KAPPA_FLOOR] || !*r->f[COL_F1_FLOOR]) {
                fprintf(stderr, "%s: accuracy.%s has no row with three floors\n", csv,
                        argv[i]);
                nbad++;
            } else if (strcmp(r->f[COL_TEST], want) != 0) {
                fprintf(stderr, "%s:%d: %s: test is %s, the case is %s\n", csv, r->line,
                        argv[i], r->f[COL_TEST], want);
                nbad++;
            }
        }
        if (ntests) {
            for (size_t k = 0; k < t.n; k++) {
                const row *r = &t.rows[k];
                int floors = *r->f[COL_PCC_FLOOR] || *r->f[COL_KAPPA_FLOOR] || *r->f[COL_F1_FLOOR];
                if (!floors)
                    continue;
                int found = 0;
                mode = 0;
                for (int i = 3; i < argc && !found; i++) {
                    if (!strcmp(argv[i], "--ids") || !strcmp(argv[i], "--tests"))
                        mode = argv[i][2] == 'i' ? 1 : 2;
                    else if (mode == 2 && !strcmp(argv[i], r->f[COL_TEST]))
                        found = 1;
                }
                if (!found) {
                    fprintf(stderr, "%s:%d: %s: its floors name %s, which is not a registered "
                                    "accuracy test\n",
                            csv, r->line, r->f[COL_ID], r->f[COL_TEST]);
                    nbad++;
                }
            }
        }
        size_t nfloors = 0, nman = 0;
        double gap = 0;
        for (size_t k = 0; k < t.n; k++) {
            for (int m = 0; m < 3; m++) {
                double v, fl;
                if (number(t.rows[k].f[COL_PCC_FLOOR + m], &fl) == 1 &&
                    number(t.rows[k].f[COL_PCC + m], &v) == 1) {
                    nfloors++;
                    gap = v - fl > gap ? v - fl : gap;
                }
            }
            nman += *t.rows[k].f[COL_MANIFEST] != 0;
        }
        printf("%s: %zu rows, %zu floors (each at most %.3f under its figure, limit %.2f), "
               "%zu rows in the manifest; %d problem(s)\n",
               csv, t.n, nfloors, gap, MAX_GAP, nman, nbad);
        st = nbad ? 1 : 0;
    } else {
        st = usage();
    }
done:
    table_free(&t);
    return st;
}
