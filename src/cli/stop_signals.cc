#include "cli/stop_signals.h"

#include <unistd.h>

#include <csignal>

namespace rapid {

namespace {

std::atomic<bool> g_stop{false};

void OnStopSignal(int) {
  if (g_stop.exchange(true)) _exit(kExitInterrupted);
  static const char kMessage[] = "\nrapid: stopping after the work in flight (a second signal exits at once)\n";
  (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
}

}  // namespace

const std::atomic<bool>* InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return &g_stop;
}

}  // namespace rapid
