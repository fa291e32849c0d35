/* signals.c: SIGINT/SIGTERM become a cancel that every job sees at its next strip. */
#include "geodelta/files.h"

#include <signal.h>
#include <string.h>

/* the one flag a handler may set (C17 7.14.1.1); read by every job's cancel check */
static volatile sig_atomic_t caught;

static void on_signal(int sig) { caught = sig; }

void gd_signals_install(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* a second Ctrl-C is not ignored: the default action ends the process at once;
     * without restart a blocking wait (batch's waitpid) returns to look at the flag */
    sa.sa_flags = SA_RESETHAND | (restart ? SA_RESTART : 0);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int gd_signal_caught(void) { return caught; }

int gd_signal_exit_code(int sig) { return 128 + sig; }
