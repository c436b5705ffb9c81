/* Ctrl-C: first signal sets a flag, the second removes the guarded
 * temporary and exits 130 (interrupt.h). */
#include "train/interrupt.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t ak_interrupt_flag = 0;

static char g_tmp[4096];
static volatile sig_atomic_t g_tmp_set = 0;
static struct sigaction g_old_int, g_old_term;
static int g_installed = 0;

static void on_signal(int sig)
{
    (void)sig;
    if (ak_interrupt_flag) {
        if (g_tmp_set)
            unlink(g_tmp);
        _exit(130);
    }
    ak_interrupt_flag = 1;
}

int ak_interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ak_interrupt_flag = 0;
    g_tmp_set = 0;
    if (sigaction(SIGINT, &sa, &g_old_int) != 0)
        return -1;
    if (sigaction(SIGTERM, &sa, &g_old_term) != 0) {
        sigaction(SIGINT, &g_old_int, NULL);
        return -1;
    }
    g_installed = 1;
    return 0;
}

void ak_interrupt_uninstall(void)
{
    if (!g_installed)
        return;
    sigaction(SIGINT, &g_old_int, NULL);
    sigaction(SIGTERM, &g_old_term, NULL);
    g_installed = 0;
    g_tmp_set = 0;
    ak_interrupt_flag = 0;
}

void ak_interrupt_guard(const char *final_path)
{
    g_tmp_set = 0;
    int n = snprintf(g_tmp, sizeof g_tmp, "%s.tmp.%ld", final_path, (long)getpid());
    if (n > 0 && (size_t)n < sizeof g_tmp)
        g_tmp_set = 1;
}

void ak_interrupt_unguard(void) { g_tmp_set = 0; }
