// PSCI as a guest uses it: discovery, starting the secondaries with their
// context ids, errors, CPU_OFF and CPU_ON again, AFFINITY_INFO, SYSTEM_OFF.
#include <stdio.h>

#include "lib/guest.hpp"

using namespace guest;

namespace {

constexpr uint64_t kCpus = 4;
// Written by each secondary (its own slot: no atomics needed, MMU off).
volatile uint64_t reported[kCpus];
volatile uint64_t release_cpu1;

bool wait_for(volatile uint64_t& slot, uint64_t value)
{
    const uint64_t start = counter();
    uint64_t freq;
    asm volatile("mrs %0, cntfrq_el0" : "=r"(freq));
    while (slot != value) {
        if (counter() - start > freq * 5) { // 5 s of guest time
            return false;
        }
        call(kHcYield);
    }
    return true;
}

uint64_t entry() { return reinterpret_cast<uint64_t>(secondary_entry); }

} // namespace

extern "C" void guest_secondary(uint64_t cpu, uint64_t context)
{
    reported[cpu] = context;
    if (cpu == 1 && context == 0x1001) {
        while (release_cpu1 == 0) {
            call(kHcYield);
        }
    }
    // Returning from here is PSCI CPU_OFF (lib/crt0.S).
}

extern "C" void guest_main(uint64_t, uint64_t)
{
    test("psci-version-1.1", call(kPsciVersion) == 0x10001);
    test("psci-features", call(kPsciFeatures, kPsciCpuOn) == 0 && call(kPsciFeatures, kPsciAffinityInfo) == 0 &&
                              call(kPsciFeatures, 0x84000012) == -1);
    test("psci-migrate-info-type", call(kPsciMigrateInfoType) == 2);
    test("psci-affinity-info-off-before-start", call(kPsciAffinityInfo, 1, 0) == 1);

    bool started = true;
    for (uint64_t cpu = 1; cpu < kCpus; cpu++) {
        started = started && call(kPsciCpuOn, cpu, entry(), 0x1000 + cpu) == 0;
    }
    test("psci-cpu-on-3-secondaries", started);
    for (uint64_t cpu = 1; cpu < kCpus; cpu++) {
        char name[40];
        snprintf(name, sizeof name, "psci-cpu%lu-context-id", cpu);
        test(name, wait_for(reported[cpu], 0x1000 + cpu));
    }
    test("psci-cpu-on-already-on", call(kPsciCpuOn, 1, entry(), 0) == -4);
    test("psci-cpu-on-self-already-on", call(kPsciCpuOn, 0, entry(), 0) == -4);
    test("psci-cpu-on-no-such-cpu", call(kPsciCpuOn, 7, entry(), 0) == -2);
    // CPU 2 turns itself off after reporting, at a time of its own: ALREADY_ON
    // while it is on, INVALID_ADDRESS once it is off (one call: two could
    // straddle its CPU_OFF).
    const int64_t bad_entry = call(kPsciCpuOn, 2, 0x1000, 0);
    test("psci-cpu-on-bad-entry", bad_entry == -9 || bad_entry == -4);
    test("psci-affinity-info-on", call(kPsciAffinityInfo, 1, 0) == 0 && call(kPsciAffinityInfo, 0, 0) == 0);
    test("psci-affinity-info-bad-target", call(kPsciAffinityInfo, 9, 0) == -2);
    // A power_state nobody offers returns at once (it used to hang the caller).
    test("psci-cpu-suspend-invalid-power-state", call(kPsciCpuSuspend, 0xffffffff, entry(), 0) == -2);
    test("psci-cpu-suspend-power-down-bad-entry", call(kPsciCpuSuspend, 0x10000, 0x1000, 0) == -9);

    // CPU_OFF (cpu 1 returns from guest_secondary), then CPU_ON again.
    release_cpu1 = 1;
    const uint64_t start = counter();
    while (call(kPsciAffinityInfo, 1, 0) != 1 && counter() - start < 1000000000) {
        call(kHcYield);
    }
    test("psci-cpu-off-then-affinity-off", call(kPsciAffinityInfo, 1, 0) == 1);
    test("psci-cpu-on-again", call(kPsciCpuOn, 1, entry(), 0x2001) == 0 && wait_for(reported[1], 0x2001));
    // Returning ends the run with SYSTEM_OFF.
}
