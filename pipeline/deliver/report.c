/* report.html: one self-contained page for the evidence pack, readable offline: the
 * before/after images with a swipe, the change overlay toggle, the legend with hectares
 * and people, the method and its known error rate, the inputs and outputs with their
 * hashes and how to verify them. A Content-Security-Policy forbids any network request. */
#define _GNU_SOURCE /* open_memstream */
#include "geodelta/deliver.h"
#include "geodelta/exposure.h"
#include "geodelta/method.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static void img(FILE *f, const char *id, const char *cls, const unsigned char *png, size_t n,
                const char *alt)
{
    char *b = gd_base64(png, n);
    fprintf(f, "<img id=\"%s\" class=\"%s\" alt=\"%s\" src=\"data:image/png;base64,%s\">\n", id,
            cls, alt, b ? b : "");
    free(b);
}

static const char *const CSS =
    "body{font:14px/1.45 'DejaVu Sans',sans-serif;margin:24px auto;max-width:1100px;color:#222}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #ccc}"
    ".sub{color:#555}.stage{position:relative;display:inline-block;max-width:100%;"
    "border:1px solid #333;line-height:0}.stage img{display:block;max-width:100%;height:auto}"
    ".stage .top{position:absolute;left:0;top:0;width:100%;height:100%}"
    "#overlay{position:absolute;left:0;top:0;width:100%;height:100%;image-rendering:pixelated}"
    "#bar{position:absolute;top:0;bottom:0;width:2px;background:#fff;box-shadow:0 0 2px #000}"
    ".controls{margin:8px 0}.controls input[type=range]{width:60%}"
    "table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:left;vertical-align:top}code,.hash{font:12px monospace;word-break:break-all}"
    ".sw{display:inline-block;width:14px;height:14px;border:1px solid #333;vertical-align:middle}"
    ".caveat{color:#9c3700;font-weight:bold}";

/* the swipe clips the after image from the left; #swipe=N in the address sets it */
static const char *const JS =
    "(function(){var r=document.getElementById('swipe'),a=document.getElementById('after'),"
    "b=document.getElementById('bar'),o=document.getElementById('overlay'),"
    "t=document.getElementById('toggle');function set(v){if(!a)return;"
    "a.style.clipPath='inset(0 0 0 '+v+'%)';b.style.left=v+'%';r.value=v;"
    "document.body.setAttribute('data-swipe',v);}"
    "if(r){r.addEventListener('input',function(){set(r.value)});"
    "var m=/swipe=(\\d+)/.exec(location.hash);set(m?Math.min(100,+m[1]):50);}"
    "if(t&&o){t.addEventListener('change',function(){o.style.display=t.checked?'':'none';"
    "document.body.setAttribute('data-overlay',t.checked?'on':'off')});"
    "if(/overlay=off/.test(location.hash)){t.checked=false;o.style.display='none';"
    "document.body.setAttribute('data-overlay','off')}else{document.body.setAttribute('data-overlay','on')}}"
    "document.body.setAttribute('data-ready','yes');})();";

int gd_report_write(gd_job *job, const gd_deliver_run *r, const char *path,
                    const unsigned char *overlay, size_t overlay_len)
{
    char *doc = NULL, p[4096], hex[65];
    size_t len = 0;
    int st = GD_OK;
    FILE *f = open_memstream(&doc, &len);
    if (!f)
        return gd_job_error(job, GD_EPROC, "out of memory");
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
          "<title>geodelta report ", f);
    gd_xml_text(f, r->run_id ? r->run_id : "");
    fprintf(f, "</title>\n<style>%s</style></head><body>\n", CSS);
    fprintf(f, "<h1>Change detection: %s</h1>\n<p class=\"sub\">Before ", r->m->name);
    gd_xml_text(f, *r->date_before ? r->date_before : "(date unknown)");
    fputs(" &mdash; after ", f);
    gd_xml_text(f, *r->date_after ? r->date_after : "(date unknown)");
    fputs(" &middot; run <code>", f);
    gd_xml_text(f, r->run_id ? r->run_id : "");
    fputs("</code></p>\n<p class=\"caveat\">Preliminary analysis &mdash; not yet validated in "
          "the field</p>\n", f);

    /* ---- imagery ---- */
    fputs("<h2>Before / after</h2>\n", f);
    if (r->panel_png[0] && r->panel_png[1]) {
        fputs("<div class=\"stage\">\n", f);
        img(f, "before", "base", r->panel_png[0], r->panel_len[0], "before");
        img(f, "after", "top", r->panel_png[1], r->panel_len[1], "after");
        if (overlay)
            img(f, "overlay", "ovl", overlay, overlay_len, "change overlay");
        fputs("<div id=\"bar\"></div></div>\n<div class=\"controls\">before "
              "<input id=\"swipe\" type=\"range\" min=\"0\" max=\"100\" value=\"50\" "
              "aria-label=\"swipe between before and after\"> after &nbsp; <label><input "
              "id=\"toggle\" type=\"checkbox\" checked> change overlay</label></div>\n", f);
    } else if (r->panel_png[2] || overlay) {
        fputs("<div class=\"stage\">\n", f);
        if (r->panel_png[2])
            img(f, "change", "base", r->panel_png[2], r->panel_len[2], "change");
        else
            img(f, "change", "base", overlay, overlay_len, "change");
        fputs("</div>\n<p>(no before/after imagery in this run: --no-map or the single "
              "layout)</p>\n", f);
    }

    /* ---- legend ---- */
    fputs("<h2>Change</h2>\n<table><tr><th></th><th>class</th><th>pixels</th><th>area</th>", f);
    int people = r->totals[1].has_people;
    if (people)
        fputs("<th>people</th>", f);
    fputs("</tr>\n", f);
    for (int c = 1; c < GD_MAX_CLASSES; c++) {
        if (!r->m->class_names[c])
            continue;
        const uint8_t *rgb = r->m->class_rgb[c];
        fprintf(f, "<tr><td><span class=\"sw\" style=\"background:#%02x%02x%02x\"></span></td>"
                   "<td>", rgb[0], rgb[1], rgb[2]);
        gd_xml_text(f, r->m->class_names[c]);
        fprintf(f, "</td><td>%llu</td><td>", (unsigned long long)r->totals[c].pixels);
        if (isnan(r->totals[c].area_ha))
            fputs("&ndash;", f);
        else
            fprintf(f, "%.2f ha", r->totals[c].area_ha);
        fputs("</td>", f);
        if (people) {
            char ppl[64];
            gd_people_text(r->totals[c].people, ppl, sizeof ppl);
            fputs("<td>", f);
            gd_xml_text(f, ppl);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);

    /* ---- method ---- */
    fputs("<h2>Method</h2>\n<p>Method <b>", f);
    gd_xml_text(f, r->m->name);
    if (isnan(r->threshold))
        fprintf(f, "</b>, class table %s.", r->threshold_mode ? r->threshold_mode : "");
    else
        fprintf(f, "</b>, threshold %.6g (%s).", r->threshold,
                r->threshold_mode ? r->threshold_mode : "fixed");
    fputs("</p>\n<p>Known error rate and its caveats (as recorded in manifest.json):</p>\n"
          "<pre class=\"hash\">", f);
    gd_xml_text(f, r->error_rate_json ? r->error_rate_json : "none recorded");
    fputs("</pre>\n", f);

    /* ---- inputs and outputs ---- */
    fputs("<h2>Inputs</h2>\n<table><tr><th>role</th><th>file</th><th>SHA-256</th></tr>\n", f);
    const char *in[2] = {r->before, r->after}, *ih[2] = {r->before_sha256, r->after_sha256};
    for (int i = 0; i < 2; i++) {
        fprintf(f, "<tr><td>%s</td><td>", i ? "after" : "before");
        gd_xml_text(f, in[i]);
        fputs("</td><td class=\"hash\">", f);
        gd_xml_text(f, ih[i] ? ih[i] : "");
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n<h2>Outputs</h2>\n<table><tr><th>file</th><th>bytes</th><th>SHA-256</th>"
          "</tr>\n", f);
    for (size_t i = 0; i < r->noutputs; i++) {
        const char *n = r->outputs[i];
        if (strcmp(n, "report.html") == 0 || strncmp(n, "manifest.", 9) == 0 ||
            strcmp(n, "run.log") == 0)
            continue; /* written after this page */
        gd_path_join(p, sizeof p, r->outdir, n);
        if (access(p, F_OK) != 0)
            continue;
        uint64_t size = 0;
        if ((st = gd_sha256_file(job, p, hex, &size)) != GD_OK) {
            fclose(f);
            goto done;
        }
        fprintf(f, "<tr><td>%s</td><td>%llu</td><td class=\"hash\">%s</td></tr>\n", n,
                (unsigned long long)size, hex);
    }
    fputs("</table>\n<h2>How to verify</h2>\n<p>Every file of the run, this page and the "
          "inputs are listed with their SHA-256 in <code>manifest.json</code>. In the output "
          "folder:</p>\n<pre class=\"hash\">geodelta verify manifest.json      # exit 0 only "
          "if every hash matches\nsha256sum change.tif summary.json    # compare with the "
          "table above</pre>\n<p>A signed run also has <code>manifest.sig</code> (Ed25519); "
          "the public key's SHA-256 is in the manifest.</p>\n", f);
    fprintf(f, "<script>%s</script>\n</body></html>\n", JS);
    if (fclose(f) != 0 || !doc) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    st = gd_write_text_atomic(job, path, doc);
done:
    free(doc);
    return st;
}
