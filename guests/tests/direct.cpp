// A VM that takes its interrupts directly (interrupts = "direct";
// docs/vcpu.md, "Direct interrupts"), two vCPUs on CPUs of their own, with
// QEMU virt's PL031 RTC (SPI 34) passed through. It checks that its own
// interrupts arrive: the virtual timer, SGIs both ways between its vCPUs,
// the RTC's SPI. Then, as a hostile guest, it tries the interrupts that
// are not its own (Vireo's kick, EL2 timer, call_at timer, maintenance and
// PMU interrupts, the console UART's SPI, SPIs no device of its has):
// enabling, pending, activating and routing them at its distributor and
// redistributors, sending SGI 15 and Group 0 SGIs, floods SGIs at every
// CPU; none may ever reach it. Last, by bootargs "end=":
//   0: it masks everything it can (PSTATE, PMR, Group 1 enable, the binary
//      point) inside an interrupt handler it never ends, on both vCPUs, and
//      spins: Vireo must still stop it (the monitor's stop);
//   1: it turns vCPU 1 off (its SPI, routed to vCPU 0, must still arrive),
//      resets the VM (PSCI SYSTEM_RESET) at its first boot, and after the
//      reset powers it off (SYSTEM_OFF).
// With "role=1" it is instead the neighbour: an ordinary VM whose virtual
// timer ticks through the emulated GIC, printing every 25th tick; with
// "role=2" a VM that only waits.
#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

constexpr uint64_t kRtc = 0x09010000;
constexpr uint32_t kRtcSpi = 34;
constexpr uint32_t kRtcDr = 0x00, kRtcMr = 0x04, kRtcImsc = 0x10, kRtcIcr = 0x1c;
constexpr uint32_t kSgiTo1 = 1, kSgiTo0 = 2, kSgiFlood = 3;
constexpr uint32_t kSgiGroup0 = 4; // enabled, but sent only as Group 0 or secure: never taken
constexpr uint32_t kSgiVireo = 15;

volatile uint64_t timer_hits[2];
volatile uint64_t sgi_hits[2][16];
volatile uint64_t spi_hits;
volatile uint32_t stray = kSpurious;
volatile uint64_t secondary_up;
volatile uint64_t command; // vCPU 1: 1 = send SGI kSgiTo0, 2 = mask everything and spin, 3 = CPU_OFF
volatile uint64_t spin_in_handler;

/// Waits up to `ms` milliseconds of counter time for `done`.
template <typename F> bool wait_for(F done, uint64_t ms)
{
    const uint64_t start = counter();
    while (!done()) {
        if (counter() - start > frequency() / 1000 * ms) {
            return false;
        }
    }
    return true;
}

/// Everything a guest can mask, then a spin that never ends: PSTATE.DAIF,
/// its priority mask, its Group 1 enable and the binary point (all of its
/// interrupts one preemption group). Called in an interrupt handler it
/// never ends, so its running priority stays raised too.
[[noreturn]] void mask_everything_and_spin()
{
    asm volatile("msr daifset, #0xf\n\t"
                 "msr icc_bpr1_el1, %0\n\t"
                 "msr icc_pmr_el1, xzr\n\t"
                 "msr icc_igrpen1_el1, xzr\n\tisb" ::"r"(uint64_t{7}));
    for (;;) {
        asm volatile("" ::: "memory");
    }
}

void interrupts_on()
{
    enable_private(kTimer);
    set_private_priority(kTimer, 0x80);
    constexpr uint32_t kSgis[] = {kSgiTo1, kSgiTo0, kSgiFlood, kSgiGroup0};
    for (uint32_t sgi : kSgis) {
        enable_private(sgi);
        set_private_priority(sgi, 0x80);
    }
    enable_cpu_interface();
    asm volatile("msr daifclr, #2");
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    const uint32_t id = iar & 0xffffff;
    const uint64_t self = cpu_id() & 1;
    if (id == kTimer) {
        stop_timer();
        timer_hits[self] = timer_hits[self] + 1;
        if (spin_in_handler != 0) {
            mask_everything_and_spin(); // never ends the interrupt
        }
    } else if (id < 16 && (id == kSgiTo1 || id == kSgiTo0 || id == kSgiFlood)) {
        sgi_hits[self][id] = sgi_hits[self][id] + 1;
    } else if (id == kRtcSpi) {
        write32(kRtc + kRtcIcr, 1); // the device lowers its line
        spi_hits = spi_hits + 1;
    } else if (id != kSpurious) {
        stray = id;
    }
    end(iar);
}

extern "C" void guest_secondary(uint64_t, uint64_t)
{
    interrupts_on();
    secondary_up = 1;
    for (;;) {
        if (command == 1) {
            command = 0;
            send_sgi(kSgiTo0, 1u << 0);
        } else if (command == 3) {
            guest_cpu_off();
        } else if (command == 2) {
            spin_in_handler = 1;
            arm_timer(frequency() / 1000);
            for (;;) {
                asm volatile("wfi");
            }
        }
    }
}

namespace {

[[noreturn]] void neighbour()
{
    enable_distributor();
    interrupts_on();
    for (uint64_t tick = 1;; tick++) {
        arm_timer(frequency() / 50);
        while (timer_hits[0] < tick) {
            asm volatile("wfi");
        }
        if (tick % 25 == 0) {
            print("neighbour: tick %lu\n", tick);
        }
    }
}

/// The RTC's interrupt at once: its match register written with its count.
void raise_rtc()
{
    const uint64_t first = spi_hits;
    for (int tries = 0; tries < 3 && spi_hits == first; tries++) {
        write32(kRtc + kRtcMr, read32(kRtc + kRtcDr));
        wait_for([&] { return spi_hits != first; }, 500);
    }
}

/// Every register a guest might use to reach interrupts that are not its
/// own, written with the bits of those interrupts.
void try_others_interrupts()
{
    constexpr uint32_t kNotOwnPrivate = 1u << kSgiVireo | 1u << 23 /* PMU */ | 1u << 25 /* maintenance */ |
                                        1u << 26 /* EL2 timer */ | 1u << 30 /* EL1 physical timer */;
    constexpr uint32_t kSpis = 1u << (33 - 32) /* the console UART */ | 1u << (35 - 32) | 1u << (40 - 32);
    constexpr uint32_t kSetRegisters[] = {0x080, 0x100, 0x200, 0x300}; // IGROUPR, ISENABLER, ISPENDR, ISACTIVER
    constexpr uint32_t kOthersSpis[] = {33, 35, 40};
    for (uint64_t rd = kGicr; rd < kGicr + 2 * 0x20000; rd += 0x20000) { // both of its redistributors
        for (uint32_t reg : kSetRegisters) {
            write32(rd + kSgiFrame + reg, kNotOwnPrivate);
        }
        for (uint32_t intid = 23; intid < 32; intid++) {
            write8(rd + kSgiFrame + 0x400 + intid, 0); // the highest priority
        }
        write8(rd + kSgiFrame + 0x400 + kSgiVireo, 0);
    }
    for (uint32_t reg : kSetRegisters) {
        write32(kGicd + reg + 4, kSpis); // the second word: SPIs 32-63
    }
    for (uint32_t intid : kOthersSpis) {
        *reinterpret_cast<volatile uint64_t*>(kGicd + 0x6000 + 8 * intid) = 0; // IROUTER: to vCPU 0
        write8(kGicd + 0x400 + intid, 0);
    }
    asm volatile("msr icc_sgi0r_el1, %0\n\tisb" ::"r"(uint64_t{kSgiGroup0} << 24 | 3));  // Group 0, to vCPUs 0-1
    asm volatile("msr icc_asgi1r_el1, %0\n\tisb" ::"r"(uint64_t{kSgiGroup0} << 24 | 3)); // the other security state
    send_sgi(kSgiVireo, 0b11);                                                           // Vireo's kick SGI
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    const uint64_t role = bootarg(dtb, "role", 0);
    if (role == 1) {
        neighbour();
    }
    while (role == 2) {
        asm volatile("wfi");
    }
    const uint64_t ending = bootarg(dtb, "end", 0);
    print("direct: %s boot\n", first_boot() ? "first" : "a later");
    enable_distributor();
    interrupts_on();
    write32(kRtc + kRtcImsc, 1);
    enable_spi(kRtcSpi, 0, 0x80);
    call(kPsciCpuOn, 1, reinterpret_cast<uint64_t>(secondary_entry), 0);
    test("direct-secondary-up", wait_for([] { return secondary_up != 0; }, 1000));

    for (uint64_t i = 0; i < 5; i++) {
        arm_timer(frequency() / 1000);
        wait_for([&] { return timer_hits[0] == i + 1; }, 1000);
    }
    test("direct-timer-interrupts", timer_hits[0] == 5);
    send_sgi(kSgiTo1, 1u << 1);
    test("direct-sgi-to-vcpu-1", wait_for([] { return sgi_hits[1][kSgiTo1] == 1; }, 1000));
    command = 1;
    test("direct-sgi-from-vcpu-1", wait_for([] { return sgi_hits[0][kSgiTo0] == 1; }, 1000));
    raise_rtc();
    test("direct-passthrough-spi", spi_hits == 1);
    test("direct-cpu-suspend-returns", call(kPsciCpuSuspend, 0, 0, 0) == 0);

    // Not its own: none of these may ever reach it, nor anything else.
    try_others_interrupts();
    wait_for([] { return false; }, 50);
    test("direct-others-interrupts-never-arrive", stray == kSpurious);
    // Its timer's PPI disabled and its deadline passed: pending, which
    // only the hardware knows (the distributor model never sees it).
    write32(kGicr + kSgiFrame + 0x180, 1u << kTimer); // GICR_ICENABLER0
    arm_timer(0);
    wait_for([] { return false; }, 5);
    const bool pending = (read32(kGicr + kSgiFrame + 0x200) >> kTimer & 1) != 0;
    stop_timer();
    wait_for([] { return false; }, 5);
    const bool withdrawn = (read32(kGicr + kSgiFrame + 0x200) >> kTimer & 1) == 0;
    enable_private(kTimer);
    test("direct-pending-state-read-from-the-hardware", pending && withdrawn && timer_hits[0] == 5);
    for (int i = 0; i < 1000; i++) {
        asm volatile("msr icc_sgi1r_el1, %0\n\tisb" ::"r"(uint64_t{kSgiFlood} << 24 | 0xffff));
        asm volatile("msr icc_sgi1r_el1, %0\n\tisb" ::"r"(1ull << 40 | uint64_t{kSgiFlood} << 24));
    }
    // (However slowly the host runs the other vCPU: up to a second.)
    wait_for([] { return sgi_hits[0][kSgiFlood] >= 1 && sgi_hits[1][kSgiFlood] >= 1; }, 1000);
    test("direct-sgi-flood-reaches-its-own-vcpus",
         sgi_hits[0][kSgiFlood] >= 1 && sgi_hits[1][kSgiFlood] >= 1 && stray == kSpurious);
    // Still working after all that.
    arm_timer(frequency() / 1000);
    test("direct-timer-after-the-attempts", wait_for([] { return timer_hits[0] == 6; }, 1000));
    raise_rtc();
    test("direct-spi-after-the-attempts", spi_hits == 2);

    if (ending == 1) {
        // vCPU 1 off (PSCI CPU_OFF): its CPU is Vireo's again, and the
        // SPI routed to vCPU 0 still arrives.
        command = 3;
        test("direct-vcpu-1-off", wait_for([] { return call(kPsciAffinityInfo, 1, 0) == 1; }, 1000));
        wait_for([] { return false; }, 100); // (its CPU hands it back after AFFINITY_INFO says off)
        raise_rtc();
        test("direct-spi-after-vcpu-1-off", spi_hits == 3);
        if (first_boot()) {
            print("direct: SYSTEM_RESET\n");
            call(kPsciSystemReset);
        }
        print("direct: SYSTEM_OFF after a reset\n");
        guest_system_off();
    }
    print("direct: %d failed; spinning with everything masked\n", failures());
    command = 2;
    spin_in_handler = 1;
    arm_timer(frequency() / 1000);
    for (;;) {
        asm volatile("wfi");
    }
}
