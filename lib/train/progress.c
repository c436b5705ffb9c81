/* Progress bar and log lines (progress.h). */
#include "train/progress.h"

#include <stdarg.h>
#include <time.h>

double ak_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ak_progress_init(ak_progress *p, ak_log_mode mode, FILE *out, double log_every)
{
    *p = (ak_progress){.mode = mode, .out = out, .log_every = log_every};
}

void ak_progress_begin(ak_progress *p, int64_t epoch, int64_t epochs, int64_t total_tokens, int64_t done_tokens)
{
    p->epoch = epoch;
    p->epochs = epochs;
    p->total_tokens = total_tokens;
    p->base_tokens = done_tokens;
    p->t0 = p->last = ak_now();
    p->drawn = 0;
}

static void fmt_time(char *buf, size_t n, double s)
{
    if (!(s >= 0) || s > 1e7)
        snprintf(buf, n, "--:--");
    else if (s >= 3600)
        snprintf(buf, n, "%d:%02d:%02d", (int)(s / 3600), (int)(s / 60) % 60, (int)s % 60);
    else
        snprintf(buf, n, "%02d:%02d", (int)(s / 60), (int)s % 60);
}

void ak_progress_update(ak_progress *p, int64_t done_tokens, double loss, double lr)
{
    if (p->mode == AK_LOG_QUIET)
        return;
    double now = ak_now();
    double every = p->mode == AK_LOG_TTY ? 0.1 : p->log_every;
    int last_step = done_tokens >= p->total_tokens;
    if (p->mode == AK_LOG_PLAIN && (every <= 0 || last_step))
        return;
    if (now - p->last < every && !(p->mode == AK_LOG_TTY && last_step))
        return;
    p->last = now;
    double el = now - p->t0;
    double tps = el > 0 ? (double)(done_tokens - p->base_tokens) / el : 0;
    double frac = p->total_tokens ? (double)done_tokens / (double)p->total_tokens : 1;
    double eta = tps > 0 ? (double)(p->total_tokens - done_tokens) / tps : -1;
    char eta_s[32], el_s[32];
    fmt_time(eta_s, sizeof eta_s, eta);
    fmt_time(el_s, sizeof el_s, el);
    if (p->mode == AK_LOG_TTY) {
        enum { W = 24 };
        char bar[W + 1];
        int fill = (int)(frac * W + 0.5);
        for (int i = 0; i < W; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[W] = 0;
        fprintf(p->out, "\r\033[Kepoch %lld/%lld [%s] %3.0f%% loss %.4f lr %.2e %.0f tok/s %s<%s", (long long)p->epoch,
                (long long)p->epochs, bar, 100 * frac, loss, lr, tps, el_s, eta_s);
        p->drawn = 1;
    } else {
        fprintf(p->out, "epoch %lld/%lld %5.1f%% loss %.4f lr %.2e %.0f tok/s elapsed %s eta %s\n",
                (long long)p->epoch, (long long)p->epochs, 100 * frac, loss, lr, tps, el_s, eta_s);
    }
    fflush(p->out);
}

void ak_progress_end(ak_progress *p)
{
    if (p->mode == AK_LOG_TTY && p->drawn) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
    }
    p->drawn = 0;
}

void ak_progress_note(ak_progress *p, const char *fmt, ...)
{
    if (p->mode != AK_LOG_TTY)
        return;
    fputs("\r\033[K", p->out);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fflush(p->out);
    p->drawn = 1;
}

void ak_logf(ak_progress *p, const char *fmt, ...)
{
    if (p->mode == AK_LOG_QUIET)
        return;
    if (p->mode == AK_LOG_TTY && p->drawn)
        fputs("\r\033[K", p->out);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fputc('\n', p->out);
    fflush(p->out);
    if (p->drawn) {
        p->drawn = 0;
        p->last = 0; /* redraw the bar at the next update */
    }
}
