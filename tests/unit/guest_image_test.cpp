// The arm64 Image header as Vireo reads it, and where a Linux guest's
// kernel, initrd and DTB go in its RAM.
#include <cstdint>
#include <cstring>
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "kernel/loader/image.hpp"

using namespace linux_image;

namespace {

constexpr uint64_t kMiB = 1ull << 20;

void put_le(std::vector<uint8_t>& bytes, size_t at, uint64_t value, size_t width)
{
    for (size_t i = 0; i < width; i++) {
        bytes[at + i] = static_cast<uint8_t>(value >> (8 * i));
    }
}

/// A file of `file_size` bytes starting with an Image header.
std::vector<uint8_t> image_file(size_t file_size, uint64_t text_offset, uint64_t image_size, uint64_t flags,
                                uint32_t magic = kMagic)
{
    std::vector<uint8_t> file(file_size, 0xaa);
    put_le(file, 0, 0x14000010, 4); // code0: b +0x40, as a real kernel's
    put_le(file, 4, 0, 4);
    put_le(file, 8, text_offset, 8);
    put_le(file, 16, image_size, 8);
    put_le(file, 24, flags, 8);
    for (size_t reserved = 32; reserved < 56; reserved += 8) {
        put_le(file, reserved, 0, 8);
    }
    put_le(file, 56, magic, 4);
    return file;
}

struct Parsed {
    bool ok;
    ImageInfo info;
    std::string error;
};

Parsed parse_file(const std::vector<uint8_t>& file)
{
    Parsed result{};
    LoadError error;
    result.ok = parse(file.data(), file.size(), result.info, error);
    result.error = error.message;
    return result;
}

TEST(LinuxImage, HeaderGivesTextOffsetImageSizeAndFlags)
{
    // Little-endian, 4 KiB pages (1 << 1), placeable anywhere (1 << 3).
    const Parsed r = parse_file(image_file(0x1000, 0x0, 0x2000000, 0xa));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.info.text_offset, 0u);
    EXPECT_EQ(r.info.image_size, 0x2000000u);
    EXPECT_EQ(r.info.flags, 0xau);
    EXPECT_FALSE(r.info.legacy);
    EXPECT_EQ(r.info.page_size(), 4096u);
    EXPECT_TRUE(r.info.place_anywhere());
}

TEST(LinuxImage, PageSizeFieldDecodesToBytes)
{
    EXPECT_EQ(parse_file(image_file(64, 0, 4096, 0 << 1)).info.page_size(), 0u) << "unspecified";
    EXPECT_EQ(parse_file(image_file(64, 0, 4096, 2 << 1)).info.page_size(), 16384u);
    EXPECT_EQ(parse_file(image_file(64, 0, 4096, 3 << 1)).info.page_size(), 65536u);
    EXPECT_FALSE(parse_file(image_file(64, 0, 4096, 0)).info.place_anywhere());
}

TEST(LinuxImage, ImageSizeIsNeverLessThanTheFile)
{
    // A file with bytes after the kernel proper (padding, a signature).
    const Parsed r = parse_file(image_file(0x3000, 0x80000, 0x2000, 0));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.info.image_size, 0x3000u);
    EXPECT_EQ(r.info.text_offset, 0x80000u);
}

TEST(LinuxImage, ZeroImageSizeMeansAKernelBefore3_17WithTextOffset0x80000)
{
    // Such kernels had no flags; their text_offset field is not trusted.
    const Parsed r = parse_file(image_file(0x5000, 0x1234, 0, 0x1));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.info.legacy);
    EXPECT_EQ(r.info.text_offset, 0x80000u);
    EXPECT_EQ(r.info.image_size, 0x5000u) << "the file size";
    EXPECT_EQ(r.info.flags, 0u);
}

TEST(LinuxImage, RejectsAFileShorterThanTheHeader)
{
    std::vector<uint8_t> file = image_file(64, 0, 4096, 0);
    file.pop_back();
    const Parsed r = parse_file(file);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "not an arm64 Image: 63 bytes, shorter than the 64-byte header");
    ImageInfo info;
    LoadError error;
    EXPECT_FALSE(parse(nullptr, 4096, info, error));
    EXPECT_STREQ(error.message, "not an arm64 Image: 0 bytes, shorter than the 64-byte header");
}

TEST(LinuxImage, RejectsAFileWithoutTheMagic)
{
    const Parsed r = parse_file(image_file(4096, 0, 4096, 0, 0x464c457f)); // an ELF's first word
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "not an arm64 Image (no ARM\\x64 magic at offset 56)");
}

TEST(LinuxImage, RejectsABigEndianKernel)
{
    const Parsed r = parse_file(image_file(4096, 0, 4096, 0x3));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "big-endian kernel; Vireo runs little-endian guests");
}

// --- layout ------------------------------------------------------------------

ImageInfo info(uint64_t text_offset, uint64_t image_size) { return {text_offset, image_size, 0xa, false}; }

struct Planned {
    bool ok;
    GuestLayout layout;
    std::string error;
};

Planned plan(uint64_t ram_base, uint64_t ram_size, const ImageInfo& image, uint64_t file_size, uint64_t initrd_size,
             uint64_t dtb_size)
{
    Planned result{};
    LoadError error;
    result.ok = plan_layout(ram_base, ram_size, image, file_size, initrd_size, dtb_size, result.layout, error);
    result.error = error.message;
    return result;
}

TEST(GuestLayout, KernelAtRamBaseDtbInTheTopBlockInitrdJustBelow)
{
    const uint64_t initrd = 10 * kMiB + 123;
    const Planned r = plan(0x40000000, 512 * kMiB, info(0, 32 * kMiB), 20 * kMiB, initrd, 0x2345);
    ASSERT_TRUE(r.ok) << r.error;
    const GuestLayout& l = r.layout;
    EXPECT_EQ(l.kernel_start, 0x40000000u);
    EXPECT_EQ(l.kernel_end, 0x42000000u) << "image_size, bss included";
    EXPECT_EQ(l.dtb_start, 0x5fe00000u) << "the last 2 MiB of RAM";
    EXPECT_EQ(l.dtb_end, 0x5fe02345u);
    EXPECT_EQ(l.initrd_start % 4096, 0u);
    EXPECT_EQ(l.initrd_end - l.initrd_start, initrd);
    EXPECT_LE(l.initrd_end, l.dtb_start);
    EXPECT_GT(l.initrd_end + 4096, l.dtb_start) << "less than a page below the DTB";
}

TEST(GuestLayout, UnalignedRamKeepsTheKernelAndDtbOn2MiBBlocks)
{
    // RAM from 1 GiB + 1 MiB to 1.25 GiB + 1 MiB; an old kernel's text_offset.
    const Planned r = plan(0x40100000, 256 * kMiB, info(0x80000, 16 * kMiB), 16 * kMiB, 0, 64 * 1024);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.layout.kernel_start, 0x40280000u) << "the next 2 MiB boundary + text_offset";
    EXPECT_EQ(r.layout.kernel_end, 0x41280000u);
    EXPECT_EQ(r.layout.dtb_start, 0x4fe00000u) << "the last whole 2 MiB block";
    EXPECT_EQ(r.layout.initrd_start, 0u) << "no initrd";
    EXPECT_EQ(r.layout.initrd_end, 0u);
}

TEST(GuestLayout, KernelFileLargerThanImageSizeCounts)
{
    const Planned r = plan(0x40000000, 64 * kMiB, info(0, 8 * kMiB), 9 * kMiB, 0, 4096);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.layout.kernel_end, 0x40900000u);
}

TEST(GuestLayout, InitrdMayFillAllRoomBetweenKernelAndDtb)
{
    // 16 MiB of RAM: kernel 0-4 MiB, DTB 14-16 MiB, so 10 MiB for the initrd.
    EXPECT_TRUE(plan(0x40000000, 16 * kMiB, info(0, 4 * kMiB), 4 * kMiB, 10 * kMiB, 4096).ok);
    const Planned r = plan(0x40000000, 16 * kMiB, info(0, 4 * kMiB), 4 * kMiB, 10 * kMiB + 1, 4096);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "initrd of 10485761 bytes does not fit between the kernel's end (0x40400000) and the DTB at "
                       "0x40e00000: 10 MiB free");
}

TEST(GuestLayout, InitrdPageAlignmentMayNotReachBelowTheKernelsEnd)
{
    // The kernel ends 1 byte into a page: an initrd of all the free bytes
    // would have to start in that page, on the kernel.
    const uint64_t kernel = 4 * kMiB + 1;
    EXPECT_TRUE(plan(0x40000000, 16 * kMiB, info(0, kernel), kernel, 10 * kMiB - 4096, 4096).ok);
    const Planned r = plan(0x40000000, 16 * kMiB, info(0, kernel), kernel, 10 * kMiB - 1, 4096);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "initrd of 10485759 bytes does not fit between the kernel's end (0x40400001) and the DTB at "
                       "0x40e00000: 10485759 bytes free");
}

TEST(GuestLayout, KernelLargerThanRamBelowTheDtbIsNamedWithSizes)
{
    const Planned r = plan(0x40000000, 64 * kMiB, info(0, 63 * kMiB), 30 * kMiB, 0, 4096);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "kernel does not fit: it needs 63 MiB from 0x40000000 (text_offset 0x0 + image size 63 MiB), "
                       "but the DTB block starts at 0x43e00000 (guest RAM: 64 MiB at 0x40000000)");
}

TEST(GuestLayout, HugeTextOffsetDoesNotWrapAround)
{
    const Planned r = plan(0x40000000, 64 * kMiB, info(UINT64_MAX - 4096, 8192), 8192, 0, 4096);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("kernel does not fit"), std::string::npos) << r.error;
}

TEST(GuestLayout, RamTooSmallForKernelAndDtbBlocks)
{
    const Planned r = plan(0x40000000, 3 * kMiB, info(0, 4096), 4096, 0, 4096);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "guest RAM of 3 MiB at 0x40000000 is too small: the kernel and the DTB need a 2 MiB-aligned "
                       "2 MiB block each");
}

TEST(GuestLayout, RamThatWrapsOrIsEmptyIsRejected)
{
    EXPECT_EQ(plan(0xffffffffffe00000, 4 * kMiB, info(0, 4096), 4096, 0, 4096).error,
              "guest RAM of 4 MiB at 0xffffffffffe00000 is empty or wraps around");
    EXPECT_FALSE(plan(0x40000000, 0, info(0, 4096), 4096, 0, 4096).ok);
}

TEST(GuestLayout, DtbMustBeOneByteTo2MiB)
{
    EXPECT_TRUE(plan(0x40000000, 64 * kMiB, info(0, 4096), 4096, 0, 2 * kMiB).ok);
    EXPECT_EQ(plan(0x40000000, 64 * kMiB, info(0, 4096), 4096, 0, 2 * kMiB + 1).error,
              "DTB of 2097153 bytes: the arm64 boot protocol needs one of 1 byte to 2 MiB");
    EXPECT_FALSE(plan(0x40000000, 64 * kMiB, info(0, 4096), 4096, 0, 0).ok);
}

} // namespace

namespace {

// --- raw binaries and a fixed DTB (linux_image::plan) -------------------------

struct RawPlanned {
    bool ok;
    GuestLayout layout;
    std::string error;
};

RawPlanned plan_raw(uint64_t load, uint64_t file_size, uint64_t entry, uint64_t initrd, bool dtb_fixed, uint64_t dtb_at,
                    uint64_t ram_size = 16 * kMiB)
{
    linux_image::LayoutRequest request;
    request.ram_base = 0x40000000;
    request.ram_size = ram_size;
    request.kernel_file_size = file_size;
    request.raw_address = load;
    request.raw_entry = entry;
    request.initrd_size = initrd;
    request.dtb_size = 64 * 1024;
    request.dtb_fixed = dtb_fixed;
    request.dtb_address = dtb_at;
    RawPlanned result{};
    LoadError error;
    result.ok = linux_image::plan(request, result.layout, error);
    result.error = error.message;
    return result;
}

TEST(RawLayout, RawBinaryWhereItAsksDtbAtTheRamBaseInitrdAtTheTop)
{
    const RawPlanned r = plan_raw(0x40080000, 300 * 1024, 0x40080000, 1 * kMiB + 5, true, 0x40000000);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.layout.kernel_start, 0x40080000u);
    EXPECT_EQ(r.layout.kernel_end, 0x40080000u + 300 * 1024) << "a raw binary occupies its file";
    EXPECT_EQ(r.layout.entry, 0x40080000u);
    EXPECT_EQ(r.layout.dtb_start, 0x40000000u);
    EXPECT_EQ(r.layout.dtb_end, 0x40010000u);
    EXPECT_EQ(r.layout.initrd_end - r.layout.initrd_start, 1 * kMiB + 5);
    EXPECT_EQ(r.layout.initrd_start % 4096, 0u);
    EXPECT_LE(r.layout.initrd_end, 0x41000000u);
    EXPECT_GT(r.layout.initrd_end + 4096, 0x41000000u) << "as high as it goes: the end of RAM";
}

TEST(RawLayout, DtbWhereVireoChoosesIsTheTopBlockAndTheEntryMayBeInside)
{
    const RawPlanned r = plan_raw(0x40080000, 64 * 1024, 0x40080800, 0, false, 0);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.layout.entry, 0x40080800u);
    EXPECT_EQ(r.layout.dtb_start, 0x40e00000u);
}

TEST(RawLayout, WhatDoesNotFitOrOverlapsIsNamed)
{
    EXPECT_EQ(plan_raw(0x40f00000, 2 * kMiB, 0x40f00000, 0, true, 0x40000000).error,
              "raw kernel of 2 MiB at 0x40f00000 does not lie in guest RAM (16 MiB at 0x40000000)");
    EXPECT_EQ(plan_raw(0x40080000, 4096, 0x40081000, 0, true, 0x40000000).error,
              "entry 0x40081000 is not a 4-byte aligned address inside the raw kernel [0x40080000, 0x40081000)");
    EXPECT_EQ(plan_raw(0x40000000, 4096, 0x40000000, 0, true, 0x40000000).error,
              "the DTB at [0x40000000, 0x40010000) overlaps the kernel at [0x40000000, 0x40001000)");
    EXPECT_EQ(plan_raw(0x40080000, 4096, 0x40080000, 0, true, 0x40fff000).error,
              "DTB at 0x40fff000 (64 KiB of room): expected an 8-byte aligned address with the room in guest RAM "
              "(16 MiB at 0x40000000)");
    EXPECT_EQ(plan_raw(0x40080000, 4096, 0x40080000, 0, false, 0, 1 * kMiB).error,
              "guest RAM of 1 MiB at 0x40000000 has no 2 MiB-aligned 2 MiB block for the DTB: give dtb-address");
    EXPECT_EQ(plan_raw(0x40080000, 8 * kMiB, 0x40080000, 9 * kMiB, true, 0x40000000).error,
              "initrd of 9 MiB does not fit in guest RAM (16 MiB at 0x40000000) beside the kernel [0x40080000, "
              "0x40880000) and the DTB [0x40000000, 0x40010000)");
}

TEST(RawLayout, AnImageWithAFixedDtbKeepsTheImagePlacement)
{
    const ImageInfo image{0x80000, 4 * kMiB, 0xa, false};
    linux_image::LayoutRequest request;
    request.ram_base = 0x40000000;
    request.ram_size = 64 * kMiB;
    request.image = &image;
    request.kernel_file_size = 3 * kMiB;
    request.dtb_size = 64 * 1024;
    request.dtb_fixed = true;
    request.dtb_address = 0x40000000;
    GuestLayout l;
    LoadError error;
    ASSERT_TRUE(linux_image::plan(request, l, error)) << error.message;
    EXPECT_EQ(l.kernel_start, 0x40080000u);
    EXPECT_EQ(l.entry, 0x40080000u);
    EXPECT_EQ(l.dtb_start, 0x40000000u);
    request.dtb_address = 0x40100000;
    EXPECT_FALSE(linux_image::plan(request, l, error));
    EXPECT_STREQ(error.message, "the DTB at [0x40100000, 0x40110000) overlaps the kernel at [0x40080000, 0x40480000)");
}

} // namespace

TEST(RawLayout, FirmwareInARegionPutsNothingInRamButTheDtb)
{
    linux_image::LayoutRequest request;
    request.ram_base = 0x40000000;
    request.ram_size = 16 * kMiB;
    request.firmware = true;
    request.raw_entry = 0; // QEMU virt's flash0
    request.dtb_size = 64 * 1024;
    request.dtb_fixed = true;
    request.dtb_address = 0x40000000;
    GuestLayout layout;
    LoadError error;
    ASSERT_TRUE(linux_image::plan(request, layout, error)) << error.message;
    EXPECT_EQ(layout.entry, 0u);
    EXPECT_EQ(layout.kernel_start, layout.kernel_end) << "no kernel";
    EXPECT_EQ(layout.dtb_start, 0x40000000u);
}
