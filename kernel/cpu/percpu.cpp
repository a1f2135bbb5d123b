#include "kernel/cpu/percpu.hpp"

extern "C" {
PerCpu vireo_cpus[VIREO_MAX_CPUS];
extern char __stacks_start[];
}

namespace {
alignas(16) char exc_stacks[VIREO_MAX_CPUS][VIREO_EXC_STACK_SIZE];
}

StackRange percpu_stack(uint32_t index)
{
    // Slot layout (linker/vireo.ld.S): [guard page][stack], one slot per CPU.
    const auto slot = reinterpret_cast<uint64_t>(__stacks_start) + uint64_t{index} * VIREO_STACK_SLOT;
    return {slot + VIREO_PAGE_SIZE, slot + VIREO_STACK_SLOT};
}

void percpu_init(uint32_t index, uint64_t mpidr)
{
    PerCpu& cpu = vireo_cpus[index];
    cpu.index = index;
    cpu.mpidr = mpidr;
    cpu.stack_top = percpu_stack(index).top;
    cpu.exc_stack_top = reinterpret_cast<uint64_t>(&exc_stacks[index][VIREO_EXC_STACK_SIZE]);
}
