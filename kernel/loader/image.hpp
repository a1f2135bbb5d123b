// The arm64 Linux kernel Image as a boot loader sees it: the 64-byte header
// at the start of the file (Linux Documentation/arch/arm64/booting.rst,
// section 4 "Call the kernel image"), and where the kernel, its initrd and
// its DTB go in a VM's RAM. Pure logic, host-tested.
//
// Header layout, all fields little-endian whatever the kernel's endianness:
//   0  code0, code1 (u32 each)   executable; a boot loader never reads them
//   8  text_offset (u64)         load offset from a 2 MiB-aligned base
//  16  image_size (u64)          bytes the kernel occupies once running, bss included
//  24  flags (u64)               bit 0: big-endian; bits 1-2: page size
//                                (0 unspecified, 1 4K, 2 16K, 3 64K); bit 3:
//                                may be placed anywhere in RAM (else as low as possible)
//  32  res2, res3, res4 (u64)
//  56  magic (u32)               0x644d5241, "ARM\x64"
//  60  res5 (u32)                PE header offset for EFI stubs
//
// image_size == 0 marks a kernel older than 3.17: its text_offset field is
// not reliable and it does not say how much room it needs after the file.
// booting.rst says to assume text_offset 0x80000 and to leave as much free
// memory as possible after the image; we use 0x80000 and the file size, and
// plan_layout() keeps the initrd and the DTB at the top of RAM, so all the
// memory between them and the kernel stays free for its bss and page tables.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/loader/load_error.hpp"

namespace linux_image {

constexpr size_t kHeaderSize = 64;
constexpr size_t kMagicOffset = 56;
constexpr uint32_t kMagic = 0x644d5241;         // "ARM\x64", little-endian
constexpr uint64_t kLegacyTextOffset = 0x80000; // image_size == 0
constexpr uint64_t kBaseAlign = 2ull << 20;     // the Image goes text_offset above a 2 MiB boundary
constexpr uint64_t kMaxDtbSize = 2ull << 20;    // booting.rst: at most 2 MiB, within one 2 MiB block
constexpr uint64_t kInitrdAlign = 4096;

// flags (booting.rst, "Header notes").
constexpr uint64_t kFlagBigEndian = 1u << 0;
constexpr unsigned kFlagPageSizeShift = 1;
constexpr uint64_t kFlagPageSizeMask = 3u << kFlagPageSizeShift;
constexpr uint64_t kFlagPlaceAnywhere = 1u << 3;

} // namespace linux_image

/// What the header of an arm64 Image tells the loader.
struct ImageInfo {
    uint64_t text_offset = 0; // from the 2 MiB-aligned base the Image is loaded at
    uint64_t image_size = 0;  // memory the kernel needs from its load address: at least the file size
    uint64_t flags = 0;       // as in the header (0 for a legacy kernel)
    bool legacy = false;      // image_size was 0: text_offset and image_size are our assumptions

    /// The kernel's page size in bytes from flags bits 1-2; 0 if unspecified.
    uint32_t page_size() const;
    /// Flags bit 3: the kernel may run from any 2 MiB-aligned base in RAM.
    bool place_anywhere() const { return (flags & linux_image::kFlagPlaceAnywhere) != 0; }
};

/// Where each part of a Linux guest goes, in guest-physical addresses.
/// The `_end` addresses are exclusive; an absent initrd has start == end == 0.
struct GuestLayout {
    uint64_t kernel_start = 0; // load address of the Image (or raw binary)
    uint64_t entry = 0;        // the boot vCPU's first instruction: kernel_start for an Image
    uint64_t kernel_end = 0;   // kernel_start + image_size: the running kernel's footprint
    uint64_t initrd_start = 0;
    uint64_t initrd_end = 0;
    uint64_t dtb_start = 0; // the DTB's address, x0 at entry
    uint64_t dtb_end = 0;
};

namespace linux_image {

/// Reads the Image header at `data` (the whole file, `size` bytes). Fails,
/// with a message in `error`, for a file shorter than the header, one
/// without the magic, or a big-endian kernel (Vireo's guests run
/// little-endian).
bool parse(const void* data, size_t size, ImageInfo& out, LoadError& error);

/// Places a kernel of `kernel_file_size` bytes described by `image`, an
/// initrd of `initrd_size` bytes (0: none) and a DTB of `dtb_size` bytes in
/// RAM [ram_base, ram_base + ram_size):
///   - the kernel at the first 2 MiB boundary at or above ram_base, plus text_offset;
///   - the DTB at the start of the highest 2 MiB-aligned 2 MiB block of RAM,
///     so it never crosses a 2 MiB boundary (booting.rst);
///   - the initrd page-aligned, ending as close below the DTB as it can.
/// The DTB's place does not depend on `dtb_size`, so a loader can plan with
/// the DTB buffer's capacity and generate the DTB afterwards (it needs the
/// initrd's address). Fails, naming what does not fit and the sizes, if the
/// parts overlap or leave RAM.
bool plan_layout(uint64_t ram_base, uint64_t ram_size, const ImageInfo& image, uint64_t kernel_file_size,
                 uint64_t initrd_size, uint64_t dtb_size, GuestLayout& out, LoadError& error);

/// What plan() places: an arm64 Image or a raw binary at a fixed address,
/// an initrd, and a DTB where Vireo chooses or at a given address.
struct LayoutRequest {
    uint64_t ram_base = 0;
    uint64_t ram_size = 0;
    const ImageInfo* image = nullptr; // an arm64 Image; nullptr: a raw binary
    uint64_t kernel_file_size = 0;
    uint64_t raw_address = 0; // a raw binary's load address
    uint64_t raw_entry = 0;   // and its entry point, inside it
    bool firmware = false;    // no kernel in RAM: the boot vCPU starts at raw_entry (in a ROM or flash)
    uint64_t initrd_size = 0; // 0: none
    uint64_t dtb_size = 0;    // the room the DTB needs
    bool dtb_fixed = false;   // the DTB goes at dtb_address (8-byte aligned), else Vireo chooses
    uint64_t dtb_address = 0;
};

/// Places what `request` asks for. An Image with the DTB where Vireo
/// chooses is plan_layout(). Otherwise: an Image at the first 2 MiB
/// boundary of RAM plus text_offset, or the raw binary where it asks (it
/// occupies its file size: Vireo cannot know its bss); the DTB at its
/// address or in the highest 2 MiB-aligned 2 MiB block; the initrd
/// page-aligned as high as it fits below the DTB or the end of RAM, clear
/// of both. Fails, naming the parts and their ranges, when something
/// leaves RAM or two parts overlap.
bool plan(const LayoutRequest& request, GuestLayout& out, LoadError& error);

} // namespace linux_image
