// A guest booted as a Linux kernel would be (lib/image_head.S: an arm64
// Image header; x0 = the DTB's address, MMU off): it reads its memory,
// CPUs, bootargs and console from the device tree Vireo generated and
// prints them, and checks each against what its configuration
// (tests/configs/dtbinfo.dts) says.
#include <libfdt.h>
#include <string.h>

#include "lib/guest.hpp"

using namespace guest;

extern "C" void guest_main(uint64_t, uint64_t dtb_address)
{
    const void* fdt = reinterpret_cast<const void*>(dtb_address);
    if (!test("dtbinfo-x0-is-a-dtb", dtb_address != 0 && fdt_check_header(fdt) == 0)) {
        return;
    }
    const int memory = fdt_path_offset(fdt, "/memory@40000000");
    int len = 0;
    const auto* reg = static_cast<const fdt32_t*>(fdt_getprop(fdt, memory, "reg", &len));
    const uint64_t base = reg != nullptr && len == 16 ? dt_cells(reg, 2) : 0;
    const uint64_t size = reg != nullptr && len == 16 ? dt_cells(reg + 2, 2) : 0;
    int cpus = 0;
    const int cpus_node = fdt_path_offset(fdt, "/cpus");
    int node = 0;
    fdt_for_each_subnode(node, fdt, cpus_node)
    {
        const char* type = static_cast<const char*>(fdt_getprop(fdt, node, "device_type", nullptr));
        if (type != nullptr && strcmp(type, "cpu") == 0) {
            cpus++;
        }
    }
    const int chosen = fdt_path_offset(fdt, "/chosen");
    const char* bootargs = static_cast<const char*>(fdt_getprop(fdt, chosen, "bootargs", nullptr));
    const char* stdout_path = static_cast<const char*>(fdt_getprop(fdt, chosen, "stdout-path", nullptr));
    print("dtbinfo: DTB at 0x%lx, memory 0x%lx bytes at 0x%lx, %d CPUs, bootargs \"%s\", stdout %s\n", dtb_address,
          size, base, cpus, bootargs != nullptr ? bootargs : "", stdout_path != nullptr ? stdout_path : "-");
    // Its /chosen/rng-seed: 64 bytes Vireo filled at this boot, not all zero
    // (QEMU virt gives Vireo a seed of its own). vireo-check writes zeros
    // there, so the hash below is taken with them zeroed.
    int seed_len = 0;
    auto* seed = static_cast<uint8_t*>(fdt_getprop_w(const_cast<void*>(fdt), chosen, "rng-seed", &seed_len));
    bool seeded = false;
    for (int i = 0; seed != nullptr && i < seed_len; i++) {
        seeded = seeded || seed[i] != 0;
        seed[i] = 0;
    }
    test("dtbinfo-rng-seed-filled", seed_len == 64 && seeded);
    // The whole DTB as a hash, which the test compares with vireo-check
    // --guest-dtb's (scripts/run-tests --check): the host tool generates
    // the same DTB, byte for byte, but for the seed.
    uint64_t hash = 0xcbf29ce484222325ull; // FNV-1a, 64 bits
    const auto* bytes = static_cast<const uint8_t*>(fdt);
    for (uint32_t i = 0; i < fdt_totalsize(fdt); i++) {
        hash = (hash ^ bytes[i]) * 0x100000001b3ull;
    }
    print("dtbinfo: DTB of %u bytes, FNV-1a 0x%016lx\n", fdt_totalsize(fdt), hash);
    test("dtbinfo-memory-from-config", base == 0x40000000 && size == 64ull << 20);
    test("dtbinfo-three-cpus", cpus == 3);
    test("dtbinfo-bootargs", bootargs != nullptr && strcmp(bootargs, "hello from dtbinfo.dts") == 0);
    test("dtbinfo-dtb-inside-ram", dtb_address >= base && dtb_address < base + size);
}
