// Debug register emulation on a vCPU's DebugState. Register layouts: Arm
// ARM DDI 0487, the AArch64 debug register descriptions.
#include "kernel/devices/sysreg/debug_regs.hpp"

#include "vcpu/exit.hpp"

namespace sysreg_emul {
namespace {

using vcpu::sysreg_encoding;

constexpr uint32_t kMdscrEl1 = sysreg_encoding(2, 0, 0, 2, 2);
constexpr uint32_t kOslarEl1 = sysreg_encoding(2, 0, 1, 0, 4);
constexpr uint32_t kOslsrEl1 = sysreg_encoding(2, 0, 1, 1, 4);
constexpr uint32_t kOsdlrEl1 = sysreg_encoding(2, 0, 1, 3, 4);
// Read-only, or write-only: the other direction is UNDEFINED.
constexpr uint32_t kMdrarEl1 = sysreg_encoding(2, 0, 1, 0, 0);
constexpr uint32_t kDbgauthstatusEl1 = sysreg_encoding(2, 0, 7, 14, 6);
constexpr uint32_t kMdccsrEl0 = sysreg_encoding(2, 3, 0, 1, 0);

// OSLSR_EL1: OSLM 0b10 (bits [3] and [0]), the OS lock implemented; OSLK, bit 1.
constexpr uint64_t kOslsrOslm = 0x8;
constexpr uint64_t kOslk = 0x2;

/// DBGBVR<n>_EL1 (op2 4), DBGBCR<n> (5), DBGWVR<n> (6), DBGWCR<n> (7): op1
/// 0, CRn 0, CRm n. Missing: a number past this CPU's count, UNDEFINED
/// as on the hardware.
enum class Comparator : uint8_t { NotOne, Missing, Bvr, Bcr, Wvr, Wcr };

struct ComparatorRegister {
    Comparator kind;
    unsigned n;
};

ComparatorRegister comparator(uint32_t encoding, const DebugLimits& limits)
{
    constexpr uint32_t kCrmOp2 = 0xfu << 3 | 7u;
    const unsigned op2 = encoding & 7;
    const unsigned n = (encoding >> 3) & 0xf;
    if ((encoding & ~kCrmOp2) != sysreg_encoding(2, 0, 0, 0, 0) || op2 < 4) {
        return {Comparator::NotOne, 0};
    }
    if (n >= (op2 < 6 ? limits.breakpoints : limits.watchpoints)) {
        return {Comparator::Missing, n};
    }
    static constexpr Comparator kKinds[] = {Comparator::Bvr, Comparator::Bcr, Comparator::Wvr, Comparator::Wcr};
    return {kKinds[op2 - 4], n};
}

/// A control register as the guest reads it back: the fields it wrote, but
/// E clear if the hardware will not take it (debug_rules), so a guest can
/// see its breakpoint refused, as it may for a value the architecture
/// reserves (EL2 and VMID matching are reserved for a guest without EL2).
uint64_t refused_disabled(uint64_t written, uint64_t hardware)
{
    return hardware == 0 ? written & ~debug_rules::kCrEnable : written;
}

} // namespace

bool debug_read(const DebugState& state, const DebugLimits& limits, uint32_t encoding, uint64_t& value)
{
    const ComparatorRegister c = comparator(encoding, limits);
    switch (c.kind) {
    case Comparator::Bvr: value = state.bvr[c.n]; return true;
    case Comparator::Bcr: value = state.bcr[c.n]; return true;
    case Comparator::Wvr: value = state.wvr[c.n]; return true;
    case Comparator::Wcr: value = state.wcr[c.n]; return true;
    case Comparator::Missing: return false;
    case Comparator::NotOne: break;
    }
    if (encoding == kOslarEl1) {
        return false;
    }
    switch (encoding) {
    case kMdscrEl1: value = state.mdscr; return true;
    case kOslsrEl1: value = kOslsrOslm | (state.os_lock ? kOslk : 0); return true;
    case kOsdlrEl1: value = state.double_lock ? 1 : 0; return true;
    default:
        // External debug, the DCC, claim tags, DBGPRCR_EL1, MDRAR_EL1 (no
        // ROM table), trace and the rest of op0 2: read as zero.
        value = 0;
        return true;
    }
}

bool debug_write(DebugState& state, const DebugLimits& limits, uint32_t encoding, uint64_t value)
{
    const ComparatorRegister c = comparator(encoding, limits);
    switch (c.kind) {
    case Comparator::Bvr: state.bvr[c.n] = value; return true;
    case Comparator::Bcr: {
        const uint64_t written = value & debug_rules::kBcrFields;
        state.bcr[c.n] = refused_disabled(written, debug_rules::bcr_for_hardware(written, c.n, limits));
        return true;
    }
    case Comparator::Wvr: state.wvr[c.n] = value & debug_rules::kWvrFields; return true;
    case Comparator::Wcr: {
        const uint64_t written = value & debug_rules::kWcrFields;
        state.wcr[c.n] = refused_disabled(written, debug_rules::wcr_for_hardware(written, limits));
        return true;
    }
    case Comparator::Missing: return false;
    case Comparator::NotOne: break;
    }
    if (encoding == kOslsrEl1 || encoding == kMdrarEl1 || encoding == kDbgauthstatusEl1 || encoding == kMdccsrEl0) {
        return false;
    }
    switch (encoding) {
    case kMdscrEl1: state.mdscr = value & debug_rules::kMdscrGuest; return true;
    case kOslarEl1: state.os_lock = (value & 1) != 0; return true;
    case kOsdlrEl1:
        // Without FEAT_DoubleLock, OSDLR_EL1 is RAZ/WI.
        state.double_lock = limits.double_lock && (value & 1) != 0;
        return true;
    default: return true; // writes to what reads as zero are ignored
    }
}

} // namespace sysreg_emul
