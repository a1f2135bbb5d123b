#include "vcpu/inject.hpp"

namespace vcpu {
namespace {

constexpr uint64_t kEsrIl = 1ull << 25;
constexpr uint64_t kFscSyncExternal = 0x10;
constexpr uint64_t kWnR = 1ull << 6;

/// Vector offset (D1.10.2): current EL with SP_EL0, current EL with SP_EL1,
/// lower EL in AArch64, lower EL in AArch32; +0 for synchronous exceptions.
uint64_t vector_offset(uint64_t pstate)
{
    if (pstate & kPstateAarch32) {
        return 0x600;
    }
    switch (pstate & kPstateModeMask) {
    case kPstateEl1t: return 0x000;
    case kPstateEl1h: return 0x200;
    default: return 0x400; // EL0t
    }
}

bool from_el1(uint64_t pstate) { return !(pstate & kPstateAarch32) && (pstate & 0xc) == 0x4; }

Injection enter_el1(const GuestException& from, uint64_t esr, uint64_t far)
{
    // PSTATE on entry: EL1h, D, A, I, F masked (D1.10.3); other bits cleared.
    return {esr, far, from.pc, from.pstate, from.vbar + vector_offset(from.pstate), kPstateDaif | kPstateEl1h};
}

} // namespace

Injection inject_undefined(const GuestException& from)
{
    return enter_el1(from, kEsrIl, 0); // EC 0x00, IL=1, ISS 0
}

Injection inject_abort(const GuestException& from, uint64_t far, bool instruction, bool write)
{
    // EC: abort from a lower EL (0x20/0x24) when the guest ran at EL0, else
    // from the same EL (0x21/0x25).
    uint64_t ec = instruction ? 0x20 : 0x24;
    if (from_el1(from.pstate)) {
        ec += 1;
    }
    uint64_t iss = kFscSyncExternal;
    if (!instruction && write) {
        iss |= kWnR;
    }
    return enter_el1(from, ec << 26 | kEsrIl | iss, far);
}

} // namespace vcpu
