#include "platform/boot_place.hpp"

#include "kernel/loader/bytes.hpp"

namespace boot_place {
namespace {

using bytes::align_down;
using bytes::align_up;

bool touches(uint64_t base, uint64_t end, const Range& r) { return r.size != 0 && base < r.end() && r.base < end; }

bool in_ram(const Inputs& in, const Range& r)
{
    for (size_t i = 0; i < in.bank_count; i++) {
        if (r.base >= in.banks[i].base && r.end() <= in.banks[i].end() && r.end() >= r.base) {
            return true;
        }
    }
    return false;
}

/// The block's size below its top (2 MiB-aligned), and where each part
/// starts relative to the top.
struct Block {
    uint64_t image_offset;   // top - image
    uint64_t dtb_offset;     // top - dtb
    uint64_t package_offset; // top - package
};

Block block_of(const Inputs& in, bool with_package)
{
    Block b{};
    b.image_offset = align_up(in.image.size, kImageAlign);
    b.dtb_offset = b.image_offset + align_up(in.dtb.size, kPage);
    b.package_offset = b.dtb_offset + (with_package ? align_up(in.package.size, kPage) : 0);
    return b;
}

/// Whether the block with its top at `top` is inside bank `bank`, under the
/// limit, and clear of reserved memory and of the three as they are now;
/// else, in `below`, an address the top must go under to get past what it
/// hit (0: nothing lower in this bank can work).
bool fits(const Inputs& in, const Range& bank, uint64_t top, uint64_t size, bool with_package, uint64_t& below)
{
    below = 0;
    if (top > bank.end() || top > in.limit || top < size || top - size < bank.base) {
        return false;
    }
    const uint64_t base = top - size;
    auto blocked = [&](const Range& r) {
        if (touches(base, top, r)) {
            below = r.base;
            return true;
        }
        return false;
    };
    for (size_t i = 0; i < in.reserved_count; i++) {
        if (blocked(in.reserved[i])) {
            return false;
        }
    }
    return !blocked(in.image) && !blocked(in.dtb) && !(with_package && blocked(in.package));
}

} // namespace

Inputs inputs(const early_fdt::BootMemory& memory, Range image, Range dtb, uint64_t limit)
{
    Inputs in;
    in.banks = memory.banks;
    in.bank_count = memory.bank_count;
    in.reserved = memory.reserved;
    in.reserved_count = memory.reserved_count;
    in.image = image;
    in.dtb = dtb;
    in.package = memory.package;
    in.limit = limit;
    return in;
}

bool package_movable(const Inputs& in)
{
    return in.package.size != 0 && in_ram(in, in.package) && !touches(in.package.base, in.package.end(), in.image) &&
           !touches(in.package.base, in.package.end(), in.dtb);
}

Plan plan(const Inputs& in)
{
    Plan out;
    if (in.image.size == 0 || in.dtb.size == 0) {
        out.why = "the image or the DTB is not known";
        return out;
    }
    const bool with_package = package_movable(in);
    const Block b = block_of(in, with_package);
    const uint64_t size = b.package_offset;
    uint64_t best = 0;
    for (size_t i = 0; i < in.bank_count; i++) {
        const Range& bank = in.banks[i];
        const uint64_t end = bank.end() < in.limit ? bank.end() : in.limit;
        // The image's base must be 2 MiB-aligned: so must the top, as the
        // image's part of the block is a whole number of 2 MiB.
        for (uint64_t top = align_down(end, kImageAlign); top > best && top >= bank.base + size;) {
            uint64_t below = 0;
            if (fits(in, bank, top, size, with_package, below)) {
                best = top;
                break;
            }
            if (below == 0 || below < bank.base + size) {
                break;
            }
            top = align_down(below, kImageAlign);
        }
    }
    if (best == 0) {
        out.why = "no free RAM holds them together";
        return out;
    }
    out.move = true;
    out.image = best - b.image_offset;
    out.dtb = best - b.dtb_offset;
    out.package = with_package ? best - b.package_offset : 0;
    return out;
}

} // namespace boot_place
