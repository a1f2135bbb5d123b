// SMCCC calls from guests, over HVC or SMC: PSCI, SMCCC discovery, Vireo's
// hypercalls, and forwarding to the firmware where the VM's policy allows.
#pragma once

#include <stdint.h>

#include "platform/psci.hpp"
#include "vcpu/outcome.hpp"

class Vcpu;
class VmHost;

namespace calls {

// SMCCC architecture calls (DEN 0028).
constexpr uint32_t kSmcccVersion = 0x80000000;
constexpr uint32_t kSmcccArchFeatures = 0x80000001;
constexpr uint32_t kArchWorkaround1 = 0x80008000;
constexpr uint32_t kArchWorkaround2 = 0x80007fff;
constexpr uint32_t kArchWorkaround3 = 0x80003fff;

// Vireo's hypercalls: Vendor Specific Hypervisor Service (owner 6), fast
// calls, SMC32 convention (docs/hypercalls.md).
constexpr uint32_t kHcNull = 0x86000000;
constexpr uint32_t kHcConsoleWrite = 0x86000001;
constexpr uint32_t kHcYield = 0x86000002;
constexpr uint32_t kHcExitCount = 0x86000003;
constexpr uint32_t kHcStat = 0x86000004;
// STAT's items (x1).
constexpr uint64_t kStatGuestTicks = 0;
constexpr uint64_t kStatInjected = 1;
constexpr uint64_t kStatWfiBlocks = 2;
constexpr uint64_t kStatVireoTicks = 16; // + exit kind: ticks in Vireo for that kind
// Channels (docs/config.md, "Channels"): x1 is the VM's channel number
// (its doorbell page number), as the doorbell registers are.
constexpr uint32_t kHcChannelRing = 0x86000005; // x2: the member to ring
constexpr uint32_t kHcChannelInfo = 0x86000006; // x1 = peers | self << 32, x2 = region IPA, x3 = its size
constexpr uint32_t kHcChannelTake = 0x86000007; // the PENDING bits, cleared
constexpr uint32_t kHcRamMapping = 0x86000008;  // x1-x3: RAM's 4 KiB pages, 2 MiB and 1 GiB blocks
constexpr int64_t kHcCalls = 9;                 // CALL_COUNT
constexpr uint32_t kHcCallCount = 0x8600ff00;
constexpr uint32_t kHcUid = 0x8600ff01;
constexpr uint32_t kHcRevision = 0x8600ff03;

constexpr int64_t kNotSupported = -1;
constexpr int64_t kInvalidParameters = -2;

/// Learns what the firmware offers (SMCCC version, workarounds) once at
/// boot, over `conduit` (only SMC reaches firmware from EL2; without it
/// nothing is forwarded).
void probe_firmware(Conduit conduit);

/// Whether there is firmware to call (PSCI over SMC in the DTB).
bool firmware_present();

/// Handles the call in the vCPU's x0..x17 for the VM `vm`; `smc` says which conduit.
Outcome handle(Vcpu& vcpu, VmHost& vm, bool smc);

} // namespace calls
