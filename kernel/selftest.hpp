// Deliberate faults, selected with `vireo.selftest=NAME` in the bootargs,
// so the system tests can check that Vireo reports its own crashes fully.
#pragma once

/// Runs the self-test named in `bootargs`, if any. The fault tests do not
/// return: the fatal-exception path halts the CPU.
void run_selftest(const char *bootargs);
