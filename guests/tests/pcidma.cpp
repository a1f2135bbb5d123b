// A VM that owns a PCIe function, QEMU's educational device "edu" at
// 00:02.0 (docs/config.md, "PCIe functions"; tests/configs/bare/pcidma.dts),
// and turns its DMA against everything that is not its own RAM.
//
// It finds its virtual ECAM host bridge in its DTB, sees only its own
// function there, sizes BAR0 where Vireo placed it, and drives the device:
// no DMA without Bus Master Enable, DMA into its own RAM at two addresses,
// the INTx through its virtual GIC. Then it points the device's DMA at
// addresses outside its RAM (writes with forged data, reads hunting for
// the victim's pattern): each must end in the SMMU, the device and the VM
// go on. Last it resets itself with a DMA under way; after the restart
// (gic::first_boot() tells) the DMA must not have reached its RAM.
//
// With `victim=1` in its bootargs it is the victim instead: another VM
// that fills its RAM with a pattern the attacker knows and checks it every
// 50 ms for 10 s.
//
// Natively (QEMU virt at EL1 without Vireo, -kernel pcidma.img with the same
// -device edu,...): the ECAM is the host's, with its own bridge at
// 00:00.0, BAR0 unassigned (the guest places it at the window's start),
// and the hostile transfers are left out (nothing confines them): a check
// of the device driving and the DMA logic. There pcidma-reset-stops-dma
// fails: the transfer under way at QEMU's machine reset lands in RAM after
// it, though Command reads 0, which is what Vireo must prevent.
#include <stdio.h>

#include "lib/edu.hpp"
#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/pattern.hpp"
#include "lib/pci.hpp"

using namespace guest;
using guest::gic::frequency;
using guest::gic::pause_ms;
using namespace guest::edu;

extern "C" char _end[];

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kRam = 0x40000000;
constexpr uint64_t kRamEnd = kRam + (4ull << 20); // tests/configs/bare/pcidma.dts
constexpr uint64_t kVictimRamEnd = kRam + (8ull << 20);
// Where this guest's DMA goes: above its image (well under 1 MiB) and away
// from its DTB (read first; at 0x40200000, the top 2 MiB block's start).
constexpr uint64_t kSource = kRam + 0x100000;  // copied to the device
constexpr uint64_t kLanding = kRam + 0x110000; // the device's buffer copied back
constexpr uint64_t kGuard = kRam + 0x300000;   // what the hostile writes must leave alone, to its RAM's end
constexpr uint64_t kLastPage = kRamEnd - kPage;

constexpr uint32_t kSlot = 2;
constexpr uint32_t kExpectedIntx = 37; // QEMU virt: slot 2's INTA is SPI 5 (interrupt-map swizzle)
constexpr uint64_t kVirtualEcam = 0x3f000000;
constexpr uint64_t kWindow = 0x10000000; // QEMU virt's 32-bit PCIe memory window
constexpr uint64_t kWindowSize = 0x2eff0000;
constexpr uint32_t kVireoUid = 0x7669726f;

// The victim's word at `address` (below 4 GiB): its top half is the mark
// the attacker looks for in whatever its device reads.
constexpr uint64_t kVictimSeed = 0x5eed1c7e00000000ull;
constexpr uint64_t victim_word(uint64_t address) { return kVictimSeed ^ address; }
constexpr bool is_victim_word(uint64_t w) { return w >> 32 == kVictimSeed >> 32; }

// What the hostile writes carry: INTID 80, the first SPI of QEMU virt's
// GICv2m frame (MSI_SETSPI_NS takes an INTID) or an EventID for the ITS.
constexpr uint32_t kForgedIntid = 80;

bool native;
edu::Device device; // BAR0 at 0 until it is known
uint32_t intx;
volatile uint32_t edu_interrupts;
volatile uint32_t edu_status_seen;
volatile uint32_t strays;

using pattern::fill;
using pattern::holds;
using pattern::words;

void clear(uint64_t address, uint64_t bytes)
{
    for (uint64_t i = 0; i < bytes / 8; i++) {
        words(address)[i] = 0;
    }
}

bool zeros(uint64_t address, uint64_t bytes)
{
    bool all = true;
    for (uint64_t i = 0; i < bytes / 8; i++) {
        all = all && words(address)[i] == 0;
    }
    return all;
}

/// A pattern from `source` to the device and back to `destination`.
bool round_trip(uint64_t source, uint64_t destination, uint64_t seed)
{
    fill(source, kPage, seed);
    clear(destination, kPage);
    return device.to_device(source) && device.to_ram(destination) && holds(destination, kPage, seed);
}

bool wait_for_interrupts(uint32_t count)
{
    const uint64_t begin = counter();
    while (edu_interrupts < count && counter() - begin < frequency()) {
        asm volatile("yield"); // no WFI: an interrupt that never comes would leave it there
    }
    return edu_interrupts >= count;
}

void scan_bus(const pci::HostBridge& bridge)
{
    uint32_t own = 0;
    int others = 0;
    char details[96] = "";
    for (uint32_t device = 0; device < 32; device++) {
        for (uint32_t function = 0; function < 8; function++) {
            const uint32_t id = pci::Function(bridge.ecam, device, function).read32(pci::kId);
            if (device == kSlot && function == 0) {
                own = id;
            } else if (id != pci::kAbsent && !(native && device == 0)) { // natively: the host's own bridge
                if (others++ == 0) {
                    snprintf(details, sizeof details, "00:%02x.%u reads 0x%08x", device, function, id);
                }
            }
        }
    }
    if (own != kPciId) {
        snprintf(details, sizeof details, "00:02.0 reads 0x%08x", own);
    }
    test("pcidma-only-own-function", own == kPciId && others == 0, details);
}

/// Where BAR0 decodes: where Vireo placed it; natively, where nothing
/// placed it, at the window's start.
uint64_t place_bar(const pci::Function& fn, const pci::HostBridge& bridge)
{
    if (native && (fn.read32(pci::kBar0) & pci::kBarAddressMask) == 0) {
        fn.write32(pci::kBar0, static_cast<uint32_t>(bridge.window));
    }
    return fn.read32(pci::kBar0) & pci::kBarAddressMask;
}

/// BAR0 sized and restored as a driver does it, inside the bridge's
/// window. Whether all that holds.
bool check_bar(const pci::Function& fn, const pci::HostBridge& bridge)
{
    const uint32_t original = fn.read32(pci::kBar0);
    fn.write32(pci::kBar0, ~0u);
    const uint32_t mask = fn.read32(pci::kBar0);
    fn.write32(pci::kBar0, original);
    const bool restored = fn.read32(pci::kBar0) == original;
    const uint32_t size = ~(mask & pci::kBarAddressMask) + 1;
    const uint64_t base = original & pci::kBarAddressMask;
    const bool inside =
        size != 0 && base % size == 0 && base >= bridge.window && base + size <= bridge.window + bridge.window_size;
    char details[128];
    snprintf(details, sizeof details, "BAR0 0x%08x, mask 0x%08x, restored %d", original, mask, restored);
    print("pcidma: BAR0 at 0x%lx, %u KiB\n", base, size >> 10);
    return test("pcidma-bar-sizing", size == kBarSize && (mask & 0xf) == (original & 0xf) && restored && inside,
                details);
}

uint64_t probed; // where read_probed() reads

void read_probed() { (void)*reinterpret_cast<volatile uint32_t*>(probed); }

/// BAR0 moved as a firmware assigning BARs moves it: the device answers at
/// the new address, and (under Vireo) nothing is left at the old one; then
/// moved just past the window, where Vireo maps nothing (one log line),
/// and back where it was.
void check_bar_moves(const pci::Function& fn, const pci::HostBridge& bridge)
{
    const uint32_t original = fn.read32(pci::kBar0);
    const uint64_t base = original & pci::kBarAddressMask;
    const uint64_t to = base == bridge.window ? bridge.window + kBarSize : bridge.window;
    fn.write32(pci::kBar0, static_cast<uint32_t>(to) | (original & 0xf));
    const bool reads_back = fn.read32(pci::kBar0) == (static_cast<uint32_t>(to) | (original & 0xf));
    device.bar = to;
    const bool answers_there = device.r32(kIdent) == kIdentValue;
    probed = base + kIdent;
    const bool old_gone = native || expect_fault(read_probed).esr != 0;
    bool outside_faults = true;
    if (!native) {
        const uint64_t past = bridge.window + bridge.window_size;
        fn.write32(pci::kBar0, static_cast<uint32_t>(past));
        probed = past + kIdent;
        outside_faults = expect_fault(read_probed).esr != 0;
    }
    fn.write32(pci::kBar0, original);
    device.bar = base;
    const bool answers_back = fn.read32(pci::kBar0) == original && device.r32(kIdent) == kIdentValue;
    char details[128];
    snprintf(details, sizeof details,
             "to 0x%lx: reads back %d, answers %d, old place gone %d; past the window %d; back %d", to, reads_back,
             answers_there, old_gone, outside_faults, answers_back);
    test("pcidma-bar-moves", reads_back && answers_there && old_gone && outside_faults && answers_back, details);
}

void check_rom_and_extended(const pci::Function& fn)
{
    const uint32_t rom = fn.read32(pci::kRomBar);
    fn.write32(pci::kRomBar, ~0u); // a ROM BAR sizes like a memory BAR: none reads 0 (PCI 3.0, 6.2.5.2)
    const uint32_t rom_mask = fn.read32(pci::kRomBar);
    fn.write32(pci::kRomBar, rom);
    const uint32_t extended = fn.read32(pci::kFirstExtended);
    char details[96];
    snprintf(details, sizeof details, "ROM BAR 0x%08x, sized 0x%08x, at 0x100: 0x%08x", rom, rom_mask, extended);
    // Natively edu, a conventional PCI function, has no extended configuration space: all-ones.
    const bool hidden = extended == 0 || (native && extended == pci::kAbsent);
    test("pcidma-rom-and-ext-hidden", rom == 0 && rom_mask == 0 && hidden, details);
}

void check_intx()
{
    gic::enable_distributor();
    gic::enable_cpu_interface();
    gic::enable_spi(intx, 0, 0x80);
    asm volatile("msr daifclr, #2");
    const bool done = device.dma(kSource, kBuffer, kPage, kDmaInterrupt);
    const bool after_dma = wait_for_interrupts(1) && edu_status_seen == kDmaDone;
    edu_status_seen = 0;
    constexpr uint32_t kRaised = 0x10000; // any status bit: the device ORs it in and raises INTx
    device.w32(kIrqRaise, kRaised);
    const bool raised = wait_for_interrupts(2) && edu_status_seen == kRaised;
    char details[96];
    snprintf(details, sizeof details, "INTID %u, DMA ended %d, %u interrupts, status 0x%x left, %u strays", intx, done,
             edu_interrupts, device.r32(kIrqStatus), strays);
    test("pcidma-intx",
         intx == kExpectedIntx && done && after_dma && raised && device.r32(kIrqStatus) == 0 && strays == 0, details);
}

struct Target {
    uint64_t address;
    uint64_t count;
};

void attack(const pci::HostBridge& bridge)
{
    const Target targets[] = {
        {0x0, kPage},         // nothing of this VM's
        {kRamEnd, kPage},     // just past its RAM
        {0x08000000, kPage},  // the GIC distributor
        {0x08020040, 4},      // GICv2m MSI_SETSPI_NS: a forged MSI (GICv2 hosts)
        {0x08090040, 4},      // the GICv3 ITS' GITS_TRANSLATER: a forged MSI (GICv3 hosts)
        {bridge.ecam, kPage}, // its virtual ECAM
        {0x40900000, kPage},  // the host's RAM: the victim's, placed first (PA 0x40400000 or 0x40800000)
        {0x48000000, kPage},  // the host's RAM: Vireo's, other VMs'
        {0x60000000, kPage},  // the host's RAM
        {device.bar, kPage},  // its own registers, peer to peer
    };
    const uint32_t interrupts = edu_interrupts;
    for (uint64_t i = 0; i < kPage / 4; i++) {
        reinterpret_cast<volatile uint32_t*>(kSource)[i] = kForgedIntid;
    }
    bool ended = device.to_device(kSource);
    fill(kGuard, kRamEnd - kGuard, 0x6a7d);
    char details[128] = "";
    for (const Target& t : targets) {
        if (!device.to_ram(t.address, t.count) && ended) {
            ended = false;
            snprintf(details, sizeof details, "the write to 0x%lx did not end", t.address);
        }
    }
    const bool kept = holds(kGuard, kRamEnd - kGuard, 0x6a7d);
    const bool quiet = edu_interrupts == interrupts && strays == 0;
    if (details[0] == '\0') {
        snprintf(details, sizeof details, "its RAM kept %d, %u device interrupts, %u strays, ident 0x%08x", kept,
                 edu_interrupts - interrupts, strays, device.r32(kIdent));
    }
    test("pcidma-hostile-writes-contained", ended && kept && quiet && device.r32(kIdent) == kIdentValue, details);

    ended = true;
    int leaked = 0;
    for (const Target& t : targets) {
        if (t.count != kPage) {
            continue; // a doorbell has nothing to read
        }
        clear(kLanding, kPage);
        ended = device.to_device(t.address, t.count) && device.to_ram(kLanding) && ended;
        for (uint64_t i = 0; i < kPage / 8; i++) {
            if (is_victim_word(words(kLanding)[i]) && leaked++ == 0) {
                snprintf(details, sizeof details, "a victim word from 0x%lx", t.address);
            }
        }
    }
    if (leaked == 0) {
        snprintf(details, sizeof details, "all ended %d", ended);
    }
    test("pcidma-hostile-reads-see-nothing", ended && leaked == 0, details);
}

/// The first boot: everything but the check after the reset; ends in
/// SYSTEM_RESET with a DMA under way.
void first_run(const pci::HostBridge& bridge, const pci::Function& fn)
{
    scan_bus(bridge);
    device.bar = place_bar(fn, bridge);
    if (!check_bar(fn, bridge)) {
        return; // its registers may be anywhere
    }
    check_rom_and_extended(fn);
    const uint16_t command = fn.read16(pci::kCommand);
    fn.write16(pci::kCommand, pci::kMemorySpace);
    device.w32(kLiveness, 0x5a5a1234);
    test("pcidma-device-answers", device.r32(kIdent) == kIdentValue && device.r32(kLiveness) == ~0x5a5a1234u);
    check_bar_moves(fn, bridge);

    fill(kLanding, kPage, 0xb0b);
    const bool ended = device.to_ram(kLanding);
    test("pcidma-no-dma-without-bme", command == 0 && ended && holds(kLanding, kPage, 0xb0b));

    fn.write16(pci::kCommand, pci::kMemorySpace | pci::kBusMaster);
    const bool first = round_trip(kSource, kLastPage, 0x1111);
    const bool second = round_trip(kLastPage - kPage, kSource + kPage, 0x2222);
    test("pcidma-dma-into-own-ram", first && second);

    check_intx();
    if (native) {
        print("pcidma: natively nothing confines the device's DMA: no hostile transfers\n");
    } else {
        attack(bridge);
    }
    test("pcidma-device-still-works",
         round_trip(kSource, kLastPage, 0x3333) && device.r32(kIdent) == kIdentValue && strays == 0);

    // The device holds a pattern; its copy to a cleared page is under way at the reset.
    fill(kSource, kPage, 0x4444);
    device.to_device(kSource);
    clear(kLastPage, kPage);
    while (native && gic::first_boot()) {
        // Natively nothing holds a restart back for a second as Vireo does:
        // wait, so that the next boot knows it is the second.
    }
    print("pcidma: resetting with a DMA to 0x%lx under way\n", kLastPage);
    device.start(kBuffer, kLastPage, kPage, kDmaToRam);
    call(kPsciSystemReset);
    test("pcidma-reset-stops-dma", false, "SYSTEM_RESET returned");
}

/// After the reset: the DMA started just before it (due 100 ms after)
/// must have gone nowhere.
void after_reset(const pci::HostBridge& bridge, const pci::Function& fn)
{
    const uint16_t command = fn.read16(pci::kCommand);
    pause_ms(300);
    const bool untouched = zeros(kLastPage, kPage);
    device.bar = place_bar(fn, bridge);
    fn.write16(pci::kCommand, pci::kMemorySpace); // registers only: no DMA
    const bool ended = device.bar != 0 && (device.r64(kDmaCommand) & kDmaStart) == 0;
    char details[96];
    snprintf(details, sizeof details, "Command 0x%x at entry, page untouched %d, transfer ended %d", command, untouched,
             ended);
    test("pcidma-reset-stops-dma", command == 0 && untouched && ended, details);
}

void victim()
{
    const uint64_t begin = reinterpret_cast<uint64_t>(_end);
    for (uint64_t a = begin; a < kVictimRamEnd; a += 8) {
        *words(a) = victim_word(a);
    }
    const uint64_t start = counter();
    uint64_t checks = 0, bad = 0, first_bad = 0;
    while (counter() - start < 10 * frequency()) {
        pause_ms(50);
        for (uint64_t a = begin; a < kVictimRamEnd; a += 8) {
            if (*words(a) != victim_word(a) && bad++ == 0) {
                first_bad = a;
            }
        }
        checks++;
    }
    char details[96];
    snprintf(details, sizeof details, "%lu words changed, the first at 0x%lx; %lu checks", bad, first_bad, checks);
    print("victim: 0x%lx-0x%lx checked %lu times in 10 s\n", begin, kVictimRamEnd, checks);
    test("pcidma-victim-pattern-intact", bad == 0 && checks >= 20, details);
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = gic::acknowledge();
    const uint32_t intid = iar & 0x3ff;
    if (intid == gic::kSpurious) {
        return;
    }
    if (intid == intx && device.bar != 0) {
        // Level-triggered: the device holds its line until its status is
        // acknowledged, so that comes before the EOI, which deactivates the
        // physical interrupt too.
        const uint32_t status = device.r32(kIrqStatus);
        device.w32(kIrqAck, status);
        edu_status_seen = edu_status_seen | status;
        edu_interrupts = edu_interrupts + 1;
    } else {
        strays = strays + 1;
    }
    gic::end(iar);
}

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    const bool first = gic::first_boot();
    native = call(kHcUid) != kVireoUid;
    if (native) {
        use_pl011_console(0x09000000);
    }
    if (bootarg(dtb, "victim", 0) != 0) {
        victim();
        return;
    }
    pci::HostBridge bridge;
    const int node = pci::find_host_bridge(dtb, bridge);
    intx = node < 0 ? 0 : pci::intx_intid(dtb, node, kSlot, 1);
    char details[160];
    snprintf(details, sizeof details,
             "node %d: ECAM 0x%lx (0x%lx bytes), buses %u-%u, pci %d, probe-only %d, "
             "window 0x%lx (0x%lx bytes), INTA %u",
             node, bridge.ecam, bridge.ecam_size, bridge.bus_first, bridge.bus_last, bridge.is_pci, bridge.probe_only,
             bridge.window, bridge.window_size, intx);
    print("pcidma: %s boot, %s; %s\n", first ? "first" : "second", native ? "native" : "under Vireo", details);
    const bool virtual_ecam = bridge.ecam == kVirtualEcam && bridge.ecam_size == 1u << 20 && bridge.bus_first == 0 &&
                              bridge.bus_last == 0 && bridge.probe_only;
    if (!first) {
        if (node >= 0) {
            after_reset(bridge, pci::Function(bridge.ecam, kSlot, 0));
        }
        return;
    }
    // Under Vireo the window is the 2 MiB blocks around the VM's BARs.
    const bool window =
        bridge.window == kWindow &&
        (native ? bridge.window_size == kWindowSize
                : bridge.window_size % (2u << 20) == 0 && bridge.window_size != 0 && bridge.window_size <= kWindowSize);
    const bool found = node >= 0 && bridge.is_pci && (native || virtual_ecam) && window;
    if (test("pcidma-ecam-found", found, details)) {
        first_run(bridge, pci::Function(bridge.ecam, kSlot, 0));
    }
}
