// A virtual CPU: its registers, how it enters the guest, and the decoded
// exit it comes back with. It knows nothing of devices: the kernel's exit
// handlers get a decoded Exit and complete it through the methods below.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vcpu/context.hpp"
#include "vcpu/debug.hpp"
#include "vcpu/exit.hpp"
#include "vcpu/inject.hpp"
#include "vcpu/pmu_state.hpp"

class Vm;
class Vgic;
struct PerCpu;

enum class VcpuState : uint8_t {
    Off,      // not started (PSCI CPU_OFF, or never powered on)
    Runnable, // waiting for its physical CPU
    Running,  // in the guest or being handled on its physical CPU
    Blocked,  // WFI with nothing pending
    Stopped,  // its VM was stopped or crashed
};

/// What a vCPU cost, in exits and physical-counter ticks (instructions
/// under QEMU's -icount): read by the guest through hypercalls, shown by
/// the monitor. Only its own physical CPU writes them; readers elsewhere
/// see word-sized values, possibly a little behind.
struct VcpuStats {
    static constexpr unsigned kKinds = 14; // ExitKind values
    uint64_t exits[kKinds] = {};           // by kind, interrupts (IRQ, FIQ, SError) too
    uint64_t vireo_ticks[kKinds] = {};     // in Vireo per kind: from the exit to the next entry or switch
    uint64_t guest_ticks = 0;              // in the guest
    uint64_t injected = 0;                 // interrupts put into its list registers
    uint64_t wfi_blocks = 0;               // times it slept waiting for an interrupt (WFI, CPU_SUSPEND)
    // The longest stretch Vireo held its physical CPU for it without
    // looking at interrupts (from an exit, or a step of device work, to the
    // next entry, step or switch), and where: the exit's kind and its IPA
    // (stage-2 aborts) or guest PC (the others).
    uint64_t longest_ticks = 0;
    uint64_t longest_kind = 0;
    uint64_t longest_where = 0;

    /// Exits of every kind, IRQ, FIQ and SError included.
    uint64_t all_exits() const
    {
        uint64_t n = 0;
        for (uint64_t count : exits) {
            n += count;
        }
        return n;
    }
};

/// The EL1 physical timer (CNTP_CTL/CVAL/TVAL_EL0), emulated: its registers
/// trap to EL2 (CNTHCTL_EL2.EL1PCEN = 0) and kernel/devices/timer keeps
/// this state. It counts the physical counter, which the guest reads
/// untrapped (CNTPCT_EL0 = CNTVCT_EL0 + CNTVOFF_EL2, as on hardware).
struct PhysTimer {
    static constexpr uint64_t kEnable = 1;
    static constexpr uint64_t kImask = 2;
    static constexpr uint64_t kIstatus = 4;

    uint64_t ctl = 0; // ENABLE and IMASK as the guest wrote them
    uint64_t cval = 0;

    /// Enabled and unmasked: its interrupt line follows the compare.
    bool armed() const { return (ctl & (kEnable | kImask)) == kEnable; }
    /// The condition met (ISTATUS), with the counter at `now`.
    bool met(uint64_t now) const { return (ctl & kEnable) != 0 && now >= cval; }
    /// Its interrupt line's level.
    bool asserted(uint64_t now) const { return armed() && now >= cval; }
};

/// The per-VM values a vCPU writes into EL2 registers on each switch.
struct Stage2Context {
    uint64_t vttbr = 0;   // VMID and stage-2 root
    uint64_t cntvoff = 0; // virtual counter offset
    // The VM's memory, where guest instructions may be read: its RAM
    // first, then its regions (ROM, flash, more RAM).
    struct Span {
        uint64_t pa;
        uint64_t size;
    };
    static constexpr size_t kMaxSpans = 9;
    Span spans[kMaxSpans] = {};
    size_t span_count = 0;
};

class Vcpu {
public:
    GuestRegs regs = {};
    El1State el1 = {};
    FpState fp = {};
    DebugState debug = {}; // breakpoints, watchpoints, MDSCR_EL1, OS lock (vcpu/debug.hpp)
    VcpuStats stats;
    // The monitor's marks (kernel/console/monitor.cpp, CPU 0 only): what
    // `stat -r` took as zero, and what the last `stat` showed (`top`'s
    // mark is at the end, out of the way of what exits use).
    VcpuStats stats_base;
    VcpuStats stats_shown;
    PhysTimer ptimer;
    PmuState pmu; // its virtual PMU (kernel/devices/pmu)

    Vm* vm = nullptr; // the VM layer's view of its VM (kernel/vm)
    // Whether its WFI exits to Vireo (else it waits in the guest, load()).
    // Cleared by a WFI exit that finds it may wait in the guest
    // (wfi_in_guest in kernel/exit/dispatch.hpp), set again when an
    // interrupt goes into its list registers (kernel/devices/gic); load()
    // also traps WFI while its VM's console holds an unfinished line (the
    // bytes at console_unfinished, kernel/console/vm_console.hpp).
    bool trap_wfi = true;
    // Direct interrupt delivery (kernel/devices/gic/direct.hpp): its guest
    // takes its interrupts at the real CPU interface (HCR_EL2.IMO clear,
    // FMO set, WFI not trapped: vcpu_hcr_direct); set for its VM's life,
    // with trap_wfi false and console_unfinished nullptr.
    bool direct = false;
    const size_t* console_unfinished = nullptr;
    Vgic* vgic = nullptr; // its VM's virtual GIC; nullptr when the VM has none
    const Stage2Context* stage2 = nullptr;
    uint32_t index = 0; // within its VM
    uint32_t pcpu = 0;  // the physical CPU it is pinned to
    uint64_t mpidr = 0; // what the guest reads from MPIDR_EL1 (affinity)
    VcpuState state = VcpuState::Off;
    uint64_t wake_at = ~0ull;    // Blocked: physical counter value its virtual timer fires at
    Vcpu* next_queued = nullptr; // the next vCPU on its physical CPU's run queue (kernel/sched)
    /// Work Vireo does on this vCPU's time before it runs its guest again
    /// (a VM reset's RAM reload): the scheduler calls it instead of
    /// entering the guest, one bounded step at a time, until it returns true.
    bool (*work)(Vcpu& vcpu) = nullptr;
    /// Device work its exits left over (a transmit queue longer than one
    /// exit's budget): done in bounded steps on this vCPU's time before its
    /// guest runs again, the scheduler looking at interrupts and the time
    /// slice between steps, until it returns true. Set (VmHost::owe_work)
    /// and run only on its own physical CPU.
    bool (*device_work)(Vcpu& vcpu) = nullptr;

    /// Publishes a new state to the other CPUs (release: what this CPU wrote
    /// before is visible to whoever sees the state).
    void set_state(VcpuState s)
    {
        __atomic_store_n(reinterpret_cast<uint8_t*>(&state), static_cast<uint8_t>(s), __ATOMIC_RELEASE);
    }

    /// Architectural reset, then entry at `pc` in EL1h with the MMU off and
    /// `x0` in x0 (PSCI CPU_ON's context id; the DTB address for a boot CPU).
    void reset(uint64_t pc, uint64_t x0);

    /// Runs the guest until an exit the vCPU cannot finish by itself (FP/SIMD
    /// traps and instruction fetches for ISV=0 aborts are handled here). The
    /// exit stays valid until the next run(). The time from the exit to the
    /// next run() is Vireo's, charged to the exit's kind.
    const vcpu::Exit& run();
    /// The vCPU leaves its physical CPU (blocks, yields, stops) after its
    /// last exit: the time since that exit is charged to it, none after.
    void leave_cpu();
    /// A step of device work for this vCPU begins: its time is Vireo's for
    /// this vCPU from here (if the vCPU just came back to its CPU) or from
    /// its last exit, charged to that exit's kind.
    void begin_stretch();
    /// Vireo looked at interrupts after the step: the time since the stretch
    /// began is charged as one stretch, and the next one starts now.
    void end_stretch();

    /// Xn as an instruction sees it: 31 reads as zero (XZR).
    uint64_t reg(unsigned n) const { return n < 31 ? regs.x[n] : 0; }
    void set_reg(unsigned n, uint64_t value)
    {
        if (n < 31) {
            regs.x[n] = value;
        }
    }
    /// Steps past an instruction Vireo emulated. A step in progress
    /// completes as on hardware: PSTATE.SS 0 on the return makes the
    /// guest take its software step exception before the next
    /// instruction (Arm ARM D2, "Software Step exceptions": the state
    /// machine moves from active-not-pending to active-pending once the
    /// instruction completes), not one instruction later.
    void skip_instruction()
    {
        regs.elr += 4;
        regs.spsr &= ~vcpu::kPstateSs;
    }

    /// Finishes an emulated load or store: writes the loaded values
    /// (`values[1]` for the second register of a pair), applies a pre/post
    /// index writeback, and steps past the instruction.
    void complete_mmio(const vcpu::MmioAccess& access, const uint64_t values[2]);
    /// complete_mmio() for an access of one register with no writeback
    /// (every access that came with a syndrome), inline: it is on the path
    /// of nearly every emulated access.
    void complete_single_mmio(const vcpu::MmioAccess& access, uint64_t value)
    {
        if (!access.write && access.rt < 31) {
            regs.x[access.rt] = vcpu::load_result(access, value);
        }
        skip_instruction();
    }

    void inject_undefined();
    void inject_abort(uint64_t far, bool instruction, bool write);

    /// Saves this vCPU's EL1 and FP/SIMD state out of the registers of the
    /// calling physical CPU (its own: when it goes off or is stopped), so
    /// another CPU may reset it.
    void unload();

private:
    vcpu::Exit exit_;
    uint64_t exited_at_ = 0;   // physical counter at the last exit; 0 once charged
    uint8_t counted_kind_ = 0; // the kind the last exit was counted as
    bool needs_reload_ = false;
    /// Puts this vCPU's EL1 state and stage-2 context into the registers of
    /// the calling physical CPU, saving whoever was there.
    void load();
    /// load() when another vCPU's state (or none, or ours from before a
    /// reset) is in the registers.
    __attribute__((noinline)) void switch_in(PerCpu* cpu);
    void take_fpsimd();
    /// Charges the time from the last exit to `now` to that exit's kind.
    void charge_vireo(uint64_t now);
    bool decode_from_instruction(vcpu::Exit& exit);
    bool ipa_from_far(vcpu::Exit& exit);
    /// The guest's `va` translated as its EL reads it: to an IPA, or through
    /// stage 2 to a PA. False when it does not translate.
    bool translate(uint64_t va, bool through_stage2, uint64_t& out) const;
    /// Whether `pa` is memory of the VM's (RAM or a region) holding a whole instruction.
    bool code_at(uint64_t pa) const;
    uint64_t stack_pointer() const;
    void set_stack_pointer(uint64_t value);

public:
    // What the monitor's `top` showed last (kernel/console/monitor_views.cpp):
    // last, so that the members the exit path uses keep their offsets.
    VcpuStats stats_top;

public:
    // Last, out of the way of the members the exit path uses.
    /// device_work waits for the guest's next exit, whatever its kind
    /// (VmHost::defer_work): the scheduler runs the guest once more first.
    bool device_work_waits = false;
    /// The physical counter at its last transmit kick (VmHost::defer_work).
    uint64_t last_kick = 0;
};

/// Per physical CPU: EL2 registers that are the same for every guest.
void vcpu_cpu_init(unsigned ipa_bits);
/// This CPU's HCR_EL2 for a direct vCPU (`on`: IMO and TWI clear, FMO set;
/// kernel/devices/gic/direct.hpp), or back to whatever the next vCPU needs.
void vcpu_hcr_direct(bool on);

/// The guest IPA size this CPU supports, capped at 40 bits.
unsigned vcpu_ipa_bits();
