// A passed-through function's MSI follows its LPI between vCPUs on
// different CPUs, and across PSCI CPU_OFF and CPU_ON of the vCPU it targets
// (tests/configs/bare/msimove.dts: two vCPUs on CPUs 0 and 1, edu at
// 00:02.0, GICv3 with the SMMUv3). Each write to edu's interrupt-raise
// register sends one MSI through the SMMU to the host's ITS; Vireo maps it
// to a host LPI routed to the physical CPU of the vCPU the guest's
// collection names, and re-routes it on MOVI.
//
// In order: MSIs to vCPU 0; MOVI to vCPU 1 (on CPU 1); vCPU 1 powered off
// with its LPI still targeted at it, an MSI raised (it stays pending in
// vCPU 1's redistributor, as in hardware, where the redistributor outlives
// its PE's power: nobody takes it), vCPU 1 powered on again (it takes it
// once, when it unmasks); vCPU 1 off again and the LPI moved to vCPU 0
// first, as Linux does before taking a CPU down; vCPU 1 on and the LPI
// moved back. Every MSI must be taken exactly once, on the vCPU it targets.
#include <stdio.h>

#include "lib/edu.hpp"
#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/its.hpp"
#include "lib/pci.hpp"

using namespace guest;
using guest::gic::pause_ms;
using guest::gic::wait_ms;
using namespace guest::its;

namespace {

constexpr uint32_t kSlot = 2;
constexpr uint32_t kDevice = kSlot << 3; // DeviceID: the requester ID on the VM's bus 0
constexpr uint32_t kEventBits = 5;
constexpr uint32_t kEvent = 7;
constexpr uint32_t kLpi = kFirstLpi + 5;
constexpr uint32_t kLpis = 16;
constexpr uint32_t kVireoUid = 0x7669726f;
constexpr uint64_t kPsciOn = 0; // AFFINITY_INFO's answers
constexpr uint64_t kPsciOff = 1;

edu::Device device;
CommandQueue queue;
uint64_t rdbase[2];
volatile uint32_t taken[2];
volatile uint32_t strays;
volatile uint32_t stray_intid;
volatile uint32_t running; // vCPU 1 has its interrupts unmasked
volatile uint32_t stop_secondary;

void raise_msi() { device.w32(edu::kIrqRaise, 1); }

/// vCPU 1's redistributor: the property table vCPU 0's uses, a pending
/// table of its own, LPIs on. Returns the RDbase MAPC names it by.
uint64_t enable_lpis_of_vcpu1()
{
    const uint64_t rd0 = redistributor(0);
    const uint64_t rd1 = redistributor(1);
    write64(rd1 + kGicrPropbaser, read64(rd0 + kGicrPropbaser));
    write64(rd1 + kGicrPendbaser, allocate(2048, 0x10000) | kPendbaserPtz);
    gic::write32(rd1 + kGicrCtlr, 1);
    return Typer::read().pta ? rd1 : (read64(rd1 + kGicrTyper) >> 8) & 0xffff;
}

bool bring_up(uint64_t dtb)
{
    pci::HostBridge bridge;
    const int node = pci::find_host_bridge(dtb, bridge);
    pci::Function fn(bridge.ecam, kSlot, 0);
    const uint32_t id = node < 0 ? 0 : fn.read32(pci::kId);
    device.bar = node < 0 ? 0 : fn.read32(pci::kBar0) & pci::kBarAddressMask;
    fn.write16(pci::kCommand, pci::kMemorySpace | pci::kBusMaster);
    const bool msi = node >= 0 && pci::set_msi(fn, kTranslater, kEvent);
    rdbase[0] = start(queue, 0, kLpis, 0x80);
    rdbase[1] = enable_lpis_of_vcpu1();
    gic::enable_distributor();
    gic::enable_cpu_interface();
    asm volatile("msr daifclr, #2");
    const bool mapped = queue.send(cmd::mapc(0, rdbase[0]), cmd::mapc(1, rdbase[1]),
                                   cmd::mapd(kDevice, allocate(8 << kEventBits, 256), kEventBits),
                                   cmd::mapti(kDevice, kEvent, kLpi, 0), cmd::sync(rdbase[0]));
    char details[128];
    snprintf(details, sizeof details, "node %d, 00:%02x.0 reads 0x%08x, BAR0 0x%lx, MSI %d, mapped %d", node, kSlot, id,
             device.bar, msi, mapped);
    return test("msimove-function", id == edu::kPciId && device.bar != 0 && msi && mapped, details);
}

bool power_on_vcpu1()
{
    running = 0;
    stop_secondary = 0;
    const uint64_t result = call(kPsciCpuOn, 1, reinterpret_cast<uint64_t>(secondary_entry), 0);
    return result == 0 && wait_ms(1000, [] { return running != 0; });
}

/// vCPU 1 returns from guest_secondary, which calls CPU_OFF.
bool power_off_vcpu1()
{
    stop_secondary = 1;
    return wait_ms(1000, [] { return call(kPsciAffinityInfo, 1, 0) == kPsciOff; });
}

/// `count` MSIs, each waited for; true if every one was taken on `cpu`
/// and none anywhere else.
bool msis_taken_on(uint32_t cpu, uint32_t count, char* details, size_t size)
{
    const uint32_t before[2] = {taken[0], taken[1]};
    for (uint32_t i = 1; i <= count; i++) {
        raise_msi();
        wait_ms(1000, [&] { return taken[cpu] >= before[cpu] + i; });
    }
    pause_ms(50);
    snprintf(details, size, "%u MSIs: vCPU 0 took %u, vCPU 1 %u, strays %u (INTID %u)", count, taken[0] - before[0],
             taken[1] - before[1], strays, stray_intid);
    return taken[cpu] == before[cpu] + count && taken[1 - cpu] == before[1 - cpu] && strays == 0;
}

bool move_to(uint32_t icid) { return queue.send(cmd::movi(kDevice, kEvent, icid), cmd::sync(rdbase[icid])); }

void run()
{
    char details[160];
    test("msimove-vcpu1-on", power_on_vcpu1());
    test("msimove-msis-on-vcpu0", msis_taken_on(0, 5, details, sizeof details), details);

    const bool moved = move_to(1);
    test("msimove-movi-to-vcpu1", moved && msis_taken_on(1, 5, details, sizeof details), details);

    // vCPU 1 off, its LPI still aimed at it: the MSI waits in its pending table.
    const bool off = power_off_vcpu1();
    const uint32_t before[2] = {taken[0], taken[1]};
    raise_msi();
    pause_ms(300);
    const bool waited = taken[0] == before[0] && taken[1] == before[1];
    const bool on = power_on_vcpu1();
    wait_ms(1000, [&] { return taken[1] > before[1]; });
    pause_ms(50);
    snprintf(details, sizeof details, "off %d; while off: vCPU 0 took %u, vCPU 1 %u; on %d, then vCPU 1 took %u", off,
             taken[0] - before[0], waited ? 0 : taken[1] - before[1], on, taken[1] - before[1]);
    test("msimove-pending-across-cpu-off-on",
         off && waited && on && taken[1] == before[1] + 1 && taken[0] == before[0] && strays == 0, details);
    test("msimove-msis-on-vcpu1-after-cpu-on", msis_taken_on(1, 5, details, sizeof details), details);

    // As Linux takes a CPU down: the LPI moved away first, then CPU_OFF.
    const bool moved_away = move_to(0);
    const bool off_again = power_off_vcpu1();
    const bool on_vcpu0 = msis_taken_on(0, 5, details, sizeof details);
    test("msimove-moved-away-before-cpu-off", moved_away && off_again && on_vcpu0, details);

    const bool on_again = power_on_vcpu1();
    const bool moved_back = move_to(1);
    test("msimove-moved-back-after-cpu-on", on_again && moved_back && msis_taken_on(1, 5, details, sizeof details),
         details);
    stop_secondary = 1;
    test("msimove-no-stray-interrupts", strays == 0);
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = gic::acknowledge();
    const uint32_t intid = iar & 0xffffff;
    if (intid == gic::kSpurious) {
        return;
    }
    if (intid == kLpi) {
        const uint64_t cpu = cpu_id() & 1;
        taken[cpu] = taken[cpu] + 1;
    } else {
        strays = strays + 1;
        stray_intid = intid;
    }
    gic::end(iar);
}

extern "C" void guest_secondary(uint64_t, uint64_t)
{
    gic::enable_cpu_interface();
    asm volatile("msr daifclr, #2");
    running = 1;
    while (stop_secondary == 0) {
        asm volatile("yield");
    }
    asm volatile("msr daifset, #2");
}

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    if (call(kHcUid) != kVireoUid) {
        use_pl011_console(0x09000000);
        test("msimove-under-vireo", false, "its function's BAR is placed by Vireo");
        return;
    }
    if (bring_up(dtb)) {
        run();
    }
}
