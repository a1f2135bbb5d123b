// The guest's view of a PCIe function's config space and the virtual ECAM
// (kernel/devices/pci/), against a function whose config bytes, capability
// list and BAR placement come from the input, every bit of it writable (so
// nothing the hardware would drop hides a write that should not happen).
// Any accesses of any size, at any offset, to held and absent functions,
// with resets between. Asserted after every access: the physical BARs, the
// ROM BAR and every other header register but Command are never written;
// Command's I/O Space never set, its bits a guest may not change keep their
// values, and Status error bits are cleared only by the guest's own 1s in
// Status; nothing reaches a hidden capability (power management, MSI,
// MSI-X), extended config space or a capability that takes no writes; the
// PCI Express capability's Device Control never gets Initiate FLR; bytes a
// guest did not write are written with their current values; hidden
// registers read 0, absent functions all-ones; the capability list a guest
// walks ends, holds no hidden capability and agrees with Status; a BAR the
// guest moves stays aligned to its size, and a reset puts it back.
#include <cstring>

#include "kernel/devices/pci/config_space.hpp"
#include "kernel/devices/pci/virtual_ecam.hpp"
#include "tests/fuzz/input.hpp"

namespace {

constexpr uint32_t kCommandGuest = 0x0546;
constexpr uint32_t kStatusW1c = 0xf900;

/// What the harness makes of the function as it was at init(), on its own:
/// the capability list walked with the same rules, and which dwords of
/// 0x40-0xff a write may reach.
struct Oracle {
    bool hidden[64] = {};      // a power management, MSI or MSI-X register
    bool vendor[64] = {};      // inside a vendor-specific capability's length
    bool dev_control[64] = {}; // a PCI Express capability's Device Control
    bool dev_control2[64] = {};

    void learn(const uint32_t* regs)
    {
        if ((regs[1] >> 16 & 0x10) == 0) {
            return;
        }
        bool seen[64] = {};
        uint32_t at = regs[0x34 / 4] & 0xff;
        for (int n = 0; n < 48 && at >= 0x40 && at % 4 == 0 && !seen[at / 4]; n++) {
            seen[at / 4] = true;
            const uint32_t header = regs[at / 4];
            const uint32_t id = header & 0xff;
            const uint32_t upper = header >> 16;
            unsigned dwords = 0;
            bool* mark = hidden;
            if (id == 0x01) {
                dwords = 2;
            } else if (id == 0x05) {
                dwords = 3 + ((upper >> 7) & 1) + 2 * ((upper >> 8) & 1);
            } else if (id == 0x11) {
                dwords = 3;
            } else if (id == 0x09) {
                dwords = (upper & 0xff) > 4 ? ((upper & 0xff) + 3) / 4 : 1; // at least its header
                mark = vendor;
            } else if (id == 0x10) {
                dev_control[(at + 8) / 4 % 64] |= at + 8 < 0x100;
                dev_control2[(at + 0x28) / 4 % 64] |= at + 0x28 < 0x100;
            }
            for (unsigned d = at / 4; d < at / 4 + dwords && d < 64; d++) {
                mark[d] = true;
            }
            at = header >> 8 & 0xff;
        }
    }
};

/// The guest access under way, for the function to judge what reaches it.
struct Access {
    uint32_t offset = 0; // in the function's config space
    uint32_t bytes = 0;  // lanes of its dword
    uint32_t data = 0;   // the value in those lanes
};

class FakeFunction final : public PciFunction {
public:
    uint32_t read32(uint32_t offset) override
    {
        FUZZ_CHECK(offset % 4 == 0 && offset < PciConfigSpace::kSize);
        return regs[offset / 4];
    }
    void write32(uint32_t offset, uint32_t value) override
    {
        FUZZ_CHECK(offset % 4 == 0 && offset < 0x100);                     // no extended space
        FUZZ_CHECK(access != nullptr && (access->offset & ~3u) == offset); // only where the guest wrote
        const uint32_t old = regs[offset / 4];
        const uint32_t d = offset / 4;
        if (offset == 0x04) {
            FUZZ_CHECK((value & 1) == 0); // I/O Space
            FUZZ_CHECK((value & 0xffff & ~kCommandGuest) == (old & 0xfffe & ~kCommandGuest));
            FUZZ_CHECK((value >> 16 & ~(access->data & access->bytes) >> 16) == 0); // Status: the guest's 1s
            FUZZ_CHECK((value >> 16 & ~kStatusW1c) == 0);
            FUZZ_CHECK(((value ^ old) & 0xffff & ~access->bytes & kCommandGuest) == 0);
        } else {
            FUZZ_CHECK(offset >= 0x40);     // no other header register: BARs, ROM, BIST, ...
            FUZZ_CHECK(!oracle.hidden[d]);  // no hidden capability
            uint32_t kept = ~access->bytes; // unwritten bytes: their current values
            if (oracle.dev_control[d]) {
                FUZZ_CHECK((value & 0xffff8000) == 0); // no FLR; Device Status (RW1C) written 0
                kept &= 0x7fff;                        // a set FLR bit is not written back
            } else if (oracle.dev_control2[d]) {
                FUZZ_CHECK((value >> 16) == 0);
                kept &= 0xffff;
            } else {
                FUZZ_CHECK(oracle.vendor[d]);
            }
            FUZZ_CHECK(((value ^ old) & kept) == 0);
        }
        regs[d] = value;
    }

    uint32_t regs[PciConfigSpace::kSize / 4] = {};
    Oracle oracle;
    const Access* access = nullptr;
};

// A virtio-net-pci-like function: PM, vendor capabilities, MSI-X, PCI
// Express, MSI, extended capabilities at 0x100.
void template_function(uint32_t* regs)
{
    const uint32_t dwords[][2] = {
        {0x00, 0x10411af4}, {0x04, 0x00100000}, {0x08, 0x02000001}, {0x14, 0x10040000},  {0x20, 0x0000000c},
        {0x24, 0x00000080}, {0x2c, 0x11001af4}, {0x34, 0x40},       {0x3c, 0x0000010b},  {0x40, 0x00034801},
        {0x48, 0x01105809}, {0x58, 0x02147009}, {0x70, 0x00038011}, {0x80, 0x0002c010},  {0x84, 0x10008fc0},
        {0xc0, 0x0514d409}, {0xd4, 0x0180ec05}, {0xec, 0x03060013}, {0x100, 0x14010001}, {0x140, 0x00010010},
    };
    for (const auto& [offset, value] : dwords) {
        regs[offset / 4] = value;
    }
}

PciBar random_bar(FuzzInput& in)
{
    PciBar bar;
    switch (in.below(4)) {
    case 0: break; // unimplemented
    case 1:
        bar.size = uint64_t{1} << (4 + in.below(28));
        bar.base = in.u32() & ~(bar.size - 1);
        break;
    case 2:
        bar.is64 = true;
        bar.size = uint64_t{1} << (4 + in.below(40));
        bar.base = in.u64() & ~(bar.size - 1) & ((uint64_t{1} << 48) - 1);
        break;
    case 3: bar.base = in.u64(), bar.size = in.u64(), bar.is64 = in.flag(); break;
    }
    bar.prefetchable = in.flag();
    return bar;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    static FakeFunction function; // 4 KiB: not on the stack
    function = FakeFunction();
    if (in.flag()) {
        template_function(function.regs);
    }
    // Bytes and dwords of the first 256 from the input: capability IDs and
    // pointers among them.
    for (uint32_t n = in.below(32); n > 0; n--) {
        const uint32_t at = in.u8();
        if (in.flag()) {
            function.regs[at / 4] = in.u32();
        } else {
            const uint32_t shift = 8 * (at % 4);
            function.regs[at / 4] = (function.regs[at / 4] & ~(0xffu << shift)) | uint32_t{in.u8()} << shift;
        }
    }
    if (in.flag()) {
        function.regs[1] |= 0x10u << 16; // capabilities list
    }
    function.oracle.learn(function.regs);
    uint32_t initial[64]; // capability IDs as at init(), before guest writes change the fake's
    memcpy(initial, function.regs, sizeof initial);
    PciBar bars[PciConfigSpace::kBars];
    for (PciBar& bar : bars) {
        bar = random_bar(in);
    }
    static PciConfigSpace space;
    space.init(function, bars);
    VirtualEcam ecam;
    const uint32_t devfn = in.below(256);
    FUZZ_CHECK(ecam.add(devfn >> 3, devfn & 7, space));
    const uint32_t rom = function.regs[0x30 / 4];

    for (int op = 0; op < 96 && !in.done(); op++) {
        const uint8_t kind = in.u8();
        if (kind % 16 == 15) {
            ecam.reset();
            FUZZ_CHECK(!space.bus_master());
            for (unsigned i = 0; i < PciConfigSpace::kBars; i++) {
                FUZZ_CHECK(space.guest_bar(i) == bars[i].base); // back where Vireo placed them
            }
            continue;
        }
        const bool held = kind % 16 != 14;
        const uint32_t target = held ? devfn : in.below(256);
        const unsigned width = 1u << in.below(4);
        uint32_t offset = in.flag() ? in.u8() : in.u16() % PciConfigSpace::kSize;
        if (!in.flag()) {
            offset &= ~(width - 1);
        }
        const uint64_t at = uint64_t{target} << 12 | offset;
        const bool ok = width <= 4 && offset % width == 0;
        if (kind & 0x80) { // a write
            const uint64_t value = in.u64();
            const uint32_t lanes = width >= 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
            const Access access{offset, lanes << (8 * (offset % 4)),
                                (static_cast<uint32_t>(value) & lanes) << (8 * (offset % 4))};
            function.access = target == devfn ? &access : nullptr;
            FUZZ_CHECK(ecam.write(0, at, width, value) == ok);
            function.access = nullptr;
            if (!ok) {
                ecam.refusal(at, width, true);
            }
            for (unsigned i = 0; i < PciConfigSpace::kBars; i++) {
                // A guest-moved BAR stays aligned to its size (the VM maps it whole there).
                const uint64_t size = bars[i].size;
                const bool placed = size != 0 && (size & (size - 1)) == 0 && bars[i].base % size == 0;
                FUZZ_CHECK(placed ? space.guest_bar(i) % size == 0 : space.guest_bar(i) == bars[i].base);
            }
            continue;
        }
        uint64_t value = 0;
        FUZZ_CHECK(ecam.read(0, at, width, value) == ok);
        if (!ok) {
            continue;
        }
        const uint64_t ones = width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
        if (target != devfn) {
            FUZZ_CHECK(value == ones); // absent
            continue;
        }
        const uint32_t reg = offset & ~3u;
        if (reg >= 0x100 || reg == 0x30 || (reg >= 0x40 && function.oracle.hidden[reg / 4])) {
            FUZZ_CHECK(value == 0);
        }
        if (reg == 0x04 && offset < 0x06) {
            FUZZ_CHECK((value << (8 * (offset % 4)) & ~kCommandGuest & 0xffff) == 0); // I/O Space never shown
        }
    }
    FUZZ_CHECK(function.regs[0x30 / 4] == rom);

    // The list the guest walks: sound, nothing hidden on it, what Status says.
    uint32_t status = 0;
    uint32_t at = 0;
    FUZZ_CHECK(space.read(0x06, 2, status) && space.read(0x34, 1, at));
    FUZZ_CHECK(((status & 0x10) != 0) == (at != 0));
    bool seen[64] = {};
    while (at != 0) {
        FUZZ_CHECK(at >= 0x40 && at < 0x100 && at % 4 == 0 && !seen[at / 4]);
        FUZZ_CHECK(!function.oracle.hidden[at / 4]);
        seen[at / 4] = true;
        const uint32_t id = initial[at / 4] & 0xff;
        FUZZ_CHECK(id != 0x01 && id != 0x05 && id != 0x11);
        FUZZ_CHECK(space.read(at + 1, 1, at));
    }
    return 0;
}
