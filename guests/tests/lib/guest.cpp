#include "guest.hpp"

#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" char _end[];

namespace guest {
namespace {

int failed = 0;
uint64_t pl011 = 0;

// The exception a test expects; the handler records it and skips the instruction.
volatile bool expecting = false;
volatile uint64_t fault_esr = 0;
volatile uint64_t fault_far = 0;

} // namespace

Regs hvc(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    register uint64_t x0 asm("x0") = a0;
    register uint64_t x1 asm("x1") = a1;
    register uint64_t x2 asm("x2") = a2;
    register uint64_t x3 asm("x3") = a3;
    asm volatile("hvc #0"
                 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                 :
                 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
                   "memory");
    return {{x0, x1, x2, x3}};
}

Regs smc(const uint64_t args[18])
{
    Regs out;
    asm volatile("mov x18, %1\n\t"
                 "ldp x0, x1, [x18, #0]\n\tldp x2, x3, [x18, #16]\n\tldp x4, x5, [x18, #32]\n\t"
                 "ldp x6, x7, [x18, #48]\n\tldp x8, x9, [x18, #64]\n\tldp x10, x11, [x18, #80]\n\t"
                 "ldp x12, x13, [x18, #96]\n\tldp x14, x15, [x18, #112]\n\tldp x16, x17, [x18, #128]\n\t"
                 "smc #0\n\t"
                 "stp x0, x1, [%0, #0]\n\tstp x2, x3, [%0, #16]"
                 :
                 : "r"(out.x), "r"(args)
                 : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
                   "x16", "x17", "x18", "memory");
    return out;
}

void print(const char* format, ...)
{
    char line[256];
    va_list args;
    va_start(args, format);
    const int n = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    const size_t length = n < 0 ? 0 : static_cast<size_t>(n) < sizeof line ? static_cast<size_t>(n) : sizeof line - 1;
    if (pl011 != 0) {
        for (size_t i = 0; i < length; i++) {
            *reinterpret_cast<volatile uint32_t*>(pl011) = static_cast<uint8_t>(line[i]);
        }
        return;
    }
    hvc(kHcConsoleWrite, reinterpret_cast<uint64_t>(line), length); // MMU off: VA == IPA
}

void use_pl011_console(uint64_t base) { pl011 = base; }

bool test(const char* name, bool pass, const char* details)
{
    if (pass) {
        print("TEST %s: PASS\n", name);
    } else {
        failed++;
        print("TEST %s: FAIL%s%s%s\n", name, details[0] ? " (" : "", details, details[0] ? ")" : "");
    }
    return pass;
}

int failures() { return failed; }

uint64_t cpu_id()
{
    uint64_t mpidr;
    asm volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
    return mpidr & 0xff;
}

uint64_t counter()
{
    uint64_t value;
    asm volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(value));
    return value;
}

uint64_t dt_cells(const void* cells, int count)
{
    const auto* p = static_cast<const fdt32_t*>(cells);
    uint64_t value = 0;
    for (int i = 0; i < count; i++) {
        value = value << 32 | fdt32_to_cpu(p[i]);
    }
    return value;
}

uint64_t allocate(uint64_t bytes, uint64_t align)
{
    static uint64_t next_free; // 0: nothing given out yet
    if (next_free == 0) {
        next_free = reinterpret_cast<uint64_t>(_end);
    }
    next_free = (next_free + align - 1) & ~(align - 1);
    const uint64_t at = next_free;
    next_free += bytes;
    memset(reinterpret_cast<void*>(at), 0, bytes);
    return at;
}

uint64_t bootarg(uint64_t dtb, const char* key, uint64_t fallback)
{
    const void* fdt = reinterpret_cast<const void*>(dtb);
    if (dtb == 0 || fdt_check_header(fdt) != 0) {
        return fallback;
    }
    const int chosen = fdt_path_offset(fdt, "/chosen");
    const auto* args = chosen < 0 ? nullptr : static_cast<const char*>(fdt_getprop(fdt, chosen, "bootargs", nullptr));
    const size_t key_length = strlen(key);
    for (const char* p = args; p != nullptr && *p != '\0'; p = strchr(p, ' ')) {
        p += strspn(p, " ");
        if (strncmp(p, key, key_length) == 0 && p[key_length] == '=') {
            return strtoull(p + key_length + 1, nullptr, 0);
        }
    }
    return fallback;
}

Fault expect_fault(void (*fn)())
{
    fault_esr = 0;
    fault_far = 0;
    expecting = true;
    fn();
    expecting = false;
    return {fault_esr, fault_far};
}

} // namespace guest

extern "C" {

uintptr_t __stack_chk_guard = 0x5d3e1c2b4a697887ull; // libfdt is built with the stack protector
void __stack_chk_fail()
{
    guest::print("guest: stack smashed\n");
    guest_system_off();
}

void guest_exception(ExceptionFrame* frame, uint64_t kind)
{
    uint64_t esr, far;
    asm volatile("mrs %0, esr_el1" : "=r"(esr));
    asm volatile("mrs %0, far_el1" : "=r"(far));
    if (kind == 5) { // IRQ, current EL with SP_ELx
        guest_irq();
        return;
    }
    if (kind == 4 && guest::expecting) { // synchronous, current EL with SP_ELx
        guest::fault_esr = esr;
        guest::fault_far = far;
        guest::expecting = false;
        // An instruction abort has no instruction to skip: return to the caller.
        frame->elr = (esr >> 26) == 0x21 ? frame->x[30] : frame->elr + 4;
        return;
    }
    if (kind == 4 && guest_sync_exception(frame, esr, far)) {
        return;
    }
    guest::print("TEST unexpected-exception: FAIL (vector %lu, ESR 0x%lx, FAR 0x%lx, ELR 0x%lx)\n", kind, esr, far,
                 frame->elr);
    guest_system_off();
}

void guest_system_off()
{
    guest::print("guest: %d test%s failed; SYSTEM_OFF\n", guest::failures(), guest::failures() == 1 ? "" : "s");
    guest::hvc(guest::kPsciSystemOff);
    for (;;) {
        asm volatile("wfi");
    }
}

void guest_cpu_off()
{
    guest::hvc(guest::kPsciCpuOff);
    for (;;) {
        asm volatile("wfi");
    }
}

__attribute__((weak)) void guest_secondary(uint64_t, uint64_t) {}

__attribute__((weak)) bool guest_sync_exception(ExceptionFrame*, uint64_t, uint64_t) { return false; }

__attribute__((weak)) void guest_irq()
{
    guest::print("TEST unexpected-interrupt: FAIL\n");
    guest_system_off();
}

// newlib's needs, for a guest without files or heap.
void* _sbrk(ptrdiff_t) { return reinterpret_cast<void*>(-1); }
int _write(int, const void*, size_t) { return -1; }
int _read(int, void*, size_t) { return -1; }
int _close(int) { return -1; }
int _fstat(int, void*) { return -1; }
int _isatty(int) { return 0; }
long _lseek(int, long, int) { return -1; }
int _getpid() { return 1; }
int _kill(int, int) { return -1; }
void _exit(int) { guest_system_off(); }
}
