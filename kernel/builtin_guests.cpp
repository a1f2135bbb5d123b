#include "kernel/builtin_guests.hpp"

#include <string.h>

#include "kernel/vm.hpp"

// guests/tests/*.bin, embedded by the Makefile (build/guests/images.S).
#define GUEST_IMAGE(name)                                                                                              \
    extern "C" const uint8_t guest_##name##_start[];                                                                   \
    extern "C" const uint8_t guest_##name##_end[];
GUEST_IMAGE(hypercall)
GUEST_IMAGE(mmio)
GUEST_IMAGE(psci)
GUEST_IMAGE(isolation)
GUEST_IMAGE(memcheck)
GUEST_IMAGE(smcforward)
GUEST_IMAGE(bench)
GUEST_IMAGE(hostile)
GUEST_IMAGE(spinner)
GUEST_IMAGE(vtimer)
GUEST_IMAGE(idle)
GUEST_IMAGE(ipi)
#undef GUEST_IMAGE

namespace builtin_guests {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

struct Entry {
    const char* name;
    const uint8_t* start;
    const uint8_t* end;
    VmSpec spec;
};

constexpr VmSpec make(uint32_t vcpus, uint64_t ram_mib)
{
    VmSpec spec;
    spec.vcpu_count = vcpus;
    spec.ram_size = ram_mib * kMiB;
    return spec;
}

constinit Entry entries[] = {
    {"hypercall", guest_hypercall_start, guest_hypercall_end, make(1, 4)},
    {"mmio", guest_mmio_start, guest_mmio_end, make(1, 4)},
    {"psci", guest_psci_start, guest_psci_end, make(4, 4)},
    {"isolation", guest_isolation_start, guest_isolation_end, make(2, 4)},
    {"memcheck-a", guest_memcheck_start, guest_memcheck_end, make(1, 4)},
    {"memcheck-b", guest_memcheck_start, guest_memcheck_end, make(1, 4)},
    {"smc-forward", guest_smcforward_start, guest_smcforward_end, make(1, 4)},
    {"bench", guest_bench_start, guest_bench_end, make(1, 4)},
    {"hostile", guest_hostile_start, guest_hostile_end, make(2, 4)},
    {"spinner", guest_spinner_start, guest_spinner_end, make(2, 4)},
    {"vtimer", guest_vtimer_start, guest_vtimer_end, make(1, 4)},
    {"idle", guest_idle_start, guest_idle_end, make(4, 4)},
    {"ipi", guest_ipi_start, guest_ipi_end, make(4, 4)},
};

constinit bool initialised = false;

void init()
{
    for (Entry& e : entries) {
        e.spec.name = e.name;
        e.spec.image = e.start;
        e.spec.image_size = static_cast<size_t>(e.end - e.start);
        if (strcmp(e.name, "mmio") == 0 || strcmp(e.name, "bench") == 0) {
            e.spec.test_device = true;
        } else if (strcmp(e.name, "isolation") == 0 || strcmp(e.name, "spinner") == 0) {
            e.spec.pcpu[0] = 0; // both vCPUs share physical CPU 0
            e.spec.pcpu[1] = 0;
        } else if (strcmp(e.name, "memcheck-a") == 0) {
            e.spec.boot_x0 = 0xa;
        } else if (strcmp(e.name, "smc-forward") == 0) {
            e.spec.smc_allow[0] = {0xc2000042, 0xc2000042}; // el3fw::kSipTest only
            e.spec.smc_allow_count = 1;
        } else if (strcmp(e.name, "memcheck-b") == 0) {
            e.spec.boot_x0 = 0xb;
        }
    }
    initialised = true;
}

} // namespace

const VmSpec* find(const char* name)
{
    if (!initialised) {
        init();
    }
    for (const Entry& e : entries) {
        if (strcmp(e.name, name) == 0) {
            return &e.spec;
        }
    }
    return nullptr;
}

void list(char* out, size_t size)
{
    out[0] = '\0';
    for (const Entry& e : entries) {
        if (out[0] != '\0') {
            strncat(out, ", ", size - strlen(out) - 1);
        }
        strncat(out, e.name, size - strlen(out) - 1);
    }
}

} // namespace builtin_guests
