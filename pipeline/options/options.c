/* options.c: the option-table machinery: getopt_long parsing, value checks, --help,
 * Markdown and JSON generated from one declaration per option. */
#include "geodelta/options.h"
#include "geodelta/stages.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const gd_opt *gd_opt_find(const gd_opt_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->opts[i].name, name) == 0)
            return &t->opts[i];
    return NULL;
}

const gd_opt *gd_opt_find_batch(const gd_opt_table *t, const char *key, gd_batch_where where)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->opts[i].batch == where && t->opts[i].batch_key &&
            strcmp(t->opts[i].batch_key, key) == 0)
            return &t->opts[i];
    return NULL;
}

/* "a, b or c" into buf (appending) */
static void join_or(char *buf, size_t len, const char *const *items, size_t n, const char *last)
{
    for (size_t i = 0; i < n; i++) {
        size_t u = strlen(buf);
        snprintf(buf + u, len > u ? len - u : 0, "%s%s", i == 0 ? "" : i + 1 == n ? last : ", ",
                 items[i]);
    }
}

/* The listed names of a choice option (aliases left out; methods from the registry). */
static size_t choice_names(const gd_opt *o, const char **names, size_t max)
{
    size_t n = 0;
    if (o->flags & GD_OPTF_METHOD) {
        for (size_t i = 0; gd_method_at(i) && n < max; i++)
            names[n++] = gd_method_at(i)->name;
        return n;
    }
    for (const gd_opt_choice *c = o->choices; c && c->name && n < max; c++)
        if (!c->alias)
            names[n++] = c->name;
    return n;
}

void gd_opt_what(const gd_opt *o, char *buf, size_t len)
{
    const char *names[64];
    buf[0] = '\0';
    if (o->what) {
        snprintf(buf, len, "%s", o->what);
        return;
    }
    switch (o->type) {
    case GD_OPT_INT:
        if ((o->flags & GD_OPTF_ODD) && (o->flags & GD_OPTF_OFF01))
            snprintf(buf, len, "0, 1 or an odd number up to %.0f", o->hi);
        else
            snprintf(buf, len, "%s number from %.0f to %.0f",
                     o->flags & GD_OPTF_ODD ? "an odd" : "a whole", o->lo, o->hi);
        break;
    case GD_OPT_DOUBLE:
        snprintf(buf, len, "a number from %g to %g", o->lo, o->hi);
        break;
    case GD_OPT_CHOICE: {
        size_t n = choice_names(o, names, 64);
        if (o->flags & GD_OPTF_NUMBER) {
            join_or(buf, len, names, n, ", ");
            size_t u = strlen(buf);
            if (isinf(o->hi))
                snprintf(buf + u, len - u, " or a number >= %g", o->lo);
            else
                snprintf(buf + u, len - u, " or a number from %g to %g", o->lo, o->hi);
        } else {
            join_or(buf, len, names, n, " or ");
        }
        break;
    }
    case GD_OPT_FLAG:
        snprintf(buf, len, "true or false");
        break;
    default:
        snprintf(buf, len, "a %s", o->type == GD_OPT_PATH ? "file path" : "string");
        break;
    }
}

void gd_opt_default_text(const gd_opt *o, char *buf, size_t len)
{
    buf[0] = '\0';
    if (o->def)
        snprintf(buf, len, "%s", o->def);
    if (!o->method_defaults)
        return;
    /* methods sharing a value are listed together: "7 for logratio, flood; 9 for ..." */
    const gd_opt_default *d = o->method_defaults;
    int done[32] = {0};
    for (int i = 0; d[i].method && i < 32; i++) {
        if (done[i])
            continue;
        size_t u = strlen(buf);
        snprintf(buf + u, len - u, "%s%s for %s", u ? "; " : "", d[i].value, d[i].method);
        for (int k = i + 1; d[k].method && k < 32; k++)
            if (!done[k] && strcmp(d[k].value, d[i].value) == 0) {
                u = strlen(buf);
                snprintf(buf + u, len - u, ", %s", d[k].method);
                done[k] = 1;
            }
    }
}

static int parse_long(const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || !end || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int gd_opt_set(const gd_opt *o, const char *text, void *target, char *what, size_t len)
{
    char *base = target;
    long lv;
    double dv;
    int ok = 1;
    switch (o->type) {
    case GD_OPT_FLAG:
        *(int *)(base + o->off) = 1;
        break;
    case GD_OPT_STRING:
    case GD_OPT_PATH:
        /* an empty text is a value (--title ""), an empty path is not */
        if (!text || (o->type == GD_OPT_PATH && !*text))
            ok = 0;
        else
            *(const char **)(base + o->off) = text;
        break;
    case GD_OPT_INT:
        ok = parse_long(text, &lv) == 0 && lv >= o->lo && lv <= o->hi &&
             (!(o->flags & GD_OPTF_ODD) || lv % 2 != 0 || ((o->flags & GD_OPTF_OFF01) && lv <= 1));
        if (ok)
            *(int *)(base + o->off) = (int)lv;
        break;
    case GD_OPT_DOUBLE:
        ok = parse_double(text, &dv) == 0 && dv >= o->lo && dv <= o->hi;
        if (ok)
            *(double *)(base + o->off) = dv;
        break;
    case GD_OPT_CHOICE: {
        const gd_opt_choice *hit = NULL;
        for (const gd_opt_choice *c = o->choices; c && c->name && !hit; c++)
            if (strcmp(c->name, text) == 0)
                hit = c;
        if (o->flags & GD_OPTF_METHOD) {
            ok = gd_method_find(text) != NULL;
        } else if (!hit && (o->flags & GD_OPTF_NUMBER)) {
            ok = parse_double(text, &dv) == 0 && dv >= o->lo && dv <= o->hi;
        } else {
            ok = hit != NULL;
        }
        if (ok && (o->flags & GD_OPTF_INDEX))
            *(int *)(base + o->off) = hit->value;
        else if (ok)
            *(const char **)(base + o->off) = text;
        break;
    }
    case GD_OPT_CUSTOM:
        if (o->parse(o, text, target, what, len) != 0)
            return -1;
        break;
    }
    if (!ok) {
        gd_opt_what(o, what, len);
        return -1;
    }
    if (o->off_given != GD_OPT_NOFIELD)
        *(int *)(base + o->off_given) = 1;
    return 0;
}

/* ---- getopt_long ------------------------------------------------------------------ */
int gd_opts_parse(const gd_opt_table *t, int argc, char **argv, void *target, char *err,
                  size_t len)
{
    struct option *lo = calloc(t->n + 1, sizeof *lo);
    char shorts[2 * 64 + 2] = ":";
    unsigned char *given = calloc(t->n ? t->n : 1, 1);
    int rc = -1, c;
    char what[512];
    if (!lo || !given) {
        snprintf(err, len, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < t->n; i++) {
        const gd_opt *o = &t->opts[i];
        lo[i].name = o->name;
        lo[i].has_arg = o->type == GD_OPT_FLAG ? no_argument : required_argument;
        lo[i].val = o->short_name ? o->short_name : 256 + (int)i;
        if (o->short_name) {
            size_t u = strlen(shorts);
            if (u + 3 < sizeof shorts) {
                shorts[u] = (char)o->short_name;
                shorts[u + 1] = o->type == GD_OPT_FLAG ? '\0' : ':';
                shorts[u + 2] = '\0';
            }
        }
    }
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        if (c == ':') {
            snprintf(err, len, "option %s needs a value", argv[optind - 1]);
            goto done;
        }
        size_t i = 0;
        while (i < t->n && lo[i].val != c)
            i++;
        if (c == '?' || i == t->n) {
            snprintf(err, len, "unknown option %s (see geodelta %s --help)", argv[optind - 1],
                     t->command);
            goto done;
        }
        const gd_opt *o = &t->opts[i];
        given[i] = 1;
        if (gd_opt_set(o, o->type == GD_OPT_FLAG ? NULL : optarg, target, what, sizeof what)) {
            if (o->flags & GD_OPTF_METHOD)
                snprintf(err, len, "unknown method '%s' (methods: %s; see geodelta methods)", optarg, what);
            else
                snprintf(err, len, "--%s '%s' is not %s", o->name, optarg, what);
            goto done;
        }
        if (o->flags & GD_OPTF_HELP) {
            rc = 0; /* the caller prints the help, whatever else is on the line */
            goto done;
        }
    }
    if (t->positional && optind == argc - 1) {
        *(const char **)((char *)target + t->off_positional) = argv[optind];
    } else if (t->positional) {
        snprintf(err, len, "give one %s (see geodelta %s --help)", t->positional, t->command);
        goto done;
    } else if (optind < argc) {
        snprintf(err, len, "unexpected argument '%s'", argv[optind]);
        goto done;
    }
    for (size_t i = 0; i < t->n; i++) {
        const gd_opt *o = &t->opts[i];
        if ((o->flags & GD_OPTF_REQUIRED) && !given[i]) {
            if (o->short_name)
                snprintf(err, len, "-%c %s is required (see geodelta %s --help)", o->short_name,
                         o->meta, t->command);
            else
                snprintf(err, len, "--%s is required (see geodelta %s --help)", o->name, t->command);
            goto done;
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        const gd_opt *o = &t->opts[i], *need = o->needs ? gd_opt_find(t, o->needs) : NULL;
        if (given[i] && need && !given[need - t->opts]) {
            snprintf(err, len, "--%s needs --%s %s", o->name, need->name, need->meta ? need->meta : "");
            goto done;
        }
    }
    rc = 0;
done:
    free(lo);
    free(given);
    return rc;
}

/* ---- help --------------------------------------------------------------------------- */
#define HELP_COL 27
#define HELP_WIDTH 80

/* Words of text wrapped at HELP_WIDTH, starting at column col, continuing at HELP_COL. */
static void wrap(FILE *f, const char *text, int col)
{
    int x = col, first = 1;
    const char *p = text;
    for (;;) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, " ");
        if (!w)
            break;
        if (!first && x + 1 + (int)w > HELP_WIDTH) {
            fprintf(f, "\n%*s", HELP_COL, "");
            x = HELP_COL;
        } else if (!first) {
            fputc(' ', f);
            x++;
        }
        fwrite(p, 1, w, f);
        x += (int)w;
        p += w;
        first = 0;
    }
    fputc('\n', f);
}

/* The option's help sentence with its choices and default appended. */
static void full_help(const gd_opt *o, char *buf, size_t len)
{
    char d[512];
    buf[0] = '\0';
    if (o->type == GD_OPT_CHOICE && !(o->flags & (GD_OPTF_METHOD | GD_OPTF_NUMBER))) {
        /* the choices first, unless the sentence already names them all */
        const char *names[64];
        size_t n = choice_names(o, names, 64), named = 0;
        for (size_t i = 0; i < n; i++)
            named += strstr(o->help, names[i]) != NULL;
        if (named < n) {
            join_or(buf, len, names, n, " or ");
            size_t u = strlen(buf);
            snprintf(buf + u, len - u, ": ");
        }
    }
    size_t u0 = strlen(buf);
    snprintf(buf + u0, len - u0, "%s", o->help);
    if (o->flags & GD_OPTF_METHOD) {
        const char *names[64];
        size_t n = choice_names(o, names, 64), u = strlen(buf);
        snprintf(buf + u, len - u, "%s", u ? ": " : "");
        for (size_t i = 0; i < n; i++) {
            u = strlen(buf);
            snprintf(buf + u, len - u, "%s%s", i ? ", " : "", names[i]);
        }
    }
    gd_opt_default_text(o, d, sizeof d);
    if (*d) {
        size_t u = strlen(buf);
        snprintf(buf + u, len - u, " (default: %s)", d);
    }
}

static void left_column(const gd_opt *o, char *buf, size_t len)
{
    const char *meta = o->type == GD_OPT_FLAG ? "" : o->meta ? o->meta : "X";
    if (o->short_name)
        snprintf(buf, len, "  -%c, --%s%s%s", o->short_name, o->name, *meta ? " " : "", meta);
    else
        snprintf(buf, len, "      --%s%s%s", o->name, *meta ? " " : "", meta);
}

void gd_opts_help(const gd_opt_table *t, FILE *f)
{
    char left[128], help[2048];
    fprintf(f, "Usage: geodelta %s\n\n%s", t->usage, t->intro);
    const char *group = NULL;
    for (size_t i = 0; i < t->n; i++) {
        const gd_opt *o = &t->opts[i];
        if (!group || strcmp(group, o->group) != 0) {
            group = o->group;
            fprintf(f, "\n%s:\n", group);
        }
        left_column(o, left, sizeof left);
        full_help(o, help, sizeof help);
        int n = (int)strlen(left);
        if (n <= HELP_COL - 2) {
            fprintf(f, "%-*s", HELP_COL, left);
            wrap(f, help, HELP_COL);
        } else {
            fprintf(f, "%s  ", left);
            wrap(f, help, n + 2);
        }
    }
    if (t->epilog)
        fprintf(f, "\n%s", t->epilog);
}

/* ---- docs/cli.md --------------------------------------------------------------------- */
static const char *type_name(const gd_opt *o)
{
    static const char *const names[] = {"flag", "text", "file", "integer", "number", "choice",
                                        "text"};
    return o->flags & GD_OPTF_METHOD ? "method" : names[o->type];
}

static const char *runid_text(gd_runid r)
{
    static const char *const names[] = {"no", "yes", "yes (methods it applies to)",
                                        "when given", "with the map",
                                        "its content (SHA-256)"};
    return names[r];
}

/* Markdown table cells: '|' escaped, nothing else changed. */
static void md_cell(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s, f);
    }
}

void gd_opts_markdown(const gd_opt_table *const *tables, size_t nt, FILE *f)
{
    char buf[2048];
    fputs("<!-- generated by `geodelta detect --help-markdown` from the option tables "
          "(pipeline/options/, pipeline/cli/): do not edit; tests/e2e/cli_docs.sh checks it -->\n"
          "# geodelta command-line reference\n\n"
          "Every option below is declared once, in an option table; that declaration gives "
          "the command's parsing, its `--help`, batch-file validation and this page.\n",
          f);
    for (size_t k = 0; k < nt; k++) {
        const gd_opt_table *t = tables[k];
        fprintf(f, "\n## geodelta %s\n\n```\ngeodelta %s\n```\n\n%s", t->command, t->usage,
                t->intro);
        int has_batch = 0;
        for (size_t i = 0; i < t->n; i++)
            has_batch |= t->opts[i].batch != GD_BATCH_NONE;
        const char *group = NULL;
        for (size_t i = 0; i < t->n; i++) {
            const gd_opt *o = &t->opts[i];
            if (!group || strcmp(group, o->group) != 0) {
                group = o->group;
                fprintf(f, "\n### %s\n\n| option | value | default | meaning |%s\n|---|---|---|---|%s\n",
                        group, has_batch ? " batch key | run id |" : "",
                        has_batch ? "---|---|" : "");
            }
            left_column(o, buf, sizeof buf);
            fputs("| `", f);
            md_cell(f, buf + strspn(buf, " "));
            fputs("` | ", f);
            if (o->type == GD_OPT_FLAG || o->type == GD_OPT_STRING || o->type == GD_OPT_PATH) {
                fputs(type_name(o), f);
            } else {
                gd_opt_what(o, buf, sizeof buf);
                fprintf(f, "%s: ", type_name(o));
                md_cell(f, buf);
            }
            fputs(" | ", f);
            gd_opt_default_text(o, buf, sizeof buf);
            md_cell(f, *buf ? buf : "—");
            fputs(" | ", f);
            if (o->applies) {
                fputs("*", f);
                md_cell(f, o->applies);
                fputs(":* ", f);
            }
            md_cell(f, o->help);
            if (o->example) {
                fputs(" (e.g. `", f);
                md_cell(f, o->example);
                fputs("`)", f);
            }
            if (o->needs)
                fprintf(f, "; needs `--%s`", o->needs);
            fputs(" |", f);
            if (has_batch) {
                if (o->batch == GD_BATCH_NONE)
                    fputs(" — |", f);
                else
                    fprintf(f, " `%s%s` |", o->batch == GD_BATCH_PARAMS ? "params." : "",
                            o->batch_key);
                fprintf(f, " %s |", runid_text(o->runid));
            }
            fputc('\n', f);
        }
        if (t->epilog)
            fprintf(f, "\n%s", t->epilog);
    }
}

/* ---- --json-usage --------------------------------------------------------------------- */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isinf(v))
        fputs("null", f);
    else
        fprintf(f, "%.17g", v);
}

void gd_opts_json(const gd_opt_table *t, FILE *f)
{
    char buf[2048];
    fputs("{\"command\": ", f);
    json_str(f, t->command);
    fputs(", \"options\": [", f);
    for (size_t i = 0; i < t->n; i++) {
        const gd_opt *o = &t->opts[i];
        fputs(i ? ",\n  {" : "\n  {", f);
        fputs("\"name\": ", f);
        json_str(f, o->name);
        if (o->short_name)
            fprintf(f, ", \"short\": \"%c\"", o->short_name);
        fputs(", \"type\": ", f);
        json_str(f, type_name(o));
        if (o->type == GD_OPT_INT || o->type == GD_OPT_DOUBLE || (o->flags & GD_OPTF_NUMBER)) {
            fputs(", \"min\": ", f);
            json_num(f, o->lo);
            fputs(", \"max\": ", f);
            json_num(f, o->hi);
        }
        if (o->type == GD_OPT_CHOICE) {
            const char *names[64];
            size_t n = choice_names(o, names, 64);
            fputs(", \"choices\": [", f);
            for (size_t k = 0; k < n; k++) {
                fputs(k ? ", " : "", f);
                json_str(f, names[k]);
            }
            fputs("]", f);
        }
        fprintf(f, ", \"required\": %s, \"odd\": %s", o->flags & GD_OPTF_REQUIRED ? "true" : "false",
                o->flags & GD_OPTF_ODD ? "true" : "false");
        fputs(", \"default\": ", f);
        if (o->def)
            json_str(f, o->def);
        else
            fputs("null", f);
        fputs(", \"method_defaults\": {", f);
        for (const gd_opt_default *d = o->method_defaults; d && d->method; d++) {
            fputs(d == o->method_defaults ? "" : ", ", f);
            json_str(f, d->method);
            fputs(": ", f);
            json_str(f, d->value);
        }
        fputs("}, \"applies\": ", f);
        if (o->applies)
            json_str(f, o->applies);
        else
            fputs("null", f);
        fputs(", \"example\": ", f);
        if (o->example)
            json_str(f, o->example);
        else
            fputs("null", f);
        fputs(", \"batch\": ", f);
        if (o->batch == GD_BATCH_NONE)
            fputs("null", f);
        else {
            snprintf(buf, sizeof buf, "%s%s", o->batch == GD_BATCH_PARAMS ? "params." : "",
                     o->batch_key);
            json_str(f, buf);
        }
        fputs(", \"run_id\": ", f);
        json_str(f, runid_text(o->runid));
        fputs(", \"needs\": ", f);
        if (o->needs)
            json_str(f, o->needs);
        else
            fputs("null", f);
        fputs(", \"help\": ", f);
        full_help(o, buf, sizeof buf);
        json_str(f, buf);
        fputs("}", f);
    }
    fputs("\n]}\n", f);
}
