// The little runtime of Vireo's bare-metal test guests: calls into the
// hypervisor, console output, test verdicts, expected exceptions.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace guest {

// Vireo's hypercalls (docs/hypercalls.md).
constexpr uint64_t kHcNull = 0x86000000;
constexpr uint64_t kHcConsoleWrite = 0x86000001;
constexpr uint64_t kHcYield = 0x86000002;
constexpr uint64_t kHcExitCount = 0x86000003;
constexpr uint64_t kHcStat = 0x86000004; // x1: 0 guest ticks, 1 injected, 2 WFI blocks, 16 + kind: Vireo's ticks
constexpr uint64_t kHcCallCount = 0x8600ff00;
constexpr uint64_t kHcUid = 0x8600ff01;

// ExitKind numbers for kHcExitCount (vcpu/exit.hpp).
constexpr uint64_t kExitMmio = 0;
constexpr uint64_t kExitHvc = 3;
constexpr uint64_t kExitMmioNeedsDecode = 1;
constexpr uint64_t kExitSysReg = 5;
constexpr uint64_t kExitIrq = 11; // IRQ, then FIQ and SError: the interrupt exits

// PSCI.
constexpr uint64_t kPsciVersion = 0x84000000;
constexpr uint64_t kPsciCpuSuspend = 0xc4000001;
constexpr uint64_t kPsciCpuOff = 0x84000002;
constexpr uint64_t kPsciCpuOn = 0xc4000003;
constexpr uint64_t kPsciAffinityInfo = 0xc4000004;
constexpr uint64_t kPsciMigrateInfoType = 0x84000006;
constexpr uint64_t kPsciSystemOff = 0x84000008;
constexpr uint64_t kPsciSystemReset = 0x84000009;
constexpr uint64_t kPsciFeatures = 0x8400000a;

struct Regs {
    uint64_t x[4];
};

/// HVC #0 with x0-x3; returns x0-x3.
Regs hvc(uint64_t x0, uint64_t x1 = 0, uint64_t x2 = 0, uint64_t x3 = 0);
/// SMC #0 with x0-x17 as given; returns x0-x3.
Regs smc(const uint64_t args[18]);

inline int64_t call(uint64_t fid, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0)
{
    return static_cast<int64_t>(hvc(fid, a1, a2, a3).x[0]);
}

void print(const char* format, ...) __attribute__((format(printf, 1, 2)));

/// Sends print() to a PL011 at `base` instead of the console hypercall
/// (for running a test program natively, without Vireo).
void use_pl011_console(uint64_t base);

/// Prints "TEST <name>: PASS" or "TEST <name>: FAIL (<details>)".
bool test(const char* name, bool pass, const char* details = "");
/// How many tests failed so far.
int failures();

uint64_t cpu_id();
uint64_t counter();

/// The number after `key=` in the /chosen/bootargs of the DTB at `dtb`
/// (the VM configuration's `bootargs`; decimal or 0x-hex), or `fallback`
/// when there is no DTB, no bootargs or no such key.
uint64_t bootarg(uint64_t dtb, const char* key, uint64_t fallback);

/// `count` big-endian 32-bit cells at `cells` (a DTB property's value) as one number.
uint64_t dt_cells(const void* cells, int count);

/// Zeroed memory after the guest's image, for tables, queues and buffers
/// a test hands to a device or the GIC: `bytes` at an `align`-aligned
/// address, never given back. The test keeps below where its VM's DTB is
/// (the top 2 MiB of its RAM).
uint64_t allocate(uint64_t bytes, uint64_t align);

/// Runs `fn` expecting it to take a synchronous exception at EL1; the
/// faulting instruction is skipped. Returns ESR_EL1 of it, or 0 if none came.
struct Fault {
    uint64_t esr;
    uint64_t far;
};
Fault expect_fault(void (*fn)());

} // namespace guest

extern "C" {
/// What an exception at EL1 saved (lib/crt0.S): the return goes to `elr`
/// with `spsr`, which a handler may change.
struct ExceptionFrame {
    uint64_t x[31];
    uint64_t elr;
    uint64_t spsr;
};
/// Synchronous exceptions from EL1 that expect_fault() does not expect
/// (weak default: false, then the guest reports an unexpected exception
/// and stops); true when the test handled it.
bool guest_sync_exception(ExceptionFrame* frame, uint64_t esr, uint64_t far);
/// The boot vCPU's test; x0 of the entry (the DTB's address) in `arg`.
void guest_main(uint64_t cpu, uint64_t arg);
/// Secondary vCPUs started with PSCI CPU_ON (weak default: CPU_OFF).
void guest_secondary(uint64_t cpu, uint64_t context);
void guest_system_off();
/// IRQs taken at EL1 (weak default: a failed test).
void guest_irq();
void guest_cpu_off();
extern char secondary_entry[];
}
