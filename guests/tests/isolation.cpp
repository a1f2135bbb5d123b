// Two vCPUs of one VM pinned to the same physical CPU: each fills EL1
// system registers and V0-V31 with its own pattern, yields to the other
// many times, and checks that nothing of the other's leaked in.
// Built without -mgeneral-regs-only's guarantee being needed: the compiler
// never touches FP/SIMD registers here (the flag is on), only the asm does.
#include "lib/guest.hpp"

using namespace guest;

namespace {

volatile uint64_t done[2];
volatile uint64_t ok[2];

struct Pattern {
    uint64_t base;
    uint64_t value(unsigned i) const { return base ^ (0x0101010101010101ull * (i + 1)); }
};

void fill_vectors(const Pattern& p)
{
    uint64_t buf[64];
    for (unsigned i = 0; i < 64; i++) {
        buf[i] = p.value(i);
    }
    asm volatile("ldp q0, q1, [%0, #0]\n\tldp q2, q3, [%0, #32]\n\tldp q4, q5, [%0, #64]\n\t"
                 "ldp q6, q7, [%0, #96]\n\tldp q8, q9, [%0, #128]\n\tldp q10, q11, [%0, #160]\n\t"
                 "ldp q12, q13, [%0, #192]\n\tldp q14, q15, [%0, #224]\n\tldp q16, q17, [%0, #256]\n\t"
                 "ldp q18, q19, [%0, #288]\n\tldp q20, q21, [%0, #320]\n\tldp q22, q23, [%0, #352]\n\t"
                 "ldp q24, q25, [%0, #384]\n\tldp q26, q27, [%0, #416]\n\tldp q28, q29, [%0, #448]\n\t"
                 "ldp q30, q31, [%0, #480]\n\tmsr fpcr, %1" ::"r"(buf),
                 "r"(p.base & 0x07c00000)
                 : "memory");
}

bool check_vectors(const Pattern& p)
{
    uint64_t buf[64];
    uint64_t fpcr;
    asm volatile("stp q0, q1, [%1, #0]\n\tstp q2, q3, [%1, #32]\n\tstp q4, q5, [%1, #64]\n\t"
                 "stp q6, q7, [%1, #96]\n\tstp q8, q9, [%1, #128]\n\tstp q10, q11, [%1, #160]\n\t"
                 "stp q12, q13, [%1, #192]\n\tstp q14, q15, [%1, #224]\n\tstp q16, q17, [%1, #256]\n\t"
                 "stp q18, q19, [%1, #288]\n\tstp q20, q21, [%1, #320]\n\tstp q22, q23, [%1, #352]\n\t"
                 "stp q24, q25, [%1, #384]\n\tstp q26, q27, [%1, #416]\n\tstp q28, q29, [%1, #448]\n\t"
                 "stp q30, q31, [%1, #480]\n\tmrs %0, fpcr"
                 : "=r"(fpcr)
                 : "r"(buf)
                 : "memory");
    bool same = fpcr == (p.base & 0x07c00000);
    for (unsigned i = 0; i < 64; i++) {
        same = same && buf[i] == p.value(i);
    }
    return same;
}

// clang-format off
#define SYSREGS(X) \
    X(tpidr_el0, 0) X(tpidr_el1, 1) X(tpidrro_el0, 2) X(contextidr_el1, 3) X(mair_el1, 4) X(esr_el1, 5) \
    X(ttbr0_el1, 6) X(ttbr1_el1, 7) X(far_el1, 8) X(elr_el1, 9) X(cntv_cval_el0, 10) X(sp_el0, 11)
// clang-format on

// Values every implementation stores unchanged (no RES0 bits set). AMAIR_EL1
// is switched too but not checked: QEMU implements it as RAZ/WI.
uint64_t sysreg_value(const Pattern& p, unsigned i)
{
    const uint64_t v = p.value(i);
    switch (i) {
    case 3:                        // CONTEXTIDR: PROCID
    case 5: return v & 0xffffffff; // ESR_EL1: bits [63:32] RES0 before Armv8.7
    case 6:
    case 7: return v & 0xffff0000fffff000ull; // TTBRn: ASID, BADDR (4 KiB aligned, 48 bits)
    case 8:
    case 9:
    case 11: return v & ~0xfull;
    default: return v;
    }
}

void fill_sysregs(const Pattern& p)
{
#define WRITE(reg, i) asm volatile("msr " #reg ", %0" ::"r"(sysreg_value(p, i)));
    SYSREGS(WRITE)
#undef WRITE
    asm volatile("isb");
}

bool check_sysregs(const Pattern& p)
{
    bool same = true;
#define CHECK(reg, i)                                                                                                  \
    {                                                                                                                  \
        uint64_t v;                                                                                                    \
        asm volatile("mrs %0, " #reg : "=r"(v));                                                                       \
        if (v != sysreg_value(p, i)) {                                                                                 \
            print("%s: 0x%lx, expected 0x%lx\n", #reg, v, sysreg_value(p, i));                                         \
            same = false;                                                                                              \
        }                                                                                                              \
    }
    SYSREGS(CHECK)
#undef CHECK
    return same;
}

void isolate(uint64_t cpu)
{
    const Pattern p{cpu == 0 ? 0x1234567890abcdefull : 0xfedcba0987654321ull};
    fill_sysregs(p);
    fill_vectors(p);
    bool same = check_vectors(p) && check_sysregs(p);
    if (!same) {
        print("vcpu %lu: registers do not hold the pattern even before a switch\n", cpu);
    }
    for (int round = 0; round < 200 && same; round++) {
        call(kHcYield); // the other vCPU runs on this physical CPU now
        same = check_vectors(p) && check_sysregs(p);
        if (!same) {
            print("vcpu %lu: round %d: vectors %d sysregs %d\n", cpu, round, check_vectors(p), check_sysregs(p));
        }
    }
    ok[cpu] = same;
    done[cpu] = 1;
}

} // namespace

extern "C" void guest_secondary(uint64_t cpu, uint64_t) { isolate(cpu); }

extern "C" void guest_main(uint64_t, uint64_t)
{
    test("isolation-second-vcpu-started", call(kPsciCpuOn, 1, reinterpret_cast<uint64_t>(secondary_entry), 0) == 0);
    isolate(0);
    while (done[1] == 0) {
        call(kHcYield);
    }
    test("isolation-vcpu0-registers-kept", ok[0] == 1);
    test("isolation-vcpu1-registers-kept", ok[1] == 1);
    const uint64_t switches = static_cast<uint64_t>(call(kHcExitCount, ~0ull));
    test("isolation-yielded-often", switches >= 200);
}
