#include "viz/ppm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viz/file_write.h"

int ak_ppm_encode(const ak_canvas *c, unsigned char **out, size_t *len,
                  ak_err *err)
{
    char head[48];
    int hn = snprintf(head, sizeof head, "P6\n%d %d\n255\n", c->w, c->h);
    size_t body = (size_t)c->w * (size_t)c->h * 3;
    unsigned char *buf = malloc((size_t)hn + body);
    *out = NULL;
    if (!buf)
        return ak_errorf(err, "ak_ppm_encode: out of memory for %dx%d", c->w,
                         c->h);
    memcpy(buf, head, (size_t)hn);
    memcpy(buf + hn, c->px, body);
    *out = buf;
    *len = (size_t)hn + body;
    return 0;
}

int ak_ppm_write(const char *path, const ak_canvas *c, ak_err *err)
{
    unsigned char *buf;
    size_t len;
    if (ak_ppm_encode(c, &buf, &len, err) < 0)
        return ak_err_prefix(err, "%s", path);
    int rc = ak_viz_write_file(path, buf, len, err);
    free(buf);
    return rc;
}
