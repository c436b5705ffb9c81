#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void release(ak_atomic_file *af)
{
    free(af->path);
    free(af->tmp);
    memset(af, 0, sizeof *af);
}

int ak_atomic_open(ak_atomic_file *af, const char *path, ak_err *err)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(path);
    af->path = malloc(n + 1);
    af->tmp = malloc(n + 32);
    if (!af->path || !af->tmp) {
        release(af);
        return ak_errorf(err, "%s: out of memory", path);
    }
    memcpy(af->path, path, n + 1);
    snprintf(af->tmp, n + 32, "%s.tmp.%ld", path, (long)getpid());
    /* A temporary of this PID can only be left over from a crashed earlier
     * process; O_EXCL after removing it refuses to follow a planted link. */
    if (unlink(af->tmp) != 0 && errno != ENOENT) {
        ak_errorf(err, "%s: cannot remove stale temporary file %s: %s", path, af->tmp, strerror(errno));
        release(af);
        return -1;
    }
    int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0) {
        ak_errorf(err, "%s: cannot create temporary file %s: %s", path, af->tmp, strerror(errno));
        release(af);
        return -1;
    }
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        int e = errno;
        close(fd);
        unlink(af->tmp);
        ak_errorf(err, "%s: cannot open temporary file %s: %s", path, af->tmp, strerror(e));
        release(af);
        return -1;
    }
    return 0;
}

void ak_atomic_abort(ak_atomic_file *af)
{
    if (af->fp)
        fclose(af->fp);
    if (af->tmp)
        unlink(af->tmp);
    release(af);
}

/* fsync of the directory that holds path, so the rename itself is durable. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    free(dir);
    if (fd < 0)
        return errno;
    int e = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    /* Some filesystems cannot sync a directory; nothing more can be done. */
    return e == EINVAL || e == ENOTSUP ? 0 : e;
}

int ak_atomic_commit(ak_atomic_file *af, ak_err *err)
{
    if (!af->fp)
        return ak_errorf(err, "%s: atomic write was not opened", af->path ? af->path : "(null)");
    const char *what = NULL;
    int e = 0;
    if (ferror(af->fp)) {
        what = "an earlier write failed";
        e = EIO; /* the errno of that write is long gone */
    } else if (fflush(af->fp) != 0) {
        what = "cannot write";
        e = errno;
    } else if (fsync(fileno(af->fp)) != 0) {
        what = "cannot sync";
        e = errno;
    }
    int closed = fclose(af->fp);
    int close_errno = errno;
    af->fp = NULL;
    if (!what && closed != 0) {
        what = "cannot close";
        e = close_errno;
    }
    if (!what && rename(af->tmp, af->path) != 0) {
        what = "cannot rename temporary file over it";
        e = errno;
    }
    if (what) {
        ak_errorf(err, "%s: %s (temporary %s): %s", af->path, what, af->tmp, strerror(e));
        ak_atomic_abort(af);
        return -1;
    }
    e = sync_dir(af->path);
    if (e) {
        ak_errorf(err, "%s: written, but syncing its directory failed: %s", af->path, strerror(e));
        release(af);
        return -1;
    }
    release(af);
    return 0;
}

int ak_atomic_write(const char *path, const void *data, size_t n, ak_err *err)
{
    ak_atomic_file af;
    if (ak_atomic_open(&af, path, err) != 0)
        return -1;
    if (n && fwrite(data, 1, n, af.fp) != n) {
        ak_errorf(err, "%s: cannot write (temporary %s): %s", path, af.tmp, strerror(errno));
        ak_atomic_abort(&af);
        return -1;
    }
    return ak_atomic_commit(&af, err);
}
