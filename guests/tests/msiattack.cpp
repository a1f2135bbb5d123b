// Two VMs on a GICv3 host, each owning an edu function whose MSI goes
// through its own virtual ITS (tests/configs/bare/msiattack.dts; docs/
// config.md, "PCIe functions"): the victim's at 00:02.0 (DeviceID 0x10),
// the attacker's at 00:03.0 (DeviceID 0x18). Each write to edu's
// interrupt-raise register sends one MSI, through the SMMU, to the ITS
// doorbell the VM's stage 2 maps (the host's).
//
// The victim (`victim=1` in its bootargs, on the other CPU) maps its
// event kVictimEvent to LPI kVictimLpi, raises it and waits for its
// handler, once every 20 ms for 10 s, and at the end requires that its
// handler ran exactly once per MSI it raised, for that LPI only.
//
// The attacker maps its own event, then, while the victim counts, goes
// for the victim's device: ITS commands naming the victim's DeviceID,
// EventID and collection before it maps anything for it (each ignored,
// with Vireo's log line); a MAPD/MAPTI of the victim's DeviceID in its own
// ITS (a device of its own ITS, emulated: INT raises its own LPI, and the
// victim's MSIs never come to it); its function's MSI forged with the
// victim's EventID and ones it never mapped (the host ITS tags the
// attacker's DeviceID: they translate to nothing); its DMA engine writing
// the same EventIDs to the doorbell; its vCPU writing them to its own
// GITS_TRANSLATER. None may raise anything in the victim, and nothing
// that the attacker did not map in the attacker.
#include <stdio.h>
#include <string.h>

#include "lib/edu.hpp"
#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/its.hpp"
#include "lib/pci.hpp"

using namespace guest;
using guest::gic::frequency;
using guest::gic::pause_ms;
using namespace guest::its;

namespace {

constexpr uint32_t kVictimSlot = 2;
constexpr uint32_t kAttackerSlot = 3;
constexpr uint32_t kVictimDevice = kVictimSlot << 3; // DeviceID: the requester ID on the VM's bus 0
constexpr uint32_t kAttackerDevice = kAttackerSlot << 3;
constexpr uint32_t kEventBits = 11; // the most Vireo maps for a passed-through function
constexpr uint32_t kVictimEvent = 3;
constexpr uint32_t kOwnEvent = 1;
constexpr uint32_t kNeverMapped[] = {0, 0x7ff}; // EventIDs the attacker never maps for its own device
// INTIDs all different, so that one VM's LPI in the other is told apart.
constexpr uint32_t kVictimLpi = kFirstLpi + 8;
constexpr uint32_t kOwnLpi = kFirstLpi + 1;
constexpr uint32_t kForeignLpi = kFirstLpi + 2; // the attacker's for (victim's DeviceID, victim's EventID)
constexpr uint32_t kLpis = 16;
constexpr uint32_t kVireoUid = 0x7669726f;

edu::Device device;
CommandQueue queue;
uint64_t rdbase;
volatile uint32_t own_lpis;
volatile uint32_t foreign_lpis;
volatile uint32_t victim_lpis;
volatile uint32_t strays;
volatile uint32_t stray_intid;
bool victim_role;

/// Waits up to `ms` for the handler's count `taken` to reach `count`.
bool wait_for(const volatile uint32_t& taken, uint32_t count, uint64_t ms)
{
    return guest::gic::wait_ms(ms, [&] { return taken >= count; });
}

/// Sends MSIs: each write to edu's interrupt-raise register while MSI is
/// enabled sends one (QEMU's hw/misc/edu.c), whatever its status held.
void raise_msi() { device.w32(edu::kIrqRaise, 1); }

/// Finds the VM's function in its virtual ECAM, turns on its registers and
/// bus mastering (an MSI is a DMA write), points its MSI at the ITS
/// doorbell with `event` and sets up the ITS; false if any of it fails.
bool bring_up(uint64_t dtb, uint32_t slot, uint32_t event, const char* name, pci::Function& fn)
{
    pci::HostBridge bridge;
    const int node = pci::find_host_bridge(dtb, bridge);
    fn = pci::Function(bridge.ecam, slot, 0);
    const uint32_t id = node < 0 ? 0 : fn.read32(pci::kId);
    device.bar = node < 0 ? 0 : fn.read32(pci::kBar0) & pci::kBarAddressMask;
    fn.write16(pci::kCommand, pci::kMemorySpace | pci::kBusMaster);
    const bool msi = node >= 0 && pci::set_msi(fn, kTranslater, static_cast<uint16_t>(event));
    rdbase = start(queue, 0, kLpis, 0x80);
    gic::enable_distributor();
    gic::enable_cpu_interface();
    asm volatile("msr daifclr, #2");
    char details[128];
    snprintf(details, sizeof details, "node %d, 00:%02x.0 reads 0x%08x, BAR0 0x%lx, MSI %d, ident 0x%08x", node, slot,
             id, device.bar, msi, device.bar != 0 ? device.r32(edu::kIdent) : 0);
    return test(name, id == edu::kPciId && device.bar != 0 && msi && device.r32(edu::kIdent) == edu::kIdentValue,
                details);
}

/// The VM's own function's `event` as `lpi` on vCPU 0 (collection 0), as
/// a driver maps it.
bool map_own(uint32_t device, uint32_t event, uint32_t lpi)
{
    return queue.send(cmd::mapc(0, rdbase), cmd::mapd(device, allocate(8 << kEventBits, 256), kEventBits),
                      cmd::mapti(device, event, lpi, 0), cmd::sync(rdbase));
}

// --- the victim -----------------------------------------------------------

void victim(uint64_t dtb)
{
    pci::Function fn(0, 0, 0);
    if (!bring_up(dtb, kVictimSlot, kVictimEvent, "msiattack-victim-function", fn)) {
        return;
    }
    const bool mapped = map_own(kVictimDevice, kVictimEvent, kVictimLpi);
    uint32_t raised = 0;
    for (; raised < 10; raised++) {
        raise_msi();
        wait_for(victim_lpis, raised + 1, 1000);
    }
    char details[128];
    snprintf(details, sizeof details, "mapped %d; %u MSIs raised, handler %u times, %u strays (INTID %u)", mapped,
             raised, victim_lpis, strays, stray_intid);
    test("msiattack-victim-msi-works", mapped && victim_lpis == raised && strays == 0, details);

    // One MSI every 20 ms for 10 s, each waited for (an LPI raised again
    // while pending is taken once): the attacker works meanwhile.
    uint32_t late = 0; // not taken within a second
    const uint64_t begin = counter();
    while (counter() - begin < 10 * frequency()) {
        pause_ms(20);
        raise_msi();
        raised++;
        if (!wait_for(victim_lpis, raised, 1000)) {
            late++;
        }
    }
    pause_ms(500);
    snprintf(details, sizeof details, "%u MSIs raised, handler %u times (%u not within 1 s), %u strays (INTID %u)",
             raised, victim_lpis, late, strays, stray_intid);
    print("victim: %s\n", details);
    test("msiattack-victim-counts-exactly-its-own", victim_lpis == raised && strays == 0 && raised > 100, details);
}

// --- the attacker ---------------------------------------------------------

struct Counts {
    uint32_t own, foreign, others;
    static Counts now() { return {own_lpis, foreign_lpis, strays}; }
    bool operator==(const Counts&) const = default;
};

/// Whether nothing came in 200 ms after `before` (and what did, in `details`).
bool quiet_since(const Counts& before, char* details, size_t size, const char* what)
{
    pause_ms(200);
    const Counts after = Counts::now();
    snprintf(details, size, "%s: own LPI %u, foreign LPI %u, strays %u (INTID %u)", what, after.own - before.own,
             after.foreign - before.foreign, after.others - before.others, stray_intid);
    return after == before;
}

/// The victim's DeviceID, EventID and collection 0 in commands of its own
/// ITS before it maps that DeviceID: each is ignored with a log line, the
/// queue goes on; then a MAPC and a MOVALL naming a vCPU it does not have.
void foreign_commands()
{
    const Counts before = Counts::now();
    const bool sent = queue.send(cmd::int_(kVictimDevice, kVictimEvent), cmd::clear(kVictimDevice, kVictimEvent),
                                 cmd::discard(kVictimDevice, kVictimEvent), cmd::movi(kVictimDevice, kVictimEvent, 0),
                                 cmd::mapti(kVictimDevice, kVictimEvent, kForeignLpi, 0), cmd::mapc(1, 1),
                                 cmd::movall(1, 0), cmd::sync(rdbase));
    char details[160];
    const bool quiet = quiet_since(before, details, sizeof details, "after the commands");
    test("msiattack-foreign-commands-ignored", sent && !queue.stalled() && quiet, details);
}

/// The victim's DeviceID mapped in its own ITS is a device of that ITS:
/// INT raises the attacker's LPI once, and none of the MSIs the victim's
/// function keeps sending reaches it. Unmapped again after.
void foreign_device_mapped()
{
    const bool mapped = queue.send(cmd::mapd(kVictimDevice, allocate(8 << kEventBits, 256), kEventBits),
                                   cmd::mapti(kVictimDevice, kVictimEvent, kForeignLpi, 0), cmd::sync(rdbase));
    const Counts before = Counts::now();
    const bool sent = queue.send(cmd::int_(kVictimDevice, kVictimEvent));
    const bool once = wait_for(foreign_lpis, before.foreign + 1, 1000);
    pause_ms(500); // the victim raises its MSI 25 times meanwhile
    const Counts after = Counts::now();
    const bool unmapped =
        queue.send(cmd::discard(kVictimDevice, kVictimEvent), cmd::mapd(kVictimDevice, 0, 1, false), cmd::sync(rdbase));
    char details[160];
    snprintf(details, sizeof details, "mapped %d, INT sent %d, foreign LPI %u, own %u, strays %u, unmapped %d", mapped,
             sent, after.foreign - before.foreign, after.own - before.own, after.others - before.others, unmapped);
    test("msiattack-foreign-deviceid-is-its-own",
         mapped && sent && once && after.foreign == before.foreign + 1 && after.own == before.own &&
             after.others == before.others && unmapped,
         details);
}

/// Its function's MSI with forged data: the victim's EventID and ones it
/// never mapped. The host ITS tags the write with the attacker's DeviceID
/// and finds no translation. Its own EventID again after.
void forged_msis(const pci::Function& fn)
{
    const Counts before = Counts::now();
    const uint32_t forged[] = {kVictimEvent, kNeverMapped[0], kNeverMapped[1]};
    for (uint32_t event : forged) {
        pci::set_msi(fn, kTranslater, static_cast<uint16_t>(event));
        raise_msi();
        raise_msi();
    }
    char details[160];
    const bool quiet = quiet_since(before, details, sizeof details, "after 6 forged MSIs");
    pci::set_msi(fn, kTranslater, kOwnEvent);
    test("msiattack-forged-msi-data-raises-nothing", quiet, details);
}

/// Its DMA engine writing EventIDs to the doorbell (IPA 0x08090040) as an
/// MSI would: whatever DeviceID the write carries, it is not the victim's.
void forged_dma(uint64_t buffer)
{
    const Counts before = Counts::now();
    const uint32_t forged[] = {kVictimEvent, kNeverMapped[0], kNeverMapped[1]};
    bool ended = true;
    for (uint32_t event : forged) {
        *reinterpret_cast<volatile uint32_t*>(buffer) = event;
        ended = device.to_device(buffer, 4) && device.to_ram(kTranslater, 4) && ended;
    }
    char details[160];
    const bool quiet = quiet_since(before, details, sizeof details, "after 3 DMA writes");
    snprintf(details + strlen(details), 32, ", all ended %d", ended);
    test("msiattack-dma-to-doorbell-raises-nothing", ended && quiet, details);
}

/// Its vCPU writing EventIDs, its own too, to its GITS_TRANSLATER: the
/// page is the host ITS's, the write carries a CPU's DeviceID, which
/// Vireo never maps for a VM.
void translater_writes()
{
    const Counts before = Counts::now();
    const uint32_t written[] = {kVictimEvent, kOwnEvent, kNeverMapped[1]};
    for (uint32_t event : written) {
        gic::write32(kTranslater, event);
    }
    char details[160];
    const bool quiet = quiet_since(before, details, sizeof details, "after 3 GITS_TRANSLATER writes");
    test("msiattack-translater-writes-raise-nothing", quiet, details);
}

/// Its own MSI, `count` times, each to its handler.
bool own_msis_work(const char* name, uint32_t count)
{
    const Counts before = Counts::now();
    for (uint32_t i = 1; i <= count; i++) {
        raise_msi();
        wait_for(own_lpis, before.own + i, 1000);
    }
    pause_ms(50);
    const Counts after = Counts::now();
    char details[128];
    snprintf(details, sizeof details, "%u MSIs, own LPI %u, foreign %u, strays %u (INTID %u)", count,
             after.own - before.own, after.foreign - before.foreign, after.others - before.others, stray_intid);
    return test(name,
                after.own == before.own + count && after.foreign == before.foreign && after.others == before.others,
                details);
}

void attacker(uint64_t dtb)
{
    pci::Function fn(0, 0, 0);
    if (!bring_up(dtb, kAttackerSlot, kOwnEvent, "msiattack-function", fn)) {
        return;
    }
    const bool mapped = map_own(kAttackerDevice, kOwnEvent, kOwnLpi);
    if (!own_msis_work("msiattack-own-msi-works", 3) || !mapped) {
        return;
    }
    pause_ms(1000); // the victim counts by now
    print("msiattack: attacking\n");
    foreign_commands();
    foreign_device_mapped();
    forged_msis(fn);
    forged_dma(allocate(4096, 4096));
    translater_writes();
    own_msis_work("msiattack-own-msi-still-works", 3);
    test("msiattack-no-stray-interrupts", strays == 0);
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = gic::acknowledge();
    const uint32_t intid = iar & 0xffffff;
    if (intid == gic::kSpurious) {
        return;
    }
    if (victim_role && intid == kVictimLpi) {
        victim_lpis = victim_lpis + 1;
    } else if (!victim_role && intid == kOwnLpi) {
        own_lpis = own_lpis + 1;
    } else if (!victim_role && intid == kForeignLpi) {
        foreign_lpis = foreign_lpis + 1;
    } else {
        strays = strays + 1;
        stray_intid = intid;
    }
    gic::end(iar);
}

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    if (call(kHcUid) != kVireoUid) {
        use_pl011_console(0x09000000);
        test("msiattack-under-vireo", false, "two VMs: only under Vireo");
        return;
    }
    victim_role = bootarg(dtb, "victim", 0) != 0;
    if (victim_role) {
        victim(dtb);
    } else {
        attacker(dtb);
    }
}
