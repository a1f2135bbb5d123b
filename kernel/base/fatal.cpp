// Reporting of unexpected exceptions at EL2 and of panics: everything a
// developer needs to find the fault, then the CPU stops.
#include <stdarg.h>
#include <stdio.h>

#include "kernel/base/fatal.hpp"
#include "kernel/base/panic.hpp"
#include "kernel/console/console.hpp"
#include "kernel/cpu/percpu.hpp"
#include "platform/cpu.hpp"

namespace {

const char* const kVectorNames[16] = {
    "sync from EL2 (SP_EL0)",
    "IRQ from EL2 (SP_EL0)",
    "FIQ from EL2 (SP_EL0)",
    "SError from EL2 (SP_EL0)",
    "sync from EL2",
    "IRQ from EL2",
    "FIQ from EL2",
    "SError from EL2",
    "sync from lower EL (A64)",
    "IRQ from lower EL (A64)",
    "FIQ from lower EL (A64)",
    "SError from lower EL (A64)",
    "sync from lower EL (A32)",
    "IRQ from lower EL (A32)",
    "FIQ from lower EL (A32)",
    "SError from lower EL (A32)",
};

int cpu_number()
{
    const PerCpu* cpu = this_cpu();
    return cpu != nullptr ? static_cast<int>(cpu->index) : -1;
}

void put_line(const char* format, ...) __attribute__((format(printf, 1, 2)));
void put_line(const char* format, ...)
{
    char line[160];
    va_list args;
    va_start(args, format);
    const int n = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    console::write_raw(line, n < 0                                  ? 0
                             : static_cast<size_t>(n) < sizeof line ? static_cast<size_t>(n)
                                                                    : sizeof line - 1);
}

/// Says whether `address` lies in the guard page below some CPU's stack.
int guard_page_owner(uint64_t address)
{
    for (uint32_t i = 0; i < VIREO_MAX_CPUS; i++) {
        const StackRange stack = percpu_stack(i);
        if (address >= stack.base - VIREO_PAGE_SIZE && address < stack.base) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

} // namespace

extern "C" [[noreturn]] void el2_fatal_exception(const FatalFrame* frame)
{
    const uint64_t esr = arch::read_esr_el2();
    const uint64_t far = arch::read_far_el2();
    const bool locked = console::lock_for_crash();
    put_line("\n*** unexpected exception on cpu %d: %s ***\n", cpu_number(), kVectorNames[frame->kind & 15]);
    put_line("ESR_EL2 0x%016lx (EC 0x%02lx)  ELR_EL2 0x%016lx\n", esr, (esr >> 26) & 0x3f, arch::read_elr_el2());
    put_line("FAR_EL2 0x%016lx  SPSR_EL2 0x%016lx  SP 0x%016lx\n", far, arch::read_spsr_el2(), frame->sp);
    const int guard = guard_page_owner(far);
    if (guard >= 0) {
        put_line("FAR is in the guard page of cpu %d's stack: stack overflow\n", guard);
    }
    for (int i = 0; i < 31; i += 2) {
        if (i + 1 < 31) {
            put_line("x%-2d 0x%016lx  x%-2d 0x%016lx\n", i, frame->x[i], i + 1, frame->x[i + 1]);
        } else {
            put_line("x%-2d 0x%016lx\n", i, frame->x[i]);
        }
    }
    put_line("cpu %d halted\n", cpu_number());
    console::unlock_after_crash(locked);
    halt();
}

void panic(const char* format, ...)
{
    char message[256];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    const bool locked = console::lock_for_crash();
    put_line("\n*** panic on cpu %d: %s ***\n", cpu_number(), message);
    console::unlock_after_crash(locked);
    halt();
}
