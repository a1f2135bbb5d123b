// The narrow interface device models have to the VM they belong to, and
// through it to the scheduler. The VM layer implements it (Vm, in
// kernel/vm/vm.hpp) and hands it to each device model when it builds the
// VM; no device model includes anything of kernel/vm, kernel/sched or
// kernel/cpu/irq.hpp (docs/architecture.md, "Who calls whom").
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/calls/psci_vm.hpp"

class Doorbell;
class Vcpu;

/// How a VM's RAM is mapped in its stage 2: counts of descriptors by size.
struct RamMapping {
    uint64_t pages = 0;     // 4 KiB
    uint64_t blocks_2m = 0; // 2 MiB
    uint64_t blocks_1g = 0; // 1 GiB
};

class VmHost {
public:
    /// The VM's name, for log lines.
    virtual const char* vm_name() const = 0;

    /// Vcpu `index` may have a new interrupt to look at: woken if it sleeps
    /// in WFI (`wake`), interrupted out of its guest on another CPU (`kick`).
    virtual void wake(uint32_t index) = 0;
    virtual void kick(uint32_t index) = 0;

    /// A PSCI call from `caller` against the VM's power states (under the
    /// VM's lock); the device model applies the result's action.
    virtual vpsci::Result psci(uint32_t fid, const Vcpu& caller) = 0;
    /// PSCI CPU_ON's action: vCPU `index` starts at `entry` with `context` in x0.
    virtual void start_vcpu(uint32_t index, uint64_t entry, uint64_t context) = 0;
    /// PSCI SYSTEM_OFF, or a guest error Vireo cannot contain: the VM stops.
    virtual void stop(const char* why) = 0;
    /// PSCI SYSTEM_RESET: the VM restarts from its images.
    virtual void reset() = 0;

    /// Where Vireo reaches guest-physical [ipa, ipa + size) when it is all in
    /// the VM's RAM (one run of Vireo's addresses for the whole range);
    /// nullptr otherwise. The range's RAM is cleared and mapped first if the
    /// guest has not touched it yet (kernel/vm/ram.cpp).
    virtual uint8_t* ram_at(uint64_t ipa, uint64_t size) = 0;
    /// How its RAM is mapped now (the RAM_MAPPING hypercall).
    virtual RamMapping ram_mapping() const = 0;
    /// The guest's console output (console hypercall).
    virtual void console_output(const char* text, size_t length) = 0;
    /// Whether the VM's policy lets SMC `fid` reach the firmware.
    virtual bool smc_allowed(uint32_t fid) const = 0;
    /// Its doorbell for its channel `index` (docs/config.md), or nullptr.
    virtual Doorbell* doorbell(uint32_t index) = 0;
    /// True for the first guest-caused log lines, false once too many came.
    virtual bool should_log_fault() = 0;
    /// Called in vCPU `index`'s exit, on its CPU: a device of the VM has
    /// more work than one exit may do (kernel/sched: device work); Vireo
    /// does the rest in bounded steps on that vCPU's time.
    virtual void owe_work(uint32_t index) = 0;
    /// Called in vCPU `index`'s exit, on its CPU, by a device whose
    /// transmit queue it kicked: true if the device's work is put off until
    /// the guest's next exit (a kick within 1 ms of its previous one, with
    /// the guest's interrupts unmasked: docs/config.md, "Transmit
    /// batching"), false if the device is to do it now.
    virtual bool defer_work(uint32_t index) = 0;

protected:
    ~VmHost() = default;
};
