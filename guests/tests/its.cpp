// The VM's ITS and LPIs (issue 23), driven as a driver would and as a
// hostile one would, every outcome checked against the GIC architecture
// specification (IHI 0069, chapters 5 and 6): the ID registers, flat and
// two-level device and collection tables, each command (MAPD, MAPC, MAPTI,
// MAPI, MOVI, MOVALL, DISCARD, INV, INVALL, INT, CLEAR, SYNC) seen through
// the LPI the handler takes (ICC_IAR1_EL1's INTID, on which vCPU, at which
// priority), GITS_TRANSLATER, the property table taking effect on
// invalidation, the pending table's pre-set bits (PTZ = 0), a redistributor
// with LPIs disabled, commands that break the rules (ignored: an INT after
// them raises nothing, good commands after them still work), a queue
// filled past its end, and tables outside the VM's RAM.
//
// Runs with 1 vCPU (tests/configs/bare/its.dts) or 4 (its4.dts: MOVI and
// MOVALL move LPIs between vCPUs); the number is read from the DTB.
//
// Natively (QEMU virt, gic-version=3, at EL1 without Vireo: -kernel its.img)
// QEMU's ITS, a reference for the architecture, answers; every check runs
// there except the Vireo-specific ones, marked "vireo" below: the exact
// ID-register values and limits Vireo chose, the DeviceID of a vCPU's own
// write to GITS_TRANSLATER (0xffff; QEMU gives CPU writes 0), a CWRITER
// beyond the queue (the architecture leaves that open), GICR_INVLPIR and
// GICR_INVALLR (QEMU has them only for GICv4.1), and tables outside the
// VM's RAM (natively all of QEMU's RAM is the guest's).
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/its.hpp"

using namespace guest;
using namespace guest::its;

namespace {

constexpr uint32_t kMaxCpus = 4;
constexpr uint32_t kLpis = 1024;           // Vireo's, 8192-9215; natively the same ones are used
constexpr uint32_t kPropIdBits = 14;       // GICR_PROPBASER.IDbits + 1: INTIDs below 16384
constexpr uint64_t kRamEnd = 0x40800000;   // the configs' 8 MiB (vireo)
constexpr uint64_t kOutside = 0x100000000; // no VM RAM there (vireo)
constexpr uint8_t kPriority = 0xa0;
constexpr uint8_t kMasked = 0xf0; // not above the priority mask, 0xf0: never taken

// Devices and their events; every event's LPI is kFirstLpi + its number here.
constexpr uint32_t kDev = 1;            // 32 events, one per check
constexpr uint32_t kDevMapi = 2;        // 14 EventID bits: MAPI's EventID is the INTID
constexpr uint32_t kDevWrap = 3;        // 32 events for the queue wrapping
constexpr uint32_t kCpuDevice = 0xffff; // a vCPU's GITS_TRANSLATER write under Vireo
constexpr uint32_t kDevBig = 0x1234;    // in a level-2 page of its own
enum Event : uint32_t {
    kBasic,
    kMovi,
    kDiscard,
    kDiscardPending,
    kClearMasked,
    kClearDisabled,
    kInvPriority,
    kInvEnable,
    kInvlpir,
    kInvallA,
    kInvallB,
    kDisabled,
    kMovall,
    kGoodAfterBad,
    kMasking,
    kBadEventIds // 15..31: hostile
};
constexpr uint32_t kMapiEvent = 300; // MAPI: LPI 8492
constexpr uint32_t kWrapLpi = 320;   // kDevWrap's events: 320-351
constexpr uint32_t kTranslaterLpi = 360;
constexpr uint32_t kPresetLpi = 400; // pre-set in vCPU 0's pending table
constexpr uint32_t kTwoLevelLpi = 450;
constexpr uint32_t kTableLpi = 460; // tables outside RAM
constexpr uint32_t kLimitLpi = 470; // the device beyond Vireo's 64

// Collections: ICID n is vCPU n; kIcidMove and kIcidMovall are moved.
constexpr uint32_t kIcidMove = 20;
constexpr uint32_t kIcidMovall = 21;
constexpr uint32_t kIcidTwoLevel = 40;

bool native;
uint32_t cpus = 1;
Typer typer;
uint64_t rdbase[kMaxCpus];
uint64_t device_baser, collection_baser; // offsets of the two BASERs
uint32_t device_entry, collection_entry; // their entry sizes
uint32_t cpu_device;                     // DeviceID of our own GITS_TRANSLATER writes
CommandQueue queue;
uint8_t* properties;
uint64_t pending[kMaxCpus];

volatile uint32_t taken[kMaxCpus][kLpis];
volatile uint32_t taken_priority[kMaxCpus][kLpis]; // ICC_RPR_EL1 in the handler
volatile uint32_t strays;
volatile uint32_t pmr_wanted[kMaxCpus];
volatile uint32_t pmr_applied[kMaxCpus];
volatile uint32_t ready[kMaxCpus];
volatile uint32_t finished;

// Tables, ITTs and the queue come from allocate() (lib/guest.hpp): after
// the image, below the DTB (Vireo puts it in the top 2 MiB of the configs'
// 8 MiB).

uint32_t total(uint32_t lpi)
{
    uint32_t n = 0;
    for (uint32_t c = 0; c < cpus; c++) {
        n += taken[c][lpi];
    }
    return n;
}

template <class F> bool wait_until(F done)
{
    const uint64_t start = counter();
    while (!done()) {
        if (counter() - start > gic::frequency()) {
            return false;
        }
        call(kHcYield);
    }
    return true;
}

/// Long enough for an interrupt on its way to arrive: then "nothing came" means nothing was raised.
void settle()
{
    const uint64_t start = counter();
    while (counter() - start < gic::frequency() / 40) {
        call(kHcYield);
    }
}

void set_pmr(uint32_t cpu, uint32_t value)
{
    if (cpu == 0) {
        asm volatile("msr icc_pmr_el1, %0\n\tisb" ::"r"(uint64_t{value}));
        return;
    }
    pmr_wanted[cpu] = value;
    wait_until([cpu, value] { return pmr_applied[cpu] == value; });
}

/// Checks one LPI was taken exactly `count` times in all, all on `cpu`.
bool taken_on(uint32_t lpi, uint32_t cpu, uint32_t count)
{
    // Up to a second for the count (taken before, the LPI's total is not
    // 0 already: a loaded host delivers the new one later than settle()).
    wait_until([lpi, count] { return total(lpi) >= count; });
    settle();
    return taken[cpu][lpi] == count && total(lpi) == count;
}

bool send_ok(const char* what, bool ok)
{
    if (!ok) {
        print("its: the ITS did not consume %s (CREADR 0x%lx, CWRITER 0x%lx)\n", what, reg(kCreadr),
              queue.write_offset());
    }
    return ok;
}

template <class... C> bool send(const C&... commands)
{
    return send_ok("commands", queue.send(commands..., cmd::sync(rdbase[0])));
}

void set_property(uint32_t lpi, uint8_t value)
{
    properties[lpi] = value;
    asm volatile("dsb st" ::: "memory"); // the redistributor reads it as a device would
}

/// For a failed check's details: how often each vCPU took `lpi`, and at what priority last.
const char* seen(uint32_t lpi)
{
    static char text[80];
    int n = snprintf(text, sizeof text, "LPI %u taken", kFirstLpi + lpi);
    for (uint32_t c = 0; c < cpus; c++) {
        n += snprintf(text + n, sizeof text - static_cast<size_t>(n), "%s%u", c == 0 ? " " : "/", taken[c][lpi]);
    }
    snprintf(text + n, sizeof text - static_cast<size_t>(n), " times, last at priority 0x%x", taken_priority[0][lpi]);
    return text;
}

const char* hex(uint64_t value)
{
    static char text[24];
    snprintf(text, sizeof text, "0x%lx", value);
    return text;
}

// --- registers, DTB -------------------------------------------------------

uint32_t count_cpus(uint64_t dtb)
{
    const void* fdt = reinterpret_cast<const void*>(dtb);
    const int node = dtb == 0 || fdt_check_header(fdt) != 0 ? -1 : fdt_path_offset(fdt, "/cpus");
    uint32_t n = 0;
    for (int cpu = node < 0 ? -1 : fdt_first_subnode(fdt, node); cpu >= 0; cpu = fdt_next_subnode(fdt, cpu)) {
        const char* type = static_cast<const char*>(fdt_getprop(fdt, cpu, "device_type", nullptr));
        n += type != nullptr && strcmp(type, "cpu") == 0;
    }
    return n == 0 ? 1 : n > kMaxCpus ? kMaxCpus : n;
}

void check_dtb(uint64_t dtb)
{
    const void* fdt = reinterpret_cast<const void*>(dtb);
    const int node = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3-its");
    const int parent = node < 0 ? -1 : fdt_parent_offset(fdt, node);
    int length = 0;
    const void* reg_cells = node < 0 ? nullptr : fdt_getprop(fdt, node, "reg", &length);
    const uint64_t base = reg_cells != nullptr && length >= 8 ? dt_cells(reg_cells, 2) : 0;
    const char* name = node < 0 ? "" : fdt_get_name(fdt, node, nullptr);
    test("its-dtb-node",
         node >= 0 && fdt_getprop(fdt, node, "msi-controller", nullptr) != nullptr && base == kBase &&
             strcmp(name, "its@8080000") == 0 && parent >= 0 &&
             fdt_node_check_compatible(fdt, parent, "arm,gic-v3") == 0,
         name);
}

/// Whether the distributor has LPIs at all (else there is no ITS to test).
bool check_distributor()
{
    const uint32_t gicd_typer = gic::read32(gic::kGicd + 0x004);
    const uint32_t id_bits = ((gicd_typer >> 19) & 0x1f) + 1;
    const bool lpis = (gicd_typer >> 17) & 1;
    test("its-gicd-typer-lpis", lpis && id_bits >= kPropIdBits, hex(gicd_typer));
    if (!native) { // vireo: 16 INTID bits, 2^(9+1) LPIs
        test("its-gicd-typer-vireo", id_bits == 16 && ((gicd_typer >> 11) & 0x1f) == 9, hex(gicd_typer));
    }
    return lpis;
}

void check_id_registers()
{
    bool plpis = true, numbers = true;
    for (uint32_t cpu = 0; cpu < cpus; cpu++) {
        const uint64_t t = read64(redistributor(cpu) + kGicrTyper);
        plpis = plpis && (t & 1);
        numbers = numbers && ((t >> 8) & 0xffff) == cpu;
        rdbase[cpu] = typer.pta ? redistributor(cpu) >> 16 : (t >> 8) & 0xffff;
        if (!native) { // vireo: no DirectLPI
            plpis = plpis && !(t & (1u << 3));
        }
    }
    test("its-gicr-typer-plpis", plpis && numbers);

    const uint64_t t = reg(kTyper);
    test("its-typer-physical", typer.physical && typer.event_bits >= 14 && typer.device_bits >= 16, hex(t));
    if (!native) { // vireo: 8-byte ITT entries, 16-bit IDs, processor numbers, no collections in the ITS
        test("its-typer-vireo",
             typer.itt_entry_size == 8 && typer.event_bits == 16 && typer.device_bits == 16 && !typer.pta &&
                 typer.hcc == 0 && typer.collection_bits == 16 && !((t >> 18) & 1),
             hex(t));
    }
    test("its-iidr-nonzero", (gic::read32(kBase + kIidr)) != 0);
    const uint32_t ctlr = gic::read32(kBase + kCtlr);
    test("its-quiescent-while-disabled", (ctlr & (kCtlrQuiescent | kCtlrEnabled)) == kCtlrQuiescent, hex(ctlr));
}

/// Finds the device and collection tables among the GITS_BASERn and what
/// each supports: Indirect, and which page sizes stick when written.
void probe_tables()
{
    bool types_vireo = true;
    for (uint64_t n = 0; n < 8; n++) {
        const uint64_t offset = kBaser0 + 8 * n;
        const uint64_t type = baser::type(reg(offset));
        if (type == baser::kDevices && device_baser == 0) {
            device_baser = offset;
        } else if (type == baser::kCollections && collection_baser == 0) {
            collection_baser = offset;
        }
        types_vireo = types_vireo && type == (n == 0 ? baser::kDevices : n == 1 ? baser::kCollections : 0);
    }
    device_entry = baser::entry_size(reg(device_baser));
    collection_entry = baser::entry_size(reg(collection_baser));
    test("its-baser-device-and-collection-tables", device_baser != 0 && collection_baser != 0);
    if (native) {
        return;
    }
    test("its-baser-vireo", types_vireo && device_entry == 8 && collection_entry == 8);
    bool writable = true;
    const uint64_t tables[] = {device_baser, collection_baser};
    for (uint64_t offset : tables) {
        for (uint64_t size = 0; size < 3; size++) {
            set_reg(offset, baser::kIndirect | size << 8);
            const uint64_t v = reg(offset);
            writable = writable && baser::page_size_field(v) == size && (v & baser::kIndirect);
        }
        set_reg(offset, 0);
    }
    test("its-baser-page-sizes-and-indirect-writable", writable); // vireo: all three, and Indirect
}

// --- setup ----------------------------------------------------------------

/// Flat tables: one entry for every DeviceID, one page of collections.
void flat_tables()
{
    const uint64_t device_pages = ((uint64_t{device_entry} << typer.device_bits) + 0xfff) / 0x1000;
    set_reg(device_baser, baser::make(allocate(device_pages * 0x1000, 0x10000), device_pages, false));
    set_reg(collection_baser, baser::make(allocate(0x1000, 0x10000), 1, false));
}

uint64_t itt(uint32_t event_bits) { return allocate(uint64_t{typer.itt_entry_size} << event_bits, 256); }

bool enable_its()
{
    gic::write32(kBase + kCtlr, kCtlrEnabled);
    return (gic::read32(kBase + kCtlr) & kCtlrEnabled) != 0;
}

void disable_its()
{
    gic::write32(kBase + kCtlr, 0);
    wait_until([] { return (gic::read32(kBase + kCtlr) & kCtlrQuiescent) != 0; });
}

/// Everything phase 1 maps: vCPU n's collection n, the moved ones, the devices.
bool map_all()
{
    bool ok = true;
    for (uint32_t cpu = 0; cpu < cpus; cpu++) {
        ok = queue.send(cmd::mapc(cpu, rdbase[cpu])) && ok;
    }
    ok = send(cmd::mapc(kIcidMove, rdbase[0]), cmd::mapc(kIcidMovall, rdbase[0]), cmd::mapd(kDev, itt(5), 5),
              cmd::mapd(kDevMapi, itt(14), 14), cmd::mapd(kDevWrap, itt(5), 5), cmd::mapd(cpu_device, itt(8), 8)) &&
         ok;
    for (uint32_t e = kBasic; e < kBadEventIds; e++) {
        const uint32_t icid = e == kMovall ? kIcidMovall : e == kDisabled ? cpus - 1 : 0;
        ok = queue.push(cmd::mapti(kDev, e, kFirstLpi + e, icid)) && ok;
    }
    for (uint32_t e = 0; e < 32; e++) {
        ok = queue.push(cmd::mapti(kDevWrap, e, kFirstLpi + kWrapLpi + e, 0)) && ok;
    }
    return send(cmd::mapi(kDevMapi, kFirstLpi + kMapiEvent, 0),
                cmd::mapti(cpu_device, 7, kFirstLpi + kTranslaterLpi, 0)) &&
           ok;
}

void set_lpi_tables(uint32_t cpu, uint64_t prop, uint64_t pend)
{
    write64(redistributor(cpu) + kGicrPropbaser, prop | (kPropIdBits - 1));
    write64(redistributor(cpu) + kGicrPendbaser, pend);
}

bool lpis_enabled(uint32_t cpu) { return gic::read32(redistributor(cpu) + kGicrCtlr) & 1; }
void enable_lpis(uint32_t cpu) { gic::write32(redistributor(cpu) + kGicrCtlr, 1); }

/// vireo: a redistributor whose PROPBASER or PENDBASER leaves the VM's RAM
/// keeps its LPIs disabled. Before any LPI is enabled there: once on,
/// EnableLPIs need not turn off again (GICR_CTLR).
void hostile_lpi_tables(uint32_t cpu)
{
    const uint64_t prop = reinterpret_cast<uint64_t>(properties);
    set_lpi_tables(cpu, kOutside, pending[cpu] | kPendbaserPtz);
    enable_lpis(cpu);
    const bool prop_outside = !lpis_enabled(cpu);
    set_lpi_tables(cpu, kRamEnd, pending[cpu] | kPendbaserPtz); // the first page after RAM
    enable_lpis(cpu);
    const bool prop_after = !lpis_enabled(cpu);
    set_lpi_tables(cpu, prop, kOutside | kPendbaserPtz);
    enable_lpis(cpu);
    const bool pend_outside = !lpis_enabled(cpu);
    test("its-propbaser-outside-ram-lpis-stay-disabled", prop_outside && prop_after);
    test("its-pendbaser-outside-ram-lpis-stay-disabled", pend_outside);
}

// --- the checks -----------------------------------------------------------

void check_int_and_mapi()
{
    send(cmd::int_(kDev, kBasic));
    test("its-int-raises-lpi", taken_on(kBasic, 0, 1));
    test("its-lpi-priority-from-property-table", taken_priority[0][kBasic] == kPriority,
         hex(taken_priority[0][kBasic]));
    send(cmd::int_(kDevMapi, kFirstLpi + kMapiEvent));
    test("its-mapi-eventid-is-intid", taken_on(kMapiEvent, 0, 1));
    gic::write32(kTranslater, 7); // EventID 7 of cpu_device
    test("its-translater-write-raises-lpi", taken_on(kTranslaterLpi, 0, 1));
}

void check_priority_and_enable()
{
    // Masked: the LPI waits pending until the mask lets it through.
    set_pmr(0, 0);
    send(cmd::int_(kDev, kMasking));
    settle();
    const bool held = total(kMasking) == 0;
    set_pmr(0, 0xf0);
    test("its-masked-lpi-stays-pending", held && taken_on(kMasking, 0, 1));

    // The property table takes effect on INV (chapter 5: before it the redistributor may still use the old one).
    set_property(kInvPriority, property(kMasked, true));
    send(cmd::inv(kDev, kInvPriority), cmd::int_(kDev, kInvPriority));
    settle();
    const bool masked = total(kInvPriority) == 0;
    set_property(kInvPriority, property(0x80, true));
    send(cmd::inv(kDev, kInvPriority));
    test("its-inv-priority", masked && taken_on(kInvPriority, 0, 1) && taken_priority[0][kInvPriority] == 0x80,
         seen(kInvPriority));

    set_property(kInvEnable, property(kPriority, false));
    send(cmd::inv(kDev, kInvEnable), cmd::int_(kDev, kInvEnable));
    settle();
    const bool disabled = total(kInvEnable) == 0;
    set_property(kInvEnable, property(kPriority, true));
    send(cmd::inv(kDev, kInvEnable));
    test("its-inv-enable", disabled && taken_on(kInvEnable, 0, 1));

    set_property(kInvallA, property(kPriority, false));
    set_property(kInvallB, property(kMasked, true));
    send(cmd::invall(0), cmd::int_(kDev, kInvallA), cmd::int_(kDev, kInvallB));
    settle();
    const bool both_held = total(kInvallA) == 0 && total(kInvallB) == 0;
    set_property(kInvallA, property(kPriority, true));
    set_property(kInvallB, property(kPriority, true));
    send(cmd::invall(0));
    const bool a = taken_on(kInvallA, 0, 1);
    test("its-invall", both_held && a && taken_on(kInvallB, 0, 1), a ? seen(kInvallB) : seen(kInvallA));

    if (!native) { // vireo: GICR_INVLPIR and GICR_INVALLR without DirectLPI
        const uint64_t rd = redistributor(0);
        const auto synced = [rd] { return wait_until([rd] { return (gic::read32(rd + kGicrSyncr) & 1) == 0; }); };
        set_property(kInvlpir, property(kPriority, false));
        write64(rd + kGicrInvlpir, kFirstLpi + kInvlpir);
        const bool sync1 = synced();
        send(cmd::int_(kDev, kInvlpir));
        settle();
        const bool off = total(kInvlpir) == 0;
        set_property(kInvlpir, property(kPriority, true));
        write64(rd + kGicrInvlpir, kFirstLpi + kInvlpir);
        test("its-gicr-invlpir", sync1 && synced() && off && taken_on(kInvlpir, 0, 1));
        set_property(kInvlpir, property(kPriority, false));
        write64(rd + kGicrInvallr, 0);
        synced();
        send(cmd::int_(kDev, kInvlpir));
        settle();
        const bool off_again = total(kInvlpir) == 1;
        set_property(kInvlpir, property(kPriority, true));
        write64(rd + kGicrInvallr, 0);
        test("its-gicr-invallr", synced() && off_again && taken_on(kInvlpir, 0, 2));
    }
}

void check_clear_and_discard()
{
    set_pmr(0, 0);
    send(cmd::int_(kDev, kClearMasked));
    settle();
    send(cmd::clear(kDev, kClearMasked));
    set_pmr(0, 0xf0);
    settle();
    test("its-clear-pending-masked-by-priority", total(kClearMasked) == 0, seen(kClearMasked));

    set_property(kClearDisabled, property(kPriority, false));
    send(cmd::inv(kDev, kClearDisabled), cmd::int_(kDev, kClearDisabled));
    settle();
    send(cmd::clear(kDev, kClearDisabled));
    set_property(kClearDisabled, property(kPriority, true));
    send(cmd::inv(kDev, kClearDisabled));
    settle();
    test("its-clear-pending-disabled", total(kClearDisabled) == 0, seen(kClearDisabled));

    send(cmd::int_(kDev, kDiscard));
    const bool before = taken_on(kDiscard, 0, 1);
    send(cmd::discard(kDev, kDiscard), cmd::int_(kDev, kDiscard));
    settle();
    test("its-discard-then-int-raises-nothing", before && total(kDiscard) == 1);

    set_pmr(0, 0);
    send(cmd::int_(kDev, kDiscardPending));
    settle();
    send(cmd::discard(kDev, kDiscardPending));
    set_pmr(0, 0xf0);
    settle();
    test("its-discard-clears-pending", total(kDiscardPending) == 0, seen(kDiscardPending));
}

void check_movi_and_movall()
{
    const uint32_t to = cpus > 2 ? 2 : 0;
    send(cmd::int_(kDev, kMovi));
    const bool before = taken_on(kMovi, 0, 1);
    send(cmd::mapc(kIcidMove, rdbase[to]), cmd::movi(kDev, kMovi, kIcidMove), cmd::int_(kDev, kMovi));
    const bool twice = wait_until([] { return total(kMovi) == 2; });
    settle();
    test("its-movi", before && twice && total(kMovi) == 2 && taken[to][kMovi] == (to == 0 ? 2 : 1), seen(kMovi));

    // MOVI of a pending LPI takes its pending state along (the MOVI command, chapter 6).
    set_pmr(to, 0);
    send(cmd::int_(kDev, kMovi));
    settle();
    const bool held_there = total(kMovi) == 2;
    send(cmd::movi(kDev, kMovi, 0));
    const auto three = [] { return total(kMovi) == 3; };
    const bool moved = to == 0 || wait_until(three); // taken at vCPU 0 while `to` still masks it
    set_pmr(to, 0xf0);
    wait_until(three);
    settle();
    test("its-movi-moves-pending", held_there && moved && total(kMovi) == 3 && taken[0][kMovi] == (to == 0 ? 3 : 2),
         seen(kMovi));

    // MOVALL moves what is pending at one redistributor to another, for
    // a collection remapped there (the MOVALL command, chapter 6).
    const uint32_t from = to, dest = cpus > 3 ? 3 : to;
    send(cmd::mapc(kIcidMovall, rdbase[from]));
    set_pmr(from, 0);
    send(cmd::int_(kDev, kMovall));
    settle();
    const bool held = total(kMovall) == 0;
    send(cmd::mapc(kIcidMovall, rdbase[dest]), cmd::movall(rdbase[from], rdbase[dest]));
    set_pmr(from, 0xf0);
    test("its-movall", held && taken_on(kMovall, dest, 1), seen(kMovall));
}

/// Commands that break the rules: each ignored (a command error, GITS_TYPER.SEIS = 0), an
/// INT after it raises nothing, and the queue goes on.
void check_bad_commands()
{
    const uint32_t basic = total(kBasic);
    const uint32_t dev_limit = typer.device_bits >= 32 ? 0 : 1u << typer.device_bits;
    const uint32_t bad = kBadEventIds;
    send(cmd::mapd(dev_limit, itt(5), 5), cmd::mapti(dev_limit, 0, kFirstLpi + bad, 0), cmd::int_(dev_limit, 0),
         cmd::mapd(5, itt(5), typer.event_bits + 1), // Size beyond ID_bits
         cmd::mapti(5, 0, kFirstLpi + bad + 1, 0), cmd::int_(5, 0), cmd::mapti(kDev, 32, kFirstLpi + bad + 2, 0),
         cmd::int_(kDev, 32),                                              // EventID beyond the ITT
         cmd::mapti(kDev, bad + 3, 100, 0), cmd::int_(kDev, bad + 3),      // pINTID not an LPI
         cmd::mapti(kDev, bad + 4, 1u << 16, 0), cmd::int_(kDev, bad + 4), // pINTID beyond 16 bits
         cmd::mapc(0xffff, rdbase[0]), cmd::mapti(kDev, bad + 5, kFirstLpi + bad + 5, 0xffff),
         cmd::int_(kDev, bad + 5), // ICID beyond its table
         cmd::mapc(6, 200), cmd::mapti(kDev, bad + 6, kFirstLpi + bad + 6, 6), cmd::int_(kDev, bad + 6), // no vCPU 200
         cmd::int_(kDev, bad + 7),                                                                       // never mapped
         cmd::raw(0xff), cmd::raw(0x02));                                                                // not commands
    if (!native) { // vireo: its own limits, 64 collections and 1024 LPIs
        send(cmd::mapc(64, rdbase[0]), cmd::mapti(kDev, bad + 8, kFirstLpi + bad + 8, 64), cmd::int_(kDev, bad + 8),
             cmd::mapti(kDev, bad + 9, kFirstLpi + kLpis, 0), cmd::int_(kDev, bad + 9));
    }
    send(cmd::int_(kDev, kGoodAfterBad));
    test("its-good-command-after-bad-ones", taken_on(kGoodAfterBad, 0, 1));
    uint32_t raised = 0;
    for (uint32_t lpi = bad; lpi < bad + 16; lpi++) {
        raised += total(lpi);
    }
    test("its-bad-commands-ignored", raised == 0 && total(kBasic) == basic && strays == 0);
}

/// vireo: at most 64 devices mapped at once; unmapping one makes room.
void check_device_limit()
{
    constexpr uint32_t kFirstExtra = 100, kMapped = 4; // kDev, kDevMapi, kDevWrap, cpu_device
    constexpr uint32_t kBeyond = kFirstExtra + 64 - kMapped;
    bool ok = true;
    for (uint32_t d = kFirstExtra; d < kBeyond; d++) {
        ok = queue.push(cmd::mapd(d, itt(1), 1)) && ok;
    }
    send(cmd::mapd(kBeyond, itt(1), 1), cmd::mapti(kBeyond, 0, kFirstLpi + kLimitLpi, 0), cmd::int_(kBeyond, 0));
    settle();
    const bool refused = total(kLimitLpi) == 0;
    send(cmd::mapd(kFirstExtra, 0, 1, false), cmd::mapd(kBeyond, itt(1), 1),
         cmd::mapti(kBeyond, 0, kFirstLpi + kLimitLpi, 0), cmd::int_(kBeyond, 0));
    test("its-at-most-64-devices", ok && refused && taken_on(kLimitLpi, 0, 1), seen(kLimitLpi));
    for (uint32_t d = kFirstExtra; d <= kBeyond; d++) {
        queue.push(cmd::mapd(d, 0, 1, false)); // room again for the two-level tables' devices
    }
    queue.drain();
}

/// More commands than the queue holds, in batches that each leave the ITS
/// behind: GITS_CWRITER wraps to the queue's start several times.
void check_queue_wraps()
{
    constexpr uint32_t kRounds = 4;
    bool each_round = true;
    for (uint32_t round = 1; round <= kRounds; round++) {
        const uint32_t commands = static_cast<uint32_t>(queue.size() / 32) * 3 / 4;
        bool ok = true;
        for (uint32_t i = 0; i < commands; i++) {
            ok = queue.push(i < 32 ? cmd::int_(kDevWrap, i) : cmd::sync(rdbase[0])) && ok;
        }
        ok = queue.drain() && ok;
        for (uint32_t e = 0; e < 32 && ok; e++) {
            const uint32_t lpi = kWrapLpi + e;
            ok = wait_until([lpi, round] { return taken[0][lpi] >= round; });
        }
        each_round = each_round && ok;
    }
    settle();
    bool exact = true;
    for (uint32_t e = 0; e < 32; e++) {
        exact = exact && total(kWrapLpi + e) == kRounds;
    }
    test("its-queue-wraps", each_round && exact);
}

/// vireo: a GITS_CWRITER beyond the queue stalls it until a valid one.
void check_cwriter_beyond_queue()
{
    set_reg(kCwriter, queue.size());
    const bool stalled = queue.stalled();
    queue.resync();
    queue.publish();
    const bool resumed = !queue.stalled();
    test("its-cwriter-beyond-queue-stalls", stalled && resumed);
    send(cmd::int_(kDev, kBasic));
    test("its-queue-works-after-stall", taken_on(kBasic, 0, 2));
}

/// Two-level tables (GITS_BASER<n>.Indirect): a DeviceID or ICID whose level-1 entry is not
/// valid cannot be mapped; once the guest gives it a level-2 page it can.
void check_two_level_tables()
{
    disable_its();
    const uint64_t device_l2_entries = 0x1000 / device_entry;
    const uint64_t device_l1 = allocate(0x1000, 0x1000);
    const uint64_t collection_l1 = allocate(0x1000, 0x1000);
    set_reg(device_baser, baser::make(device_l1, 1, true));
    set_reg(collection_baser, baser::make(collection_l1, 1, true));
    const bool indirect = (reg(device_baser) & baser::kIndirect) && (reg(collection_baser) & baser::kIndirect);
    queue.init(allocate(0x1000, 0x1000), 1);
    enable_its();
    auto* device_l1_entries = reinterpret_cast<volatile uint64_t*>(device_l1);
    auto* collection_l1_entries = reinterpret_cast<volatile uint64_t*>(collection_l1);
    const uint32_t target = cpus - 1;
    // The level-1 entries still invalid: nothing can be mapped.
    send(cmd::mapc(0, rdbase[0]), cmd::mapc(kIcidTwoLevel, rdbase[target]), cmd::mapd(kDevBig, itt(4), 4),
         cmd::mapti(kDevBig, 0, kFirstLpi + kTwoLevelLpi, 0), cmd::int_(kDevBig, 0));
    settle();
    const bool nothing = total(kTwoLevelLpi) == 0;
    device_l1_entries[kDevBig / device_l2_entries] = kValid | allocate(0x1000, 0x1000);
    device_l1_entries[cpu_device / device_l2_entries] = kValid | allocate(0x1000, 0x1000);
    collection_l1_entries[0] = kValid | allocate(0x1000, 0x1000);
    asm volatile("dsb st" ::: "memory");
    send(cmd::mapc(0, rdbase[0]), cmd::mapc(kIcidTwoLevel, rdbase[target]), cmd::mapd(kDevBig, itt(4), 4),
         cmd::mapti(kDevBig, 0, kFirstLpi + kTwoLevelLpi, kIcidTwoLevel), cmd::int_(kDevBig, 0),
         cmd::mapd(cpu_device, 0, 1, false), cmd::mapd(cpu_device, itt(8), 8),
         cmd::mapti(cpu_device, 7, kFirstLpi + kTwoLevelLpi + 1, 0));
    gic::write32(kTranslater, 7);
    test("its-two-level-tables",
         indirect && nothing && taken_on(kTwoLevelLpi, target, 1) && taken_on(kTwoLevelLpi + 1, 0, 1));
}

/// vireo: tables outside the VM's RAM are never used, and Vireo goes on.
void check_tables_outside_ram()
{
    // An ITT outside RAM or across its end.
    send(cmd::mapd(6, kOutside, 4), cmd::mapti(6, 0, kFirstLpi + kTableLpi, 0), cmd::int_(6, 0),
         cmd::mapd(7, kRamEnd - 0x40, 4), cmd::mapti(7, 0, kFirstLpi + kTableLpi, 0), cmd::int_(7, 0));
    settle();
    test("its-itt-outside-ram-ignored", total(kTableLpi) == 0);

    // A device table outside RAM.
    disable_its();
    const uint64_t good_devices = reg(device_baser);
    set_reg(device_baser, baser::make(kOutside, 16, false));
    enable_its();
    send(cmd::mapd(8, itt(4), 4), cmd::mapti(8, 0, kFirstLpi + kTableLpi + 1, 0), cmd::int_(8, 0));
    settle();
    test("its-device-table-outside-ram-ignored", total(kTableLpi + 1) == 0);

    // A command queue outside RAM: nothing runs, until a good one.
    disable_its();
    set_reg(device_baser, good_devices);
    set_reg(kCbaser, kValid | kOutside);
    set_reg(kCwriter, 0);
    enable_its();
    set_reg(kCwriter, 0x40);
    settle();
    test("its-cbaser-outside-ram-runs-nothing", (reg(kCreadr) & kQueueOffsetMask) == 0, hex(reg(kCreadr)));
    disable_its();
    queue.init(allocate(0x1000, 0x1000), 1);
    enable_its();
    send(cmd::int_(kDevBig, 0));
    test("its-good-queue-after-bad-one", taken_on(kTwoLevelLpi, cpus - 1, 2));
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = gic::acknowledge() & 0xffffff;
    uint64_t rpr;
    asm volatile("mrs %0, icc_rpr_el1" : "=r"(rpr));
    if (iar >= kFirstLpi && iar < kFirstLpi + kLpis) {
        const uint64_t cpu = cpu_id();
        taken[cpu][iar - kFirstLpi] = taken[cpu][iar - kFirstLpi] + 1;
        taken_priority[cpu][iar - kFirstLpi] = static_cast<uint32_t>(rpr);
    } else if (iar != gic::kSpurious) {
        strays = strays + 1;
    }
    gic::end(iar);
}

extern "C" void guest_secondary(uint64_t cpu, uint64_t)
{
    gic::enable_cpu_interface();
    asm volatile("msr daifclr, #2");
    ready[cpu] = 1;
    while (finished == 0) {
        const uint32_t wanted = pmr_wanted[cpu];
        if (wanted != pmr_applied[cpu]) {
            asm volatile("msr icc_pmr_el1, %0\n\tisb" ::"r"(uint64_t{wanted}));
            pmr_applied[cpu] = wanted;
        }
        call(kHcYield);
    }
    asm volatile("msr daifset, #2");
}

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    native = call(kHcUid) != 0x7669726f;
    if (native) {
        use_pl011_console(0x09000000);
    }
    cpus = count_cpus(dtb);
    cpu_device = native ? 0 : kCpuDevice;
    print("its: %s, %u vCPU%s\n", native ? "native" : "under Vireo", cpus, cpus == 1 ? "" : "s");
    if (!gic::v3()) {
        test("its-gicv3", false);
        return;
    }
    check_dtb(dtb);
    if (!check_distributor()) {
        return;
    }
    typer = Typer::read();
    check_id_registers();
    probe_tables();

    gic::enable_distributor();
    gic::enable_cpu_interface();
    asm volatile("msr daifclr, #2");
    for (uint64_t cpu = 1; cpu < cpus; cpu++) {
        pmr_wanted[cpu] = 0xf0;
        pmr_applied[cpu] = 0xf0;
        call(kPsciCpuOn, cpu, reinterpret_cast<uint64_t>(secondary_entry), 0);
    }
    wait_until([] {
        uint32_t n = 1;
        for (uint32_t cpu = 1; cpu < cpus; cpu++) {
            n += ready[cpu];
        }
        return n == cpus;
    });

    // LPI tables: every LPI enabled at kPriority; vCPU 0's pending table
    // with kPresetLpi's bit set and PTZ = 0, so EnableLPIs picks it up.
    properties = reinterpret_cast<uint8_t*>(allocate(0x2000, 0x1000)); // byte n: INTID 8192 + n
    for (uint32_t lpi = 0; lpi < kLpis; lpi++) {
        properties[lpi] = property(kPriority, true);
    }
    for (uint32_t cpu = 0; cpu < cpus; cpu++) {
        pending[cpu] = allocate(0x10000, 0x10000);
    }
    reinterpret_cast<volatile uint8_t*>(pending[0])[(kFirstLpi + kPresetLpi) / 8] = 1u << (kPresetLpi % 8);

    flat_tables();
    queue.init(allocate(0x1000, 0x1000), 1);
    test("its-enabled", enable_its());
    test("its-map", send_ok("the mappings", map_all()));

    // The last vCPU's LPIs are still disabled: an LPI for it raises nothing.
    send(cmd::int_(kDev, kDisabled));
    settle();
    test("its-lpis-disabled-raise-nothing", total(kDisabled) == 0);
    if (!native) {
        hostile_lpi_tables(cpus - 1);
    }
    bool enabled = true;
    for (uint32_t cpu = 0; cpu < cpus; cpu++) {
        set_lpi_tables(cpu, reinterpret_cast<uint64_t>(properties), pending[cpu] | (cpu == 0 ? 0 : kPendbaserPtz));
        enable_lpis(cpu);
        enabled = enabled && lpis_enabled(cpu);
    }
    test("its-enable-lpis", enabled);
    test("its-pending-table-preset-bit-taken", taken_on(kPresetLpi, 0, 1));

    check_int_and_mapi();
    if (!native) { // early: its log line comes before the bad commands spend the VM's log budget
        check_cwriter_beyond_queue();
    }
    check_priority_and_enable();
    check_clear_and_discard();
    check_movi_and_movall();
    check_bad_commands();
    check_queue_wraps();
    if (!native) {
        check_device_limit();
    }
    check_two_level_tables();
    if (!native) {
        check_tables_outside_ram();
    }
    test("its-no-stray-interrupts", strays == 0);
    finished = 1;
}
