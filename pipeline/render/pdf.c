/* pdf.c: map.pdf, the print map replayed from its Cairo recording onto a PDF page (A4 or
 * A3 landscape): vectors stay vectors, text stays text, the panels are images. */
#include "geodelta/stages.h"
#include "geodelta/util.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <math.h>
#include <stdio.h>

/* Dates written into the PDF's Info dictionary: pinned, so that the same run gives the
 * same bytes (the manifest has the run's real times). */
#define PINNED_DATE "2000-01-01T00:00:00Z"

int gd_render_pdf(gd_job *job, void *recording, int W, int H, const gd_map_spec *spec,
                  const char *title, const char *subject, const double panel[4])
{
    char tmp[4096];
    int st = gd_tmp_name(job, spec->pdf_path, tmp, sizeof tmp);
    if (st != GD_OK)
        return st;
    /* landscape pages in points: A4 297 x 210 mm, A3 420 x 297 mm */
    double pw = (spec->pdf_a3 ? 420.0 : 297.0) / 25.4 * 72.0;
    double ph = (spec->pdf_a3 ? 297.0 : 210.0) / 25.4 * 72.0;
    double s = fmin(pw / W, ph / H);
    double ox = (pw - W * s) / 2.0, oy = (ph - H * s) / 2.0;
    cairo_surface_t *pdf = cairo_pdf_surface_create(tmp, pw, ph);
    if (cairo_surface_status(pdf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(pdf);
        remove(tmp);
        return gd_job_error(job, GD_EOUTPUT, "cannot create %s", spec->pdf_path);
    }
    cairo_pdf_surface_restrict_to_version(pdf, CAIRO_PDF_VERSION_1_5);
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_TITLE, title ? title : "");
    if (spec->credit)
        cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_AUTHOR, spec->credit);
    if (subject)
        cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_SUBJECT, subject);
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_CREATOR, "geodelta " GD_VERSION);
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_CREATE_DATE, PINNED_DATE);
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_MOD_DATE, PINNED_DATE);
    cairo_t *cr = cairo_create(pdf);
    cairo_translate(cr, ox, oy);
    cairo_scale(cr, s, s);
    cairo_set_source_surface(cr, (cairo_surface_t *)recording, 0, 0);
    cairo_paint(cr);
    cairo_show_page(cr);
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(pdf);
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_status(pdf);
    cairo_surface_destroy(pdf);
    if (cs != CAIRO_STATUS_SUCCESS) {
        remove(tmp);
        return gd_job_error(job, GD_EOUTPUT, "cannot write %s: %s", spec->pdf_path,
                            cairo_status_to_string(cs));
    }
    if (spec->frame) {
        gd_map_frame *f = spec->frame;
        f->valid = panel[2] > 0 && panel[3] > 0;
        f->page_w = pw, f->page_h = ph;
        f->x = ox + panel[0] * s, f->y = oy + panel[1] * s;
        f->w = panel[2] * s, f->h = panel[3] * s;
    }
    return gd_commit_file(job, tmp, spec->pdf_path);
}
