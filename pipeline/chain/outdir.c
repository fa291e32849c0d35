/* outdir.c: the output folder of a detect run: writable, no earlier outputs unless
 * --overwrite (which removes them first). */
#include "chain.h"

#include "geodelta/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *const gd_chain_outputs[] = {"change.tif", "change.tif.aux.xml", "change.geojson", "summary.json",
                                      "map.png", "manifest.json", "manifest.sig", "run.log",
                                      "score.tif", "zones.csv", "zones.geojson",
                                      "exposure.csv", "change.qml", "change.sld",
                                      "change.gpkg", "map.pdf", "change.kmz",
                                      "stac-item.json", "report.html"};

const size_t gd_chain_noutputs = sizeof gd_chain_outputs / sizeof gd_chain_outputs[0];

/* run.log of an earlier failed run must not block a retry: it is simply replaced */
static int is_product(const char *name) { return strcmp(name, "run.log") != 0; }

/* --overwrite: the old manifest goes first so that an interrupted rerun never looks
 * complete, then every other earlier output (one this run does not write again, such
 * as score.tif, must not be hashed into the new manifest). */
static int remove_old_outputs(gd_job *job, const gd_output_opts *o)
{
    char path[4096];
    gd_path_join(path, sizeof path, o->dir, "manifest.json");
    if (unlink(path) != 0 && errno != ENOENT)
        return gd_job_error(job, GD_EOUTPUT, "cannot remove %s: %s", path, strerror(errno));
    for (size_t i = 0; i < gd_chain_noutputs; i++) {
        if (!is_product(gd_chain_outputs[i]))
            continue;
        gd_path_join(path, sizeof path, o->dir, gd_chain_outputs[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            return gd_job_error(job, GD_EOUTPUT, "cannot remove %s: %s", path, strerror(errno));
    }
    return GD_OK;
}

/* Checks the output folder before any work: writable, and no earlier outputs unless
 * --overwrite, which removes them all before run.log is rewritten (the old manifest
 * lists run.log: keeping it would leave a manifest that no longer verifies). */
int gd_chain_prepare_outdir(gd_job *job, const gd_output_opts *o)
{
    int st = gd_mkdir_p(job, o->dir);
    if (st != GD_OK)
        return st;
    if (access(o->dir, W_OK) != 0)
        return gd_job_error(job, GD_EOUTPUT, "output folder %s is not writable: %s", o->dir,
                            strerror(errno));
    char path[4096];
    for (size_t i = 0; i < gd_chain_noutputs && !o->overwrite; i++) {
        gd_path_join(path, sizeof path, o->dir, gd_chain_outputs[i]);
        if (access(path, F_OK) == 0 && is_product(gd_chain_outputs[i]))
            return gd_job_error(job, GD_EOUTPUT,
                                "%s already exists (hint: --overwrite replaces the outputs in %s)",
                                path, o->dir);
    }
    return o->overwrite ? remove_old_outputs(job, o) : GD_OK;
}
