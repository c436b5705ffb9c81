#include "viz/png.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "viz/file_write.h"
#include "viz/ppm.h"

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Appends one chunk at out + *at: length, type, data, CRC over type+data. */
static void put_chunk(unsigned char *out, size_t *at, const char type[4],
                      const unsigned char *data, size_t n)
{
    unsigned char *p = out + *at;
    put32(p, (uint32_t)n);
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, data, n);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, p + 4, (uInt)(n + 4));
    put32(p + 8 + n, (uint32_t)crc);
    *at += 12 + n;
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Filters one scanline (row of n bytes; prev is the row above or zeros)
 * with type f into out. Returns the sum of |residual| as signed bytes. */
static unsigned long filter_row(int f, const unsigned char *row,
                                const unsigned char *prev, size_t n,
                                unsigned char *out)
{
    unsigned long cost = 0;
    for (size_t i = 0; i < n; i++) {
        int a = i >= 3 ? row[i - 3] : 0, b = prev[i], c = i >= 3 ? prev[i - 3] : 0;
        int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2
                                                                 : paeth(a, b, c);
        unsigned char v = (unsigned char)(row[i] - pred);
        out[i] = v;
        cost += v < 128 ? v : 256u - v;
    }
    return cost;
}

int ak_png_encode(const ak_canvas *c, unsigned char **out, size_t *len,
                  ak_err *err)
{
    *out = NULL;
    size_t stride = (size_t)c->w * 3, raw_n = ((size_t)stride + 1) * (size_t)c->h;
    unsigned char *raw = malloc(raw_n), *zero = calloc(stride, 1),
                  *trial = malloc(stride);
    uLongf zcap = compressBound((uLong)raw_n);
    unsigned char *z = malloc(zcap);
    unsigned char *png = NULL;
    int rc = -1;
    if (!raw || !zero || !trial || !z) {
        ak_errorf(err, "ak_png_encode: out of memory for %dx%d", c->w, c->h);
        goto done;
    }
    for (int y = 0; y < c->h; y++) {
        const unsigned char *row = c->px + (size_t)y * stride;
        const unsigned char *prev = y ? row - stride : zero;
        unsigned char *dst = raw + (size_t)y * (stride + 1);
        unsigned long best = (unsigned long)-1;
        for (int f = 0; f < 5; f++) {
            unsigned long cost = filter_row(f, row, prev, stride, trial);
            if (cost < best) {
                best = cost;
                dst[0] = (unsigned char)f;
                memcpy(dst + 1, trial, stride);
            }
        }
    }
    int zr = compress2(z, &zcap, raw, (uLong)raw_n, 9);
    if (zr != Z_OK) {
        ak_errorf(err, "ak_png_encode: deflate failed: %s", zError(zr));
        goto done;
    }
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    unsigned char ihdr[13];
    put32(ihdr, (uint32_t)c->w);
    put32(ihdr + 4, (uint32_t)c->h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type: truecolour */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    size_t total = sizeof sig + (12 + sizeof ihdr) + (12 + (size_t)zcap) + 12;
    png = malloc(total);
    if (!png) {
        ak_errorf(err, "ak_png_encode: out of memory for %dx%d", c->w, c->h);
        goto done;
    }
    size_t at = sizeof sig;
    memcpy(png, sig, sizeof sig);
    put_chunk(png, &at, "IHDR", ihdr, sizeof ihdr);
    put_chunk(png, &at, "IDAT", z, (size_t)zcap);
    put_chunk(png, &at, "IEND", NULL, 0);
    *out = png;
    *len = at;
    png = NULL;
    rc = 0;
done:
    free(raw);
    free(zero);
    free(trial);
    free(z);
    free(png);
    return rc;
}

int ak_png_write(const char *path, const ak_canvas *c, ak_err *err)
{
    unsigned char *buf;
    size_t len;
    if (ak_png_encode(c, &buf, &len, err) < 0)
        return ak_err_prefix(err, "%s", path);
    int rc = ak_viz_write_file(path, buf, len, err);
    free(buf);
    return rc;
}

int ak_image_write(const char *path, const ak_canvas *c, ak_err *err)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (dot && strcasecmp(dot, ".png") == 0)
        return ak_png_write(path, c, err);
    if (dot && strcasecmp(dot, ".ppm") == 0)
        return ak_ppm_write(path, c, err);
    return ak_errorf(err, "%s: unknown image type, expected a .png or .ppm path",
                     path ? path : "(null)");
}
