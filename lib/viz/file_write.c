#include "viz/file_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ak_viz_write_file(const char *path, const void *data, size_t len,
                      ak_err *err)
{
    if (!path || !*path)
        return ak_errorf(err, "write: empty output path");
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof ".tmp.XXXXXX");
    if (!tmp)
        return ak_errorf(err, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");

    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return ak_errorf(err, "%s: cannot create temporary file: %s", path,
                         strerror(e));
    }
    const char *what = NULL;
    int e = 0;
    const unsigned char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            what = "write failed";
            e = n < 0 ? errno : EIO;
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    if (!what && fchmod(fd, 0644) != 0)
        what = "chmod failed", e = errno;
    if (!what && fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        what = "fsync failed", e = errno;
    if (close(fd) != 0 && !what)
        what = "close failed", e = errno;
    if (!what && rename(tmp, path) != 0)
        what = "rename failed", e = errno;
    if (what) {
        unlink(tmp);
        free(tmp);
        return ak_errorf(err, "%s: %s: %s", path, what, strerror(e));
    }
    free(tmp);
    return 0;
}
