/* Checkpoints: a model (description + every parameter), optionally its
 * optimizer state, in one container file (magic "AKCKPT01", io/container.h;
 * record keys in docs/formats.md, "## Checkpoint").
 *
 * Saving is split so callers can add their own records (run progress, RNG
 * state, config text, vocabularies) between the model and the commit:
 *
 *   w = ak_ckpt_begin(path, model, optim, err);   // streams to path.tmp.PID
 *   ak_container_put_str(w, "run/config", text, err); ...
 *   ak_ckpt_commit(w, err);                        // fsync + rename: atomic
 *
 * Loading validates the whole file (container CRCs, description, every
 * parameter's name and shape, optimizer buffer sizes) before anything is
 * copied, so a refused file leaves the caller's model and optimizer as they
 * were. */
#ifndef AK_IO_CHECKPOINT_H
#define AK_IO_CHECKPOINT_H

#include "io/container.h"
#include "nn/model.h"
#include "optim/optim.h"

#define AK_CKPT_MAGIC "AKCKPT01"

/* Starts a checkpoint with "model/desc" and "param/..." records and, when
 * optim is non-NULL, "optim/..." records. NULL + err on failure (nothing is
 * left on disk). */
ak_container_writer *ak_ckpt_begin(const char *path, ak_model *m, const ak_optim *optim, ak_err *err);

/* Finishes and atomically replaces the destination; frees w in every case. */
int ak_ckpt_commit(ak_container_writer *w, ak_err *err);

/* Opens and validates a checkpoint file (the caller closes it). */
ak_container *ak_ckpt_open(const char *path, ak_err *err);

/* Builds the model the checkpoint describes and loads its parameters. */
ak_model *ak_ckpt_load_model(const ak_container *c, ak_err *err);

/* Restores optimizer state saved by ak_ckpt_begin into o (created over the
 * same model's store): kind, buffers and step must match. */
int ak_ckpt_load_optim(const ak_container *c, ak_optim *o, ak_err *err);

#endif
