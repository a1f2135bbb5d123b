// Exceptions Vireo raises in a guest: what the hardware would have done had
// the guest taken them at EL1 itself (Arm ARM D1.10, "Exception entry").
// Pure: the caller reads and writes the registers.
#pragma once

#include <stdint.h>

namespace vcpu {

/// The guest state an injection starts from.
struct GuestException {
    uint64_t pc;     // ELR_EL2: the instruction that faulted
    uint64_t pstate; // SPSR_EL2
    uint64_t vbar;   // VBAR_EL1
};

/// Register values after the injection.
struct Injection {
    uint64_t esr_el1;
    uint64_t far_el1;
    uint64_t elr_el1;
    uint64_t spsr_el1;
    uint64_t pc;     // new ELR_EL2
    uint64_t pstate; // new SPSR_EL2
};

// SPSR/PSTATE fields.
constexpr uint64_t kPstateModeMask = 0xf;
constexpr uint64_t kPstateEl0t = 0x0;
constexpr uint64_t kPstateEl1t = 0x4;
constexpr uint64_t kPstateEl1h = 0x5;
constexpr uint64_t kPstateAarch32 = 1ull << 4;
constexpr uint64_t kPstateDaif = 0xfull << 6;
constexpr uint64_t kPstateI = 1ull << 7;   // IRQs masked
constexpr uint64_t kPstateSs = 1ull << 21; // software step

/// An UNDEFINED instruction (EC 0x00) at `from.pc`.
Injection inject_undefined(const GuestException& from);

/// A synchronous external abort on a data access (`instruction` false) or an
/// instruction fetch at guest virtual address `far`.
Injection inject_abort(const GuestException& from, uint64_t far, bool instruction, bool write);

} // namespace vcpu
