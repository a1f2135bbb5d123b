// PSCI 1.1 as Vireo offers it to guests (Arm DEN 0022): the power state of
// each vCPU of one VM and the answers to its calls. Pure logic: the kernel
// applies the resulting action (start a vCPU, stop the caller, ...).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "platform/psci.hpp"

namespace vpsci {

// The architecture's function IDs and return codes (platform/psci.hpp).
using namespace psci;

/// PSCI 1.1 in the VERSION encoding (major << 16 | minor).
constexpr int64_t kVersion1_1 = 0x10001;
/// MIGRATE_INFO_TYPE: no Trusted OS that needs migrating.
constexpr int64_t kMigrateNotRequired = 2;

enum class Power : uint8_t { Off, On, OnPending };

struct CpuView {
    uint64_t mpidr; // affinity fields
    Power power;
};

enum class Action : uint8_t {
    None,        // x0 holds the result; the caller continues
    StartCpu,    // power on `target` at `entry` with `context` in x0, then x0 = result for the caller
    StopCaller,  // CPU_OFF: the caller is off, never returns
    Suspend,     // CPU_SUSPEND: wait like WFI, then x0 = result
    SystemOff,   // SYSTEM_OFF: stop the VM
    SystemReset, // SYSTEM_RESET: restart the VM
};

struct Result {
    int64_t x0 = kNotSupported;
    Action action = Action::None;
    size_t target = 0;
    uint64_t entry = 0;
    uint64_t context = 0;
};

/// Function IDs owned by PSCI (Standard Secure Service, 0x00-0x1f).
constexpr bool is_psci(uint32_t fid) { return (fid & 0xbfffffe0u) == 0x84000000u; }

/// Guest RAM, where an entry point must lie.
struct RamRange {
    uint64_t base;
    uint64_t size;
};

/// Answers one PSCI call from vCPU `caller`; updates `cpus` for the calls
/// that change power states (the target of CPU_ON becomes OnPending, the
/// caller of CPU_OFF Off).
Result handle(uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3, CpuView* cpus, size_t count, size_t caller,
              RamRange ram);

} // namespace vpsci
