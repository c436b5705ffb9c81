/* Atomic replacement of a file: write everything to a temporary file in the
 * destination's directory, then rename it over the destination.
 *
 * Readers of PATH see either the old file or the complete new one, never a
 * partial write, and a crash at any point leaves the old file intact (at
 * worst a stale "PATH.tmp.PID" behind). Sequence on commit: fflush, fsync
 * of the temporary, fclose, rename(tmp, PATH), fsync of the directory.
 *
 * Ownership: ak_atomic_open allocates the names and opens the FILE;
 * ak_atomic_commit and ak_atomic_abort release everything, whatever their
 * outcome, and may be called on a zeroed or already finished struct.
 * Failure modes: the temporary cannot be created (missing or unwritable
 * directory), a write/flush/sync/close fails (disk full, file size limit),
 * the rename fails (destination is a directory, another filesystem): -1 with
 * "PATH: what failed: strerror" in err, the temporary removed and an
 * existing PATH untouched. The one exception is a failed fsync of the
 * directory after the rename: PATH then already holds the new content, and
 * the message says so.
 * The temporary's name depends only on PATH and the process id: one writer
 * per destination per process at a time. */
#ifndef AK_IO_ATOMIC_FILE_H
#define AK_IO_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

typedef struct ak_atomic_file {
    FILE *fp;   /* write here between open and commit */
    char *path; /* destination (copy) */
    char *tmp;  /* "PATH.tmp.PID" (copy) */
} ak_atomic_file;

/* Creates PATH.tmp.PID (replacing a stale one of this PID) and opens it for
 * binary writing. */
int ak_atomic_open(ak_atomic_file *af, const char *path, ak_err *err);

/* Checks for earlier write errors on af->fp, syncs, closes and renames the
 * temporary over the destination, then syncs the directory. */
int ak_atomic_commit(ak_atomic_file *af, ak_err *err);

/* Closes and removes the temporary; the destination is not touched. */
void ak_atomic_abort(ak_atomic_file *af);

/* Convenience: writes n bytes from data to path atomically. */
int ak_atomic_write(const char *path, const void *data, size_t n, ak_err *err);

#endif
