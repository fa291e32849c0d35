/* styles.c: QGIS (QML) and OGC (SLD 1.0) styles for change.tif, the change polygons, the
 * zones and the AOI/exposure layers, so that a GIS opens them coloured and named. */
#define _GNU_SOURCE /* open_memstream */
#include "geodelta/deliver.h"
#include "geodelta/method.h"
#include "geodelta/files.h"
#include "geodelta/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QML_HEAD "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" \
                 "<qgis version=\"3.22.0\" styleCategories=\"Symbology\">\n"
#define SLD_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
    "<StyledLayerDescriptor version=\"1.0.0\" xmlns=\"http://www.opengis.net/sld\" " \
    "xmlns:ogc=\"http://www.opengis.net/ogc\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" " \
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" " \
    "xsi:schemaLocation=\"http://www.opengis.net/sld " \
    "http://schemas.opengis.net/sld/1.0.0/StyledLayerDescriptor.xsd\">\n"

/* Text and attribute values: the five XML entities (also valid HTML5). Class names come
 * from the method table, but they are escaped all the same. */
void gd_xml_text(FILE *f, const char *s)
{
    for (; s && *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*s, f);
        }
}

/* buf is only set by fclose (or fflush): read it after */
static char *finish(FILE *f, char **buf)
{
    if (fclose(f) != 0) {
        free(*buf);
        return NULL;
    }
    return *buf;
}

static const char *class_label(const gd_method *m, int c)
{
    return m->class_names[c] ? m->class_names[c] : c == 0 ? "no change" : "";
}

char *gd_style_raster_qml(const gd_method *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fputs(QML_HEAD "  <pipe>\n    <rasterrenderer type=\"paletted\" band=\"1\" opacity=\"1\" "
          "alphaBand=\"-1\" nodataColor=\"\">\n      <rasterTransparency/>\n"
          "      <colorPalette>\n", f);
    for (int c = 0; c < GD_MAX_CLASSES; c++) {
        if (c > 0 && !m->class_names[c])
            continue;
        int r = c ? m->class_rgb[c][0] : 200, g = c ? m->class_rgb[c][1] : 200,
            b = c ? m->class_rgb[c][2] : 200;
        fprintf(f, "        <paletteEntry value=\"%d\" color=\"#%02x%02x%02x\" alpha=\"255\" "
                   "label=\"", c, r, g, b);
        gd_xml_text(f, class_label(m, c));
        fputs("\"/>\n", f);
    }
    fputs("      </colorPalette>\n    </rasterrenderer>\n  </pipe>\n</qgis>\n", f);
    return finish(f, &buf);
}

char *gd_style_raster_sld(const gd_method *m, const char *layer)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fputs(SLD_HEAD "  <NamedLayer>\n    <Name>", f);
    gd_xml_text(f, layer);
    fputs("</Name>\n    <UserStyle>\n      <Title>geodelta change classes</Title>\n"
          "      <FeatureTypeStyle>\n        <Rule>\n          <RasterSymbolizer>\n"
          "            <Opacity>1.0</Opacity>\n            <ColorMap type=\"values\">\n", f);
    for (int c = 0; c < GD_MAX_CLASSES; c++) {
        if (c > 0 && !m->class_names[c])
            continue;
        int r = c ? m->class_rgb[c][0] : 200, g = c ? m->class_rgb[c][1] : 200,
            b = c ? m->class_rgb[c][2] : 200;
        fprintf(f, "              <ColorMapEntry color=\"#%02x%02x%02x\" quantity=\"%d\" "
                   "opacity=\"1\" label=\"", r, g, b, c);
        gd_xml_text(f, class_label(m, c));
        fputs("\"/>\n", f);
    }
    fputs("            </ColorMap>\n          </RasterSymbolizer>\n        </Rule>\n"
          "      </FeatureTypeStyle>\n    </UserStyle>\n  </NamedLayer>\n"
          "</StyledLayerDescriptor>\n", f);
    return finish(f, &buf);
}

/* One QGIS symbol: kind 2 fill, 1 line, 0 marker. */
static void qml_symbol(FILE *f, const char *name, int kind, int r, int g, int b, double alpha,
                       int dashed)
{
    static const char *const types[3] = {"marker", "line", "fill"};
    fprintf(f, "      <symbol name=\"%s\" type=\"%s\" alpha=\"1\" clip_to_extent=\"1\" "
               "force_rhr=\"0\">\n", name, types[kind]);
    if (kind == 2) {
        fprintf(f, "        <layer class=\"SimpleFill\" enabled=\"1\" pass=\"0\" locked=\"0\">\n"
                   "          <prop k=\"color\" v=\"%d,%d,%d,%d\"/>\n"
                   "          <prop k=\"style\" v=\"%s\"/>\n"
                   "          <prop k=\"outline_color\" v=\"%d,%d,%d,255\"/>\n"
                   "          <prop k=\"outline_style\" v=\"%s\"/>\n"
                   "          <prop k=\"outline_width\" v=\"0.4\"/>\n"
                   "          <prop k=\"outline_width_unit\" v=\"MM\"/>\n        </layer>\n",
                r, g, b, (int)(alpha * 255 + 0.5), alpha > 0 ? "solid" : "no", r / 2, g / 2,
                b / 2, dashed ? "dash" : "solid");
    } else if (kind == 1) {
        fprintf(f, "        <layer class=\"SimpleLine\" enabled=\"1\" pass=\"0\" locked=\"0\">\n"
                   "          <prop k=\"line_color\" v=\"%d,%d,%d,255\"/>\n"
                   "          <prop k=\"line_style\" v=\"%s\"/>\n"
                   "          <prop k=\"line_width\" v=\"0.6\"/>\n"
                   "          <prop k=\"line_width_unit\" v=\"MM\"/>\n        </layer>\n",
                r, g, b, dashed ? "dash" : "solid");
    } else {
        fprintf(f, "        <layer class=\"SimpleMarker\" enabled=\"1\" pass=\"0\" locked=\"0\">\n"
                   "          <prop k=\"color\" v=\"%d,%d,%d,255\"/>\n"
                   "          <prop k=\"name\" v=\"circle\"/>\n"
                   "          <prop k=\"size\" v=\"2.6\"/>\n"
                   "          <prop k=\"size_unit\" v=\"MM\"/>\n"
                   "          <prop k=\"outline_color\" v=\"35,35,35,255\"/>\n        </layer>\n",
                r, g, b);
    }
    fputs("      </symbol>\n", f);
}

/* One SLD symbolizer of the same kinds. */
static void sld_symbolizer(FILE *f, int kind, int r, int g, int b, double alpha, int dashed)
{
    if (kind == 2) {
        fputs("          <PolygonSymbolizer>\n", f);
        if (alpha > 0)
            fprintf(f, "            <Fill>\n              <CssParameter name=\"fill\">#%02x%02x%02x"
                       "</CssParameter>\n              <CssParameter name=\"fill-opacity\">%.2f"
                       "</CssParameter>\n            </Fill>\n", r, g, b, alpha);
        fprintf(f, "            <Stroke>\n              <CssParameter name=\"stroke\">#%02x%02x%02x"
                   "</CssParameter>\n              <CssParameter name=\"stroke-width\">1.5"
                   "</CssParameter>\n%s            </Stroke>\n          </PolygonSymbolizer>\n",
                r / 2, g / 2, b / 2,
                dashed ? "              <CssParameter name=\"stroke-dasharray\">6 3</CssParameter>\n"
                       : "");
    } else if (kind == 1) {
        fprintf(f, "          <LineSymbolizer>\n            <Stroke>\n"
                   "              <CssParameter name=\"stroke\">#%02x%02x%02x</CssParameter>\n"
                   "              <CssParameter name=\"stroke-width\">2</CssParameter>\n"
                   "            </Stroke>\n          </LineSymbolizer>\n", r, g, b);
    } else {
        fprintf(f, "          <PointSymbolizer>\n            <Graphic>\n              <Mark>\n"
                   "                <WellKnownName>circle</WellKnownName>\n"
                   "                <Fill><CssParameter name=\"fill\">#%02x%02x%02x</CssParameter></Fill>\n"
                   "              </Mark>\n              <Size>8</Size>\n            </Graphic>\n"
                   "          </PointSymbolizer>\n", r, g, b);
    }
}

static void sld_rule_eq(FILE *f, const char *title, const char *attr, const char *value,
                        int numeric)
{
    fputs("        <Rule>\n          <Name>", f);
    gd_xml_text(f, title);
    fputs("</Name>\n          <Title>", f);
    gd_xml_text(f, title);
    fprintf(f, "</Title>\n          <ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>%s"
               "</ogc:PropertyName><ogc:Literal>", attr);
    gd_xml_text(f, value);
    fputs("</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>\n", f);
    (void)numeric;
}

static void sld_open(FILE *f, const char *layer, const char *title)
{
    fputs(SLD_HEAD "  <NamedLayer>\n    <Name>", f);
    gd_xml_text(f, layer);
    fprintf(f, "</Name>\n    <UserStyle>\n      <Title>%s</Title>\n      <FeatureTypeStyle>\n",
            title);
}

static void sld_close(FILE *f)
{
    fputs("      </FeatureTypeStyle>\n    </UserStyle>\n  </NamedLayer>\n"
          "</StyledLayerDescriptor>\n", f);
}

char *gd_style_classes_qml(const gd_method *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fputs(QML_HEAD "  <renderer-v2 type=\"categorizedSymbol\" attr=\"class\" symbollevels=\"0\" "
          "enableorderby=\"0\" forceraster=\"0\">\n    <categories>\n", f);
    int n = 0;
    for (int c = 1; c < GD_MAX_CLASSES; c++) {
        if (!m->class_names[c])
            continue;
        fprintf(f, "      <category symbol=\"%d\" value=\"%d\" label=\"", n++, c);
        gd_xml_text(f, m->class_names[c]);
        fputs("\" render=\"true\"/>\n", f);
    }
    fputs("    </categories>\n    <symbols>\n", f);
    n = 0;
    for (int c = 1; c < GD_MAX_CLASSES; c++) {
        if (!m->class_names[c])
            continue;
        char name[16];
        snprintf(name, sizeof name, "%d", n++);
        qml_symbol(f, name, 2, m->class_rgb[c][0], m->class_rgb[c][1], m->class_rgb[c][2],
                   0.75, 0);
    }
    fputs("    </symbols>\n  </renderer-v2>\n</qgis>\n", f);
    return finish(f, &buf);
}

char *gd_style_classes_sld(const gd_method *m, const char *layer)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    sld_open(f, layer, "geodelta change polygons");
    for (int c = 1; c < GD_MAX_CLASSES; c++) {
        if (!m->class_names[c])
            continue;
        char v[8];
        snprintf(v, sizeof v, "%d", c);
        sld_rule_eq(f, m->class_names[c], "class", v, 1);
        sld_symbolizer(f, 2, m->class_rgb[c][0], m->class_rgb[c][1], m->class_rgb[c][2], 0.75, 0);
        fputs("        </Rule>\n", f);
    }
    sld_close(f);
    return finish(f, &buf);
}

static const char *const alert_names[4] = {"green", "yellow", "amber", "red"};
static const int alert_rgb[4][3] = {{46, 160, 67}, {230, 200, 0}, {245, 130, 0}, {210, 30, 30}};

char *gd_style_zones_qml(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fputs(QML_HEAD "  <renderer-v2 type=\"categorizedSymbol\" attr=\"alert\" symbollevels=\"0\" "
          "enableorderby=\"0\" forceraster=\"0\">\n    <categories>\n", f);
    for (int i = 0; i < 4; i++)
        fprintf(f, "      <category symbol=\"%d\" value=\"%s\" label=\"%s\" render=\"true\"/>\n",
                i, alert_names[i], alert_names[i]);
    fputs("    </categories>\n    <symbols>\n", f);
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof name, "%d", i);
        qml_symbol(f, name, 2, alert_rgb[i][0], alert_rgb[i][1], alert_rgb[i][2], 0.2, 0);
    }
    fputs("    </symbols>\n  </renderer-v2>\n  <labeling type=\"simple\">\n    <settings>\n"
          "      <text-style fieldName=\"zone\" fontSize=\"9\" textColor=\"20,20,20,255\"/>\n"
          "    </settings>\n  </labeling>\n</qgis>\n", f);
    return finish(f, &buf);
}

char *gd_style_zones_sld(const char *layer)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    sld_open(f, layer, "geodelta zones by alert level");
    for (int i = 0; i < 4; i++) {
        sld_rule_eq(f, alert_names[i], "alert", alert_names[i], 0);
        sld_symbolizer(f, 2, alert_rgb[i][0], alert_rgb[i][1], alert_rgb[i][2], 0.2, 0);
        fputs("        </Rule>\n", f);
    }
    sld_close(f);
    return finish(f, &buf);
}

char *gd_style_single_qml(int kind, const uint8_t rgb[3], double fill_alpha, int dashed)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fputs(QML_HEAD "  <renderer-v2 type=\"singleSymbol\" symbollevels=\"0\" enableorderby=\"0\" "
          "forceraster=\"0\">\n    <symbols>\n", f);
    qml_symbol(f, "0", kind, rgb[0], rgb[1], rgb[2], fill_alpha, dashed);
    fputs("    </symbols>\n  </renderer-v2>\n</qgis>\n", f);
    return finish(f, &buf);
}

char *gd_style_single_sld(int kind, const uint8_t rgb[3], double fill_alpha, int dashed,
                          const char *layer)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    sld_open(f, layer, "geodelta");
    fputs("        <Rule>\n", f);
    sld_symbolizer(f, kind, rgb[0], rgb[1], rgb[2], fill_alpha, dashed);
    fputs("        </Rule>\n", f);
    sld_close(f);
    return finish(f, &buf);
}

int gd_write_text_atomic(gd_job *job, const char *path, const char *text)
{
    char tmp[4096];
    FILE *f = NULL;
    int st = gd_tmp_open(job, path, tmp, sizeof tmp, &f);
    if (st != GD_OK)
        return st;
    fputs(text, f);
    return gd_commit_stream(job, f, tmp, path);
}
