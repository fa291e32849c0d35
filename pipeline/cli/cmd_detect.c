/* cmd_detect.c: `geodelta detect`: options (pipeline/options/detect_options.c) ->
 * gd_detect_params -> the chain. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/detect.h"
#include "geodelta/files.h"
#include "geodelta/options.h"
#include "geodelta/summary.h"

/* Well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF). */
static int utf8_valid(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        int n = *u < 0x80 ? 0 : (*u & 0xE0) == 0xC0 ? 1 : (*u & 0xF0) == 0xE0 ? 2
              : (*u & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0 || (n == 1 && *u < 0xC2))
            return 0;
        unsigned cp = n ? (unsigned)(*u & (0x3F >> n)) : *u;
        for (int k = 1; k <= n; k++) {
            if ((u[k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (u[k] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        u += n + 1;
    }
    return 1;
}


/* The command-line reference of every subcommand with an option table (docs/cli.md). */
static void markdown(FILE *f)
{
    const gd_opt_table *tables[] = {gd_detect_option_table(), gd_cli_batch_table(),
                                    gd_cli_coreg_table(), gd_cli_verify_table()};
    gd_opts_markdown(tables, sizeof tables / sizeof tables[0], f);
}

int gd_cmd_detect(int argc, char **argv)
{
    gd_detect_options o;
    char err[1024];
    gd_detect_options_init(&o);
    const gd_opt_table *t = gd_detect_option_table();
    if (gd_opts_parse(t, argc, argv, &o, err, sizeof err) != 0) {
        fprintf(stderr, "geodelta detect: %s\n", err);
        return 1;
    }
    if (o.help || o.help_markdown || o.json_usage) {
        if (o.help)
            gd_opts_help(t, stdout);
        else if (o.help_markdown)
            markdown(stdout);
        else
            gd_opts_json(t, stdout);
        return 0;
    }
    gd_detect_params p = o.p;
    int quiet = o.quiet, threads = o.threads, mem_mb = o.mem_mb;
    if (o.stac.url) { /* --before and --after are date windows, searched within --aoi */
        o.stac.window[0] = p.in.before;
        o.stac.window[1] = p.in.after;
        o.stac.aoi = p.grid.aoi;
        p.in.stac = &o.stac;
    }
    /* checked before the chain runs, not after minutes of processing at the map stage */
    if (p.map.overlay && strncmp(p.map.overlay, "/vsi", 4) != 0 && access(p.map.overlay, R_OK) != 0) {
        fprintf(stderr, "geodelta: map overlay %s: %s\n", p.map.overlay, strerror(errno));
        return 2;
    }
    if (p.map.aoi && strncmp(p.map.aoi, "/vsi", 4) != 0 && access(p.map.aoi, R_OK) != 0) {
        fprintf(stderr, "geodelta: map AOI %s: %s\n", p.map.aoi, strerror(errno));
        return 2;
    }
    if (p.grid.aoi && strncmp(p.grid.aoi, "/vsi", 4) != 0 && access(p.grid.aoi, R_OK) != 0) {
        fprintf(stderr, "geodelta: AOI %s: %s\n", p.grid.aoi, strerror(errno));
        return 2;
    }
    p.argc = argc;
    p.argv = argv;
    /* every argument ends up in JSON (summary, manifest), which holds only UTF-8: a
     * path that is not is refused now, not after all the work */
    for (int i = 1; i < argc; i++)
        if (!utf8_valid(argv[i])) {
            fprintf(stderr, "geodelta detect: argument %d is not valid UTF-8 (it would go "
                    "into the JSON outputs; rename the file): %s\n", i, argv[i]);
            return 1;
        }
    gd_job *job = NULL;
    if (gd_job_create(&job) != GD_OK)
        return gd_cli_fail(GD_EPROC, "out of memory");
    if (p.in.stac && gd_stac_query_check(job, p.in.stac) != GD_OK) {
        int rc = gd_cli_fail(gd_job_status(job), gd_job_message(job));
        gd_job_destroy(job);
        return rc;
    }
    if (p.summary.alerts) {
        /* a bad alert spec is a usage error found before any work */
        gd_alerts *a = NULL;
        /* nbr's class names depend on --nbr-classes and -t: check against those */
        const gd_method *am = gd_method_find(p.method);
        gd_method amt;
        const gd_class_table *act = NULL;
        if (am && gd_severity_choose(job, &p.decide, &am, &amt, &act) != GD_OK)
            am = gd_method_find(p.method); /* the conflict is reported by the run */
        int ast = gd_alerts_parse(job, p.summary.alerts, &a);
        if (ast == GD_OK)
            ast = gd_alerts_check(job, a, am, "--alerts");
        gd_alerts_destroy(a);
        if (ast != GD_OK) {
            int rc = gd_cli_fail(ast, gd_job_message(job));
            gd_job_destroy(job);
            return rc;
        }
    }
    gd_job_set_quiet(job, quiet);
    gd_job_set_threads(job, threads); /* 0: the engine's defaults */
    gd_job_set_mem_mb(job, mem_mb);
    gd_signals_install(1); /* SIGINT/SIGTERM: stop at the next strip, clean up, 130/143 */
    int st = gd_detect_run(job, &p);
    int rc = 0;
    if (st != GD_OK && gd_signal_caught()) {
        gd_job_progress_break(job);
        rc = gd_cli_interrupted();
    } else if (st != GD_OK) {
        gd_job_progress_break(job);
        rc = gd_cli_fail(st, gd_job_message(job));
    } else if (!quiet) {
        printf("outputs in %s\n", p.out.dir);
    }
    gd_job_destroy(job);
    return rc;
}
