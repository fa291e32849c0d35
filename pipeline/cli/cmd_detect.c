/* cmd_detect.c: `geodelta detect`: options -> gd_detect_params -> the chain. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/detect.h"
#include "geodelta/discover.h"
#include "geodelta/summary.h"

/* ---- --stac and its options (pipeline/discover/): one block, to move into the option
 * table of pipeline/options/ when that lands. With --stac, --before and --after are date
 * windows START[/END] instead of files. ---- */
enum { OPT_STAC = 400, OPT_COLLECTION, OPT_MAXCLOUD, OPT_MINCOV, OPT_CACHE };
#define STAC_LONGOPTS                                                                     \
    {"stac", required_argument, NULL, OPT_STAC},                                          \
        {"collection", required_argument, NULL, OPT_COLLECTION},                          \
        {"max-cloud", required_argument, NULL, OPT_MAXCLOUD},                             \
        {"min-coverage", required_argument, NULL, OPT_MINCOV},                            \
        {"cache", required_argument, NULL, OPT_CACHE}
static const char STAC_HELP[] =
    "\n"
    "Search (STAC API; --before and --after are then date windows):\n"
    "      --stac URL           STAC API root: find the scenes of --aoi (required) in the\n"
    "                           windows --before START[/END] and --after START[/END]\n"
    "                           (YYYY-MM-DD or RFC 3339 UTC), read only the AOI's pixels\n"
    "                           over HTTP and mosaic the tiles of one acquisition\n"
    "                           (docs/stac.md; geodelta search lists the candidates)\n"
    "      --collection NAME    collection to search (required with --stac)\n"
    "      --max-cloud PCT      only items with eo:cloud_cover <= PCT\n"
    "      --min-coverage F     refuse a date whose acquisition covers less than this\n"
    "                           fraction of the AOI (default 0.5; below 1 is a warning)\n"
    "      --cache DIR          keep the fetched AOI windows (keyed by asset hrefs, ETags\n"
    "                           and window) and reuse them instead of fetching again\n";
/* 1: handled, 0: not a --stac option, -1: bad value (printed) */
static int stac_option(int c, const char *arg, gd_stac_query *q)
{
    switch (c) {
    case OPT_STAC: q->url = arg; return 1;
    case OPT_COLLECTION: q->collection = arg; return 1;
    case OPT_CACHE: q->cache = arg; return 1;
    case OPT_MAXCLOUD:
        if (gd_cli_parse_double(arg, 0.0, 100.0, &q->max_cloud) != 0) {
            fprintf(stderr, "geodelta: --max-cloud '%s' is not a percentage 0..100\n", arg);
            return -1;
        }
        return 1;
    case OPT_MINCOV:
        if (gd_cli_parse_double(arg, 0.0, 1.0, &q->min_coverage) != 0) {
            fprintf(stderr, "geodelta: --min-coverage '%s' is not a fraction 0..1\n", arg);
            return -1;
        }
        return 1;
    default: return 0;
    }
}
/* ---- end of the --stac block ---- */

static void usage(FILE *f)
{
    fputs(
        "Usage: geodelta detect -b BEFORE -a AFTER -m METHOD -o OUTDIR [options]\n"
        "\n"
        "Finds change between two images and writes change.tif (COG), change.geojson\n"
        "(RFC 7946), summary.json, map.png, manifest.json and run.log into OUTDIR.\n"
        "The after image is warped onto the before image's grid when they differ\n"
        "(or both onto the grid of --aoi, --t-srs, --res).\n"
        "\n"
        "Required:\n"
        "  -b, --before FILE        earlier image (any raster GDAL reads, /vsis3/ too)\n"
        "  -a, --after FILE         later image\n"
        "  -m, --method NAME        ndvi, nbr, ndwi, flood, logratio, pcakmeans, cva, irmad\n"
        "                           (geodelta methods)\n"
        "  -o, --output DIR         output folder (created if missing)\n"
        "\n"
        "Grid:\n"
        "      --aoi FILE           analyse only inside these polygons (any OGR vector,\n"
        "                           first layer): the grid is cut to their extent and the\n"
        "                           pixels outside are nodata (also drawn on the map)\n"
        "      --t-srs CRS          grid CRS (EPSG:32633, WKT, PROJ): both dates warped\n"
        "                           (bilinear); default: the before image's\n"
        "      --res R              grid pixel size in --t-srs units (default: the\n"
        "                           before image's)\n"
        "\n"
        "Detection:\n",
        f);
    fputs(
        "      --bands-before SPEC  band roles of the before image, e.g. red=3,nir=4\n"
        "                           (keys red green blue nir swir1 swir2 sar, or r g b n\n"
        "                           s1 s2); default: from band descriptions (B04, B08...)\n"
        "      --bands-after SPEC   same for the after image (default: --bands-before)\n"
        "  -t, --threshold T        auto (= otsu, default; k-means for pcakmeans, USGS\n"
        "                           classes for nbr, ratio 1.25 for SAR flood), otsu,\n"
        "                           ki (Kittler-Illingworth) or a fixed value; index\n"
        "                           methods threshold |score|\n"
        "      --coreg MODE         none, global or local: co-register the after image\n"
        "                           onto the before image first (default: global for\n"
        "                           optical methods, none for logratio, pcakmeans and\n"
        "                           images without CRS; an unreliable shift is skipped\n"
        "                           with a warning)\n"
        "      --coreg-window PX    co-registration window side (default 512 global,\n"
        "                           256 per tie point for local)\n"
        "      --mmu-ha H           minimum mapping unit in hectares (default 0.1; 0 on\n"
        "                           images without CRS)\n"
        "      --mmu-px N           minimum mapping unit in pixels (overrides --mmu-ha)\n"
        "      --speckle F          logratio/pcakmeans speckle filter: refined-lee\n"
        "                           (default), lee, gamma-map, none\n"
        "      --speckle-window N   speckle filter window, odd (default 9; 7 for flood)\n"
        "      --smooth N           mean over N x N of the log-ratio (urban: of the\n"
        "                           change), odd; 0 = none (default 3 for logratio,\n"
        "                           0 for pcakmeans and urban)\n"
        "      --pca-block H        pcakmeans block size (default 3)\n"
        "      --mrf-beta B         logratio/pcakmeans: after the threshold, relabel\n"
        "                           change / no change by an MRF (Potts prior of weight\n"
        "                           B over 8 neighbours, ICM); 0 = off (default 3.5)\n"
        "      --mrf-bias P         added to the MRF's change energy: > 0 fewer,\n"
        "                           < 0 more change pixels (default 0)\n"
        "      --sar-score S        logratio/pcakmeans score: ratio (log-ratio, default)\n"
        "                           or nr (neighbourhood ratio, Gong et al. 2012)\n"
        "      --nr-window N        nr: neighbourhood window, odd (default 3)\n"
        "      --sar-decision D     logratio/pcakmeans, before the MRF: threshold\n"
        "                           (default), hysteresis (change grown from the\n"
        "                           threshold into --hyst-low x threshold) or flicm\n"
        "                           (FLICM fuzzy clustering, Krinidis & Chatzis 2010)\n"
        "      --hyst-low F         hysteresis low threshold fraction (default 0.7)\n"
        "      --nbr-classes C      nbr: usgs (USGS burn-severity classes from fixed\n"
        "                           dNBR breaks, default unless -t is given) or binary\n"
        "                           (regrowth / burned at the threshold)\n"
        "      --sensor P           auto (default), none, s2l2a, s2l1c, landsat-c2l2, s1:\n"
        "                           digital numbers to reflectance (README: Sensors)\n"
        "      --s2-offset N        Sentinel-2 DN offset when the metadata have none\n"
        "                           (e.g. -1000 for processing baseline >= 04.00)\n"
        "      --mask-before FILE   cloud mask of the before image, non-zero = masked\n"
        "                           (default: its own SCL or QA_PIXEL band, if any)\n"
        "      --mask-after FILE    same for the after image\n"
        "      --dem FILE           flood: DEM (any GDAL raster, metres): no new water\n"
        "                           where the slope is >= --max-slope\n"
        "      --max-slope DEG      flood: slope limit in degrees (default 5)\n"
        "      --permanent-water F  flood: permanent water, raster (non-zero = water) or\n"
        "                           vector polygons: class 2, never new water\n"
        "\n"
        "Map:\n"
        "      --no-map             do not render map.png\n",
        f);
    fputs(
        "      --title TEXT         map title\n"
        "      --area NAME          area name for the map's subtitle\n"
        "      --credit TEXT        data credit printed on the map (PNG Author)\n"
        "      --caveat TEXT        caveat line (default: \"Preliminary analysis \xe2\x80\x94\n"
        "                           not yet validated in the field\")\n"
        "      --layout L           triptych (before | after | change, default) or single\n"
        "      --map-bands B        true-colour (default) or false-colour (nir red green);\n"
        "                           logratio maps are always SAR backscatter in dB\n"
        "      --stretch LO,HI      contrast stretch percentiles (default 2,98)\n"
        "      --map-width PX       width of the whole map (default: A4 landscape at --dpi)\n"
        "      --dpi D              print resolution, PNG pHYs (default 300: 3508 px wide)\n"
        "      --map-overlay FILE   zones (any vector GDAL reads) drawn with labels\n"
        "      --map-overlay-field NAME  attribute for the labels (default: first text field)\n"
        "      --map-aoi FILE       area of interest drawn as a dashed outline\n"
        "\n"
        "Zones, alerts, outputs and the run:\n"
        "      --keep-score         also write score.tif (float32 change score)\n"
        "      --zones FILE         zone polygons (any OGR vector): per-zone change in\n"
        "                           summary.json, zones.csv and zones.geojson\n"
        "      --zone-field NAME    attribute naming each zone (default: feature id)\n"
        "      --zones-all-touched  count every pixel a zone touches (default: the\n"
        "                           pixels whose centre lies in the zone)\n"
        "      --alerts SPEC        alert levels, JSON text or file, e.g.\n"
        "                           '{\"amber\":{\"changed_ha\":5},\"red\":{\"changed_pct\":10}}'\n"
        "      --overwrite          replace existing outputs in OUTDIR\n"
        "      --sign-key KEY.pem   sign manifest.json with this Ed25519 private key into\n"
        "                           manifest.sig (make one with geodelta keygen)\n"
        "      --threads N          worker threads (default: all cores this process may\n"
        "                           use); outputs are the same for any N\n"
        "      --mem MB             memory budget (default 1024): the change score stays\n"
        "                           in memory only when it fits, else it goes to a\n"
        "                           temporary file in OUTDIR; GDAL's cache gets 1/8 of it\n"
        "                           unless GDAL_CACHEMAX is set\n"
        "  -q, --quiet              no progress or messages (errors still printed)\n"
        "  -h, --help               this help\n"
        "\n"
        "Exit codes: 0 ok, 1 usage, 2 input data problem, 3 processing failure,\n"
        "4 output failure.\n",
        f);
    fputs(STAC_HELP, f);
}

enum { OPT_BB = 256, OPT_BA, OPT_MMU, OPT_NOMAP, OPT_TITLE, OPT_CREDIT, OPT_MAPW,
       OPT_KEEP, OPT_OVER, OPT_SIGN, OPT_COREG, OPT_AREA, OPT_CAVEAT, OPT_LAYOUT, OPT_MAPBANDS,
       OPT_STRETCH, OPT_DPI, OPT_OVERLAY, OPT_OVERLAY_FIELD, OPT_MMUPX, OPT_SPECKLE, OPT_SPECKLEW, OPT_MRFB,
       OPT_SARSCORE, OPT_MRFBIAS, OPT_NRW, OPT_SARDEC, OPT_HYSTLOW,
       OPT_SMOOTH, OPT_PCAB, OPT_THREADS, OPT_MEM, OPT_ZONES, OPT_ZFIELD, OPT_ZALL, OPT_ALERTS, OPT_COREGW,
       OPT_AOI, OPT_NBRC, OPT_SENSOR, OPT_S2OFF, OPT_MASKB, OPT_MASKA, OPT_GAOI, OPT_TSRS,
       OPT_RES, OPT_DEM, OPT_MAXSLOPE, OPT_PERMW };

int gd_cmd_detect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"before", required_argument, NULL, 'b'},
        {"after", required_argument, NULL, 'a'},
        {"method", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {"threshold", required_argument, NULL, 't'},
        {"bands-before", required_argument, NULL, OPT_BB},
        {"bands-after", required_argument, NULL, OPT_BA},
        {"mmu-ha", required_argument, NULL, OPT_MMU},
        {"coreg", required_argument, NULL, OPT_COREG},
        {"coreg-window", required_argument, NULL, OPT_COREGW},
        {"no-map", no_argument, NULL, OPT_NOMAP},
        {"mmu-px", required_argument, NULL, OPT_MMUPX},
        {"speckle", required_argument, NULL, OPT_SPECKLE},
        {"speckle-window", required_argument, NULL, OPT_SPECKLEW},
        {"smooth", required_argument, NULL, OPT_SMOOTH},
        {"pca-block", required_argument, NULL, OPT_PCAB},
        {"mrf-beta", required_argument, NULL, OPT_MRFB},
        {"sar-score", required_argument, NULL, OPT_SARSCORE},
        {"mrf-bias", required_argument, NULL, OPT_MRFBIAS},
        {"nr-window", required_argument, NULL, OPT_NRW},
        {"sar-decision", required_argument, NULL, OPT_SARDEC},
        {"hyst-low", required_argument, NULL, OPT_HYSTLOW},
        {"nbr-classes", required_argument, NULL, OPT_NBRC},
        {"sensor", required_argument, NULL, OPT_SENSOR},
        {"s2-offset", required_argument, NULL, OPT_S2OFF},
        {"mask-before", required_argument, NULL, OPT_MASKB},
        {"mask-after", required_argument, NULL, OPT_MASKA},
        {"dem", required_argument, NULL, OPT_DEM},
        {"max-slope", required_argument, NULL, OPT_MAXSLOPE},
        {"permanent-water", required_argument, NULL, OPT_PERMW},
        {"title", required_argument, NULL, OPT_TITLE},
        {"credit", required_argument, NULL, OPT_CREDIT},
        {"map-width", required_argument, NULL, OPT_MAPW},
        {"area", required_argument, NULL, OPT_AREA},
        {"caveat", required_argument, NULL, OPT_CAVEAT},
        {"layout", required_argument, NULL, OPT_LAYOUT},
        {"map-bands", required_argument, NULL, OPT_MAPBANDS},
        {"stretch", required_argument, NULL, OPT_STRETCH},
        {"dpi", required_argument, NULL, OPT_DPI},
        {"map-overlay", required_argument, NULL, OPT_OVERLAY},
        {"map-aoi", required_argument, NULL, OPT_AOI},
        {"aoi", required_argument, NULL, OPT_GAOI},
        {"t-srs", required_argument, NULL, OPT_TSRS},
        {"res", required_argument, NULL, OPT_RES},
        {"map-overlay-field", required_argument, NULL, OPT_OVERLAY_FIELD},
        {"keep-score", no_argument, NULL, OPT_KEEP},
        {"overwrite", no_argument, NULL, OPT_OVER},
        {"sign-key", required_argument, NULL, OPT_SIGN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"mem", required_argument, NULL, OPT_MEM},
        {"zones", required_argument, NULL, OPT_ZONES},
        {"zone-field", required_argument, NULL, OPT_ZFIELD},
        {"zones-all-touched", no_argument, NULL, OPT_ZALL},
        {"alerts", required_argument, NULL, OPT_ALERTS},
        STAC_LONGOPTS,
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    gd_detect_params p;
    gd_detect_params_init(&p);
    gd_stac_query stac;
    gd_stac_query_init(&stac);
    int quiet = 0, c, threads = 0, mem_mb = 0;
    long lv;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":b:a:m:o:t:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': p.before = optarg; break;
        case 'a': p.after = optarg; break;
        case 'm': p.method = optarg; break;
        case 'o': p.outdir = optarg; break;
        case 't': p.threshold = optarg; break;
        case OPT_BB: p.bands_before = optarg; break;
        case OPT_BA: p.bands_after = optarg; break;
        case OPT_SENSOR: p.sensor = optarg; break;
        case OPT_MASKB: p.mask_before = optarg; break;
        case OPT_MASKA: p.mask_after = optarg; break;
        case OPT_GAOI: p.aoi = optarg; break;
        case OPT_TSRS: p.t_srs = optarg; break;
        case OPT_RES:
            if (gd_cli_parse_double(optarg, 1e-12, 1e12, &p.res) != 0) {
                fprintf(stderr, "geodelta detect: --res '%s' is not a pixel size > 0\n", optarg);
                return 1;
            }
            break;
        case OPT_DEM: p.dem = optarg; break;
        case OPT_PERMW: p.permanent_water = optarg; break;
        case OPT_MAXSLOPE:
            if (gd_cli_parse_double(optarg, 0.0, 90.0, &p.max_slope) != 0) {
                fprintf(stderr, "geodelta detect: --max-slope '%s' is not a number of degrees "
                                "from 0 to 90\n", optarg);
                return 1;
            }
            break;
        case OPT_S2OFF:
            if (gd_cli_parse_double(optarg, -100000.0, 100000.0, &p.s2_offset) != 0) {
                fprintf(stderr, "geodelta detect: --s2-offset '%s' is not a number of digital "
                                "numbers (e.g. -1000)\n", optarg);
                return 1;
            }
            p.has_s2_offset = 1;
            break;
        case OPT_MRFB:
            if (gd_cli_parse_double(optarg, 0.0, 1e3, &p.mrf_beta) != 0) {
                fprintf(stderr, "geodelta detect: --mrf-beta '%s' is not a number from 0 to 1000\n", optarg);
                return 1;
            }
            break;
        case OPT_SARSCORE: p.sar_score = optarg; break;
        case OPT_MRFBIAS:
            if (gd_cli_parse_double(optarg, -100.0, 100.0, &p.mrf_bias) != 0) {
                fprintf(stderr, "geodelta detect: --mrf-bias '%s' is not a number from -100 to 100\n", optarg);
                return 1;
            }
            break;
        case OPT_SARDEC: p.sar_decision = optarg; break;
        case OPT_NRW:
            if (gd_cli_parse_int(optarg, 3, 31, &lv) != 0 || lv % 2 == 0) {
                fprintf(stderr, "geodelta detect: --nr-window '%s' is not an odd number from 3 to 31\n", optarg);
                return 1;
            }
            p.nr_window = (int)lv;
            break;
        case OPT_HYSTLOW:
            if (gd_cli_parse_double(optarg, 0.0, 1.0, &p.hyst_low) != 0) {
                fprintf(stderr, "geodelta detect: --hyst-low '%s' is not a number from 0 to 1\n", optarg);
                return 1;
            }
            break;
        case OPT_MMU:
            if (gd_cli_parse_double(optarg, 0.0, 1e9, &p.mmu_ha) != 0) {
                fprintf(stderr, "geodelta detect: --mmu-ha '%s' is not a number of hectares >= 0\n", optarg);
                return 1;
            }
            break;
        case OPT_COREG:
            if (strcmp(optarg, "none") && strcmp(optarg, "global") && strcmp(optarg, "local")) {
                fprintf(stderr, "geodelta detect: --coreg '%s' is not none, global or local\n", optarg);
                return 1;
            }
            p.coreg = optarg;
            break;
        case OPT_NOMAP: p.no_map = 1; break;
        case OPT_SPECKLE: p.speckle = optarg; break;
        case OPT_NBRC:
            if (strcmp(optarg, "usgs") && strcmp(optarg, "binary")) {
                fprintf(stderr, "geodelta detect: --nbr-classes '%s' is not usgs or binary\n", optarg);
                return 1;
            }
            p.nbr_classes = optarg;
            break;
        case OPT_COREGW:
            if (gd_cli_parse_int(optarg, 32, 8192, &lv) != 0) {
                fprintf(stderr, "geodelta detect: --coreg-window '%s' is not a number of pixels "
                                "between 32 and 8192\n", optarg);
                return 1;
            }
            p.coreg_window = (int)lv;
            break;
        case OPT_MMUPX:
        case OPT_SPECKLEW:
        case OPT_SMOOTH:
        case OPT_PCAB:
            if (gd_cli_parse_int(optarg, 0, 1000000, &lv) != 0) {
                fprintf(stderr, "geodelta detect: --%s '%s' is not a whole number >= 0\n",
                        c == OPT_MMUPX ? "mmu-px" : c == OPT_SPECKLEW ? "speckle-window"
                        : c == OPT_SMOOTH ? "smooth" : "pca-block", optarg);
                return 1;
            }
            if (c == OPT_MMUPX)
                p.mmu_px = (int)lv;
            else if (c == OPT_SPECKLEW)
                p.speckle_window = (int)lv;
            else if (c == OPT_SMOOTH)
                p.smooth_window = (int)lv;
            else
                p.pca_block = (int)lv;
            break;
        case OPT_TITLE: p.title = optarg; break;
        case OPT_CREDIT: p.credit = optarg; break;
        case OPT_MAPW:
            if (gd_cli_parse_int(optarg, 320, 20000, &lv) != 0) {
                fprintf(stderr, "geodelta detect: --map-width '%s' is not between 320 and 20000\n", optarg);
                return 1;
            }
            p.map_width = (int)lv;
            break;
        case OPT_AREA: p.area = optarg; break;
        case OPT_CAVEAT: p.caveat = optarg; break;
        case OPT_LAYOUT:
            if (strcmp(optarg, "triptych") == 0)
                p.map_layout = 0;
            else if (strcmp(optarg, "single") == 0)
                p.map_layout = 1;
            else {
                fprintf(stderr, "geodelta detect: --layout '%s' is not triptych or single\n", optarg);
                return 1;
            }
            break;
        case OPT_MAPBANDS:
            if (strcmp(optarg, "true-colour") == 0 || strcmp(optarg, "true-color") == 0)
                p.map_bands = 0;
            else if (strcmp(optarg, "false-colour") == 0 || strcmp(optarg, "false-color") == 0)
                p.map_bands = 1;
            else {
                fprintf(stderr, "geodelta detect: --map-bands '%s' is not true-colour or "
                                "false-colour\n", optarg);
                return 1;
            }
            break;
        case OPT_STRETCH: {
            char lo[32], hi[32];
            const char *comma = strchr(optarg, ',');
            size_t n = comma ? (size_t)(comma - optarg) : 0;
            if (!comma || n == 0 || n >= sizeof lo || strlen(comma + 1) >= sizeof hi) {
                fprintf(stderr, "geodelta detect: --stretch '%s' is not LO,HI (e.g. 2,98)\n", optarg);
                return 1;
            }
            memcpy(lo, optarg, n);
            lo[n] = '\0';
            strcpy(hi, comma + 1);
            if (gd_cli_parse_double(lo, 0.0, 100.0, &p.stretch_lo) != 0 ||
                gd_cli_parse_double(hi, 0.0, 100.0, &p.stretch_hi) != 0 ||
                !(p.stretch_hi > p.stretch_lo)) {
                fprintf(stderr, "geodelta detect: --stretch '%s' needs percentiles "
                                "0 <= LO < HI <= 100\n", optarg);
                return 1;
            }
            break;
        }
        case OPT_DPI:
            if (gd_cli_parse_double(optarg, 10.0, 2400.0, &p.map_dpi) != 0) {
                fprintf(stderr, "geodelta detect: --dpi '%s' is not between 10 and 2400\n", optarg);
                return 1;
            }
            break;
        case OPT_OVERLAY: p.map_overlay = optarg; break;
        case OPT_OVERLAY_FIELD: p.map_overlay_field = optarg; break;
        case OPT_AOI: p.map_aoi = optarg; break;
        case OPT_KEEP: p.keep_score = 1; break;
        case OPT_OVER: p.overwrite = 1; break;
        case OPT_SIGN: p.sign_key = optarg; break;
        case OPT_THREADS:
            if (gd_cli_parse_int(optarg, 1, 1024, &lv) != 0) {
                fprintf(stderr, "geodelta detect: --threads '%s' is not between 1 and 1024\n", optarg);
                return 1;
            }
            threads = (int)lv;
            break;
        case OPT_MEM:
            if (gd_cli_parse_int(optarg, 1, 1048576, &lv) != 0) {
                fprintf(stderr, "geodelta detect: --mem '%s' is not a number of MB between 1 and 1048576\n", optarg);
                return 1;
            }
            mem_mb = (int)lv;
            break;
        case OPT_ZONES: p.zones = optarg; break;
        case OPT_ZFIELD: p.zone_field = optarg; break;
        case OPT_ZALL: p.zones_all_touched = 1; break;
        case OPT_ALERTS: p.alerts = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "geodelta detect: option %s needs a value\n", argv[optind - 1]);
            return 1;
        default: {
            int r = stac_option(c, optarg, &stac);
            if (r > 0)
                break;
            if (r < 0)
                return 1;
            fprintf(stderr, "geodelta detect: unknown option %s (see geodelta detect --help)\n",
                    argv[optind - 1]);
            return 1;
        }
        }
    }
    if (optind < argc) {
        fprintf(stderr, "geodelta detect: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }
    if (stac.url) {
        stac.window[0] = p.before;
        stac.window[1] = p.after;
        stac.aoi = p.aoi;
        p.stac = &stac;
    } else if (stac.collection || stac.cache || stac.max_cloud >= 0 || stac.min_coverage >= 0) {
        fprintf(stderr, "geodelta detect: --collection, --max-cloud, --min-coverage and "
                        "--cache are options of --stac URL\n");
        return 1;
    }
    const char *missing = !p.before ? (p.stac ? "--before START[/END]" : "-b BEFORE")
                        : !p.after ? (p.stac ? "--after START[/END]" : "-a AFTER")
                        : !p.method ? "-m METHOD" : !p.outdir ? "-o OUTDIR" : NULL;
    if (missing) {
        fprintf(stderr, "geodelta detect: %s is required (see geodelta detect --help)\n", missing);
        return 1;
    }
    if (p.max_slope >= 0 && !p.dem) {
        fprintf(stderr, "geodelta detect: --max-slope needs --dem FILE\n");
        return 1;
    }
    if ((p.zone_field || p.zones_all_touched) && !p.zones) {
        fprintf(stderr, "geodelta detect: --zone-field and --zones-all-touched need --zones FILE\n");
        return 1;
    }
    /* checked before the chain runs, not after minutes of processing at the map stage */
    if (p.map_overlay && strncmp(p.map_overlay, "/vsi", 4) != 0 && access(p.map_overlay, R_OK) != 0) {
        fprintf(stderr, "geodelta: map overlay %s: %s\n", p.map_overlay, strerror(errno));
        return 2;
    }
    if (p.map_aoi && strncmp(p.map_aoi, "/vsi", 4) != 0 && access(p.map_aoi, R_OK) != 0) {
        fprintf(stderr, "geodelta: map AOI %s: %s\n", p.map_aoi, strerror(errno));
        return 2;
    }
    if (p.aoi && strncmp(p.aoi, "/vsi", 4) != 0 && access(p.aoi, R_OK) != 0) {
        fprintf(stderr, "geodelta: AOI %s: %s\n", p.aoi, strerror(errno));
        return 2;
    }
    p.argc = argc;
    p.argv = argv;
    gd_job *job = NULL;
    if (gd_job_create(&job) != GD_OK)
        return gd_cli_fail(GD_EPROC, "out of memory");
    if (p.stac && gd_stac_query_check(job, p.stac) != GD_OK) {
        int rc = gd_cli_fail(gd_job_status(job), gd_job_message(job));
        gd_job_destroy(job);
        return rc;
    }
    if (p.alerts) {
        /* a bad alert spec is a usage error found before any work */
        gd_alerts *a = NULL;
        /* nbr's class names depend on --nbr-classes and -t: check against those */
        const gd_method *am = gd_method_find(p.method);
        gd_method amt;
        const gd_class_table *act = NULL;
        if (am && gd_severity_choose(job, &p, &am, &amt, &act) != GD_OK)
            am = gd_method_find(p.method); /* the conflict is reported by the run */
        int ast = gd_alerts_parse(job, p.alerts, &a);
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
    int st = gd_detect_run(job, &p);
    int rc = 0;
    if (st != GD_OK) {
        gd_job_progress_break(job);
        rc = gd_cli_fail(st, gd_job_message(job));
    } else if (!quiet) {
        printf("outputs in %s\n", p.outdir);
    }
    gd_job_destroy(job);
    return rc;
}
