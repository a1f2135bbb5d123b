// The hypervisor monitor: Ctrl-] then m on the console gives a command line
// served by Vireo on CPU 0 (from the console UART's interrupt) while the
// VMs keep running: list, stat, stop, restart, start, help; q or Ctrl-]
// leaves it. docs/monitor.md.
#pragma once

#include <stdint.h>

namespace monitor {

bool active();
/// Enters the monitor: a banner and the prompt.
void enter();
/// Leaves it (q, or Ctrl-] while in it).
void leave();
/// A byte typed while the monitor is active.
void feed(uint8_t byte);
/// Every VM's statistics since it was built, as `stat` shows them (at
/// power-off when the log level is debug).
void print_all_stats();

} // namespace monitor
