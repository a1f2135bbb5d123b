#include "vcpu/vcpu.hpp"

#include "kernel/cpu/percpu.hpp"
#include "vcpu/inject.hpp"

using namespace vcpu;

namespace {

// HCR_EL2 for guests (Arm ARM D19.2.48): stage 2 on, physical interrupts
// to EL2, broadcast TLB/cache maintenance inner shareable, WFI/WFE trapped,
// ID group 3 and implementation-defined registers trapped, SMC trapped,
// LORegions trapped, EL1 is AArch64. (WFI is not trapped for a vCPU alone
// on its CPU: see Vcpu::load.) API/APK clear: pointer authentication
// is hidden. ATA clear: MTE tags are hidden.
constexpr uint64_t kHcrVm = 1ull << 0;
constexpr uint64_t kHcrTwi = 1ull << 13;
constexpr uint64_t kHcrImo = 1ull << 4;
constexpr uint64_t kHcrGuest =
    kHcrVm | 1ull << 1 /* SWIO */ | 1ull << 3 /* FMO */ | 1ull << 4 /* IMO */ | 1ull << 5 /* AMO */ |
    1ull << 9 /* FB */ | 1ull << 10 /* BSU=IS */ | 1ull << 13 /* TWI */ | 1ull << 14 /* TWE */ | 1ull << 18 /* TID3 */ |
    1ull << 19 /* TSC */ | 1ull << 20 /* TIDCP */ | 1ull << 21 /* TACR */ | 1ull << 31 /* RW */ | 1ull << 35 /* TLOR */;

// CPTR_EL2 (E2H=0): RES1 bits with TZ (SVE) and TSM (SME) trapping, TTA
// (trace) and TAM (activity monitors) trapped; TFP added while another
// vCPU's FP/SIMD state is in the registers.
constexpr uint64_t kCptrGuest = 0x33ffull | 1ull << 20 | 1ull << 30;
constexpr uint64_t kCptrTfp = 1ull << 10;

// SCTLR_EL1 reset value: RES1 bits, MMU and caches off.
constexpr uint64_t kSctlrEl1Reset = 0x30d00800ull;

#define WRITE_SYSREG(reg, value) asm volatile("msr " #reg ", %0" ::"r"(static_cast<uint64_t>(value)))
#define READ_SYSREG(reg)                                                                                               \
    ({                                                                                                                 \
        uint64_t v_;                                                                                                   \
        asm volatile("mrs %0, " #reg : "=r"(v_));                                                                      \
        v_;                                                                                                            \
    })

unsigned ipa_bits_from_parange(uint64_t parange)
{
    static const unsigned kBits[] = {32, 36, 40, 42, 44, 48, 52};
    const unsigned bits = parange < 7 ? kBits[parange] : 32;
    return bits > 40 ? 40 : bits;
}

} // namespace

unsigned vcpu_ipa_bits() { return ipa_bits_from_parange(READ_SYSREG(id_aa64mmfr0_el1) & 0xf); }

void vcpu_cpu_init(unsigned ipa_bits)
{
    // VTCR_EL2: T0SZ, start at level 1 (SL0=1), walks write-back cacheable
    // and inner shareable, 4 KiB granule, PS from PARange, RES1 bit 31.
    uint64_t ps = READ_SYSREG(id_aa64mmfr0_el1) & 0xf;
    if (ps > 5) {
        ps = 5;
    }
    const uint64_t vtcr = 1ull << 31 | ps << 16 | 3ull << 12 | 1ull << 10 | 1ull << 8 | 1ull << 6 | (64 - ipa_bits);
    WRITE_SYSREG(vtcr_el2, vtcr);
    // MDCR_EL2: keep HPMN, trap PMU (TPM, TPMCR) and every debug register
    // access (TDA, TDOSA, TDRA): both are emulated per vCPU (the virtual
    // PMU, kernel/devices/pmu/vpmu.hpp, adds HPMD/HCCD; debug: vcpu/debug.hpp);
    // TDE clear, so their debug exceptions go to their own EL1. Where the
    // CPU has them, SPE's sampling controls (TPMS) and the trace filter
    // TRFCR_EL1 (TTRF) trap too: their ID fields read as 0 to guests. (Both
    // bits are RES0 without the feature, so they are set only with it.)
    const uint64_t dfr0 = READ_SYSREG(id_aa64dfr0_el1);
    const uint64_t tpms = ((dfr0 >> 32) & 0xf) != 0 ? 1ull << 14 : 0;
    const uint64_t ttrf = ((dfr0 >> 40) & 0xf) != 0 ? 1ull << 19 : 0;
    const uint64_t hpmn = READ_SYSREG(mdcr_el2) & 0x1f;
    WRITE_SYSREG(mdcr_el2, hpmn | 1u << 5 | 1u << 6 | 1u << 9 | 1u << 10 | 1u << 11 | tpms | ttrf);
    debug_cpu_init();
    // The physical counter stays readable at EL1; the physical timer traps.
    WRITE_SYSREG(cnthctl_el2, 1);
    WRITE_SYSREG(vpidr_el2, READ_SYSREG(midr_el1));
    // A clean slate for every VMID (firmware may have used some).
    asm volatile("isb\n\ttlbi alle1\n\tdsb nsh\n\tisb" ::: "memory");
}

void Vcpu::reset(uint64_t pc, uint64_t x0)
{
    // The EL1 and FP/SIMD state is reset by load(), on this vCPU's own CPU:
    // until then that CPU may still hold our pre-reset registers, and
    // another vCPU taking the registers there saves them into el1 and fp
    // (an FP/SIMD trap, a switch), which would bring them back if they had
    // been cleared here. (reset() may also run on another CPU: PSCI CPU_ON.)
    needs_reload_ = true;
    regs = {};
    regs.x[0] = x0;
    regs.elr = pc;
    regs.spsr = kPstateDaif | kPstateEl1h;
    debug = {}; // never saved from the hardware (vcpu/debug.hpp)
    ptimer = {};
    pmu.request_reset(); // its own CPU drops what the hardware holds of it (vpmu::enter)
}

void Vcpu::switch_in(PerCpu* cpu)
{
    if (cpu->loaded != nullptr && cpu->loaded != this) {
        el1_state_save(cpu->loaded->el1);
    }
    if (needs_reload_) {
        // After reset(): nobody saves into our state any more (we own
        // the registers, or our state left them), so it is reset now.
        // Our pre-reset registers are dropped unsaved.
        if (cpu->fp_owner == this) {
            cpu->fp_owner = nullptr;
        }
        el1 = {};
        el1.sctlr = kSctlrEl1Reset;
        fp = {};
    }
    needs_reload_ = false;
    el1_state_load(el1);
    debug_load(debug);
    WRITE_SYSREG(vttbr_el2, stage2->vttbr);
    WRITE_SYSREG(cntvoff_el2, stage2->cntvoff);
    WRITE_SYSREG(vmpidr_el2, (1ull << 31) | mpidr);
    cpu->loaded = this;
}

inline void Vcpu::load()
{
    PerCpu* cpu = this_cpu();
    if (cpu->loaded != this || needs_reload_) [[unlikely]] {
        switch_in(cpu);
    }
    // A vCPU alone on its CPU waits in its own WFI (trap_wfi false), as KVM
    // lets it: nobody else could use the CPU, and the exit and the
    // scheduler's block and wake-up were most of an interrupt-driven
    // guest's cost. Anything that needs Vireo still gets there: physical
    // interrupts go to EL2 (IMO) and end a WFI whatever the guest's
    // PSTATE.I, virtual ones pending in the list registers end it too (Arm
    // ARM D1.6.2, "Wait for Interrupt"). When a second vCPU is assigned to
    // the CPU, WFI is trapped again from the next interrupt placed for this
    // one (the kick that starts the other brings it out of its guest).
    const bool trap =
        trap_wfi || (console_unfinished != nullptr && __atomic_load_n(console_unfinished, __ATOMIC_RELAXED));
    if (cpu->wfi_trapped != trap) [[unlikely]] {
        WRITE_SYSREG(hcr_el2, trap ? kHcrGuest : kHcrGuest & ~kHcrTwi);
        cpu->wfi_trapped = trap;
    }
    const bool fp_trapped = cpu->fp_owner != this;
    if (cpu->fp_trapped != fp_trapped) [[unlikely]] {
        WRITE_SYSREG(cptr_el2, fp_trapped ? kCptrGuest | kCptrTfp : kCptrGuest);
        cpu->fp_trapped = fp_trapped;
    }
    // No ISB: what was written here governs the guest, and the ERET into
    // it is a context synchronization event (Arm ARM D17.1, "Context
    // synchronization event"). Vireo's own code does not use FP/SIMD, and
    // reads back nothing it wrote here but the same registers, which
    // direct reads see in program order. (An ISB ends a translation block
    // in QEMU's TCG: one per exit was a measurable cost.)
}

void vcpu_hcr_direct(bool on)
{
    // A direct vCPU never traps WFI and never has console_unfinished or
    // trap_wfi set (kernel/vm/build.cpp), so load() finds "WFI not
    // trapped" in place and leaves this value alone.
    PerCpu* cpu = this_cpu();
    if (on) {
        WRITE_SYSREG(hcr_el2, kHcrGuest & ~(kHcrTwi | kHcrImo));
        cpu->wfi_trapped = 0;
    } else {
        cpu->wfi_trapped = -1; // the next entry of any vCPU writes its own
    }
}

void Vcpu::unload()
{
    PerCpu* cpu = this_cpu();
    if (cpu->fp_owner == this) {
        WRITE_SYSREG(cptr_el2, kCptrGuest);
        cpu->fp_trapped = 0;
        asm volatile("isb");
        fpsimd_save(&fp);
        cpu->fp_owner = nullptr;
    }
    if (cpu->loaded == this) {
        el1_state_save(el1);
        cpu->loaded = nullptr;
    }
}

void Vcpu::take_fpsimd()
{
    PerCpu* cpu = this_cpu();
    WRITE_SYSREG(cptr_el2, kCptrGuest);
    cpu->fp_trapped = 0;
    asm volatile("isb");
    if (cpu->fp_owner != nullptr) {
        fpsimd_save(&cpu->fp_owner->fp);
    }
    fpsimd_load(&fp);
    cpu->fp_owner = this;
}

uint64_t Vcpu::stack_pointer() const
{
    // SP_EL1 when the guest ran at EL1 with SPSel=1 (EL1h), else SP_EL0.
    if ((regs.spsr & kPstateModeMask) == kPstateEl1h) {
        return READ_SYSREG(sp_el1);
    }
    return regs.sp_el0;
}

void Vcpu::set_stack_pointer(uint64_t value)
{
    if ((regs.spsr & kPstateModeMask) == kPstateEl1h) {
        WRITE_SYSREG(sp_el1, value);
    } else {
        regs.sp_el0 = value;
    }
}

bool Vcpu::translate(uint64_t va, bool through_stage2, uint64_t& out) const
{
    // AT S1E1R/S1E0R (the guest's stage 1: an IPA) or S12E1R/S12E0R (and
    // our stage 2: a PA), at the guest's EL (D7.7). AT writes PAR_EL1,
    // which is the guest's: saved and put back.
    const bool el0 = (regs.spsr & 0xc) == 0;
    const uint64_t saved_par = READ_SYSREG(par_el1);
    if (through_stage2) {
        if (el0) {
            asm volatile("at s12e0r, %0" ::"r"(va));
        } else {
            asm volatile("at s12e1r, %0" ::"r"(va));
        }
    } else if (el0) {
        asm volatile("at s1e0r, %0" ::"r"(va));
    } else {
        asm volatile("at s1e1r, %0" ::"r"(va));
    }
    asm volatile("isb");
    const uint64_t par = READ_SYSREG(par_el1);
    WRITE_SYSREG(par_el1, saved_par);
    out = (par & 0x0000fffffffff000ull) | (va & 0xfff);
    return (par & 1) == 0;
}

bool Vcpu::ipa_from_far(Exit& exit)
{
    // HPFAR_EL2 need not hold the IPA for a permission fault (D19.2.56,
    // "HPFAR_EL2"): the guest's stage 1 gives it.
    if (!translate(exit.far, false, exit.ipa)) {
        return false; // the guest changed its tables since the store: it gets the abort
    }
    exit.mmio.ipa = exit.ipa;
    return true;
}

bool Vcpu::code_at(uint64_t pa) const
{
    for (size_t i = 0; i < stage2->span_count; i++) {
        const Stage2Context::Span& s = stage2->spans[i];
        if (pa >= s.pa && pa - s.pa <= s.size - 4) {
            return true;
        }
    }
    return false;
}

bool Vcpu::decode_from_instruction(Exit& exit)
{
    // Find the instruction through the guest's stage 1 and our stage 2.
    if (regs.spsr & kPstateAarch32) {
        return false; // only A64 loads and stores are decoded; an AArch32 EL0 gets the abort
    }
    const uint64_t pc = regs.elr;
    uint64_t pa = 0;
    if (!translate(pc, true, pa)) {
        return false; // the instruction's own page does not translate
    }
    // Only from the VM's memory: a PC in a passthrough device is not decoded.
    if (!code_at(pa)) {
        return false;
    }
    const uint32_t insn = *reinterpret_cast<const volatile uint32_t*>(pa);
    const uint64_t ipa = exit.mmio.ipa;
    const bool write = exit.mmio.write;
    if (!decode_load_store(insn, exit.mmio) || exit.mmio.write != write) {
        return false;
    }
    exit.mmio.ipa = ipa;
    exit.kind = ExitKind::Mmio;
    return true;
}

inline void Vcpu::charge_vireo(uint64_t now)
{
    if (exited_at_ == 0) {
        return;
    }
    const uint64_t stretch = now - exited_at_;
    stats.vireo_ticks[counted_kind_] += stretch;
    if (stretch > stats.longest_ticks) {
        stats.longest_ticks = stretch;
        stats.longest_kind = counted_kind_;
        stats.longest_where = is_stage2_abort(static_cast<ExitKind>(counted_kind_)) ? exit_.ipa : regs.elr;
    }
}

void Vcpu::begin_stretch()
{
    if (exited_at_ == 0) {
        exited_at_ = READ_SYSREG(cntpct_el0);
    }
}

void Vcpu::end_stretch()
{
    const uint64_t now = READ_SYSREG(cntpct_el0);
    charge_vireo(now);
    exited_at_ = now;
}

void Vcpu::leave_cpu()
{
    charge_vireo(READ_SYSREG(cntpct_el0));
    exited_at_ = 0;
}

static_assert(static_cast<unsigned>(ExitKind::Mmio) == 0 && static_cast<unsigned>(ExitKind::MmioNeedsDecode) == 1,
              "run() tells the MMIO kinds by their being first");

const Exit& Vcpu::run()
{
    Exit& exit = exit_;
    for (;;) {
        load();
        // Counter reads without an ISB: a few instructions of slack either
        // way are fine for statistics, a pipeline flush per exit is not.
        const uint64_t entered = READ_SYSREG(cntpct_el0);
        charge_vireo(entered);
        const uint64_t group = vcpu_enter(&regs);
        exited_at_ = READ_SYSREG(cntpct_el0);
        stats.guest_ticks += exited_at_ - entered;
        if (group == GUEST_EXIT_SYNC) [[likely]] { // the guest's own doing: a trap
            uint64_t hpfar;
            asm volatile("mrs %0, hpfar_el2" : "=r"(hpfar));
            decode_sync(READ_SYSREG(esr_el2), READ_SYSREG(far_el2), hpfar, exit);
        } else {
            exit.kind = group == GUEST_EXIT_IRQ   ? ExitKind::Irq
                        : group == GUEST_EXIT_FIQ ? ExitKind::Fiq
                                                  : ExitKind::SError;
        }
        // Counted (and its time charged) as it came, before decoding may
        // turn an ISV=0 abort into an MMIO access or a guest fault.
        counted_kind_ = static_cast<uint8_t>(exit.kind);
        stats.exits[counted_kind_]++;
        // Only the MMIO kinds and the FP/SIMD trap need more here: one
        // comparison for all others (interrupts, calls, system registers).
        if (exit.kind > ExitKind::MmioNeedsDecode && exit.kind != ExitKind::FpSimdTrap) [[likely]] {
            return exit;
        }
        if (exit.kind == ExitKind::FpSimdTrap) {
            take_fpsimd(); // and retry the instruction
            continue;
        }
        if (exit.permission_fault && !ipa_from_far(exit)) {
            exit.kind = ExitKind::GuestFault;
        }
        if (exit.kind == ExitKind::MmioNeedsDecode && !decode_from_instruction(exit)) {
            exit.kind = ExitKind::GuestFault;
        }
        return exit;
    }
}

void Vcpu::complete_mmio(const MmioAccess& access, const uint64_t values[2])
{
    if (access.writeback && access.rn == 31) [[unlikely]] { // SP as the base register
        uint64_t sp = stack_pointer();
        complete_access(access, values, regs.x, sp);
        set_stack_pointer(sp);
    } else {
        uint64_t no_sp = 0;
        complete_access(access, values, regs.x, no_sp);
    }
    skip_instruction();
}

namespace {
void apply(GuestRegs& regs, const Injection& in)
{
    WRITE_SYSREG(esr_el1, in.esr_el1);
    WRITE_SYSREG(far_el1, in.far_el1);
    WRITE_SYSREG(elr_el1, in.elr_el1);
    WRITE_SYSREG(spsr_el1, in.spsr_el1);
    regs.elr = in.pc;
    regs.spsr = in.pstate;
}
} // namespace

void Vcpu::inject_undefined()
{
    load();
    apply(regs, vcpu::inject_undefined({regs.elr, regs.spsr, READ_SYSREG(vbar_el1)}));
}

void Vcpu::inject_abort(uint64_t far, bool instruction, bool write)
{
    load();
    apply(regs, vcpu::inject_abort({regs.elr, regs.spsr, READ_SYSREG(vbar_el1)}, far, instruction, write));
}
