// Deliberate faults, selected with `vireo.selftest=NAME` in the bootargs,
// so the system tests can check that Vireo reports its own failures fully.
#pragma once

struct Platform;

/// Runs the self-test named in the bootargs, if any. The fault tests do not
/// return: the fatal-exception path halts the CPU.
void run_selftest(const Platform& platform);
