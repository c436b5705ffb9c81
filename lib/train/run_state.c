/* Run progress records of a checkpoint (run_state.h). */
#include "train/run_state.h"

#include <math.h>
#include <string.h>

ak_run_state ak_run_state_new(int64_t seed, uint64_t data_crc)
{
    return (ak_run_state){.epoch = 1, .seed = seed, .best = -INFINITY, .data_crc = data_crc};
}

int ak_run_state_put(ak_container_writer *w, const ak_run_state *s, const char *config_text, ak_err *err)
{
    return ak_container_put_str(w, "run/version", AK_RUN_VERSION, err) ||
                   ak_container_put_str(w, "run/config", config_text, err) ||
                   ak_container_put_i64(w, "run/epoch", s->epoch, err) ||
                   ak_container_put_i64(w, "run/batch", s->batch, err) ||
                   ak_container_put_i64(w, "run/batches", s->batches, err) ||
                   ak_container_put_i64(w, "run/step", s->step, err) ||
                   ak_container_put_i64(w, "run/seed", s->seed, err) ||
                   ak_container_put_f64(w, "run/elapsed_s", s->elapsed, err) ||
                   ak_container_put_f64(w, "run/epoch_loss_sum", s->loss_sum, err) ||
                   ak_container_put_i64(w, "run/epoch_tokens", s->tokens, err) ||
                   ak_container_put_f64(w, "run/epoch_train_s", s->train_s, err) ||
                   ak_container_put_f64(w, "run/best", s->best, err) ||
                   ak_container_put_i64(w, "run/best_epoch", s->best_epoch, err) ||
                   ak_container_put_i64(w, "run/bad_epochs", s->bad_epochs, err) ||
                   ak_container_put_i64(w, "run/skipped", s->skipped, err) ||
                   ak_container_put_u64(w, "run/data_crc", s->data_crc, err)
               ? -1
               : 0;
}

int ak_run_state_get(const ak_container *c, ak_run_state *s, ak_err *err)
{
    const char *version;
    memset(s, 0, sizeof *s);
    if (ak_container_get_str(c, "run/version", &version, NULL, err) != 0)
        return ak_err_prefix(err, "not a training checkpoint (no run state)");
    if (strcmp(version, AK_RUN_VERSION) != 0)
        return ak_errorf(err, "%s: run state version '%s', this build reads '%s'", ak_container_path(c), version,
                         AK_RUN_VERSION);
    if (ak_container_get_i64(c, "run/epoch", &s->epoch, err) || ak_container_get_i64(c, "run/batch", &s->batch, err) ||
        ak_container_get_i64(c, "run/batches", &s->batches, err) ||
        ak_container_get_i64(c, "run/step", &s->step, err) || ak_container_get_i64(c, "run/seed", &s->seed, err) ||
        ak_container_get_f64(c, "run/elapsed_s", &s->elapsed, err) ||
        ak_container_get_f64(c, "run/epoch_loss_sum", &s->loss_sum, err) ||
        ak_container_get_i64(c, "run/epoch_tokens", &s->tokens, err) ||
        ak_container_get_f64(c, "run/epoch_train_s", &s->train_s, err) ||
        ak_container_get_f64(c, "run/best", &s->best, err) ||
        ak_container_get_i64(c, "run/best_epoch", &s->best_epoch, err) ||
        ak_container_get_i64(c, "run/bad_epochs", &s->bad_epochs, err) ||
        ak_container_get_i64(c, "run/skipped", &s->skipped, err) ||
        ak_container_get_u64(c, "run/data_crc", &s->data_crc, err))
        return -1;
    if (s->epoch < 1 || s->batch < 0 || s->batches < 1 || s->batch > s->batches || s->step < 0 || s->tokens < 0)
        return ak_errorf(err, "%s: inconsistent run state (epoch %lld, batch %lld of %lld, step %lld)",
                         ak_container_path(c), (long long)s->epoch, (long long)s->batch, (long long)s->batches,
                         (long long)s->step);
    return 0;
}
