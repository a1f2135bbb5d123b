// A vCPU's self-hosted debug state: hardware breakpoints and watchpoints,
// MDSCR_EL1 and the OS lock (Arm ARM DDI 0487, chapter D2, "AArch64
// Self-hosted Debug"). Every guest access to these registers traps
// (MDCR_EL2.TDA/TDOSA), so the copy here is always current and nothing
// needs saving when a vCPU leaves its CPU: the hardware's breakpoints and
// watchpoints hold a sanitised image of it only while a vCPU whose debug
// state is live (debug_rules::live) runs. docs/vcpu.md, "Self-hosted debug".
//
// The rules (which guest values the hardware may hold) are pure and
// host-tested (vcpu/debug_rules.cpp); the register moves are in
// vcpu/debug.cpp.
#pragma once

#include <stdint.h>

/// The architecture's bound: ID_AA64DFR0_EL1.BRPs and WRPs are 4-bit
/// "number minus one" fields (more than 16 needs FEAT_Debugv8p9's
/// ID_AA64DFR1_EL1, which Vireo does not offer).
constexpr unsigned kMaxBreakpoints = 16;
constexpr unsigned kMaxWatchpoints = 16;

/// What this CPU implements, from its ID_AA64DFR0_EL1.
struct DebugLimits {
    unsigned breakpoints = 0;
    unsigned watchpoints = 0;
    unsigned context_breakpoints = 0; // the highest-numbered breakpoints are the context-aware ones
    bool double_lock = false;         // FEAT_DoubleLock: OSDLR_EL1.DLK works

    bool context_aware(unsigned n) const { return n < breakpoints && n >= breakpoints - context_breakpoints; }
};

struct DebugState {
    // What the guest reads back: what it wrote, in the fields the
    // architecture defines, E clear where Vireo refused the value
    // (kernel/devices/sysreg/debug_regs.cpp); the hardware gets
    // bcr_for_hardware() and wcr_for_hardware() of these.
    uint64_t bvr[kMaxBreakpoints];
    uint64_t bcr[kMaxBreakpoints];
    uint64_t wvr[kMaxWatchpoints];
    uint64_t wcr[kMaxWatchpoints];
    uint64_t mdscr;
    // OSLSR_EL1.OSLK: clear at reset, as KVM's vCPUs start (a cold reset
    // of the hardware sets it).
    bool os_lock;
    bool double_lock; // OSDLR_EL1.DLK
};

namespace debug_rules {

// MDSCR_EL1 fields the guest may set and the hardware honours (Arm ARM,
// MDSCR_EL1): SS (software step), TDCC (EL0 DCC accesses trap to EL1), KDE
// (debug exceptions at EL1), MDE (breakpoints and watchpoints). The
// external-debug fields (HDE, ERR, the DCC flags...) read as zero.
constexpr uint64_t kMdscrSs = 1ull << 0;
constexpr uint64_t kMdscrTdcc = 1ull << 12;
constexpr uint64_t kMdscrKde = 1ull << 13;
constexpr uint64_t kMdscrMde = 1ull << 15;
constexpr uint64_t kMdscrGuest = kMdscrSs | kMdscrTdcc | kMdscrKde | kMdscrMde;

// DBGBCR<n>_EL1 / DBGWCR<n>_EL1 fields (Arm ARM, their register descriptions).
constexpr uint64_t kCrEnable = 1ull << 0;
constexpr uint64_t kCrHmc = 1ull << 13;
constexpr uint64_t kBcrFields = 0x00ffe1e7; // E, PMC, BAS[8:5], HMC, SSC, LBN, BT
constexpr uint64_t kWcrFields = 0x1f1fffff; // E, PAC, LSC, BAS[12:5], HMC, SSC, LBN, WT, MASK
// DBGWVR: an address, bits [1:0] RES0. (DBGBVR is kept whole: a context
// breakpoint compares all of bits [31:0] with CONTEXTIDR_EL1.)
constexpr uint64_t kWvrFields = ~0x3ull;

/// From ID_AA64DFR0_EL1: BRPs [15:12], WRPs [23:20], CTX_CMPs [31:28],
/// DoubleLock [39:36] (0b0000 implemented, 0b1111 not).
DebugLimits limits_from_dfr0(uint64_t dfr0);

/// The value breakpoint `n`'s control register may have in the hardware
/// for guest value `bcr`: 0 (disabled) unless it matches only at EL1/EL0
/// of this VM. HMC is cleared, so it never matches at EL2; Secure-only,
/// reserved and EL2-only HMC/SSC/PMC combinations are disabled; of the
/// breakpoint types only address and CONTEXTIDR_EL1 matching are kept
/// (VMID, CONTEXTIDR_EL2 and mismatch types are disabled: VMID matching
/// would compare Vireo's VMIDs, which are other VMs'), context types only
/// on context-aware breakpoints, links only to context-aware breakpoints.
uint64_t bcr_for_hardware(uint64_t bcr, unsigned n, const DebugLimits& limits);

/// The same for watchpoint control registers: HMC/SSC/PAC as for
/// breakpoints, LSC non-zero, MASK not one of its reserved values 1 and 2,
/// links only to context-aware breakpoints.
uint64_t wcr_for_hardware(uint64_t wcr, const DebugLimits& limits);

/// MDSCR_EL1 for the hardware: the guest's SS, TDCC, KDE and MDE, without
/// SS, KDE and MDE while its OS lock (or double lock) is set: a set lock
/// disables every debug exception but BRK (OSLAR_EL1, "the OS Lock also
/// disables some debug exceptions"; pseudocode
/// AArch64.GenerateDebugExceptionsFrom returns FALSE while OSLSR_EL1.OSLK
/// is 1 or DoubleLockStatus() is TRUE). With MDE clear no breakpoint or
/// watchpoint fires, with SS clear nothing is stepped.
uint64_t mdscr_for_hardware(const DebugState& state);

/// Whether `state` needs the hardware's breakpoints and watchpoints while
/// its vCPU runs: only when MDE, KDE or SS reach the hardware's MDSCR_EL1.
/// With those clear no breakpoint, watchpoint or step fires whatever the
/// other registers hold, so a vCPU that wrote them without enabling debug
/// (Linux clears them all at boot, and sets MDE and KDE only while a
/// breakpoint is installed) runs on the cheap path.
bool live(const DebugState& state);

} // namespace debug_rules

/// This CPU's debug limits (its ID_AA64DFR0_EL1).
DebugLimits debug_limits();

/// The hardware follows `state`, the debug state of the vCPU this CPU
/// runs: called when a CPU switches vCPUs (Vcpu::load) and after its guest
/// wrote a debug register. A live state's breakpoints and watchpoints are
/// loaded whole; otherwise they are disabled if a live one had them, and
/// not touched if not. MDSCR_EL1 is written either way (for a state that
/// is not live: TDCC at most, which Linux sets at boot).
void debug_load(const DebugState& state);

/// At CPU bring-up: the OS lock and double lock released (a cold reset
/// sets the OS lock, and while it is set no guest's debug exception could
/// be generated), every breakpoint and watchpoint disabled, MDSCR_EL1 zero.
void debug_cpu_init();
