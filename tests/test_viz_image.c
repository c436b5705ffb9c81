/* Image rendering: the colour map, heatmap layout, PPM and PNG files. PNGs
 * are checked with an independent decoder written here from the PNG spec
 * (chunk walk, CRC-32 of every chunk, inflate, all five filters), and with
 * pngcheck as well when it is installed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "viz/colormap.h"
#include "viz/heatmap_image.h"
#include "viz/panels.h"
#include "viz/png.h"
#include "viz/ppm.h"

static const char *const DE[] = {"Wer", "hat", "das", "Bier", "mitgebracht", "?", "</s>"};
static const char *const EN[] = {"Who", "brought", "the", "beer", "?", "</s>"};
static const float ALIGN[6 * 7] = {
    0.86f, 0.05f, 0.02f, 0.01f, 0.03f, 0.02f, 0.01f,
    0.04f, 0.30f, 0.02f, 0.03f, 0.58f, 0.02f, 0.01f,
    0.02f, 0.03f, 0.81f, 0.10f, 0.02f, 0.01f, 0.01f,
    0.01f, 0.02f, 0.08f, 0.85f, 0.02f, 0.01f, 0.01f,
    0.01f, 0.01f, 0.01f, 0.02f, 0.05f, 0.88f, 0.02f,
    0.02f, 0.02f, 0.01f, 0.01f, 0.02f, 0.12f, 0.80f,
};

static int rgb_eq(ak_rgb a, int r, int g, int b)
{
    return a.r == r && a.g == g && a.b == b;
}

/* Colour a weight in [0, 1] must get: entry floor(256 w) of the table. */
static ak_rgb expected(float w)
{
    int i = (int)floor(w * 256.0);
    return ak_viridis_entry(i > 255 ? 255 : i);
}

/* ---- an independent PNG decoder --------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct decoded {
    int w, h;
    unsigned char *rgb;  /* w * h * 3 */
    int filters_seen[5]; /* scanlines per filter type */
} decoded;

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc)
        return a;
    return pb <= pc ? b : c;
}

static void png_decode(const unsigned char *buf, size_t len, decoded *d)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10};
    memset(d, 0, sizeof *d);
    cr_assert_geq(len, 8u);
    cr_assert_eq(memcmp(buf, sig, 8), 0, "bad signature");
    size_t at = 8, idat_n = 0;
    unsigned char *idat = NULL;
    int chunk = 0, saw_end = 0;
    while (at < len) {
        cr_assert(!saw_end, "data after IEND");
        cr_assert_leq(at + 12, len, "truncated chunk header");
        uint32_t n = be32(buf + at);
        cr_assert_leq(at + 12 + n, len, "chunk runs past the end");
        const unsigned char *type = buf + at + 4, *data = buf + at + 8;
        uLong crc = crc32(crc32(0L, Z_NULL, 0), type, n + 4);
        cr_assert_eq((uint32_t)crc, be32(data + n), "CRC mismatch in %.4s", type);
        if (chunk == 0) {
            cr_assert_eq(memcmp(type, "IHDR", 4), 0, "first chunk is %.4s", type);
            cr_assert_eq(n, 13u);
            d->w = (int)be32(data);
            d->h = (int)be32(data + 4);
            cr_assert_eq(data[8], 8, "bit depth");
            cr_assert_eq(data[9], 2, "colour type");
            cr_assert_eq(data[10] | data[11] | data[12], 0, "method/filter/interlace");
        } else if (memcmp(type, "IDAT", 4) == 0) {
            idat = realloc(idat, idat_n + n);
            memcpy(idat + idat_n, data, n);
            idat_n += n;
        } else if (memcmp(type, "IEND", 4) == 0) {
            cr_assert_eq(n, 0u);
            saw_end = 1;
        } else {
            cr_assert(type[0] & 0x20, "unknown critical chunk %.4s", type);
        }
        at += 12 + n;
        chunk++;
    }
    cr_assert(saw_end, "no IEND");
    size_t stride = (size_t)d->w * 3, raw_n = (stride + 1) * (size_t)d->h;
    unsigned char *raw = malloc(raw_n);
    uLongf got = raw_n;
    cr_assert_eq(uncompress(raw, &got, idat, idat_n), Z_OK, "inflate failed");
    cr_assert_eq(got, raw_n, "inflated %lu bytes, expected %zu", got, raw_n);
    d->rgb = malloc(stride * (size_t)d->h);
    for (int y = 0; y < d->h; y++) {
        const unsigned char *in = raw + (size_t)y * (stride + 1);
        unsigned char *out = d->rgb + (size_t)y * stride;
        const unsigned char *up = y ? out - stride : NULL;
        int f = in[0];
        cr_assert_leq(f, 4, "row %d: filter %d", y, f);
        d->filters_seen[f]++;
        for (size_t i = 0; i < stride; i++) {
            int a = i >= 3 ? out[i - 3] : 0, b = up ? up[i] : 0,
                c = (i >= 3 && up) ? up[i - 3] : 0, x = in[1 + i];
            int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, c);
            out[i] = (unsigned char)(x + pred);
        }
    }
    free(raw);
    free(idat);
}

static ak_rgb px(const decoded *d, int x, int y)
{
    const unsigned char *p = d->rgb + 3 * ((size_t)y * d->w + x);
    ak_rgb c = {p[0], p[1], p[2]};
    return c;
}

/* ---- files ------------------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/ak_viz_test_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    DIR *dir = opendir(tmpdir);
    struct dirent *e;
    char p[512];
    while (dir && (e = readdir(dir)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        if (remove(p) != 0)
            rmdir(p);
    }
    if (dir)
        closedir(dir);
    rmdir(tmpdir);
}

static int dir_entries(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *e;
    int n = 0;
    cr_assert(dir);
    while ((e = readdir(dir)) != NULL)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(dir);
    return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *buf = malloc((size_t)n);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ---- tests ------------------------------------------------------------- */

Test(viz_image, viridis_matches_published_colours)
{
    cr_assert(rgb_eq(ak_viridis(0.0f), 0x44, 0x01, 0x54));
    cr_assert(rgb_eq(ak_viridis(0.5f), 0x21, 0x91, 0x8C));
    cr_assert(rgb_eq(ak_viridis(1.0f), 0xFD, 0xE7, 0x25));
    cr_assert_eq(ak_cmap_index(-1.0f), 0);
    cr_assert_eq(ak_cmap_index(NAN), 0);
    cr_assert_eq(ak_cmap_index(0.999f), 255);
    cr_assert_eq(ak_cmap_index(2.0f), 255);
    ak_rgb bad = AK_RGB_NONFINITE;
    cr_assert(rgb_eq(ak_viridis(NAN), bad.r, bad.g, bad.b));
    /* Lightness rises steadily: the property that makes it readable (and
     * catches a transposed or mistyped row in the table). */
    int prev = -1;
    for (int i = 0; i < 256; i += 4) {
        ak_rgb c = ak_viridis_entry(i);
        int luma = 299 * c.r + 587 * c.g + 114 * c.b;
        cr_assert_gt(luma, prev, "entry %d", i);
        prev = luma;
    }
}

Test(viz_image, ppm_has_header_size_and_cell_colours)
{
    ak_heatmap hm = {ALIGN, 6, 7, EN, DE, "epoch 12"};
    ak_image_opts o = {.cell = 10};
    ak_canvas c;
    ak_heatmap_geom g;
    ak_err err;
    cr_assert_eq(ak_heatmap_render(&hm, &o, &c, &g, &err), 0, "%s", err.msg);
    cr_assert_eq(c.w, g.width);
    cr_assert_eq(c.h, g.height);
    unsigned char *buf;
    size_t len;
    cr_assert_eq(ak_ppm_encode(&c, &buf, &len, &err), 0);
    int w, h, maxval, off = 0;
    cr_assert_eq(sscanf((char *)buf, "P6\n%d %d\n%d\n%n", &w, &h, &maxval, &off), 3);
    cr_assert(off > 0 && buf[off - 1] == '\n');
    cr_assert_eq(w, g.width);
    cr_assert_eq(h, g.height);
    cr_assert_eq(maxval, 255);
    cr_assert_eq(len, (size_t)off + (size_t)w * h * 3);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 7; j++) {
            ak_rgb want = expected(ALIGN[i * 7 + j]);
            /* every pixel of the cell, not just its centre */
            for (int dy = 0; dy < 10; dy++)
                for (int dx = 0; dx < 10; dx++) {
                    int x = g.grid_x + j * 10 + dx, y = g.grid_y + i * 10 + dy;
                    const unsigned char *p = buf + off + 3 * ((size_t)y * w + x);
                    cr_assert(rgb_eq(want, p[0], p[1], p[2]), "cell %d,%d pixel %d,%d", i, j, dx, dy);
                }
        }
    free(buf);
    ak_canvas_free(&c);
}

Test(viz_image, png_decodes_independently_and_matches_canvas)
{
    float w[3 * 3] = {0.0f, 0.5f, 1.0f, 0.25f, NAN, 0.75f, 0.1f, 0.9f, 0.6f};
    const char *const rows[] = {"Stra\xC3\x9F" "e", "\xC3\xA9t\xC3\xA9", "\xE4\xB8\xAD"};
    ak_heatmap hm = {w, 3, 3, rows, rows, "PNG check: \xC3\x84\xC3\x96\xC3\x9C"};
    ak_image_opts o = {.cell = 12, .text_scale = 2};
    ak_canvas c;
    ak_heatmap_geom g;
    ak_err err;
    cr_assert_eq(ak_heatmap_render(&hm, &o, &c, &g, &err), 0, "%s", err.msg);
    unsigned char *buf;
    size_t len;
    cr_assert_eq(ak_png_encode(&c, &buf, &len, &err), 0, "%s", err.msg);
    decoded d;
    png_decode(buf, len, &d);
    cr_assert_eq(d.w, c.w);
    cr_assert_eq(d.h, c.h);
    cr_assert_eq(memcmp(d.rgb, c.px, (size_t)c.w * c.h * 3), 0, "pixels differ");
    int kinds = 0;
    for (int f = 0; f < 5; f++)
        kinds += d.filters_seen[f] > 0;
    cr_assert_geq(kinds, 2, "only one filter type used; unfiltering barely tested");
    int cx = g.grid_x + g.cell / 2, cy = g.grid_y + g.cell / 2;
    cr_assert(rgb_eq(px(&d, cx, cy), 0x44, 0x01, 0x54));
    cr_assert(rgb_eq(px(&d, cx + g.cell, cy), 0x21, 0x91, 0x8C));
    cr_assert(rgb_eq(px(&d, cx + 2 * g.cell, cy), 0xFD, 0xE7, 0x25));
    cr_assert(rgb_eq(px(&d, cx + g.cell, cy + g.cell), 128, 128, 128), "NaN cell");
    /* the colour bar runs from the top colour to the bottom colour */
    cr_assert(rgb_eq(px(&d, g.bar_x + 2, g.bar_y), 0xFD, 0xE7, 0x25));
    cr_assert(rgb_eq(px(&d, g.bar_x + 2, g.bar_y + g.bar_h - 1), 0x44, 0x01, 0x54));
    free(d.rgb);
    free(buf);
    ak_canvas_free(&c);
}

Test(viz_image, written_files_decode_and_pass_pngcheck, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    ak_heatmap hm = {ALIGN, 6, 7, EN, DE, "epoch 12  cross L2 H1"};
    char png[128], ppm[128], cmd[300];
    ak_err err;
    snprintf(png, sizeof png, "%s/bier.png", tmpdir);
    snprintf(ppm, sizeof ppm, "%s/bier.PPM", tmpdir);
    cr_assert_eq(ak_heatmap_write(png, &hm, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(ak_heatmap_write(ppm, &hm, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(dir_entries(tmpdir), 2, "temporary files left behind");
    struct stat st;
    cr_assert_eq(stat(png, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644);
    size_t len;
    unsigned char *buf = slurp(png, &len);
    decoded d;
    png_decode(buf, len, &d);
    ak_heatmap_geom g;
    cr_assert_eq(ak_heatmap_geometry(&hm, NULL, &g, &err), 0);
    cr_assert_eq(d.w, g.width);
    cr_assert_eq(d.h, g.height);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 7; j++) {
            ak_rgb got = px(&d, g.grid_x + j * g.cell + g.cell / 2, g.grid_y + i * g.cell + g.cell / 2);
            ak_rgb want = expected(ALIGN[i * 7 + j]);
            cr_assert(rgb_eq(got, want.r, want.g, want.b), "cell %d,%d", i, j);
        }
    free(d.rgb);
    free(buf);
    buf = slurp(ppm, &len);
    cr_assert_eq(memcmp(buf, "P6\n", 3), 0);
    free(buf);
    if (system("command -v pngcheck >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd, "pngcheck -q '%s' >/dev/null", png);
        cr_assert_eq(system(cmd), 0, "pngcheck rejects %s", png);
    } else {
        cr_log_info("pngcheck not installed; relied on the built-in decoder");
    }
}

Test(viz_image, bad_paths_fail_with_path_and_reason, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    ak_canvas c;
    ak_err err;
    char path[128];
    cr_assert_eq(ak_canvas_init(&c, 4, 4, AK_VIZ_BG, &err), 0);

    cr_assert_eq(ak_png_write("/nonexistent-dir/attn.png", &c, &err), -1);
    cr_assert(strstr(err.msg, "/nonexistent-dir/attn.png"), "%s", err.msg);
    cr_assert(strstr(err.msg, "No such file or directory"), "%s", err.msg);
    cr_assert_eq(ak_ppm_write("/nonexistent-dir/attn.ppm", &c, &err), -1);
    cr_assert(strstr(err.msg, "/nonexistent-dir/attn.ppm"), "%s", err.msg);

    /* A directory in the way: the rename fails, the temp file is removed. */
    snprintf(path, sizeof path, "%s/taken.png", tmpdir);
    cr_assert_eq(mkdir(path, 0755), 0);
    cr_assert_eq(ak_png_write(path, &c, &err), -1);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "rename"), "%s", err.msg);
    cr_assert_eq(dir_entries(tmpdir), 1, "temporary file left behind");

    snprintf(path, sizeof path, "%s/attn.jpg", tmpdir);
    cr_assert_eq(ak_image_write(path, &c, &err), -1);
    cr_assert(strstr(err.msg, "attn.jpg") && strstr(err.msg, ".png"), "%s", err.msg);
    ak_heatmap bad = {ALIGN, 6, 0, NULL, NULL, NULL};
    cr_assert_eq(ak_heatmap_write(path, &bad, NULL, &err), -1);
    cr_assert(strstr(err.msg, "attn.jpg") && strstr(err.msg, "6x0"), "%s", err.msg);
    cr_assert_eq(dir_entries(tmpdir), 1);
    ak_canvas_free(&c);
}

Test(viz_image, small_cells_thin_out_labels_and_huge_maps_are_refused)
{
    static float w[40 * 40];
    ak_heatmap hm = {w, 40, 40, NULL, NULL, NULL};
    ak_image_opts o = {.cell = 4};
    ak_heatmap_geom g;
    ak_err err;
    cr_assert_eq(ak_heatmap_geometry(&hm, &o, &g, &err), 0);
    cr_assert_eq(g.row_step, 4); /* ceil(13 / 4): labels never overlap */
    cr_assert_eq(g.col_step, 4);
    o.text_scale = 2;
    cr_assert_eq(ak_heatmap_geometry(&hm, &o, &g, &err), 0);
    cr_assert_eq(g.row_step, 7);
    ak_heatmap big = {w, 4000, 4000, NULL, NULL, NULL};
    o.cell = 64;
    cr_assert_eq(ak_heatmap_geometry(&big, &o, &g, &err), -1);
    cr_assert(strstr(err.msg, "canvas limit"), "%s", err.msg);
}

Test(viz_image, panels_share_one_range_and_one_colour_bar)
{
    float a[2 * 2] = {0.0f, 0.5f, 0.25f, 0.5f}, b[2 * 2] = {1.0f, 0.0f, 0.0f, 1.0f};
    const char *const lab[] = {"ja", "nein"};
    ak_heatmap maps[3] = {
        {a, 2, 2, lab, lab, "epoch 1"},
        {b, 2, 2, lab, lab, "epoch 2"},
        {a, 2, 2, lab, lab, "epoch 3"},
    };
    ak_panel_opts po = {.image = {.range = {AK_RANGE_DATA, 0, 0}, .cell = 8}, .columns = 2};
    ak_canvas c;
    ak_err err;
    cr_assert_eq(ak_panels_render(maps, 3, &po, &c, &err), 0, "%s", err.msg);
    ak_image_opts one = {.cell = 8, .no_colorbar = 1};
    ak_heatmap_geom g;
    cr_assert_eq(ak_heatmap_geometry(&maps[0], &one, &g, &err), 0);
    cr_assert_gt(c.w, 2 * g.width, "two panels and a colour bar a row");
    cr_assert_gt(c.h, 2 * g.height, "three panels make two rows");
    /* With the shared data range [0, 1], panel 1's 0.5 is mid-scale, not top. */
    ak_rgb mid = ak_canvas_get(&c, g.grid_x + 8 + 4, g.grid_y + 4);
    cr_assert(rgb_eq(mid, 0x21, 0x91, 0x8C));
    cr_assert(rgb_eq(ak_canvas_get(&c, g.grid_x + 4, g.grid_y + 4), 0x44, 0x01, 0x54));
    ak_canvas_free(&c);

    cr_assert_eq(ak_panels_render(maps, 0, &po, &c, &err), -1);
    maps[1].rows = 0;
    cr_assert_eq(ak_panels_render(maps, 3, &po, &c, &err), -1);
    cr_assert(strstr(err.msg, "panel 1"), "%s", err.msg);
}
