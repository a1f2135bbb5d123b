// Devices named by a host DTB path (kernel/loader/host_device.cpp): any
// well-formed DTB, any of a few paths; what is read is bounded and the
// reasons are terminated strings. The input: a path selector byte, then
// the DTB.
#include <libfdt.h>
#include <string.h>

#include "kernel/loader/host_device.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1 + sizeof(fdt_header)) {
        return 0;
    }
    static const char* const kPaths[] = {"/virtio_mmio@a003e00",
                                         "/soc/serial@7e215040",
                                         "/two-irqs@9020000",
                                         "/closed-bus/device@1000",
                                         "/",
                                         "/soc",
                                         "/nope"};
    const char* path = kPaths[data[0] % (sizeof kPaths / sizeof kPaths[0])];
    // The host DTB passed fdt_check_header at boot (libfdt 1.6's
    // fdt_check_full itself crashes on some blobs): only such DTBs.
    alignas(8) static uint8_t dtb[65536];
    const size_t n = size - 1 < sizeof dtb ? size - 1 : sizeof dtb;
    memcpy(dtb, data + 1, n);
    if (fdt_check_header(dtb) != 0 || fdt_totalsize(dtb) > n) {
        return 0;
    }
    HostDevice d;
    char why[160];
    why[0] = '\0';
    const bool ok = host_device::read(dtb, path, d, why, sizeof why);
    if (strnlen(why, sizeof why) == sizeof why || d.intid_count > HostDevice::kMaxIntids) {
        __builtin_trap();
    }
    if (ok) {
        for (size_t i = 0; i < d.intid_count; i++) {
            if (d.intids[i] < 32 || d.intids[i] > 1019) {
                __builtin_trap();
            }
        }
        if (d.compatible != nullptr && (d.compatible_length == 0 || d.compatible[d.compatible_length - 1] != '\0')) {
            __builtin_trap();
        }
    }
    return 0;
}
