#include "kernel/vm/vm.hpp"
#include "kernel/vm/pci.hpp"

#include "kernel/console/console.hpp"
#include "kernel/console/monitor.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/devices/calls/calls.hpp"
#include "kernel/mem/colours.hpp"
#include "kernel/sched/sched.hpp"
#include "kernel/vm/build.hpp"
#include "platform/cpu.hpp"
#include "platform/format.hpp"
#include "platform/psci.hpp"

namespace {

// A reset reloads the VM's RAM this much per step on its vCPU 0's time,
// so a large VM's reset cannot hold its CPU for long.
constexpr uint64_t kResetStep = 8ull << 20;
// A VM restarts at most once per this many milliseconds of running: a VM
// that resets at every boot cannot take more than its share of a CPU.
constexpr uint64_t kMinRunMs = 1000;

// The VMs in start order. At most one per VMID: the architecture's limit.
constinit Vm* vm_list[limits::kVms] = {};
constinit size_t vm_count = 0;
constinit size_t vms_running = 0;
constinit SpinLock vms_lock;

} // namespace

bool LogBudget::take(const char* vm, const char* what)
{
    const uint32_t n = __atomic_fetch_add(&used, 1u, __ATOMIC_RELAXED);
    if (n == kLimit) {
        log_info("vm %s: more %s; no longer logged", vm, what);
    }
    return n < kLimit;
}

bool Vm::should_log_fault() { return fault_logs.take(name, "guest faults"); }

void Vm::owe_work(uint32_t index)
{
    if (index < vcpu_count) {
        vcpus[index].device_work = &device_step;
    }
}

bool Vm::defer_work(uint32_t index)
{
    if (index >= vcpu_count) {
        return false;
    }
    Vcpu& v = vcpus[index];
    const uint64_t now = arch::counter();
    const uint64_t window = arch::read_cntfrq() / kKicksPerSecond;
    const bool streaming = now - v.last_kick < window;
    v.last_kick = now;
    // Not while its interrupts are masked: such a guest (U-Boot, EDK2,
    // Linux's netpoll) polls its used ring for the frame and may make no
    // other exit meanwhile. Nor for a direct vCPU, whose interrupts do not
    // come through Vireo.
    if (!streaming || v.direct || (v.regs.spsr & vcpu::kPstateI) != 0) {
        return false;
    }
    if (v.device_work == nullptr) { // else it is done right after this exit anyway
        v.device_work = &device_step;
        v.device_work_waits = true;
    }
    v.trap_wfi = true;              // its next WFI comes here
    irq::deadline_by(now + window); // and at the latest, the work is done a window from now
    return true;
}

bool Vm::device_step(Vcpu& v)
{
    Vm& vm = *v.vm;
    bool more = false;
    for (uint32_t n = 0; n < vm.net_port_count; n++) {
        more = vm.net_ports[n].transmit_step() || more;
    }
    return !more;
}

bool Vm::smc_allowed(uint32_t fid) const
{
    const VmConfig& config = *spec->config;
    for (size_t i = 0; i < config.smc_forward_count; i++) {
        const SmcIdRange range = config.smc_range(i);
        if (fid >= range.first && fid <= range.last) {
            return true;
        }
    }
    return false;
}

void Vm::wake(uint32_t index) { sched::wake_blocked(vcpus[index]); }

void Vm::kick(uint32_t index) { irq::kick(vcpus[index].pcpu); }

vpsci::Result Vm::psci(uint32_t fid, const Vcpu& caller)
{
    LockGuard guard(lock);
    return vpsci::handle(fid, caller.reg(1), caller.reg(2), caller.reg(3), power, vcpu_count, caller.index,
                         {ram_ipa, ram_size});
}

void Vm::start_vcpu(uint32_t index, uint64_t entry_pc, uint64_t context)
{
    Vcpu& v = vcpus[index];
    v.reset(entry_pc, context);
    {
        LockGuard guard(lock);
        power[index].power = vpsci::Power::On;
    }
    sched::wake(v);
}

void Vm::stop(const char* why) { halt(why, true); }

void Vm::crash(const char* why)
{
    crashed = true;
    halt(why, true);
}

void Vm::stop_from_monitor() { halt("stopped from the monitor", false); }

bool Vm::start_again()
{
    {
        LockGuard guard(lock);
        if (running) {
            return false;
        }
        running = true;
        crashed = false;
    }
    {
        LockGuard guard(vms_lock);
        vms_running++;
    }
    reset();
    return true;
}

void Vm::halt(const char* why, bool power_off_if_last)
{
    {
        LockGuard guard(lock);
        if (!running) {
            return;
        }
        running = false;
        stop_reason = why;
        stopped_at = arch::counter();
        for (size_t i = 0; i < vcpu_count; i++) {
            __atomic_store_n(&vcpus[i].state, VcpuState::Stopped, __ATOMIC_RELEASE);
            power[i].power = vpsci::Power::Off;
        }
    }
    for (size_t i = 0; i < vcpu_count; i++) {
        irq::kick(vcpus[i].pcpu); // out of the guest, wherever it runs
    }
    reset_passthrough();
    console::print("vm %s stopped: %s\n", name, why);
    size_t left;
    {
        LockGuard guard(vms_lock);
        left = --vms_running;
    }
    if (left == 0 && power_off_if_last) {
        vms::power_off("all VMs stopped");
    }
}

void Vm::reset()
{
    {
        LockGuard guard(lock);
        for (size_t i = 0; i < vcpu_count; i++) {
            __atomic_store_n(&vcpus[i].state, VcpuState::Off, __ATOMIC_RELEASE);
            power[i].power = vpsci::Power::Off;
        }
    }
    for (size_t i = 0; i < vcpu_count; i++) {
        irq::kick(vcpus[i].pcpu); // out of the guest, wherever it runs: its RAM is about to go
    }
    console::print("vm %s: resetting\n", name);
    const uint64_t pci_settle = reset_passthrough();
    __atomic_fetch_add(&resets, 1u, __ATOMIC_RELAXED);
    irq::reset_spis(vgic);
    vgic::reset(vgic);
    test_device.reset();
    console.reset();
    for (uint32_t k = 0; k < channel_config::kMaxPerVm; k++) {
        if (Doorbell* d = doorbell(k)) {
            d->reset();
        }
    }
    for (uint32_t n = 0; n < net_port_count; n++) {
        net_ports[n].reset();
    }
    // The reload happens on vCPU 0's time, a step per turn (reset_step).
    reset_cursor = 0;
    const uint64_t min_run = arch::read_cntfrq() / 1000 * kMinRunMs;
    restart_at = started_at + min_run;
    // Its PCIe functions stopped their DMA (reset_passthrough): one that
    // was reset is not used again before it is ready.
    const uint64_t ready_at = arch::counter() + pci_settle;
    restart_at = restart_at > ready_at ? restart_at : ready_at;
    vcpus[0].work = &reset_step;
    sched::wake(vcpus[0]);
}

uint64_t Vm::reset_passthrough()
{
    // A virtio-mmio device resets when 0 is written to its Status register
    // (virtio 1.2, 4.2.2: offset 0x70; legacy devices too): it forgets its
    // queues and stops using the guest's memory. Vireo writes as the guest
    // would (forwarded devices: the same register, this VM's own). Other
    // devices passed through by their registers have no reset Vireo knows
    // (docs/config.md).
    constexpr uint64_t kVirtioStatus = 0x70;
    const VmConfig& config = *spec->config;
    for (size_t i = 0; i < config.passthrough_count; i++) {
        const PassthroughDevice& p = config.passthrough[i];
        if (p.compatible_with("virtio,mmio") && p.size > kVirtioStatus) {
            *reinterpret_cast<volatile uint32_t*>(p.base + kVirtioStatus) = 0;
        }
    }
    return vm_pci::stop(*this); // Bus Master off, a function-level reset where there is one, streams abort
}

bool Vm::reset_step(Vcpu& v)
{
    Vm& vm = *v.vm;
    const uint64_t now = arch::counter();
    if (now < vm.restart_at) {
        if (vm.should_log_fault()) {
            log_info("vm %s: restarts less than %lu ms apart: this one waits", vm.name, kMinRunMs);
        }
        // Sleep until then (the scheduler's EL2 deadline wakes it).
        v.wake_at = vm.restart_at;
        v.set_state(VcpuState::Blocked);
        return false;
    }
    if (!vm_build::load_images_step(vm, vm.reset_cursor, kResetStep)) {
        return false;
    }
    vm_pci::start(vm); // its RAM is mapped whole again: its devices may reach it
    vm.started_at = now;
    vm.start_vcpu(0, vm.entry, vm.entry_x0);
    return true;
}

namespace vms {

void power_off(const char* why)
{
    if (console::level() >= LogLevel::Debug) {
        monitor::print_all_stats();
    }
    if (!calls::firmware_present()) {
        console::print("%s; no firmware to power off: idle\n", why);
        return;
    }
    console::print("%s: powering off\n", why);
    const int64_t ret = psci::call(Conduit::Smc, psci::kSystemOff);
    log_error("firmware SYSTEM_OFF returned %ld (%s); halting instead", ret, psci::error_name(ret));
}

size_t count() { return vm_count; }

Vm* at(size_t index) { return index < vm_count ? vm_list[index] : nullptr; }

size_t create_all(const VmSpec* specs, size_t count, size_t cpu_count, const Platform& host)
{
    for (size_t i = 0; i < count; i++) {
        const VmConfig& config = *specs[i].config;
        if (vm_count == limits::kVms) {
            log_error("vm %s not started: %u VMs run already, as many as there are VMIDs", config.name, limits::kVms);
            continue;
        }
        Vm* vm = vm_build::build(specs[i], cpu_count, vm_count, static_cast<uint16_t>(vm_count + 1), host);
        if (vm == nullptr) {
            log_error("vm %s not started", config.name);
            continue;
        }
        vm->id = static_cast<uint32_t>(vm_count);
        vm->running = true;
        for (size_t v = 0; v < vm->vcpu_count; v++) {
            sched::add(vm->vcpus[v]);
        }
        // Where its RAM is: one run, or the pages of its colours in a run.
        char where[224];
        if (vm->coloured()) {
            char set[160];
            format(where, sizeof where, "colours %s of %u: pages of the %lu KiB at PA 0x%lx",
                   colours::describe(vm->colours, set, sizeof set), vm->colour_count, vm->ram_run >> 10, vm->ram_pa);
        } else {
            format(where, sizeof where, "PA 0x%lx", vm->ram_pa);
        }
        console::print("vm %s: %u vCPU%s, %lu MiB at IPA 0x%lx (%s), VMID %u\n", vm->name, vm->vcpu_count,
                       vm->vcpu_count == 1 ? "" : "s", vm->ram_size >> 20, vm->ram_ipa, where, vm->vmid);
        // Published after it is complete: other CPUs' console input and
        // passthrough checks read the list.
        __atomic_store_n(&vm_list[vm_count], vm, __ATOMIC_RELEASE);
        __atomic_store_n(&vm_count, vm_count + 1, __ATOMIC_RELEASE);
    }
    vms_running = vm_count;
    VmConsole::set_shared(vm_count > 1);
    for (size_t i = 0; i < vm_count; i++) {
        vm_list[i]->started_at = arch::counter();
        vm_list[i]->start_vcpu(0, vm_list[i]->entry, vm_list[i]->entry_x0);
    }
    return vm_count;
}

} // namespace vms
