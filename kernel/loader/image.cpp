#include "kernel/loader/image.hpp"

#include "kernel/loader/bytes.hpp"

using namespace linux_image;

namespace {

// Header field offsets (booting.rst).
constexpr size_t kTextOffsetAt = 8;
constexpr size_t kImageSizeAt = 16;
constexpr size_t kFlagsAt = 24;

uint64_t saturating_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/// RAM that is not empty and does not wrap, and a DTB of 1 byte to 2 MiB.
bool ram_and_dtb_plausible(uint64_t ram_base, uint64_t ram_size, uint64_t dtb_size, LoadError& error)
{
    if (ram_size == 0 || ram_base > UINT64_MAX - ram_size) {
        return fail(error, "guest RAM of %s at 0x%lx is empty or wraps around", size_text(ram_size).text, ram_base);
    }
    if (dtb_size == 0 || dtb_size > kMaxDtbSize) {
        return fail(error, "DTB of %s: the arm64 boot protocol needs one of 1 byte to 2 MiB", size_text(dtb_size).text);
    }
    return true;
}

} // namespace

uint32_t ImageInfo::page_size() const
{
    static constexpr uint32_t kPageSizes[] = {0, 4096, 16384, 65536};
    return kPageSizes[(flags & kFlagPageSizeMask) >> kFlagPageSizeShift];
}

bool linux_image::parse(const void* data, size_t size, ImageInfo& out, LoadError& error)
{
    out = ImageInfo{};
    if (data == nullptr || size < kHeaderSize) {
        return fail(error, "not an arm64 Image: %lu bytes, shorter than the %lu-byte header",
                    data != nullptr ? size : 0, kHeaderSize);
    }
    const auto* header = static_cast<const uint8_t*>(data);
    if (bytes::load_le32(header + kMagicOffset) != kMagic) {
        return fail(error, "not an arm64 Image (no ARM\\x64 magic at offset 56)");
    }
    const uint64_t image_size = bytes::load_le64(header + kImageSizeAt);
    if (image_size == 0) {
        // Before Linux 3.17 the header had no image_size and no flags (see image.hpp).
        out.legacy = true;
        out.text_offset = kLegacyTextOffset;
        out.image_size = size;
        return true;
    }
    out.flags = bytes::load_le64(header + kFlagsAt);
    if ((out.flags & kFlagBigEndian) != 0) {
        return fail(error, "big-endian kernel; Vireo runs little-endian guests");
    }
    out.text_offset = bytes::load_le64(header + kTextOffsetAt);
    // A file may carry more than the kernel needs (a signature, padding):
    // whichever is larger is what loading it takes.
    out.image_size = image_size > size ? image_size : size;
    return true;
}

bool linux_image::plan_layout(uint64_t ram_base, uint64_t ram_size, const ImageInfo& image, uint64_t kernel_file_size,
                              uint64_t initrd_size, uint64_t dtb_size, GuestLayout& out, LoadError& error)
{
    out = GuestLayout{};
    if (!ram_and_dtb_plausible(ram_base, ram_size, dtb_size, error)) {
        return false;
    }
    const uint64_t ram_end = ram_base + ram_size;
    const uint64_t base = bytes::align_up(ram_base, kBaseAlign);
    const uint64_t top = bytes::align_down(ram_end, kBaseAlign);
    if (base >= top || top - base < 2 * kBaseAlign) {
        return fail(error,
                    "guest RAM of %s at 0x%lx is too small: the kernel and the DTB need a 2 MiB-aligned "
                    "2 MiB block each",
                    size_text(ram_size).text, ram_base);
    }
    // The DTB's block is the highest one, so everything below it is the kernel's.
    const uint64_t dtb_start = top - kBaseAlign;
    const uint64_t footprint = image.image_size > kernel_file_size ? image.image_size : kernel_file_size;
    const uint64_t room = dtb_start - base;
    if (image.text_offset > room || footprint > room - image.text_offset) {
        return fail(error,
                    "kernel does not fit: it needs %s from 0x%lx (text_offset 0x%lx + image size %s), but the "
                    "DTB block starts at 0x%lx (guest RAM: %s at 0x%lx)",
                    size_text(saturating_add(image.text_offset, footprint)).text, base, image.text_offset,
                    size_text(footprint).text, dtb_start, size_text(ram_size).text, ram_base);
    }
    out.kernel_start = base + image.text_offset;
    out.kernel_end = out.kernel_start + footprint;
    if (initrd_size != 0) {
        const uint64_t free = dtb_start - out.kernel_end;
        const uint64_t start = initrd_size <= free ? bytes::align_down(dtb_start - initrd_size, kInitrdAlign) : 0;
        if (initrd_size > free || start < out.kernel_end) {
            return fail(error,
                        "initrd of %s does not fit between the kernel's end (0x%lx) and the DTB at 0x%lx: %s free",
                        size_text(initrd_size).text, out.kernel_end, dtb_start, size_text(free).text);
        }
        out.initrd_start = start;
        out.initrd_end = start + initrd_size;
    }
    out.entry = out.kernel_start;
    out.dtb_start = dtb_start;
    out.dtb_end = dtb_start + dtb_size;
    return true;
}

bool linux_image::plan(const LayoutRequest& r, GuestLayout& out, LoadError& error)
{
    if (r.image != nullptr && !r.dtb_fixed) {
        return plan_layout(r.ram_base, r.ram_size, *r.image, r.kernel_file_size, r.initrd_size, r.dtb_size, out, error);
    }
    out = GuestLayout{};
    if (!ram_and_dtb_plausible(r.ram_base, r.ram_size, r.dtb_size, error)) {
        return false;
    }
    const uint64_t ram_end = r.ram_base + r.ram_size;
    const auto in_ram = [&](uint64_t at, uint64_t size) {
        return at >= r.ram_base && at < ram_end && size <= ram_end - at;
    };
    const auto overlap = [](uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end) { return a < b_end && b < a_end; };
    if (r.firmware) {
        out.entry = r.raw_entry; // nothing of the kernel's in RAM: an empty range at 0
    } else if (r.image != nullptr) {
        const uint64_t base = bytes::align_up(r.ram_base, kBaseAlign);
        const uint64_t footprint = r.image->image_size > r.kernel_file_size ? r.image->image_size : r.kernel_file_size;
        if (base < r.ram_base || !in_ram(base, saturating_add(r.image->text_offset, footprint))) {
            return fail(error,
                        "kernel does not fit: it needs %s from 0x%lx (text_offset 0x%lx + image size %s) in guest "
                        "RAM of %s at 0x%lx",
                        size_text(saturating_add(r.image->text_offset, footprint)).text, base, r.image->text_offset,
                        size_text(footprint).text, size_text(r.ram_size).text, r.ram_base);
        }
        out.kernel_start = base + r.image->text_offset;
        out.kernel_end = out.kernel_start + footprint;
        out.entry = out.kernel_start;
    } else {
        if (r.kernel_file_size == 0 || !in_ram(r.raw_address, r.kernel_file_size)) {
            return fail(error, "raw kernel of %s at 0x%lx does not lie in guest RAM (%s at 0x%lx)",
                        size_text(r.kernel_file_size).text, r.raw_address, size_text(r.ram_size).text, r.ram_base);
        }
        out.kernel_start = r.raw_address;
        out.kernel_end = r.raw_address + r.kernel_file_size;
        if (r.raw_entry % 4 != 0 || r.raw_entry < out.kernel_start || r.raw_entry >= out.kernel_end) {
            return fail(error, "entry 0x%lx is not a 4-byte aligned address inside the raw kernel [0x%lx, 0x%lx)",
                        r.raw_entry, out.kernel_start, out.kernel_end);
        }
        out.entry = r.raw_entry;
    }
    if (r.dtb_fixed) {
        if (r.dtb_address % 8 != 0 || !in_ram(r.dtb_address, r.dtb_size)) {
            return fail(error,
                        "DTB at 0x%lx (%s of room): expected an 8-byte aligned address with the room in guest "
                        "RAM (%s at 0x%lx)",
                        r.dtb_address, size_text(r.dtb_size).text, size_text(r.ram_size).text, r.ram_base);
        }
        out.dtb_start = r.dtb_address;
    } else {
        const uint64_t top = bytes::align_down(ram_end, kBaseAlign);
        if (top < kBaseAlign || top - kBaseAlign < r.ram_base) {
            return fail(error,
                        "guest RAM of %s at 0x%lx has no 2 MiB-aligned 2 MiB block for the DTB: give dtb-address",
                        size_text(r.ram_size).text, r.ram_base);
        }
        out.dtb_start = top - kBaseAlign;
    }
    out.dtb_end = out.dtb_start + r.dtb_size;
    if (overlap(out.kernel_start, out.kernel_end, out.dtb_start, out.dtb_end)) {
        return fail(error, "the DTB at [0x%lx, 0x%lx) overlaps the kernel at [0x%lx, 0x%lx)", out.dtb_start,
                    out.dtb_end, out.kernel_start, out.kernel_end);
    }
    if (r.initrd_size == 0) {
        return true;
    }
    // As high as it goes: just below the DTB, or at the end of RAM (a DTB low in RAM).
    const uint64_t ends[] = {out.dtb_start, ram_end};
    for (const uint64_t end : ends) {
        if (r.initrd_size > end - r.ram_base) {
            continue;
        }
        const uint64_t start = bytes::align_down(end - r.initrd_size, kInitrdAlign);
        const uint64_t stop = start + r.initrd_size;
        if (start >= r.ram_base && start >= out.initrd_start &&
            !overlap(start, stop, out.kernel_start, out.kernel_end) &&
            !overlap(start, stop, out.dtb_start, out.dtb_end)) {
            out.initrd_start = start;
            out.initrd_end = stop;
        }
    }
    if (out.initrd_end == 0) {
        return fail(error,
                    "initrd of %s does not fit in guest RAM (%s at 0x%lx) beside the kernel [0x%lx, 0x%lx) and "
                    "the DTB [0x%lx, 0x%lx)",
                    size_text(r.initrd_size).text, size_text(r.ram_size).text, r.ram_base, out.kernel_start,
                    out.kernel_end, out.dtb_start, out.dtb_end);
    }
    return true;
}
