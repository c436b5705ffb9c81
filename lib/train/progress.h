/* Human-facing output of a training run, in three modes:
 *   AK_LOG_TTY    stderr is a terminal: a one-line progress bar redrawn in
 *                 place (epoch, percentage, loss, tokens/s, ETA) at most
 *                 ten times a second, and log lines printed above it;
 *   AK_LOG_PLAIN  otherwise: a plain progress line every log_every seconds
 *                 (0: none) and the log lines;
 *   AK_LOG_QUIET  --quiet: nothing (errors are the caller's to print).
 * Everything goes to the given stream (stderr in bin/train).
 *
 * Ownership: none (the stream is borrowed). */
#ifndef AK_TRAIN_PROGRESS_H
#define AK_TRAIN_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef enum ak_log_mode { AK_LOG_QUIET, AK_LOG_PLAIN, AK_LOG_TTY } ak_log_mode;

typedef struct ak_progress {
    ak_log_mode mode;
    FILE *out;
    double log_every;     /* AK_LOG_PLAIN: seconds between lines */
    int64_t epoch, epochs;
    int64_t total_tokens; /* of the epoch */
    int64_t base_tokens;  /* tokens already done when this session started the epoch */
    double t0, last;      /* start of the epoch (this session), last draw */
    int drawn;            /* a bar is on screen */
} ak_progress;

/* Monotonic seconds. */
double ak_now(void);

void ak_progress_init(ak_progress *p, ak_log_mode mode, FILE *out, double log_every);

/* A new epoch of total_tokens target tokens, of which done_tokens are
 * already done (a resumed epoch). */
void ak_progress_begin(ak_progress *p, int64_t epoch, int64_t epochs, int64_t total_tokens, int64_t done_tokens);

/* After a step: tokens done so far in the epoch, running mean loss. */
void ak_progress_update(ak_progress *p, int64_t done_tokens, double loss, double lr);

/* Removes the bar (before the epoch summary). */
void ak_progress_end(ak_progress *p);

/* A transient status line on a terminal only (e.g. "validating"),
 * replaced by the next bar or log line; nothing in the other modes. */
void ak_progress_note(ak_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A log line (printf format, newline added), above the bar if one is shown. */
void ak_logf(ak_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
