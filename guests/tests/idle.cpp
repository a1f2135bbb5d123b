// An idle VM: every vCPU sleeps in WFI, woken by its virtual timer every
// 100 ms, for 10 s. Measures that idling costs the host (almost) nothing:
// scripts/bench runs it and reports QEMU's CPU time. Needs a virtual GICv2.
#include "lib/guest.hpp"

using namespace guest;

namespace {

constexpr uint64_t kGicd = 0x08000000;
constexpr uint64_t kGicc = 0x08010000;
constexpr uint32_t kTimer = 27;
constexpr uint64_t kCpus = 4;
constexpr uint64_t kSeconds = 10;

volatile uint64_t ticks[kCpus];
volatile uint64_t done[kCpus];
uint64_t period;

void w32(uint64_t addr, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(addr) = v; }
uint32_t r32(uint64_t addr) { return *reinterpret_cast<volatile uint32_t*>(addr); }

void arm_timer() { asm volatile("msr cntv_tval_el0, %0\n\tmsr cntv_ctl_el0, %1\n\tisb" ::"r"(period), "r"(1ull)); }

void idle_for(uint64_t cpu, uint64_t freq)
{
    w32(kGicd + 0x100, 1u << kTimer); // this vCPU's PPI 27 (banked)
    w32(kGicc + 0x004, 0xf0);
    w32(kGicc + 0x000, 1);
    const uint64_t start = counter();
    arm_timer();
    asm volatile("msr daifclr, #2");
    while (counter() - start < kSeconds * freq) {
        asm volatile("wfi");
    }
    asm volatile("msr daifset, #2\n\tmsr cntv_ctl_el0, xzr");
    done[cpu] = 1;
}

uint64_t frequency()
{
    uint64_t freq;
    asm volatile("mrs %0, cntfrq_el0" : "=r"(freq));
    return freq;
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = r32(kGicc + 0x0c);
    if ((iar & 0x3ff) == kTimer) {
        ticks[cpu_id()] = ticks[cpu_id()] + 1;
        arm_timer();
    }
    w32(kGicc + 0x10, iar);
}

extern "C" void guest_secondary(uint64_t cpu, uint64_t) { idle_for(cpu, frequency()); }

extern "C" void guest_main(uint64_t, uint64_t)
{
    const uint64_t freq = frequency();
    period = freq / 10;
    w32(kGicd + 0x000, 1);
    for (uint64_t cpu = 1; cpu < kCpus; cpu++) {
        call(kPsciCpuOn, cpu, reinterpret_cast<uint64_t>(secondary_entry), 0);
    }
    idle_for(0, freq);
    for (uint64_t cpu = 1; cpu < kCpus; cpu++) {
        while (done[cpu] == 0) {
            asm volatile("wfe");
        }
    }
    bool all = true;
    for (uint64_t cpu = 0; cpu < kCpus; cpu++) {
        all = all && ticks[cpu] >= kSeconds * 10 - 2 && ticks[cpu] <= kSeconds * 10 + 1;
    }
    print("idle: timer ticks per vCPU: %lu %lu %lu %lu\n", ticks[0], ticks[1], ticks[2], ticks[3]);
    test("idle-vcpus-woken-by-their-timers", all);
}
