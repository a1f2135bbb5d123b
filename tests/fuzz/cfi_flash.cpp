// The CFI flash bank (kernel/devices/flash/cfi_flash.cpp) under any command
// sequence: accesses outside the bank are refused, programming only ever
// clears bits, only an erase sets them and then a whole sector, the
// reported changed range covers every byte that changed, and a read-array
// read returns the bytes themselves.
#include <vector>

#include "kernel/devices/flash/cfi_flash.hpp"
#include "tests/fuzz/input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    constexpr uint64_t kSectors = 2;
    constexpr uint64_t kBank = kSectors * CfiFlash::kSectorSize;
    std::vector<uint8_t> bytes(kBank, 0xff);
    std::vector<uint8_t> locks(kSectors, 0);
    CfiFlash flash(bytes.data(), kBank, locks.data());
    // Commands the drivers use, so that sequences reach every mode.
    static const uint8_t kCommands[] = {0xff, 0x70, 0x50, 0x90, 0x98, 0x40, 0x10, 0xe8, 0x20, 0xd0, 0x60, 0x01, 0x2f};
    for (int op = 0; op < 64 && !in.done(); op++) {
        const unsigned width = 1u << in.below(4);
        const uint64_t offset = in.flag() ? in.u32() % (kBank + 16) : (in.u16() & 0xfff) * 4;
        uint64_t value = in.flag() ? kCommands[in.below(sizeof kCommands)] * 0x10001ull : in.u64();
        if (in.flag()) {
            const bool array = flash.array_mode();
            uint64_t got = 0;
            const bool ok = flash.read(offset, width, got);
            FUZZ_CHECK(ok == (offset % width == 0 && offset + width <= kBank));
            if (ok && array) {
                uint64_t want = 0;
                for (unsigned i = 0; i < width; i++) {
                    want |= uint64_t{bytes[offset + i]} << (8 * i);
                }
                FUZZ_CHECK(got == want);
            }
            continue;
        }
        const std::vector<uint8_t> before = bytes;
        const bool ok = flash.write(offset, width, value);
        FUZZ_CHECK(ok == (offset % width == 0 && offset + width <= kBank));
        for (uint64_t i = 0; i < kBank; i++) {
            if (bytes[i] == before[i]) {
                continue;
            }
            FUZZ_CHECK(i >= flash.changed_begin() && i < flash.changed_end());
            if ((bytes[i] & ~before[i]) != 0) { // a bit set: only by erasing its whole sector
                const uint64_t sector = i - i % CfiFlash::kSectorSize;
                for (uint64_t j = sector; j < sector + CfiFlash::kSectorSize; j++) {
                    FUZZ_CHECK(bytes[j] == 0xff);
                }
            }
        }
    }
    return 0;
}
