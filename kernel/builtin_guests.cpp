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
GUEST_IMAGE(echo)
GUEST_IMAGE(irqiso)
GUEST_IMAGE(rtcpass)
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

// A spec in one expression: each guest's peculiarities stand in the table.
struct Spec {
    VmSpec spec;
    constexpr Spec(uint32_t vcpus, uint64_t ram_mib)
    {
        spec.vcpu_count = vcpus;
        spec.ram_size = ram_mib * kMiB;
    }
    constexpr Spec& test_device()
    {
        spec.test_device = true;
        return *this;
    }
    constexpr Spec& all_on_cpu0() // every vCPU shares physical CPU 0
    {
        for (uint32_t i = 0; i < spec.vcpu_count; i++) {
            spec.pcpu[i] = 0;
        }
        return *this;
    }
    constexpr Spec& boot_x0(uint64_t value)
    {
        spec.boot_x0 = value;
        return *this;
    }
    constexpr Spec& passthrough(uint64_t base, uint64_t size, uint32_t intid)
    {
        Passthrough& p = spec.passthrough[spec.passthrough_count++];
        p.base = base;
        p.size = size;
        p.intids[p.intid_count++] = intid;
        return *this;
    }
    constexpr Spec& allow_smc(uint32_t first, uint32_t last)
    {
        spec.smc_allow[spec.smc_allow_count++] = {first, last};
        return *this;
    }
};

constinit Entry entries[] = {
    {"hypercall", guest_hypercall_start, guest_hypercall_end, Spec(1, 4).spec},
    {"mmio", guest_mmio_start, guest_mmio_end, Spec(1, 4).test_device().spec},
    {"psci", guest_psci_start, guest_psci_end, Spec(4, 4).spec},
    {"isolation", guest_isolation_start, guest_isolation_end, Spec(2, 4).all_on_cpu0().spec},
    {"memcheck-a", guest_memcheck_start, guest_memcheck_end, Spec(1, 4).boot_x0(0xa).spec},
    {"memcheck-b", guest_memcheck_start, guest_memcheck_end, Spec(1, 4).boot_x0(0xb).spec},
    // el3fw::kSipTest only
    {"smc-forward", guest_smcforward_start, guest_smcforward_end, Spec(1, 4).allow_smc(0xc2000042, 0xc2000042).spec},
    {"bench", guest_bench_start, guest_bench_end, Spec(2, 4).test_device().spec},
    {"hostile", guest_hostile_start, guest_hostile_end, Spec(2, 4).spec},
    {"spinner", guest_spinner_start, guest_spinner_end, Spec(2, 4).all_on_cpu0().spec},
    {"vtimer", guest_vtimer_start, guest_vtimer_end, Spec(1, 4).spec},
    {"vtimer-b", guest_vtimer_start, guest_vtimer_end, Spec(1, 4).all_on_cpu0().spec},
    {"idle", guest_idle_start, guest_idle_end, Spec(4, 4).spec},
    {"ipi", guest_ipi_start, guest_ipi_end, Spec(4, 4).spec},
    {"echo-a", guest_echo_start, guest_echo_end, Spec(1, 4).boot_x0(0).spec},
    {"echo-b", guest_echo_start, guest_echo_end, Spec(1, 4).boot_x0(1).spec},
    {"irqiso-a", guest_irqiso_start, guest_irqiso_end, Spec(1, 4).boot_x0(0).spec},
    {"irqiso-b", guest_irqiso_start, guest_irqiso_end, Spec(1, 4).boot_x0(1).spec},
    // QEMU virt's PL031 RTC and its SPI 2 (INTID 34), passed through.
    {"rtcpass", guest_rtcpass_start, guest_rtcpass_end, Spec(2, 4).passthrough(0x09010000, 0x1000, 34).spec},
};

constinit bool initialised = false;

/// What a constant expression cannot say: the name and the image's size.
void init()
{
    for (Entry& e : entries) {
        e.spec.name = e.name;
        e.spec.image = e.start;
        e.spec.image_size = static_cast<size_t>(e.end - e.start);
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
