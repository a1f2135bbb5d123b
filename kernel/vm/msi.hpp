// MSIs of passed-through PCIe functions on a GICv3 host: through the
// host's ITS (platform/gic_its.hpp) to the VM's virtual ITS.
//
// A guest maps its function's events in its own ITS (MAPD, MAPTI) and
// programs the function's MSI-X table (or MSI capability) with its ITS's
// doorbell, GITS_TRANSLATER. That page of the VM's stage 2 maps the host's
// doorbell, so the function's MSI write, translated by the SMMU like all
// its DMA, reaches the host ITS, which tags it with the function's own
// DeviceID: no function can raise another's events. For each event the
// guest maps, Vireo maps the same (DeviceID, EventID) in the host ITS to a
// host LPI of its own, routed to the CPU of the target vCPU; when it fires,
// Vireo hands (DeviceID, EventID) to the VM's virtual ITS, which raises
// the guest's LPI as the guest mapped it. MOVI and MAPC move the host LPI
// along; a reset or stop of the VM drops every host translation it had.
//
// Because the doorbell page is the host's, a vCPU's own writes to it also
// reach the host ITS, with whatever DeviceID the interconnect gives a CPU
// (0 on QEMU virt): Vireo never maps DeviceID 0 (the host bridge's) for a
// VM, and the VM's own ITS emulation handles the rest (its registers page
// is still trapped). Such a VM's GITS_TRANSLATER writes by a vCPU raise
// nothing.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/gic/vgic_its.hpp"

class Vm;
class PageTable;
struct Platform;

namespace msi {

/// A VM's functions that signal MSIs through the host ITS: its virtual
/// ITS's ItsHost (kernel/vm/pci.hpp keeps one in each VM's VmPci).
class Functions final : public ItsHost {
public:
    static constexpr size_t kMax = 8;
    Vm* vm = nullptr;
    struct Function {
        uint32_t rid;         // the guest's DeviceID: its requester ID on the virtual bus
        uint32_t host_device; // its DeviceID at the host's ITS
    };
    Function functions[kMax] = {};
    size_t count = 0;

    bool owns(uint32_t device) override { return find(device) != nullptr; }
    const char* map(uint32_t device, uint32_t event, int vcpu) override;
    void move(uint32_t device, uint32_t event, uint32_t vcpu) override;
    void unmap(uint32_t device, uint32_t event) override;

private:
    const Function* find(uint32_t device) const;
};

/// Notes the host's ITS (boot CPU, after the secondary CPUs came up). It
/// is set up, with LPIs on the `cpus` online CPUs, when the first VM's
/// function needs it; without one, functions of GICv3 VMs interrupt
/// through INTx only.
void init(const Platform& platform, size_t cpus);
bool available();

/// `vm`'s function with requester ID `rid` (its DeviceID at the host's ITS
/// `host_device`) signals MSIs through the ITS: mapped at the host ITS
/// (set up first if this is the first). False (the function then shows
/// no MSI/MSI-X) if it cannot be.
bool add_function(Vm& vm, uint32_t rid, uint32_t host_device);
/// Maps the host's doorbell page at the VM's GITS_TRANSLATER page.
bool map_doorbell(Vm& vm, PageTable& stage2);
/// The VM stops or restarts: the host forgets its translations (its
/// functions' MSIs raise nothing until the guest maps them again).
void stop(Vm& vm);
/// Gives back what add_function took (a VM that could not be built).
void release(Vm& vm);

} // namespace msi
