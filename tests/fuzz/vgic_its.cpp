// The virtual ITS and the redistributors' LPIs (kernel/devices/gic/
// vgic_its.cpp, vgic_lpi.cpp): any sequence of guest register accesses,
// commands queued, table bytes written and device MSIs. Invariants: no
// guest address outside its RAM is ever reached (the fake RAM is all the
// RAM there is, AddressSanitizer watches it), no LPI is pending on a vCPU
// the VM does not have, and, once every cached property table is read
// again, no LPI is deliverable that the guest's table disables.
//
// Three DeviceIDs are the VM's passed-through functions, made real by a
// fake ItsHost that keeps the host translations the way kernel/vm/msi.cpp
// does (a MAPTI again replaces, an EventID beyond 2047 or a ninth
// translation is refused): map, move and unmap only for DeviceIDs it owns,
// move and unmap only for what is mapped, at most one translation per
// (DeviceID, EventID); a VM reset drops them all first (msi::stop, then
// the ITS's reset), and nothing the ITS forgot is moved or unmapped after.
// At the end a MAPD that unmaps each owned device, where the ITS takes it,
// must leave no host translation of it.
#include <algorithm>
#include <cstring>
#include <iterator>
#include <set>
#include <utility>

#include "kernel/devices/gic/vgic_its.hpp"
#include "kernel/devices/gic/vgic_lpi.hpp"
#include "tests/fake_ram.hpp"
#include "tests/fuzz/input.hpp"

namespace {

constexpr uint64_t kRam = 0x40000000;
constexpr uint64_t kRamSize = 1 << 20;

class Quiet final : public ItsReport {
public:
    uint32_t ignored = 0;
    void command_ignored(const ItsCommandError& e) override
    {
        FUZZ_CHECK(e.why != nullptr);
        ignored++;
    }
    void queue_stalled(const char* why) override { FUZZ_CHECK(why != nullptr); }
};

/// The host side of the VM's passed-through functions: DeviceIDs 0, 1 and
/// 0x10 (small ones, which random commands name most).
class FakeHost final : public ItsHost {
public:
    static constexpr uint32_t kOwned[] = {0, 1, 0x10};
    static constexpr size_t kCapacity = 8;
    uint32_t vcpus = 1;
    std::set<std::pair<uint32_t, uint32_t>> mapped;

    static bool owned(uint32_t device)
    {
        return std::find(std::begin(kOwned), std::end(kOwned), device) != std::end(kOwned);
    }
    size_t mapped_of(uint32_t device) const
    {
        return static_cast<size_t>(
            std::count_if(mapped.begin(), mapped.end(), [device](const auto& m) { return m.first == device; }));
    }

    bool owns(uint32_t device) override { return owned(device); }
    const char* map(uint32_t device, uint32_t event, int vcpu) override
    {
        FUZZ_CHECK(owned(device));
        FUZZ_CHECK(vcpu >= -1 && vcpu < static_cast<int>(vcpus));
        if (event >> 11) {
            return "EventID beyond 2047";
        }
        if (!mapped.contains({device, event}) && mapped.size() == kCapacity) {
            return "no host LPI left";
        }
        mapped.insert({device, event});
        return nullptr;
    }
    void move(uint32_t device, uint32_t event, uint32_t vcpu) override
    {
        FUZZ_CHECK(owned(device));
        FUZZ_CHECK(mapped.contains({device, event}));
        FUZZ_CHECK(vcpu < vcpus);
    }
    void unmap(uint32_t device, uint32_t event) override
    {
        FUZZ_CHECK(owned(device));
        FUZZ_CHECK(mapped.erase({device, event}) == 1);
    }
};

/// An address the guest might use: mostly in its RAM, sometimes anywhere.
uint64_t address(FuzzInput& in) { return in.below(8) != 0 ? kRam + (in.u32() % kRamSize) : in.u64(); }

// The registers a driver touches, so that most accesses reach one.
constexpr uint64_t kItsRegisters[] = {0x0,   0x4,   0x8,   0x80,  0x84,   0x88,   0x90,
                                      0x100, 0x104, 0x108, 0x110, 0xffe8, 0x10040};
constexpr uint64_t kRedistRegisters[] = {0x0, 0x70, 0x74, 0x78, 0x7c, 0xa0, 0xb0, 0xc0};

/// At the end, for each owned device: the queue (re)based at RAM's last
/// page, a MAPD with V = 0 in it, run; where the ITS takes it, no host
/// translation of the device is left.
void unmap_owned(VirtualIts& its, VirtualLpis& lpis, FakeRam<kRam, kRamSize>& ram, FakeHost& host)
{
    Quiet report;
    constexpr uint64_t kQueue = kRam + kRamSize - 4096;
    for (uint32_t device : FakeHost::kOwned) {
        its.write(0x0, 4, 0, lpis, ram, report);                    // disabled: GITS_CBASER is writable
        its.write(0x80, 8, 1ull << 63 | kQueue, lpis, ram, report); // GITS_CREADR back to 0
        its.write(0x88, 8, 0, lpis, ram, report);
        const uint64_t mapd[4] = {0x08 | uint64_t{device} << 32, 0, 0, 0};
        memcpy(ram.at(kQueue, sizeof mapd), mapd, sizeof mapd);
        its.write(0x0, 4, 1, lpis, ram, report);
        const uint32_t ignored = report.ignored;
        its.write(0x88, 8, sizeof mapd, lpis, ram, report);
        FUZZ_CHECK(report.ignored != ignored || host.mapped_of(device) == 0);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    static FakeRam<kRam, kRamSize> ram; // large: not on the stack
    static VirtualLpis lpis;
    static VirtualIts its;
    static FakeHost host;
    Quiet report;
    std::fill(ram.bytes.begin(), ram.bytes.end(), 0);
    const uint32_t vcpus = 1 + in.below(VirtualLpis::kMaxVcpus);
    host.vcpus = vcpus;
    host.mapped.clear(); // what a VM reset does first (msi::stop)
    its.set_host(&host);
    lpis.reset(vcpus);
    its.reset(vcpus);
    for (int op = 0; op < 96 && !in.done(); op++) {
        const unsigned width = in.flag() ? 8 : 4;
        uint64_t value = in.u64();
        uint64_t read = 0;
        const uint8_t kind = in.u8();
        if (kind == 0xff) { // the VM resets: the host's translations dropped, then the ITS's
            host.mapped.clear();
            lpis.reset(vcpus);
            its.reset(vcpus);
            continue;
        }
        switch (kind % 8) {
        case 0: { // a register of the ITS
            const uint64_t offset =
                in.flag() ? kItsRegisters[in.below(std::size(kItsRegisters))] : in.u32() % VirtualIts::kSize;
            if (in.flag()) {
                if ((offset & 0xfff) == 0x80 || (offset & 0xfff) == 0x100 || (offset & 0xfff) == 0x108) {
                    value = (value & ~0x0000fffffffff000ull) | (address(in) & 0x0000fffffffff000ull);
                }
                its.write(offset, width, value, lpis, ram, report);
            } else {
                its.read(offset, width, read, lpis, ram, report);
            }
            break;
        }
        case 1: {                                      // a redistributor's LPI registers
            const uint32_t vcpu = in.below(vcpus + 1); // one beyond: ignored
            const uint64_t offset = kRedistRegisters[in.below(std::size(kRedistRegisters))];
            if ((offset & ~7ull) == 0x70 || (offset & ~7ull) == 0x78) {
                value = (value & 0xfff) | (address(in) & ~0xfffull);
            }
            if (in.flag()) {
                lpis.write(vcpu, offset, width, value, ram);
            } else {
                lpis.read(vcpu, offset, width, read);
            }
            break;
        }
        case 2:
        case 3: { // a command written where the queue's next entry may be, CWRITER moved past it
            uint64_t cbaser = 0;
            its.read(0x80, 8, cbaser, lpis, ram, report);
            uint64_t cwriter = 0;
            its.read(0x88, 8, cwriter, lpis, ram, report);
            const uint64_t at = (cbaser & 0x000ffffffffff000ull) + cwriter;
            if (uint8_t* slot = ram.at(at, 32)) {
                uint64_t dw[4] = {(value & ~0xf0ull) | in.u8() % 16, in.u64(), in.u64(), in.u64()};
                // DW2: a MAPD's ITT in RAM, else an ICID and a small RDbase.
                dw[2] = static_cast<uint8_t>(dw[0]) == 0x08 ? kRam | (dw[2] & (1ull << 63 | 0xfff00))
                                                            : dw[2] & 0x80000000003fffffull;
                memcpy(slot, dw, sizeof dw);
            }
            its.write(0x88, 8, cwriter + 32 * (1 + in.below(3)), lpis, ram, report);
            break;
        }
        case 4: { // the guest writes its RAM: tables, ITTs, level-1 entries
            if (uint8_t* p = ram.at(kRam + in.u32() % (kRamSize - 8), 8)) {
                memcpy(p, &value, 8);
            }
            break;
        }
        case 5: its.translate(in.u32() & 0x1ffff, in.u32() & 0x1ffff, lpis); break;
        case 6: lpis.invalidate_all(in.below(vcpus + 1), ram); break;
        case 7: lpis.move_all(in.below(vcpus + 1), in.below(vcpus + 1)); break;
        }
        FUZZ_CHECK((its.take_raised() >> vcpus) == 0); // only vCPUs that exist
        its.take_changed();
    }
    unmap_owned(its, lpis, ram, host);
    for (uint32_t v = 0; v < VirtualLpis::kMaxVcpus; v++) {
        lpis.invalidate_all(v, ram);
        uint64_t propbaser = 0;
        lpis.read(v, 0x70, 8, propbaser);
        const uint8_t* table = ram.at(propbaser & 0x000ffffffffff000ull, VirtualLpis::kCount);
        for (uint32_t word = 0; word < VirtualLpis::kWords; word++) {
            const uint32_t mask = lpis.deliverable_mask(v, word);
            FUZZ_CHECK(v < vcpus || mask == 0);
            for (uint32_t bit = 0; bit < 32; bit++) {
                if ((mask >> bit) & 1) {
                    FUZZ_CHECK(lpis.enabled(v) && lpis.pending(v, VirtualLpis::kFirst + word * 32 + bit));
                    FUZZ_CHECK(table != nullptr && (table[word * 32 + bit] & 1)); // the guest's table enables it
                }
            }
        }
    }
    return 0;
}
