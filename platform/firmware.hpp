// Calls to the firmware beneath Vireo (EL3) with the full SMCCC register
// set, for forwarding guests' SMCs.
#pragma once

#include <stdint.h>

extern "C" {
/// SMC #0 with x0-x17 from `args`; x0-x3 of the result in `results`.
void firmware_smc_forward(const uint64_t args[18], uint64_t results[4]);
}
