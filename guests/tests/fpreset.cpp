// A vCPU reset by a VM reset starts with its FP/SIMD registers as after a
// reset, even when it owned its CPU's FP/SIMD registers at the reset and
// another vCPU took them before it ran again (docs/vcpu.md, "FP/SIMD").
//
// Two vCPUs of one VM on physical CPU 0 (tests/configs/bare/fpreset.dts).
// At every boot vCPU 0 starts vCPU 1 and at once uses FP/SIMD itself, so
// it takes the registers from whoever holds them; vCPU 1 checks V0-V31,
// FPSR and FPCR at its entry, fills them with a pattern and sleeps in WFI
// still holding them. At the first boot vCPU 0 then resets the VM (PSCI
// SYSTEM_RESET); at the second the check has been made after a reset and
// it powers off (gic::first_boot() tells them apart).
// The compiler never touches FP/SIMD registers (-mgeneral-regs-only): only
// the asm does.
#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;

namespace {

volatile uint64_t vcpu1_done;

/// Whether V0-V31, FPSR and FPCR are all zero, as Vireo resets them.
bool vectors_clear()
{
    uint64_t buf[64];
    uint64_t fpsr;
    uint64_t fpcr;
    asm volatile("stp q0, q1, [%2, #0]\n\tstp q2, q3, [%2, #32]\n\tstp q4, q5, [%2, #64]\n\t"
                 "stp q6, q7, [%2, #96]\n\tstp q8, q9, [%2, #128]\n\tstp q10, q11, [%2, #160]\n\t"
                 "stp q12, q13, [%2, #192]\n\tstp q14, q15, [%2, #224]\n\tstp q16, q17, [%2, #256]\n\t"
                 "stp q18, q19, [%2, #288]\n\tstp q20, q21, [%2, #320]\n\tstp q22, q23, [%2, #352]\n\t"
                 "stp q24, q25, [%2, #384]\n\tstp q26, q27, [%2, #416]\n\tstp q28, q29, [%2, #448]\n\t"
                 "stp q30, q31, [%2, #480]\n\tmrs %0, fpsr\n\tmrs %1, fpcr"
                 : "=r"(fpsr), "=r"(fpcr)
                 : "r"(buf)
                 : "memory");
    uint64_t any = fpsr | fpcr;
    for (unsigned i = 0; i < 64; i++) {
        any |= buf[i];
    }
    return any == 0;
}

/// Every register of V0-V31 non-zero, FPCR's rounding mode towards zero,
/// FPSR's cumulative IOC flag set.
void fill_vectors()
{
    uint64_t buf[64];
    for (unsigned i = 0; i < 64; i++) {
        buf[i] = 0xf00d000000000000ull | i;
    }
    asm volatile("ldp q0, q1, [%0, #0]\n\tldp q2, q3, [%0, #32]\n\tldp q4, q5, [%0, #64]\n\t"
                 "ldp q6, q7, [%0, #96]\n\tldp q8, q9, [%0, #128]\n\tldp q10, q11, [%0, #160]\n\t"
                 "ldp q12, q13, [%0, #192]\n\tldp q14, q15, [%0, #224]\n\tldp q16, q17, [%0, #256]\n\t"
                 "ldp q18, q19, [%0, #288]\n\tldp q20, q21, [%0, #320]\n\tldp q22, q23, [%0, #352]\n\t"
                 "ldp q24, q25, [%0, #384]\n\tldp q26, q27, [%0, #416]\n\tldp q28, q29, [%0, #448]\n\t"
                 "ldp q30, q31, [%0, #480]\n\tmsr fpcr, %1\n\tmsr fpsr, %2" ::"r"(buf),
                 "r"(uint64_t{3} << 22), "r"(uint64_t{1})
                 : "memory");
}

} // namespace

extern "C" void guest_secondary(uint64_t, uint64_t)
{
    test(gic::first_boot() ? "fpsimd-clear-at-first-entry" : "fpsimd-clear-after-vm-reset", vectors_clear());
    fill_vectors();
    vcpu1_done = 1;
    for (;;) {
        asm volatile("wfi"); // holding the FP/SIMD registers, with nothing to wake it
    }
}

extern "C" void guest_main(uint64_t, uint64_t)
{
    const bool first = gic::first_boot();
    print("fpreset: %s boot\n", first ? "first" : "second");
    test(first ? "fpreset-vcpu1-started" : "fpreset-vcpu1-started-again",
         call(kPsciCpuOn, 1, reinterpret_cast<uint64_t>(secondary_entry), 0) == 0);
    // Before vCPU 1 runs: the FP/SIMD registers become this vCPU's, and
    // whoever held them (vCPU 1 itself, before the reset) is saved.
    asm volatile("fmov d0, xzr");
    while (vcpu1_done == 0) {
        call(kHcYield);
    }
    if (first) {
        print("fpreset: resetting the VM\n");
        call(kPsciSystemReset);
    }
}
