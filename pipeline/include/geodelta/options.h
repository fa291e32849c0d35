/* options.h: option tables: each option declared once (name, type, range, default, help,
 * batch key, run id) drives parsing, --help, batch-file validation and docs/cli.md. */
#ifndef GEODELTA_OPTIONS_H
#define GEODELTA_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "geodelta/detect.h"
#include "geodelta/discover.h"
#include "geodelta/monitor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    GD_OPT_FLAG,   /* no value: sets an int field to 1 (batch: true / false) */
    GD_OPT_STRING, /* const char * field */
    GD_OPT_PATH,   /* const char * field; batch files resolve it against the file's folder */
    GD_OPT_INT,    /* int field, whole number in [lo, hi] */
    GD_OPT_DOUBLE, /* double field in [lo, hi] */
    GD_OPT_CHOICE, /* one of choices: stores the choice's name (const char *) or, with
                      GD_OPTF_INDEX, its value (int) */
    GD_OPT_CUSTOM  /* parsed by the entry's parse function */
} gd_opt_type;

enum {
    GD_OPTF_REQUIRED = 1 << 0, /* must be given (detect's -b -a -m -o) */
    GD_OPTF_ODD = 1 << 1,      /* GD_OPT_INT: odd */
    GD_OPTF_OFF01 = 1 << 2,    /* with GD_OPTF_ODD: 0 and 1 (= off) allowed too */
    GD_OPTF_NUMBER = 1 << 3,   /* GD_OPT_CHOICE: or a number in [lo, hi] (kept as text) */
    GD_OPTF_INDEX = 1 << 4,    /* GD_OPT_CHOICE: store the choice's value as an int */
    GD_OPTF_METHOD = 1 << 5,   /* GD_OPT_CHOICE: the choices are the method registry */
    GD_OPTF_HELP = 1 << 6,     /* prints the help (handled by the caller) */
    GD_OPTF_BATCH_JSON = 1 << 7, /* batch value is any JSON, checked by batch.c itself */
    GD_OPTF_NEW_PATH = 1 << 8    /* GD_OPT_PATH the run may create (a cache folder): batch
                                    validation resolves it without checking it exists */
};

/* Where an option goes in a batch file's job: not at all, a job field, or "params". */
typedef enum { GD_BATCH_NONE, GD_BATCH_JOB, GD_BATCH_PARAMS } gd_batch_where;

/* Whether an option enters the run id (manifest "parameters": pipeline/chain/, methods). */
typedef enum {
    GD_RUNID_NO,     /* execution only (threads, memory, quiet, overwrite...) */
    GD_RUNID_YES,    /* always recorded, resolved or null */
    GD_RUNID_METHOD, /* recorded by the methods it applies to */
    GD_RUNID_GIVEN,  /* recorded only when given (so runs without it keep their ids) */
    GD_RUNID_MAP,    /* recorded under "map" unless --no-map */
    GD_RUNID_CONTENT /* the file's SHA-256 (input or auxiliary input) */
} gd_runid;

typedef struct gd_opt_choice {
    const char *name;
    int value; /* GD_OPTF_INDEX: stored in the int field */
    int alias; /* accepted, not listed in the help */
} gd_opt_choice;

/* A default that depends on the method: {"logratio", "7"}; ends with {NULL, NULL}. */
typedef struct gd_opt_default {
    const char *method, *value;
} gd_opt_default;

typedef struct gd_opt gd_opt;
/* GD_OPT_CUSTOM: parses text into target; on error writes what a valid value is (e.g.
 * "LO,HI with 0 <= LO < HI <= 100") into what and returns -1. */
typedef int (*gd_opt_parse_fn)(const gd_opt *o, const char *text, void *target, char *what,
                               size_t len);

#define GD_OPT_NOFIELD ((size_t)-1)

struct gd_opt {
    const char *name;           /* long name, "speckle-window" */
    int short_name;             /* 'b', or 0 */
    gd_opt_type type;
    unsigned flags;             /* GD_OPTF_* */
    const char *meta;           /* value placeholder in the help: FILE, N, ... */
    const gd_opt_choice *choices; /* GD_OPT_CHOICE: ends with {NULL} */
    double lo, hi;              /* GD_OPT_INT, GD_OPT_DOUBLE, GD_OPTF_NUMBER: range */
    const char *what;           /* a valid value in words, for errors; NULL: from the
                                   type, range and choices */
    const char *def;            /* default in words; NULL: none */
    const gd_opt_default *method_defaults; /* per-method defaults; NULL: none */
    const char *applies;        /* methods it is for ("logratio pcakmeans"); NULL: all */
    const char *group;          /* help section */
    const char *help;           /* one or more sentences, no default (added from def) */
    const char *example;        /* a valid value, for docs and tests; NULL: none */
    const char *batch_key;      /* key in a batch job or its params; NULL: none */
    gd_batch_where batch;
    gd_runid runid;
    const char *needs;          /* another option's name this one needs; NULL: none */
    size_t off;                 /* offsetof the field in the target struct */
    size_t off_given;           /* int field set to 1 when given; GD_OPT_NOFIELD: none */
    gd_opt_parse_fn parse;      /* GD_OPT_CUSTOM */
};

/* An option table of one subcommand. */
typedef struct gd_opt_table {
    const char *command;        /* "detect" */
    const char *usage;          /* first line after "Usage: geodelta " */
    const char *intro;          /* paragraph under the usage line */
    const char *epilog;         /* text after the options (exit codes) */
    const gd_opt *opts;
    size_t n;
    const char *positional;     /* one argument besides the options ("JOBS.json"); NULL:
                                   none allowed */
    size_t off_positional;      /* its const char * field */
} gd_opt_table;

/* `geodelta detect`: the gd_detect_params fields plus the job settings. */
typedef struct gd_detect_options {
    gd_detect_params p;
    gd_stac_query stac;            /* --stac and its options (pipeline/discover/) */
    int threads, mem_mb, quiet, help;
    int help_markdown, json_usage; /* --help-markdown (docs/cli.md), --json-usage */
} gd_detect_options;

const gd_opt_table *gd_detect_option_table(void);
void gd_detect_options_init(gd_detect_options *o);

/* `geodelta monitor`: the gd_monitor_params fields plus the job settings
 * (pipeline/options/monitor_options.c). */
typedef struct gd_monitor_options {
    gd_monitor_params p;
    gd_stac_query stac;            /* --stac and its options: window[0] from --from/--to */
    const char *from, *to;
    char range[128];               /* "FROM/TO": stac.window[0] */
    int threads, mem_mb, quiet, help;
} gd_monitor_options;

const gd_opt_table *gd_monitor_option_table(void);
void gd_monitor_options_init(gd_monitor_options *o);
/* After the options are set (command line or batch job): with --stac, --from and --to
 * are required and become the one date window searched, and o->p.stac points to o->stac
 * (so o must outlive the params). 0 ok, else -1 with the message in err. */
int gd_monitor_options_finish(gd_monitor_options *o, char *err, size_t len);

/* Option name lookups; NULL when none. */
const gd_opt *gd_opt_find(const gd_opt_table *t, const char *name);
const gd_opt *gd_opt_find_batch(const gd_opt_table *t, const char *key, gd_batch_where where);

/* Parses text as o's value into target (the struct the offsets refer to); 0 ok, else -1
 * with a valid value described in what ("an odd number from 3 to 31"). */
int gd_opt_set(const gd_opt *o, const char *text, void *target, char *what, size_t len);
/* What a valid value of o is, in words (the error text after "is not" / "must be"). */
void gd_opt_what(const gd_opt *o, char *buf, size_t len);
/* The default of o in words ("7 for logratio, flood; 9 for pcakmeans"); "" when none. */
void gd_opt_default_text(const gd_opt *o, char *buf, size_t len);

/* Parses argv (argv[0] is the subcommand) into target with getopt_long. 0 ok; -1 on a
 * usage error, with the one-line message (without "geodelta CMD: ") in err. */
int gd_opts_parse(const gd_opt_table *t, int argc, char **argv, void *target, char *err,
                  size_t len);

/* Writes the --help text, the Markdown reference (docs/cli.md) or a JSON description
 * (--json-usage) of the table. */
void gd_opts_help(const gd_opt_table *t, FILE *f);
void gd_opts_markdown(const gd_opt_table *const *tables, size_t n, FILE *f);
void gd_opts_json(const gd_opt_table *t, FILE *f);

#ifdef __cplusplus
}
#endif
#endif
