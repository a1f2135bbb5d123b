// Where Vireo moves itself, its DTB and the boot package at boot
// (platform/boot_place.cpp): the top of RAM, clear of everything that must
// stay, so the RAM base is free for identity-mapped VMs.
#include <gtest/gtest.h>

#include <vector>

#include "platform/boot_place.hpp"

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kLimit = 0x70'0000'0000;

struct Machine {
    std::vector<Range> banks;
    std::vector<Range> reserved;
    boot_place::Inputs inputs(Range image, Range dtb, Range package) const
    {
        boot_place::Inputs in;
        in.banks = banks.data();
        in.bank_count = banks.size();
        in.reserved = reserved.data();
        in.reserved_count = reserved.size();
        in.image = image;
        in.dtb = dtb;
        in.package = package;
        in.limit = kLimit;
        return in;
    }
};

bool apart(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) { return a + a_size <= b || b + b_size <= a; }

TEST(BootPlace, QemuVirtGoesToTheTopInOneBlock)
{
    // QEMU virt, 1 GiB: Vireo at 0x40200000, the package at 0x48000000, the DTB after it.
    const Machine m{{{0x40000000, 1024 * kMiB}}, {}};
    const Range image{0x40200000, 0x101000}, dtb{0x48200000, kMiB}, package{0x48000000, 0x1f0000};
    const boot_place::Plan p = boot_place::plan(m.inputs(image, dtb, package));
    ASSERT_TRUE(p.move) << p.why;
    EXPECT_EQ(p.image, 0x7fe00000u) << "2 MiB-aligned, at the very top";
    EXPECT_EQ(p.dtb, 0x7fd00000u);
    EXPECT_EQ(p.package, 0x7fd00000u - 0x1f0000u);
    EXPECT_EQ(p.package % 4096, 0u);
}

TEST(BootPlace, ReservedMemoryAndWhatIsThereNowAreStepped)
{
    // Firmware reserved the top 2 MiB; the loader put the package just under it.
    const Machine m{{{0x40000000, 1024 * kMiB}}, {{0x7fe00000, 2 * kMiB}}};
    const Range image{0x40200000, 0x101000}, dtb{0x40400000, 0x10000}, package{0x7f000000, 0xe00000};
    const boot_place::Plan p = boot_place::plan(m.inputs(image, dtb, package));
    ASSERT_TRUE(p.move) << p.why;
    const uint64_t top = p.image + 2 * kMiB;
    EXPECT_LE(top, 0x7f000000u) << "under the package as it is now, which is under the reserved range";
    EXPECT_TRUE(apart(p.package, package.size, package.base, package.size));
    EXPECT_TRUE(apart(p.package, top - p.package, 0x7fe00000, 2 * kMiB));
    EXPECT_EQ(p.image % (2 * kMiB), 0u);
}

TEST(BootPlace, TwoBanksAsOnTheRaspberryPi4TakeTheHighest)
{
    // Raspberry Pi 4 (4 GiB): low RAM below the VideoCore's, then above 1 GiB.
    const Machine m{{{0, 0x3b400000}, {0x40000000, 0xbc000000}}, {{0, 0x1000}}};
    const Range image{0x200000, 0x101000}, dtb{0x2eff2e00, 0xc000}, package{0x2e000000, 0x600000};
    const boot_place::Plan p = boot_place::plan(m.inputs(image, dtb, package));
    ASSERT_TRUE(p.move) << p.why;
    EXPECT_EQ(p.image, 0xfbe00000u);
    EXPECT_GE(p.package, 0x40000000u);
    EXPECT_EQ(p.dtb % 4096, 0u);
}

TEST(BootPlace, NothingMovesWithoutRoom)
{
    // 4 MiB of RAM holding the image: no other 2 MiB-aligned place for it.
    const Machine m{{{0x40000000, 4 * kMiB}}, {}};
    const boot_place::Plan p =
        boot_place::plan(m.inputs({0x40200000, 0x101000}, {0x40000000, 0x10000}, {0x40100000, 0x10000}));
    EXPECT_FALSE(p.move);
    EXPECT_STREQ(p.why, "no free RAM holds them together");
}

TEST(BootPlace, AMisplacedPackageStaysToBeRefused)
{
    const Machine m{{{0x40000000, 1024 * kMiB}}, {}};
    const Range image{0x40200000, 0x101000}, dtb{0x48200000, kMiB};
    // Over the image, or outside RAM: left where it is.
    for (const Range package : {Range{0x40210000, 0x10000}, Range{0x10000000, kMiB}}) {
        const boot_place::Inputs in = m.inputs(image, dtb, package);
        EXPECT_FALSE(boot_place::package_movable(in));
        const boot_place::Plan p = boot_place::plan(in);
        ASSERT_TRUE(p.move);
        EXPECT_EQ(p.package, 0u);
        EXPECT_EQ(p.dtb, 0x7fd00000u);
    }
}

TEST(BootPlace, NothingAboveTheIdentityMapsEnd)
{
    const Machine m{{{0x40000000, 1024 * kMiB}, {0x70'0000'0000, 1024 * kMiB}}, {}};
    const boot_place::Plan p = boot_place::plan(m.inputs({0x40200000, 0x101000}, {0x48200000, kMiB}, {}));
    ASSERT_TRUE(p.move);
    EXPECT_EQ(p.image, 0x7fe00000u) << "RAM beyond 448 GiB is not in Vireo's map";
}

} // namespace
