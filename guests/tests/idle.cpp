// An idle VM: every vCPU sleeps, woken by its virtual timer every 100 ms,
// for 10 s: vCPUs 0 and 2 in WFI, 1 and 3 in PSCI CPU_SUSPEND (standby). Measures that idling costs the host (almost)
// nothing: scripts/bench runs it and reports QEMU's CPU time. Needs a virtual GIC.
#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

constexpr uint64_t kCpus = 4;
constexpr uint64_t kSeconds = 10;

volatile uint64_t ticks[kCpus];
volatile uint64_t done[kCpus];
volatile int64_t suspend_result[kCpus]; // the first non-zero CPU_SUSPEND answer, if any
uint64_t period;

void idle_for(uint64_t cpu)
{
    enable_private(kTimer); // banked: this vCPU's own
    enable_cpu_interface();
    const uint64_t start = counter();
    arm_timer(period);
    asm volatile("msr daifclr, #2");
    while (counter() - start < kSeconds * frequency()) {
        if (cpu & 1) {
            const int64_t result = call(kPsciCpuSuspend, 0 /* standby, core level */, 0, 0);
            if (result != 0 && suspend_result[cpu] == 0) {
                suspend_result[cpu] = result;
            }
        } else {
            asm volatile("wfi");
        }
    }
    asm volatile("msr daifset, #2");
    stop_timer();
    done[cpu] = 1;
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    if ((iar & 0x3ff) == kTimer) {
        ticks[cpu_id()] = ticks[cpu_id()] + 1;
        arm_timer(period);
    }
    end(iar);
}

extern "C" void guest_secondary(uint64_t cpu, uint64_t) { idle_for(cpu); }

extern "C" void guest_main(uint64_t, uint64_t)
{
    period = frequency() / 10;
    enable_distributor();
    for (uint64_t cpu = 1; cpu < kCpus; cpu++) {
        call(kPsciCpuOn, cpu, reinterpret_cast<uint64_t>(secondary_entry), 0);
    }
    idle_for(0);
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
    test("idle-cpu-suspend-standby-returns-success", suspend_result[1] == 0 && suspend_result[3] == 0);
}
