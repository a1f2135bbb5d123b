#include "kernel/exit/dispatch.hpp"

#include "kernel/console/console.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/devices/calls/calls.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/devices/pmu/vpmu.hpp"
#include "kernel/devices/sysreg/sysreg_emul.hpp"
#include "kernel/devices/timer/ptimer.hpp"
#include "kernel/vm/vm.hpp"

using vcpu::Exit;
using vcpu::ExitKind;
using vcpu::MmioAccess;

namespace {

/// Whether `v`'s WFI may wait in the guest (docs/vcpu.md): it is alone on
/// this CPU, its VM's console holds no unfinished line (shown when the
/// guest idles), and none of its list registers holds an interrupt the guest
/// may have completed unseen. Looked at by WFI exits only: on every entry
/// it cost a tenth of a hypercall.
bool wfi_in_guest(const Vcpu& v)
{
    return v.vgic != nullptr && __atomic_load_n(&this_cpu()->vcpus, __ATOMIC_RELAXED) == 1 && !vgic::lrs_in_use(v) &&
           (v.console_unfinished == nullptr || __atomic_load_n(v.console_unfinished, __ATOMIC_RELAXED) == 0);
}

/// Emulates a decoded LDP/STP or pre/post-indexed access through the VM's
/// MMIO bus; false with the address of the (first or second) access that
/// failed in `failed`.
__attribute__((noinline)) bool emulate_decoded(Vcpu& vcpu, const MmioAccess& access, uint64_t& failed)
{
    const MmioBus& bus = vcpu.vm->bus;
    const unsigned count = access.pair ? 2 : 1;
    uint64_t values[2] = {};
    for (unsigned i = 0; i < count; i++) {
        const uint64_t ipa = access.ipa + i * access.size;
        const bool ok = access.write ? bus.write(vcpu.index, ipa, access.size,
                                                 vcpu::store_value(access, vcpu.reg(i ? access.rt2 : access.rt)))
                                     : bus.read(vcpu.index, ipa, access.size, values[i]);
        if (!ok) {
            failed = ipa;
            return false;
        }
    }
    vcpu.complete_mmio(access, values);
    return true;
}

/// Emulates a load or store of one register with no writeback (every
/// access that came with a syndrome) through the VM's MMIO bus.
bool emulate_single(Vcpu& vcpu, const MmioAccess& access)
{
    const MmioBus& bus = vcpu.vm->bus;
    uint64_t value = 0;
    const bool ok = access.write
                        ? bus.write(vcpu.index, access.ipa, access.size, vcpu::store_value(access, vcpu.reg(access.rt)))
                        : bus.read(vcpu.index, access.ipa, access.size, value);
    if (ok) {
        vcpu.complete_single_mmio(access, value);
    }
    return ok;
}

__attribute__((noinline)) bool first_touch(Vcpu& vcpu, const Exit& exit);
__attribute__((noinline)) bool ignore_unmapped(Vcpu& vcpu, const Exit& exit);
__attribute__((noinline)) void mmio_fault(Vcpu& vcpu, const Exit& exit, uint64_t ipa);

/// Whatever else an access that no device took may be: RAM touched first,
/// an ignored hole, or the guest's fault (at `failed`).
__attribute__((noinline)) void mmio_unclaimed(Vcpu& vcpu, const Exit& exit, uint64_t failed)
{
    if (!first_touch(vcpu, exit) && !ignore_unmapped(vcpu, exit)) {
        mmio_fault(vcpu, exit, failed);
    }
}

/// A decoded load or store that stopped at `exit.mmio.ipa`. Out of line:
/// inlined, its registers made every other exit's frame larger.
__attribute__((noinline)) void mmio_exit(Vcpu& vcpu, const Exit& exit)
{
    const MmioAccess& access = exit.mmio;
    if (!access.pair && !access.writeback) [[likely]] {
        if (!emulate_single(vcpu, access)) {
            mmio_unclaimed(vcpu, exit, access.ipa);
        }
        return;
    }
    uint64_t failed = access.ipa;
    if (!emulate_decoded(vcpu, access, failed)) {
        mmio_unclaimed(vcpu, exit, failed);
    }
}

/// A stage-2 translation fault in a block of RAM the guest had not
/// touched yet: the block is now cleared and mapped, the access is retried.
__attribute__((noinline)) bool first_touch(Vcpu& vcpu, const Exit& exit)
{
    const uint64_t fsc = exit.esr & 0x3f;
    return (fsc & 0x3c) == 0x04 && vcpu.vm->touch_ram(exit.ipa); // 0b0001LL: translation fault, any level
}

/// An emulable access to an address with nothing behind it (no RAM, no
/// device's range: a stage-2 translation fault no device claimed) in a VM
/// with unmapped-mmio = "ignore": a load gets zero, a store is dropped.
__attribute__((noinline)) bool ignore_unmapped(Vcpu& vcpu, const Exit& exit)
{
    const MmioAccess& access = exit.mmio;
    Vm& vm = *vcpu.vm;
    if (exit.permission_fault) {
        return false; // a store to read-only memory no device owns (a read-only channel): never ignored
    }
    const uint64_t bytes = access.size * (access.pair ? 2u : 1u);
    const bool in_ram = access.ipa < vm.ram_ipa + vm.ram_size && vm.ram_ipa < access.ipa + bytes;
    if (vm.spec->config->unmapped_mmio != UnmappedMmio::Ignore || in_ram || vm.bus.overlaps(access.ipa, bytes)) {
        return false;
    }
    if (vm.should_log_unmapped()) {
        log_info("vm %s vcpu %u: MMIO %s with no device at IPA 0x%lx (pc 0x%lx): %s (unmapped-mmio = \"ignore\")",
                 vm.name, vcpu.index, access.write ? "write" : "read", access.ipa, vcpu.regs.elr,
                 access.write ? "dropped" : "read as zero");
    }
    const uint64_t zeros[2] = {};
    vcpu.complete_mmio(access, zeros);
    return true;
}

/// Injects the abort of the access (or instruction fetch) `exit` stopped at.
void abort_access(Vcpu& vcpu, const Exit& exit)
{
    const bool write = (exit.esr >> 6) & 1;
    vcpu.inject_abort(exit.far, exit.instruction_fault, write && !exit.instruction_fault);
}

void guest_fault(Vcpu& vcpu, const Exit& exit, const char* what)
{
    Vm& vm = *vcpu.vm;
    if (vm.should_log_fault()) {
        log_info("vm %s vcpu %u: %s at IPA 0x%lx (VA 0x%lx, pc 0x%lx, ESR 0x%lx): abort injected", vm.name, vcpu.index,
                 what, exit.ipa, exit.far, vcpu.regs.elr, exit.esr);
    }
    abort_access(vcpu, exit);
}

/// An emulable access at `ipa` (the whole access, or the failed half of a
/// pair) that no device took: the device whose range it is refused it
/// (named, with its reason), or there is none.
__attribute__((noinline)) void mmio_fault(Vcpu& vcpu, const Exit& exit, uint64_t ipa)
{
    if (exit.permission_fault) {
        guest_fault(vcpu, exit, "write to read-only memory");
        return;
    }
    const MmioAccess& access = exit.mmio;
    uint64_t offset = 0;
    const MmioDevice* device = vcpu.vm->bus.device_at(ipa, access.size, offset);
    if (device == nullptr) {
        guest_fault(vcpu, exit, access.write ? "MMIO write with no device" : "MMIO read with no device");
        return;
    }
    Vm& vm = *vcpu.vm;
    if (vm.should_log_fault()) {
        log_info("vm %s vcpu %u: %u-byte MMIO %s at IPA 0x%lx refused by %s (offset 0x%lx): %s (pc 0x%lx, ESR "
                 "0x%lx): abort injected",
                 vm.name, vcpu.index, access.size, access.write ? "write" : "read", ipa, device->name(), offset,
                 device->refusal(offset, access.size, access.write), vcpu.regs.elr, exit.esr);
    }
    abort_access(vcpu, exit);
}

void undefined(Vcpu& vcpu, const Exit& exit, const char* what)
{
    Vm& vm = *vcpu.vm;
    if (vm.should_log_fault()) {
        log_info("vm %s vcpu %u: %s (pc 0x%lx, ESR 0x%lx): UNDEFINED injected", vm.name, vcpu.index, what,
                 vcpu.regs.elr, exit.esr);
    }
    vcpu.inject_undefined();
}

/// A trapped MSR/MRS the system-register emulation does not own: the
/// emulated physical timer's, the virtual PMU's, or UNDEFINED.
__attribute__((noinline)) Outcome other_sysreg(Vcpu& vcpu, const Exit& exit)
{
    if (vpmu::access(vcpu, exit.sysreg)) {
        vcpu.skip_instruction();
        return Outcome::Continue;
    }
    if (ptimer::owns(exit.sysreg)) {
        vcpu.skip_instruction();
        return ptimer::access(vcpu, exit.sysreg);
    }
    undefined(vcpu, exit,
              exit.sysreg.read ? "MRS of a register Vireo does not emulate"
                               : "MSR to a register Vireo does not emulate");
    return Outcome::Continue;
}

} // namespace

Outcome wait_for_interrupt(Vcpu& vcpu);

namespace {

/// An SMCCC call (HVC or SMC) to the VM's calls device model.
Outcome call(Vcpu& vcpu, bool smc)
{
    const Outcome outcome = calls::handle(vcpu, *vcpu.vm, smc);
    return outcome == Outcome::WaitForInterrupt ? wait_for_interrupt(vcpu) : outcome;
}

} // namespace

Outcome wait_for_interrupt(Vcpu& vcpu)
{
    vcpu.vm->console.flush(); // an idle guest may be showing a prompt
    // Without a virtual interrupt controller nothing could wake the vCPU:
    // WFI then only gives the CPU to another runnable vCPU.
    if (vcpu.vgic == nullptr) {
        return Outcome::YieldIfOthers;
    }
    // A direct vCPU's interrupts are the hardware's, which the virtual GIC
    // does not see: its PSCI CPU_SUSPEND returns at once (a wake-up DEN
    // 0022 allows), and its WFI never traps.
    if (vcpu.direct) [[unlikely]] {
        return Outcome::Continue;
    }
    if (vcpu.ptimer.armed()) {
        ptimer::update(vcpu); // its deadline may have passed since the last look
    }
    if (vcpu.pmu.level) {
        vpmu::update(vcpu); // an overflow still flagged after the guest's EOI is pending again
    }
    return vgic::has_pending(vcpu) || vgic::timer_owed(vcpu) ? Outcome::Continue : Outcome::Block;
}

Outcome handle_exit(Vcpu& vcpu, const Exit& exit)
{
    switch (exit.kind) {
    case ExitKind::Mmio: mmio_exit(vcpu, exit); return Outcome::Continue;
    case ExitKind::MmioNeedsDecode: // run() decodes or turns these into GuestFault
    case ExitKind::GuestFault:
        if (first_touch(vcpu, exit)) {
            return Outcome::Continue;
        }
        guest_fault(vcpu, exit,
                    exit.instruction_fault ? "instruction fetch from unmapped memory"
                                           : "data access Vireo cannot emulate");
        return Outcome::Continue;
    case ExitKind::CacheMaintenance: vcpu.skip_instruction(); return Outcome::Continue;
    case ExitKind::Hvc: return call(vcpu, false);
    case ExitKind::Smc:
        vcpu.skip_instruction(); // a trapped SMC returns to itself (HCR_EL2.TSC)
        return call(vcpu, true);
    case ExitKind::SysReg:
        if (sysreg_emul::handle(vcpu, exit.sysreg)) {
            vcpu.skip_instruction();
            return Outcome::Continue;
        }
        return other_sysreg(vcpu, exit);
    case ExitKind::Wfi: {
        vcpu.skip_instruction();
        // Alone on its CPU, with its list registers all completed (this
        // exit found out), a vCPU that would block goes back to its WFI
        // instead, which now waits in the guest (a WFI may end early: the
        // guest looks and waits again). One with something pending, or a
        // virtual timer line high with the interrupt nowhere (QEMU's GICv2
        // signals such a PPI only when made to look: a WFI in the guest
        // would sleep on), continues with WFI still trapped.
        const bool may_wait_in_guest = wfi_in_guest(vcpu);
        const Outcome outcome = wait_for_interrupt(vcpu);
        if (may_wait_in_guest && outcome == Outcome::Block) {
            vcpu.trap_wfi = false;
            return Outcome::Continue;
        }
        return outcome;
    }
    case ExitKind::Wfe: vcpu.skip_instruction(); return Outcome::Yield;
    case ExitKind::FpSimdTrap: return Outcome::Continue; // handled in Vcpu::run()
    case ExitKind::Undefined: undefined(vcpu, exit, "trapped instruction"); return Outcome::Continue;
    case ExitKind::Irq: irq::handle_irq_exit(); return Outcome::Interrupted;
    case ExitKind::Fiq: irq::handle_pending(); return Outcome::Interrupted;
    case ExitKind::SError: vcpu.vm->crash("SError from the guest"); return Outcome::Yield;
    }
    __builtin_unreachable(); // Vcpu::run() makes only these kinds (and saves a bounds check per exit)
}
