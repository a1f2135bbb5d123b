// The guest-DTB builder (kernel/loader/guest_fdt.cpp): random but valid
// specs; what it writes parses back with libfdt and says what was asked.
#include <cstring>
#include <libfdt.h>
#include <string>
#include <vector>

#include "kernel/loader/guest_fdt.hpp"
#include "tests/fuzz/input.hpp"

namespace {

uint64_t cells64(const void* p, int index)
{
    const auto* c = static_cast<const fdt32_t*>(p);
    return uint64_t{fdt32_to_cpu(c[index])} << 32 | fdt32_to_cpu(c[index + 1]);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    GuestFdtSpec spec;
    spec.gic_version = in.flag() ? 3 : 2;
    spec.vcpus = 1 + in.below(spec.gic_version == 3 ? 16 : 8);
    spec.ram_base = (in.u64() & 0xff) << 30;
    spec.ram_size = (1 + uint64_t{in.below(4096)}) << 21;
    std::string bootargs;
    const size_t bootargs_length = in.below(300);
    for (size_t i = 0; i < bootargs_length; i++) {
        bootargs += static_cast<char>(1 + in.below(126));
    }
    spec.bootargs = in.flag() ? bootargs.c_str() : nullptr;
    if (in.flag()) {
        spec.initrd_start = spec.ram_base + (uint64_t{in.below(1024)} << 12);
        spec.initrd_end = spec.initrd_start + 1 + in.below(1 << 24);
    }
    // Passthrough devices: names and compatibles from the input.
    const size_t device_count = in.below(6);
    std::vector<std::string> names(device_count), compatibles(device_count);
    std::vector<std::vector<uint8_t>> intids(device_count);
    std::vector<GuestFdtDevice> devices(device_count);
    for (size_t i = 0; i < device_count; i++) {
        GuestFdtDevice& d = devices[i];
        d.base = 0x0c000000 + i * 0x100000;
        d.size = (1 + uint64_t{in.below(16)}) << 12;
        char name[32];
        std::snprintf(name, sizeof name, "dev@%lx", static_cast<unsigned long>(d.base));
        names[i] = name;
        d.name = names[i].c_str();
        if (in.flag()) {
            compatibles[i] = in.flag() ? std::string("arm,pl031\0arm,primecell", 23) : std::string("acme,widget");
            d.compatible = compatibles[i].c_str();
            d.compatible_length = compatibles[i].size() + 1;
        }
        const size_t n = in.below(8);
        for (size_t k = 0; k < n; k++) {
            const uint32_t intid = 32 + in.below(988);
            intids[i].insert(intids[i].end(), {static_cast<uint8_t>(intid >> 24), static_cast<uint8_t>(intid >> 16),
                                               static_cast<uint8_t>(intid >> 8), static_cast<uint8_t>(intid)});
        }
        d.intids = {intids[i].data(), n};
    }
    spec.devices = devices.data();
    spec.device_count = device_count;
    spec.pmu = in.flag();

    std::vector<uint8_t> buffer(64 * 1024);
    const char* why = nullptr;
    const int built = guest_fdt::build(spec, buffer.data(), buffer.size(), why);
    if (built < 0) {
        FUZZ_CHECK(why != nullptr); // only a buffer too small for a huge spec may fail, and it says why
        return 0;
    }
    const void* fdt = buffer.data();
    FUZZ_CHECK(static_cast<size_t>(built) <= buffer.size());
    FUZZ_CHECK(fdt_check_full(fdt, static_cast<size_t>(built)) == 0);
    // Memory.
    char path[64];
    std::snprintf(path, sizeof path, "/memory@%lx", static_cast<unsigned long>(spec.ram_base));
    const int memory = fdt_path_offset(fdt, path);
    FUZZ_CHECK(memory >= 0);
    int length = 0;
    const void* reg = fdt_getprop(fdt, memory, "reg", &length);
    FUZZ_CHECK(reg != nullptr && length == 16 && cells64(reg, 0) == spec.ram_base && cells64(reg, 2) == spec.ram_size);
    // One CPU node per vCPU, reg = its index.
    const int cpus = fdt_path_offset(fdt, "/cpus");
    FUZZ_CHECK(cpus >= 0);
    uint32_t cpu_nodes = 0;
    int cpu = 0;
    fdt_for_each_subnode(cpu, fdt, cpus)
    {
        const auto* r = static_cast<const fdt32_t*>(fdt_getprop(fdt, cpu, "reg", &length));
        FUZZ_CHECK(r != nullptr && fdt32_to_cpu(r[0]) == cpu_nodes);
        cpu_nodes++;
    }
    FUZZ_CHECK(cpu_nodes == spec.vcpus);
    FUZZ_CHECK((fdt_path_offset(fdt, "/pmu") >= 0) == spec.pmu); // a PMU node exactly when the VM has a PMU
    // /chosen says what was asked.
    const int chosen = fdt_path_offset(fdt, "/chosen");
    FUZZ_CHECK(chosen >= 0);
    const char* args = static_cast<const char*>(fdt_getprop(fdt, chosen, "bootargs", &length));
    FUZZ_CHECK((args != nullptr) == (spec.bootargs != nullptr));
    FUZZ_CHECK(args == nullptr || std::strcmp(args, spec.bootargs) == 0);
    const void* start = fdt_getprop(fdt, chosen, "linux,initrd-start", &length);
    FUZZ_CHECK((start != nullptr) == (spec.initrd_end != 0)); // an initrd may start at 0; none has end 0
    FUZZ_CHECK(start == nullptr || (length == 8 && cells64(start, 0) == spec.initrd_start));
    // Each device with a compatible, and only those, has its node.
    for (size_t i = 0; i < device_count; i++) {
        std::snprintf(path, sizeof path, "/%s", names[i].c_str());
        const int node = fdt_path_offset(fdt, path);
        FUZZ_CHECK((node >= 0) == (devices[i].compatible != nullptr));
        if (node < 0) {
            continue;
        }
        reg = fdt_getprop(fdt, node, "reg", &length);
        FUZZ_CHECK(reg != nullptr && cells64(reg, 0) == devices[i].base && cells64(reg, 2) == devices[i].size);
        const auto* irq = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "interrupts", &length));
        FUZZ_CHECK((irq != nullptr ? static_cast<size_t>(length) : 0) == 12 * devices[i].intids.count);
        for (size_t n = 0; irq != nullptr && n < devices[i].intids.count; n++) {
            FUZZ_CHECK(fdt32_to_cpu(irq[3 * n + 1]) + 32 == devices[i].intids[n]);
        }
    }
    return 0;
}
