// Exit-path benchmark: the cost of a null hypercall, a trapped MMIO read and
// a trapped system-register read, timed with CNTVCT. Runs as a VM under
// Vireo (vireo.vms=bench) or natively at EL1 (QEMU -kernel bench.elf without
// virtualization=on) for the baseline; scripts/bench runs both under
// -icount shift=0, where the counter follows executed instructions.
#include "lib/guest.hpp"

using namespace guest;

namespace {

constexpr uint64_t kIterations = 100000;
constexpr uint64_t kDevice = 0x0a000000; // test device under Vireo; virtio-mmio natively

__attribute__((noinline)) uint64_t time_loop()
{
    const uint64_t start = counter();
    for (uint64_t i = 0; i < kIterations; i++) {
        asm volatile("" ::: "memory");
    }
    return counter() - start;
}

__attribute__((noinline)) uint64_t time_hvc()
{
    const uint64_t start = counter();
    for (uint64_t i = 0; i < kIterations; i++) {
        register uint64_t x0 asm("x0") = kHcNull;
        asm volatile("hvc #0" : "+r"(x0)::"x1", "x2", "x3", "memory");
    }
    return counter() - start;
}

__attribute__((noinline)) uint64_t time_mmio()
{
    const uint64_t start = counter();
    for (uint64_t i = 0; i < kIterations; i++) {
        (void)*reinterpret_cast<volatile uint32_t*>(kDevice);
    }
    return counter() - start;
}

__attribute__((noinline)) uint64_t time_sysreg()
{
    const uint64_t start = counter();
    for (uint64_t i = 0; i < kIterations; i++) {
        uint64_t v;
        asm volatile("mrs %0, id_aa64pfr0_el1" : "=r"(v)::"memory");
    }
    return counter() - start;
}

void report(const char* name, uint64_t ticks, uint64_t loop)
{
    // Hundredths of a tick per operation, beyond the empty loop.
    const uint64_t per_op = (ticks - loop) * 100 / kIterations;
    print("BENCH %s: %lu.%02lu ticks/op\n", name, per_op / 100, per_op % 100);
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t)
{
    // Natively, HVC reaches QEMU's own PSCI, which answers -1 to our call.
    const bool native = call(kHcUid) != 0x7669726f;
    if (native) {
        use_pl011_console(0x09000000);
    }
    uint64_t freq;
    asm volatile("mrs %0, cntfrq_el0" : "=r"(freq));
    print("BENCH mode: %s, %lu iterations, counter %lu Hz\n", native ? "native" : "vireo", kIterations, freq);
    const uint64_t loop = time_loop();
    report("null-hypercall", time_hvc(), loop);
    report("mmio-read", time_mmio(), loop);
    report("sysreg-read", time_sysreg(), loop);
}
