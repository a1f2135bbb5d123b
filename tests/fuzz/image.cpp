// The arm64 Image header and the guest layout (kernel/loader/image.cpp):
// a planned layout lies in RAM, its parts apart, aligned as booting.rst asks.
#include "kernel/loader/image.hpp"
#include "tests/fuzz/input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    const uint64_t ram_base = in.u64() & ~0x1fffffull & 0xffffffffffull;
    const uint64_t ram_size = (in.u64() & 0xffffffffull) << in.below(12);
    const uint64_t initrd_size = in.flag() ? 0 : in.u64() >> in.below(64);
    const uint64_t dtb_size = in.u32() % (4u << 20);
    ImageInfo image;
    LoadError error;
    if (in.flag()) {
        // A raw binary and/or a DTB at a given address (linux_image::plan).
        linux_image::LayoutRequest r;
        r.ram_base = ram_base;
        r.ram_size = ram_size;
        r.kernel_file_size = in.u32() >> in.below(32);
        r.raw_address = ram_base + (in.u64() >> in.below(64));
        r.raw_entry = r.raw_address + (in.u32() >> in.below(32));
        r.initrd_size = initrd_size;
        r.dtb_size = dtb_size;
        r.dtb_fixed = in.flag();
        r.dtb_address = ram_base + (in.u64() >> in.below(64));
        GuestLayout l;
        if (!linux_image::plan(r, l, error)) {
            FUZZ_CHECK(error.message[0] != '\0');
            return 0;
        }
        const uint64_t end = ram_base + ram_size;
        const auto apart = [](uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end) {
            return a_end <= b || b_end <= a;
        };
        FUZZ_CHECK(l.kernel_start == r.raw_address && l.kernel_end - l.kernel_start == r.kernel_file_size);
        FUZZ_CHECK(l.kernel_start >= ram_base && l.kernel_end <= end && l.entry % 4 == 0);
        FUZZ_CHECK(l.entry >= l.kernel_start && l.entry < l.kernel_end);
        FUZZ_CHECK(l.dtb_start >= ram_base && l.dtb_end <= end && l.dtb_start % 8 == 0);
        FUZZ_CHECK(!r.dtb_fixed || l.dtb_start == r.dtb_address);
        FUZZ_CHECK(apart(l.kernel_start, l.kernel_end, l.dtb_start, l.dtb_end));
        if (initrd_size != 0) {
            FUZZ_CHECK(l.initrd_end - l.initrd_start == initrd_size && l.initrd_start % 4096 == 0);
            FUZZ_CHECK(l.initrd_start >= ram_base && l.initrd_end <= end);
            FUZZ_CHECK(apart(l.initrd_start, l.initrd_end, l.kernel_start, l.kernel_end));
            FUZZ_CHECK(apart(l.initrd_start, l.initrd_end, l.dtb_start, l.dtb_end));
        }
        return 0;
    }
    if (!linux_image::parse(in.rest(), in.rest_size(), image, error)) {
        FUZZ_CHECK(error.message[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(in.rest_size() >= 64);
    GuestLayout layout;
    if (!linux_image::plan_layout(ram_base, ram_size, image, in.rest_size(), initrd_size, dtb_size, layout, error)) {
        FUZZ_CHECK(error.message[0] != '\0');
        return 0;
    }
    const uint64_t ram_end = ram_base + ram_size;
    FUZZ_CHECK(ram_end > ram_base);
    FUZZ_CHECK(layout.kernel_start >= ram_base && layout.kernel_end <= ram_end);
    FUZZ_CHECK(layout.kernel_end - layout.kernel_start >= in.rest_size()); // the footprint holds the file
    FUZZ_CHECK(layout.dtb_start % (2u << 20) == 0 && layout.dtb_end <= ram_end);
    FUZZ_CHECK(layout.dtb_end - layout.dtb_start >= dtb_size && layout.dtb_end - layout.dtb_start <= (2u << 20));
    FUZZ_CHECK(layout.kernel_end <= layout.dtb_start);
    if (initrd_size != 0) {
        FUZZ_CHECK(layout.initrd_end - layout.initrd_start == initrd_size);
        FUZZ_CHECK(layout.initrd_start % 4096 == 0);
        FUZZ_CHECK(layout.initrd_start >= layout.kernel_end && layout.initrd_end <= layout.dtb_start);
    } else {
        FUZZ_CHECK(layout.initrd_start == 0 && layout.initrd_end == 0);
    }
    return 0;
}
