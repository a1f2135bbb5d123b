// Interrupt latency the way the static-partitioning field reports it
// (issue 25, docs/performance.md "Interrupt latency"): the minimum, average
// and maximum over kRounds rounds of
//   - the virtual timer: its deadline (CNTV_CVAL) to the handler's first
//     instructions, vCPU 0 spinning meanwhile, the deadline a varying
//     distance ahead;
//   - an SGI from vCPU 0 to vCPU 1, which spins with interrupts unmasked:
//     the send to the handler's first instructions on vCPU 1;
//   - a device's SPI: QEMU virt's PL031 RTC (passed through under Vireo),
//     its match register written with the current count, which raises its
//     interrupt at once (SPI 34, to vCPU 0): the write to the handler.
// In counter ticks: under -icount shift=0 with -cpu max (a 1 GHz counter),
// instructions, every CPU's counted (QEMU runs them in turn).
//
// It measures a block of both, waits in WFI for a second of counter time
// (both vCPUs: so that a neighbour VM boots at full speed beside it, and
// QEMU does not spend that second switching CPUs), and measures the
// next block, for ever; each block's lines start with "LAT". scripts/bench-
// latency takes a block that began after a neighbour's load started. Runs
// as a VM (tests/configs/bare/latency.dts, tests/configs/bench-latency.dts)
// or natively (QEMU -kernel latency.elf without virtualization=on).
#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

constexpr uint32_t kRounds = 200;
constexpr uint32_t kSgi = 5;
constexpr uint32_t kWake = 6; // vCPU 1: a block starts
constexpr uint64_t kRtc = 0x09010000;
constexpr uint32_t kRtcSpi = 34;
constexpr uint32_t kRtcDr = 0x00, kRtcMr = 0x04, kRtcImsc = 0x10, kRtcIcr = 0x1c;

struct Stats {
    uint64_t min = ~0ull;
    uint64_t max = 0;
    uint64_t sum = 0;
    uint64_t count = 0;

    void add(uint64_t v)
    {
        min = v < min ? v : min;
        max = v > max ? v : max;
        sum += v;
        count++;
    }
};

volatile uint64_t timer_hits;
volatile uint64_t timer_late; // the last round's
volatile uint64_t sgi_sent_at;
volatile uint64_t sgi_hits;
volatile uint64_t sgi_latency; // the last round's
volatile uint64_t spi_raised_at;
volatile uint64_t spi_hits;
volatile uint64_t spi_latency; // the last round's
volatile uint64_t secondary_ready;
volatile uint64_t measuring; // vCPU 1 spins while set, else waits in WFI

} // namespace

extern "C" void guest_irq()
{
    const uint64_t now = counter();
    const uint32_t iar = acknowledge();
    const uint32_t id = iar & 0x3ff;
    if (id == kTimer) {
        uint64_t cval;
        asm volatile("mrs %0, cntv_cval_el0" : "=r"(cval));
        timer_late = now - cval;
        stop_timer();
        timer_hits = timer_hits + 1;
    } else if (id == kSgi) {
        sgi_latency = now - sgi_sent_at;
        sgi_hits = sgi_hits + 1;
    } else if (id == kRtcSpi) {
        spi_latency = now - spi_raised_at;
        write32(kRtc + kRtcIcr, 1); // the device lowers its line
        spi_hits = spi_hits + 1;
    }
    end(iar);
}

namespace {

void interrupts_on()
{
    enable_private(kTimer);
    enable_private(kSgi);
    enable_private(kWake);
    set_private_priority(kTimer, 0x80);
    set_private_priority(kSgi, 0x80);
    set_private_priority(kWake, 0x80);
    enable_cpu_interface();
    asm volatile("msr daifclr, #2");
}

/// Ticks to wait before the next round: 5 000 to 15 000, varying so that
/// deadlines do not fall in step with anything periodic.
uint64_t spacing(uint32_t round) { return 5000 + (round * 7919u) % 10000; }

Stats time_timer()
{
    Stats s;
    const uint64_t first = timer_hits;
    for (uint32_t i = 0; i < kRounds; i++) {
        arm_timer(spacing(i));
        while (timer_hits == first + i) {
        }
        s.add(timer_late);
    }
    return s;
}

Stats time_sgi()
{
    Stats s;
    const uint64_t first = sgi_hits;
    for (uint32_t i = 0; i < kRounds; i++) {
        const uint64_t wait = counter();
        while (counter() - wait < spacing(i)) {
        }
        sgi_sent_at = counter();
        send_sgi(kSgi, 1u << 1);
        while (sgi_hits == first + i) {
            asm volatile("yield"); // to the other CPU at once under TCG
        }
        s.add(sgi_latency);
    }
    return s;
}

Stats time_spi()
{
    Stats s;
    const uint64_t first = spi_hits;
    for (uint32_t i = 0; i < kRounds; i++) {
        const uint64_t wait = counter();
        while (counter() - wait < spacing(i)) {
        }
        // A match now: the interrupt at once (unless the count moved on
        // between the read and the write: then again, after a while).
        do {
            const uint32_t now = read32(kRtc + kRtcDr);
            spi_raised_at = counter();
            write32(kRtc + kRtcMr, now);
            while (spi_hits == first + i && counter() - spi_raised_at < frequency() / 100) {
            }
        } while (spi_hits == first + i);
        s.add(spi_latency);
    }
    return s;
}

void report(uint64_t block, const char* what, const Stats& s)
{
    print("LAT block %lu %s: min %lu avg %lu max %lu\n", block, what, s.min, s.sum / s.count, s.max);
}

/// Waits in WFI until `ticks` of counter time have passed.
void idle(uint64_t ticks)
{
    const uint64_t start = counter();
    const uint64_t first = timer_hits;
    arm_timer(ticks);
    while (timer_hits == first) {
        asm volatile("wfi");
    }
    while (counter() - start < ticks) {
    }
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t)
{
    // Natively, HVC reaches QEMU's own PSCI, which answers -1 to our call.
    const bool native = call(kHcUid) != 0x7669726f;
    if (native) {
        use_pl011_console(0x09000000);
    }
    print("LAT mode: %s, %u rounds a block, counter %lu Hz\n", native ? "native" : "vireo", kRounds, frequency());
    enable_distributor();
    interrupts_on();
    write32(kRtc + kRtcImsc, 1);
    enable_spi(kRtcSpi, 0, 0x80);
    call(kPsciCpuOn, 1, reinterpret_cast<uint64_t>(secondary_entry), 0);
    while (secondary_ready == 0) {
    }
    // Natively with more CPUs (scripts/bench-latency's control run): CPUs 2
    // and 3 spin with interrupts masked, a neighbour that never yields, to
    // show what QEMU's turn-taking between CPUs adds to every figure. A VM
    // of two vCPUs is refused these calls.
    for (uint64_t cpu = 2; cpu < 4; cpu++) {
        call(kPsciCpuOn, cpu, reinterpret_cast<uint64_t>(secondary_entry), 0);
    }
    for (uint64_t block = 0;; block++) {
        print("LAT block %lu start\n", block);
        measuring = 1;
        asm volatile("dsb ish" ::: "memory"); // the flag before the SGI that wakes vCPU 1 to read it
        send_sgi(kWake, 1u << 1);
        const Stats timer = time_timer();
        const Stats sgi = time_sgi();
        measuring = 0;
        const Stats spi = time_spi();
        report(block, "timer", timer);
        report(block, "sgi", sgi);
        report(block, "spi", spi);
        idle(frequency());
    }
}

extern "C" void guest_secondary(uint64_t, uint64_t)
{
    if (cpu_id() >= 2) {
        for (;;) {
            asm volatile("" ::: "memory");
        }
    }
    interrupts_on();
    secondary_ready = 1;
    for (;;) {
        // Spinning only while a block is measured: the YIELD loop would
        // make QEMU switch CPUs at every instruction for the whole second
        // between blocks.
        while (measuring == 0) {
            asm volatile("wfi");
        }
        while (measuring != 0) {
            asm volatile("yield");
        }
    }
}
