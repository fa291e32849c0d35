/* cmd_monitor.c: `geodelta monitor`: alerts over a stack of dates (pipeline/monitor/). */
#include "cli.h"

#include <stdio.h>

#include "geodelta/files.h"
#include "geodelta/monitor.h"
#include "geodelta/options.h"

int gd_cmd_monitor(int argc, char **argv)
{
    gd_monitor_options o;
    char err[1024];
    gd_monitor_options_init(&o);
    const gd_opt_table *t = gd_monitor_option_table();
    if (gd_opts_parse(t, argc, argv, &o, err, sizeof err) != 0) {
        fprintf(stderr, "geodelta monitor: %s\n", err);
        return 1;
    }
    if (o.help) {
        gd_opts_help(t, stdout);
        return 0;
    }
    if (gd_monitor_options_finish(&o, err, sizeof err) != 0) {
        fprintf(stderr, "geodelta monitor: %s\n", err);
        return 1;
    }
    gd_monitor_params p = o.p;
    p.argc = argc;
    p.argv = argv;
    gd_job *job = NULL;
    if (gd_job_create(&job) != GD_OK)
        return gd_cli_fail(GD_EPROC, "out of memory");
    gd_job_set_quiet(job, o.quiet);
    gd_job_set_threads(job, o.threads);
    gd_job_set_mem_mb(job, o.mem_mb);
    gd_signals_install(1); /* SIGINT/SIGTERM: stop at the next date, clean up, 130/143 */
    int st = gd_monitor_run(job, &p), rc = 0;
    if (st != GD_OK && gd_signal_caught()) {
        gd_job_progress_break(job);
        rc = gd_cli_interrupted();
    } else if (st != GD_OK) {
        gd_job_progress_break(job);
        rc = gd_cli_fail(st, gd_job_message(job));
    } else if (!o.quiet) {
        printf("outputs in %s\n", p.outdir);
    }
    gd_job_destroy(job);
    return rc;
}
