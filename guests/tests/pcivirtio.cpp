// A VM that owns a virtio-blk-pci function at 00:01.0 (modern, and with
// iommu_platform=on, so that QEMU translates its DMA through the SMMU as a
// real device's is; docs/config.md, "PCIe functions";
// tests/configs/bare/pcivirtio.dts) and programs its rings and buffers
// with addresses that are not its RAM's.
//
// It drives the device correctly first: a pattern written to the disk and
// read back. Then, each its own test, it places the descriptor table, the
// available ring and the used ring at 0x0, past its RAM's end, in the
// victim's RAM and in the host's RAM beyond (pci.tests says whose), and
// aims data buffers there too: reads (the device writes RAM) and a write
// from the victim's RAM (the device reads it: the sector written must not
// hold the victim's pattern). After each, the device may be stuck (QEMU's
// virtio marks it DEVICE_NEEDS_RESET or never answers): the guest resets
// it, and each test asserts that a correct request works again and that
// its own RAM outside the buffers is as it was. It points MSI-X vectors at
// an MSI doorbell with forged data (GICv2: the GICv2m frame it owns, with
// an SPI of Vireo's; GICv3: the ITS's GITS_TRANSLATER with an EventID it
// never mapped) and at the victim's RAM.
//
// With `victim=1` in its bootargs it is the victim: a pattern in its RAM,
// checked every 50 ms for 15 s, and no interrupt may reach it.
//
// Natively (QEMU virt at EL1 without Vireo, -kernel pcivirtio.img with the
// same -device and -drive): the ECAM is the host's, the BARs unassigned
// (the guest places them in the window) and the hostile requests are left
// out (nothing confines them): a check of the virtio driver.
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/pattern.hpp"
#include "lib/pci.hpp"
#include "lib/virtio_pci.hpp"
#include "lib/virtqueue.hpp"

using namespace guest;
using guest::gic::frequency;
using guest::gic::pause_ms;
using guest::virtio_pci::find_capability;

extern "C" char _end[];

namespace {

constexpr uint64_t kRam = 0x40000000;
constexpr uint64_t kRamEnd = kRam + (4ull << 20); // tests/configs/bare/pcivirtio.dts
constexpr uint64_t kVictimRamEnd = kRam + (8ull << 20);
constexpr uint64_t kBlock = 4096; // each request moves 8 sectors

// Its buffers lie above its image (well under 1 MiB) and below its DTB
// (read first; at 0x40200000, the top 2 MiB block's start); what the
// hostile requests must leave alone is the RAM from kGuard to its end.
constexpr uint64_t kHeader = kRam + 0x100000; // struct virtio_blk_req's header, then its status byte at +0x100
constexpr uint64_t kStatusByte = kHeader + 0x100;
constexpr uint64_t kSent = kRam + 0x101000;    // what a write request sends
constexpr uint64_t kLanding = kRam + 0x102000; // where a read request lands
constexpr uint64_t kGuard = kRam + 0x300000;

// The hostile addresses, as pcidma aims them (tests/system/pci.tests):
// nothing, just past its RAM, the victim's RAM (Vireo places the victim
// first, at PA 0x40800000 after its own image: 0x40900000 is inside it)
// and the host's RAM beyond (Vireo's, other VMs').
constexpr uint64_t kVictim = 0x40900000;
constexpr uint64_t kHostRam = 0x48000000;
// Vireo's image's host address (0x40200000, docs/config.md): an address
// of this VM's own RAM, where the device's DMA must land instead.
constexpr uint64_t kVireoImage = 0x40200000;

constexpr uint32_t kSlot = 1;
constexpr uint32_t kVirtioBlkId = 0x10421af4; // modern virtio-blk: device 0x1040 + 2
constexpr uint64_t kWindow = 0x10000000;      // QEMU virt's 32-bit PCIe memory window
constexpr uint32_t kVireoUid = 0x7669726f;
constexpr uint64_t kDiskSectors = 2048; // the test's 1 MiB scratch disk

// virtio-blk (virtio 1.2, 5.2.6): request types and the status byte.
constexpr uint32_t kBlkIn = 0, kBlkOut = 1; // the device writes RAM; reads it
constexpr uint8_t kOk = 0;

// The victim's word at `address`: its top half is the mark the attacker
// looks for in whatever its device read.
constexpr uint64_t kVictimSeed = 0x5eed1c7e00000000ull;
constexpr uint64_t victim_word(uint64_t address) { return kVictimSeed ^ address; }
constexpr bool is_victim_word(uint64_t w) { return w >> 32 == kVictimSeed >> 32; }

// An SPI of the GICv2m frame's range (SPIs 48-111 on QEMU virt) that is
// Vireo's, not this VM's: the SMMU's event queue interrupt (SPI 74).
constexpr uint32_t kForgedIntid = 32 + 74;
constexpr uint64_t kSetSpi = 0x08020040;        // GICv2m MSI_SETSPI_NS
constexpr uint64_t kTranslater = 0x08090040;    // the ITS's GITS_TRANSLATER (GICv3)
constexpr uint32_t kForgedEvent = 7;            // mapped in no ITS for this function
constexpr uint64_t kVictimMsi = kVictim + 0x40; // its own line in the log

constexpr uint16_t kSize = 8;
virtqueue::Queue<kSize> queue;
uint16_t next_avail;
virtio_pci::Device device;
bool native;
volatile uint32_t interrupts;

using pattern::fill;
using pattern::holds;
using pattern::words;

/// Where the device is told its rings are.
struct Rings {
    uint64_t desc = virtqueue::addr(queue.desc);
    uint64_t driver = virtqueue::addr(queue.avail);
    uint64_t device = virtqueue::addr(queue.used);
};

/// Reset, VERSION_1 and ACCESS_PLATFORM, queue 0 at `rings` (its
/// interrupts to MSI-X vector `vector`), DRIVER_OK. Whether the device
/// took the features.
bool bring_up(const Rings& rings, uint16_t vector = virtio_pci::kNoVector)
{
    for (uint64_t i = 0; i < sizeof queue / 8; i++) {
        reinterpret_cast<volatile uint64_t*>(&queue)[i] = 0;
    }
    next_avail = 0;
    if (!device.negotiate(virtio_pci::kVersion1 | virtio_pci::kAccessPlatform)) {
        return false;
    }
    device.setup_queue(0, kSize, rings.desc, rings.driver, rings.device, vector);
    device.driver_ok();
    return true;
}

struct Outcome {
    bool done;      // the used ring in its RAM advanced
    uint8_t status; // the request's status byte
};

/// One virtio-blk request of kBlock bytes at `sector` from or to `data`,
/// a three-descriptor chain (header, data, status); waits up to `ms`.
Outcome request(uint32_t type, uint64_t sector, uint64_t data, uint64_t ms = 1000)
{
    words(kHeader)[0] = type; // type, then 32 reserved bits
    words(kHeader)[1] = sector;
    *reinterpret_cast<volatile uint8_t*>(kStatusByte) = 0xff;
    queue.desc[0] = {kHeader, 16, virtqueue::kNext, 1};
    const uint16_t written = type == kBlkIn ? virtqueue::kWrite : 0; // a read request: the device writes the data
    queue.desc[1] = {data, kBlock, static_cast<uint16_t>(written | virtqueue::kNext), 2};
    queue.desc[2] = {kStatusByte, 1, virtqueue::kWrite, 0};
    const uint16_t before = queue.used_idx();
    queue.offer(next_avail++, 0);
    device.notify_queue(0);
    const uint64_t begin = counter();
    while (queue.used_idx() == before && counter() - begin < frequency() * ms / 1000) {
    }
    asm volatile("dsb sy" ::: "memory"); // our reads of RAM come after the device's writes
    return {queue.used_idx() != before, *reinterpret_cast<volatile uint8_t*>(kStatusByte)};
}

bool write_sector(uint64_t sector, uint64_t data) { return request(kBlkOut, sector, data).status == kOk; }
bool read_sector(uint64_t sector, uint64_t data) { return request(kBlkIn, sector, data).status == kOk; }

/// The pattern `seed` written at `sector` and read back into kLanding.
bool round_trip(uint64_t sector, uint64_t seed)
{
    fill(kSent, kBlock, seed);
    fill(kLanding, kBlock, ~seed);
    return write_sector(sector, kSent) && read_sector(sector, kLanding) && holds(kLanding, kBlock, seed);
}

/// Natively nothing placed the BARs: each memory BAR goes to the next
/// address of the window aligned to its size, then memory decoding is on.
void place_bars_natively(const pci::Function& fn)
{
    uint64_t next = kWindow;
    for (uint32_t i = 0; i < 6; i++) {
        const uint32_t reg = pci::kBar0 + 4 * i;
        const uint32_t original = fn.read32(reg);
        fn.write32(reg, ~0u);
        const uint32_t mask = fn.read32(reg) & pci::kBarAddressMask;
        if (mask == 0 || (original & 1) != 0) {
            fn.write32(reg, original);
            continue;
        }
        const uint64_t size = ~mask + 1; // a 32-bit BAR's size, or a 64-bit one's under 4 GiB
        next = (next + size - 1) & ~(size - 1);
        fn.write32(reg, static_cast<uint32_t>(next));
        if ((original & 6) == 4) { // 64-bit: the upper half is the next BAR
            fn.write32(reg + 4, 0);
            i++;
        }
        next += size;
    }
}

bool use_device_correctly(const char* name)
{
    const bool up = bring_up(Rings{});
    const bool first = up && round_trip(1, 0x1111);
    const bool second = first && round_trip(kDiskSectors - 8, 0x2222);
    char details[96];
    snprintf(details, sizeof details, "up %d, sector 1 %d, last 8 sectors %d, status 0x%x", up, first, second,
             device.status());
    return test(name, second, details);
}

/// After a hostile request (`outcome`): whether its RAM from kGuard on is
/// untouched, the device works again after a reset, and the case's own
/// condition `pass` holds (`more` adds to the details).
void judge(const char* name, Outcome outcome, bool pass, const char* more = "")
{
    const uint8_t status = device.status();
    const bool kept = holds(kGuard, kRamEnd - kGuard, 0x6a7d);
    const bool recovered = device.reset() && bring_up(Rings{}) && round_trip(1, 0x3333);
    char details[160];
    snprintf(details, sizeof details,
             "completed %d (status 0x%x), device status 0x%x, its RAM kept %d, works again %d%s", outcome.done,
             outcome.status, status, kept, recovered, more);
    print("pcivirtio: %s: %s\n", name, details);
    test(name, kept && recovered && pass, details);
}

void bad_rings()
{
    const uint64_t targets[] = {0x0, kRamEnd, kVictim, kHostRam};
    const char* const where[] = {"at-0", "past-ram", "in-victim", "in-host-ram"};
    const char* const rings[] = {"desc", "avail", "used"};
    for (int r = 0; r < 3; r++) {
        for (int t = 0; t < 4; t++) {
            Rings placed;
            uint64_t* const ring[] = {&placed.desc, &placed.driver, &placed.device};
            *ring[r] = targets[t];
            char name[40];
            snprintf(name, sizeof name, "pcivirtio-%s-%s", rings[r], where[t]);
            // The request cannot complete: the device can neither read its
            // chain from a ring outside this RAM nor report it in one there.
            const bool up = bring_up(placed);
            const Outcome outcome = up ? request(kBlkIn, 1, kLanding, 100) : Outcome{false, 0xff};
            judge(name, outcome, up && !outcome.done);
        }
    }
}

void bad_buffers()
{
    struct Case {
        const char* name;
        uint64_t address;
    };
    const Case reads[] = {
        {"pcivirtio-read-into-0", 0x0},
        {"pcivirtio-read-past-ram", kRamEnd},
        {"pcivirtio-read-into-victim", kVictim},
        {"pcivirtio-read-into-host-ram", kHostRam},
    };
    for (const Case& c : reads) {
        const bool up = bring_up(Rings{});
        judge(c.name, up ? request(kBlkIn, 1, c.address, 100) : Outcome{false, 0xff}, up);
    }

    // Vireo's image's host address is its own RAM's: the sector lands there.
    fill(kSent, kBlock, 0x4444);
    const bool stored = bring_up(Rings{}) && write_sector(16, kSent);
    fill(kVireoImage, kBlock, 0);
    const Outcome outcome = request(kBlkIn, 16, kVireoImage);
    judge("pcivirtio-read-at-vireo-address-stays-own", outcome, stored && holds(kVireoImage, kBlock, 0x4444));

    // The device reads the victim's RAM for a write: the disk must not get its pattern.
    const bool up = bring_up(Rings{}) && write_sector(24, kSent);
    const Outcome hostile = up ? request(kBlkOut, 24, kVictim, 100) : Outcome{false, 0xff};
    const bool reset = device.reset() && bring_up(Rings{});
    fill(kLanding, kBlock, 0);
    const bool read = reset && read_sector(24, kLanding);
    int leaked = 0;
    for (uint64_t i = 0; i < kBlock / 8; i++) {
        leaked += is_victim_word(words(kLanding)[i]) ? 1 : 0;
    }
    char details[64];
    snprintf(details, sizeof details, "; read back %d, %d victim words", read, leaked);
    judge("pcivirtio-write-from-victim-leaks-nothing", hostile, up && read && leaked == 0, details);
}

/// MSI-X, which Vireo shows on GICv3 (MSIs through the host's ITS) and on
/// GICv2 to the VM that owns the GICv2m frame. Vector 0 forges a message
/// at the doorbell: an SPI of Vireo's at the frame (GICv2), an EventID
/// this VM never mapped at the ITS (GICv3: the host ITS tags it with the
/// function's own DeviceID and finds no translation); vector 1 aims the
/// message at the victim's RAM. The requests still complete (polled), and
/// neither VM gets an interrupt.
void forged_msi(const pci::Function& fn)
{
    const uint32_t cap = find_capability(fn, virtio_pci::kCapMsix);
    if (!test("pcivirtio-msix-shown", cap != 0)) {
        return;
    }
    const uint32_t table_reg = fn.read32(cap + virtio_pci::kMsixTable);
    const uint64_t table = virtio_pci::bar_address(fn, table_reg & 7) + (table_reg & ~7u);
    auto entry = [table](uint32_t i, uint32_t word) {
        return reinterpret_cast<volatile uint32_t*>(table + i * virtio_pci::kMsixEntry + 4 * word);
    };
    const uint64_t doorbell[2] = {gic::v3() ? kTranslater : kSetSpi, gic::v3() ? kForgedEvent : kForgedIntid};
    const uint64_t targets[2][2] = {{doorbell[0], doorbell[1]}, {kVictimMsi, 0x5a5a5a5a}};
    for (uint32_t i = 0; i < 2; i++) {
        *entry(i, 0) = static_cast<uint32_t>(targets[i][0]);
        *entry(i, 1) = static_cast<uint32_t>(targets[i][0] >> 32);
        *entry(i, 2) = static_cast<uint32_t>(targets[i][1]);
        *entry(i, 3) = 0; // unmasked
    }
    fn.write32(cap, fn.read32(cap) | virtio_pci::kMsixEnable);
    const bool enabled = (fn.read32(cap) & virtio_pci::kMsixEnable) != 0;
    bool done = true;
    for (uint16_t vector = 0; vector < 2; vector++) {
        done = bring_up(Rings{}, vector) && request(kBlkIn, 1, kLanding).done && done;
    }
    fn.write32(cap, fn.read32(cap) & ~virtio_pci::kMsixEnable);
    char details[96];
    snprintf(details, sizeof details, "; enabled %d, requests done %d, %u interrupts", enabled, done, interrupts);
    judge("pcivirtio-forged-msi-contained", {done, 0}, enabled && done && interrupts == 0, details);
}

void attack(const pci::Function& fn)
{
    fill(kGuard, kRamEnd - kGuard, 0x6a7d);
    // Vireo logs 20 faults of a VM's devices, then no more: the buffers'
    // few come first, then the rings' (a used ring outside its RAM makes
    // the device fault on it at each access).
    bad_buffers();
    forged_msi(fn);
    bad_rings();
}

void victim()
{
    gic::enable_distributor();
    gic::enable_cpu_interface();
    asm volatile("msr daifclr, #2");
    const uint64_t begin = reinterpret_cast<uint64_t>(_end);
    for (uint64_t a = begin; a < kVictimRamEnd; a += 8) {
        *words(a) = victim_word(a);
    }
    const uint64_t start = counter();
    uint64_t checks = 0, bad = 0, first_bad = 0;
    while (counter() - start < 15 * frequency()) {
        pause_ms(50);
        for (uint64_t a = begin; a < kVictimRamEnd; a += 8) {
            if (*words(a) != victim_word(a) && bad++ == 0) {
                first_bad = a;
            }
        }
        checks++;
    }
    char details[96];
    snprintf(details, sizeof details, "%lu words changed, the first at 0x%lx; %lu checks, %u interrupts", bad,
             first_bad, checks, interrupts);
    print("victim: 0x%lx-0x%lx checked %lu times in 15 s\n", begin, kVictimRamEnd, checks);
    test("pcivirtio-victim-pattern-intact", bad == 0 && checks >= 20 && interrupts == 0, details);
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = gic::acknowledge();
    if ((iar & 0x3ff) != gic::kSpurious) {
        interrupts = interrupts + 1;
        gic::end(iar);
    }
}

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
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
    const pci::Function fn(bridge.ecam, kSlot, 0);
    const uint32_t id = node < 0 ? 0 : fn.read32(pci::kId);
    if (node >= 0 && native) {
        place_bars_natively(fn);
    }
    const bool found = node >= 0 && id == kVirtioBlkId && device.find(fn);
    char details[160];
    snprintf(details, sizeof details,
             "node %d, ECAM 0x%lx, 00:01.0 reads 0x%08x; common 0x%lx, notify 0x%lx (x%u), "
             "ISR 0x%lx, device 0x%lx",
             node, bridge.ecam, id, device.common, device.notify, device.notify_multiplier, device.isr, device.config);
    print("pcivirtio: %s; %s\n", native ? "native" : "under Vireo", details);
    if (!test("pcivirtio-function-found", found, details)) {
        return;
    }
    fn.write16(pci::kCommand, pci::kMemorySpace | pci::kBusMaster);
    const uint64_t offered = device.offered();
    const uint64_t capacity = device.read<uint64_t>(device.config, 0);
    snprintf(details, sizeof details, "features 0x%lx, capacity %lu sectors", offered, capacity);
    test("pcivirtio-features",
         (offered & virtio_pci::kVersion1) != 0 && (offered & virtio_pci::kAccessPlatform) != 0 &&
             capacity == kDiskSectors && bring_up(Rings{}),
         details);
    if (!use_device_correctly("pcivirtio-write-read-back")) {
        return;
    }
    if (native) {
        print("pcivirtio: natively nothing confines the device's DMA: no hostile requests\n");
    } else {
        attack(fn);
    }
    device.reset();
    use_device_correctly("pcivirtio-works-again");
}
