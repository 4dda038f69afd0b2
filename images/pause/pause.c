/*
 * Skiff's pause: the process that holds a pod sandbox's namespaces.
 *
 * It sleeps until SIGINT or SIGTERM and then exits 0. As PID 1 of a pod that shares its PID
 * namespace, it also reaps orphaned children (SIGCHLD -> waitpid loop), so no zombies pile
 * up. Build: gcc -static -Os -s -o pause pause.c
 *
 * `pause -v` prints the version and exits, so an image can be checked without running it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIFF_PAUSE_VERSION "skiff-pause 1.0"

static volatile sig_atomic_t stop_requested = 0;

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  /* Reap every exited child; more than one may be behind a single SIGCHLD. */
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int install(int sig, void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = (sig == SIGCHLD) ? (SA_RESTART | SA_NOCLDSTOP) : 0;
  return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts(SKIFF_PAUSE_VERSION);
    return 0;
  }
  if (install(SIGINT, on_stop) != 0 || install(SIGTERM, on_stop) != 0 || install(SIGCHLD, on_child) != 0) {
    perror("pause: sigaction");
    return 1;
  }
  /* Block the stop signals outside sigsuspend so none can slip between check and wait. */
  sigset_t block, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &block, &wait_mask) != 0) {
    perror("pause: sigprocmask");
    return 1;
  }
  if (getpid() != 1) {
    /* Not fatal: useful when testing by hand. Printed once the handlers are in place. */
    fputs("pause: warning: not running as PID 1\n", stderr);
  }
  sigdelset(&wait_mask, SIGINT);
  sigdelset(&wait_mask, SIGTERM);
  sigdelset(&wait_mask, SIGCHLD);
  while (!stop_requested) {
    sigsuspend(&wait_mask);
  }
  return 0;
}
