// Which guest debug-register values the hardware may hold. Pure: the host
// unit tests call it (tests/unit/debug_rules_test.cpp).
#include "vcpu/debug.hpp"

namespace debug_rules {
namespace {

constexpr uint64_t bits(uint64_t value, unsigned hi, unsigned lo) { return (value >> lo) & ((2ull << (hi - lo)) - 1); }

unsigned count_field(uint64_t dfr0, unsigned lsb) { return static_cast<unsigned>(bits(dfr0, lsb + 3, lsb)) + 1; }

/// HMC, SSC and PMC (PAC for watchpoints) once HMC is cleared: EL1, EL0 or
/// both (PMC 01, 10, 11), in either security state or Non-secure only (SSC
/// 00, 01). PMC 00 with HMC 0 is reserved, as are the EL2-only encodings
/// it leaves (Arm ARM D2, "Execution conditions for which a breakpoint
/// generates Breakpoint exceptions": the table of HMC, SSC and PMC; the
/// same holds for watchpoints with PAC); SSC 10 and 11 only
/// match in Secure or Realm state, where no guest runs.
bool el1_or_el0(uint64_t control)
{
    const uint64_t pmc = bits(control, 2, 1);
    const uint64_t ssc = bits(control, 15, 14);
    return pmc != 0 && ssc <= 1;
}

unsigned linked_breakpoint(uint64_t control) { return static_cast<unsigned>(bits(control, 19, 16)); }

// DBGBCR<n>_EL1.BT: the types Vireo lets through.
constexpr uint64_t kBtAddress = 0b0000;
constexpr uint64_t kBtLinkedAddress = 0b0001;
constexpr uint64_t kBtContextId = 0b0010;
constexpr uint64_t kBtLinkedContextId = 0b0011;

} // namespace

DebugLimits limits_from_dfr0(uint64_t dfr0)
{
    DebugLimits limits;
    limits.breakpoints = count_field(dfr0, 12);
    limits.watchpoints = count_field(dfr0, 20);
    limits.context_breakpoints = count_field(dfr0, 28);
    // The architecture requires at least two breakpoints and watchpoints
    // and at least one context-aware breakpoint, no more context-aware
    // ones than breakpoints (ID_AA64DFR0_EL1.CTX_CMPs).
    if (limits.context_breakpoints > limits.breakpoints) {
        limits.context_breakpoints = limits.breakpoints;
    }
    limits.double_lock = bits(dfr0, 39, 36) == 0;
    return limits;
}

uint64_t bcr_for_hardware(uint64_t bcr, unsigned n, const DebugLimits& limits)
{
    const uint64_t value = bcr & kBcrFields & ~kCrHmc;
    if (!el1_or_el0(value)) {
        return 0;
    }
    switch (bits(value, 23, 20)) {
    case kBtAddress: return value;
    case kBtLinkedAddress: return limits.context_aware(linked_breakpoint(value)) ? value : 0;
    case kBtContextId:
    case kBtLinkedContextId: return limits.context_aware(n) ? value : 0;
    default: return 0; // VMID, CONTEXTIDR_EL2, address mismatch, reserved
    }
}

uint64_t wcr_for_hardware(uint64_t wcr, const DebugLimits& limits)
{
    const uint64_t value = wcr & kWcrFields & ~kCrHmc;
    const uint64_t lsc = bits(value, 4, 3);
    const uint64_t mask = bits(value, 28, 24);
    const bool linked = bits(value, 20, 20) != 0;
    if (!el1_or_el0(value) || lsc == 0 || mask == 1 || mask == 2 ||
        (linked && !limits.context_aware(linked_breakpoint(value)))) {
        return 0;
    }
    return value;
}

uint64_t mdscr_for_hardware(const DebugState& state)
{
    const uint64_t mdscr = state.mdscr & kMdscrGuest;
    return state.os_lock || state.double_lock ? mdscr & ~(kMdscrSs | kMdscrKde | kMdscrMde) : mdscr;
}

bool live(const DebugState& state) { return (mdscr_for_hardware(state) & (kMdscrSs | kMdscrKde | kMdscrMde)) != 0; }

} // namespace debug_rules
