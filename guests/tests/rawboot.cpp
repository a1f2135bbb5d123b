// A guest built the way ArceOS, Zephyr or RT-Thread are for QEMU virt: a
// plain binary linked at 0x40080000 (no Image header; Makefile rule for
// rawboot.elf), entered at its first byte with x0 = the DTB, which its
// configuration (tests/configs/bare/rawboot.dts) puts at the start of RAM,
// where firmware looks for it. It finds its memory and CPUs in that DTB
// and starts its second CPU by the MPIDR the DTB gives.
#include <libfdt.h>
#include <string.h>

#include "lib/guest.hpp"

using namespace guest;

extern "C" char _start[];

namespace {

// An absolute address, fixed by the linker: equal to where the code runs
// only if the binary was loaded at its link address.
char* const linked_start = _start;

volatile uint64_t second_cpu_ran;

} // namespace

extern "C" void guest_secondary(uint64_t, uint64_t context) { second_cpu_ran = context; }

extern "C" void guest_main(uint64_t, uint64_t dtb_address)
{
    uint64_t here = 0;
    asm volatile("adr %0, _start" : "=r"(here)); // where it runs, PC-relative
    print("rawboot: linked at 0x%lx, running at 0x%lx, x0 = 0x%lx\n", reinterpret_cast<uint64_t>(linked_start), here,
          dtb_address);
    test("raw-entered-at-its-link-address", here == 0x40080000 && reinterpret_cast<uint64_t>(linked_start) == here);
    const void* fdt = reinterpret_cast<const void*>(dtb_address);
    if (!test("raw-dtb-at-the-ram-base", dtb_address == 0x40000000 && fdt_check_header(fdt) == 0)) {
        return;
    }
    uint64_t base = 0;
    uint64_t size = 0;
    const int memory = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", sizeof "memory");
    int len = 0;
    const auto* reg = static_cast<const fdt32_t*>(fdt_getprop(fdt, memory, "reg", &len));
    if (reg != nullptr && len == 16) {
        base = dt_cells(reg, 2);
        size = dt_cells(reg + 2, 2);
    }
    int cpus = 0;
    uint64_t other_mpidr = ~0ull;
    int node = 0;
    fdt_for_each_subnode(node, fdt, fdt_path_offset(fdt, "/cpus"))
    {
        const char* type = static_cast<const char*>(fdt_getprop(fdt, node, "device_type", nullptr));
        const auto* mpidr = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "reg", &len));
        if (type != nullptr && strcmp(type, "cpu") == 0 && mpidr != nullptr) {
            if (cpus++ == 1) {
                other_mpidr = dt_cells(mpidr, len / 4);
            }
        }
    }
    print("rawboot: memory 0x%lx bytes at 0x%lx, %d CPUs\n", size, base, cpus);
    test("raw-memory-from-the-dtb",
         base == 0x40000000 && size == bootarg(dtb_address, "expect-memory", 0) && here >= base && here < base + size);
    test("raw-cpus-from-the-dtb", static_cast<uint64_t>(cpus) == bootarg(dtb_address, "expect-cpus", 0));
    constexpr uint64_t kCpuOn = 0xc4000003;
    const int64_t on = call(kCpuOn, other_mpidr, reinterpret_cast<uint64_t>(secondary_entry), 0x5eed);
    const uint64_t start = counter();
    while (second_cpu_ran != 0x5eed && counter() - start < (1ull << 32)) {
        call(kHcYield);
    }
    test("raw-second-cpu-started-by-its-dtb-mpidr", on == 0 && second_cpu_ran == 0x5eed);
}
