/* Ctrl-C handling for long runs.
 *
 * After ak_interrupt_install, the first SIGINT only sets a flag
 * (ak_interrupt_flag): the trainer finishes the step it is in, writes a
 * checkpoint and exits 130. A second SIGINT exits at once with status 130;
 * before that it removes the temporary file of a write in progress, which
 * was announced with ak_interrupt_guard (atomic writes go to PATH.tmp.PID,
 * io/atomic_file.h), so no partial file is left and the destination keeps
 * its previous content.
 *
 * This is process-global state by nature (a signal handler has no context
 * argument): one flag, one guarded path. Single-threaded use from the main
 * thread; the handler itself only touches sig_atomic_t flags, a
 * preformatted path, unlink and _exit (all async-signal-safe). */
#ifndef AK_TRAIN_INTERRUPT_H
#define AK_TRAIN_INTERRUPT_H

#include <signal.h>

/* Installs the handler for SIGINT (and SIGTERM, treated the same) and
 * clears the flag. Returns 0, or -1 when sigaction fails. */
int ak_interrupt_install(void);
/* Restores the previous handlers. */
void ak_interrupt_uninstall(void);

/* Set (non-zero) once the first signal arrived; polled between steps. */
extern volatile sig_atomic_t ak_interrupt_flag;

/* Announces that the atomic writer of `final_path` is about to create
 * "final_path.tmp.PID"; ak_interrupt_unguard once it was committed or
 * aborted. Paths longer than 4000 bytes are not guarded. */
void ak_interrupt_guard(const char *final_path);
void ak_interrupt_unguard(void);

#endif
