// A guest that misbehaves on purpose: every misdeed must come back to the
// guest as an error code, an abort or UNDEFINED, never hurt the hypervisor.
#include <stdio.h>

#include "lib/guest.hpp"

using namespace guest;

namespace {

constexpr uint64_t kOutsideRam = 0x80000000;

void jump_to_unmapped()
{
    auto fn = reinterpret_cast<void (*)()>(0x0c000000);
    fn();
}
// With CPACR_EL1.ZEN open, as a guest that believed in SVE would set it,
// only Vireo's CPTR_EL2.TZ stands in the way.
void sve_instruction()
{
    uint64_t cpacr;
    asm volatile("mrs %0, cpacr_el1" : "=r"(cpacr));
    asm volatile("msr cpacr_el1, %0\n\tisb" ::"r"(cpacr | 3u << 16));
    asm volatile(".inst 0x04bf5020" ::: "x0"); // rdvl x0, #1
    asm volatile("msr cpacr_el1, %0\n\tisb" ::"r"(cpacr));
}
void pacga_instruction() { asm volatile(".inst 0x9ac23020" ::: "x0"); } // pacga x0, x1, x2
void write_debug_breakpoint() { asm volatile("msr dbgbcr0_el1, %0" ::"r"(uint64_t{0x1e7})); }
void load_pair_from_unmapped() { asm volatile("ldp x0, x1, [%0]" ::"r"(uint64_t{0x0b000000}) : "x0", "x1"); }
void simd_load_from_mmio() { asm volatile("ldr q0, [%0]" ::"r"(uint64_t{0x0b000000}) : "memory"); }

} // namespace

extern "C" void guest_main(uint64_t, uint64_t)
{
    test("console-write-outside-ram", call(kHcConsoleWrite, kOutsideRam, 16) == -2);
    test("console-write-too-long", call(kHcConsoleWrite, 0x40000000, 1u << 20) == -2);
    test("console-write-wrapping-address", call(kHcConsoleWrite, ~0ull - 4, 64) == -2);
    test("cpu-on-entry-outside-ram", call(kPsciCpuOn, 1, kOutsideRam, 0) == -9);
    test("cpu-on-garbage-mpidr", call(kPsciCpuOn, ~0ull, 0x40000000, 0) == -2);
    test("exit-count-bad-kind", call(kHcExitCount, 999) == -2);
    test("psci-features-garbage", call(kPsciFeatures, ~0ull) == -1);

    Fault f = expect_fault(jump_to_unmapped);
    test("instruction-fetch-from-unmapped-ipa", (f.esr >> 26) == 0x21 && f.far == 0x0c000000);
    f = expect_fault(sve_instruction);
    char details[48];
    snprintf(details, sizeof details, "ESR 0x%lx", f.esr);
    test("sve-instruction-undefined", (f.esr >> 26) == 0x00, details);
    f = expect_fault(pacga_instruction);
    test("pointer-auth-instruction-undefined", (f.esr >> 26) == 0x00);
    f = expect_fault(write_debug_breakpoint);
    test("debug-register-write-harmless", f.esr == 0);
    f = expect_fault(load_pair_from_unmapped);
    test("ldp-from-unmapped-ipa-aborts", (f.esr >> 26) == 0x25);
    f = expect_fault(simd_load_from_mmio);
    test("simd-load-from-mmio-aborts", (f.esr >> 26) == 0x25);

    // Hammer the fault path: far more faults than Vireo logs.
    bool all = true;
    for (int i = 0; i < 100; i++) {
        all = all && (expect_fault(load_pair_from_unmapped).esr >> 26) == 0x25;
    }
    test("many-faults-all-delivered", all);
}
