// A VM's virtual GICv2: the distributor emulated by trapping GICD
// (VirtualDistributor), the CPU interface the hardware's own (GICV mapped
// at the guest's GICC address), list registers filled from the
// distributor's pending interrupts before each guest entry. The guest's
// virtual timer interrupt (PPI 27) is hardware-linked: the guest's EOI
// deactivates the physical interrupt.
#pragma once

#include <stdint.h>

#include "kernel/dev/mmio_bus.hpp"
#include "kernel/dev/vgic_dist.hpp"
#include "kernel/spinlock.hpp"

class Vcpu;
class PageTable;
struct Platform;

class Vgic final : public MmioDevice {
public:
    static constexpr uint64_t kGicdBase = 0x08000000; // the guest's GICD, as on QEMU virt
    static constexpr uint64_t kGiccBase = 0x08010000; // the guest's GICC: the host's GICV
    static constexpr uint32_t kMaxLrs = 16;
    static constexpr uint32_t kMaxVcpus = VirtualDistributor::kMaxVcpus;

    struct CpuState {
        uint32_t lr[kMaxLrs] = {};
        uint32_t used = 0; // LRs holding an interrupt
        uint32_t vmcr = 0;
        uint32_t apr = 0;
        bool flush = false; // something may have become pending
    };

    bool active = false;
    class Vm* vm = nullptr; // whose vCPUs a write may wake
    VirtualDistributor dist;
    CpuState cpu[kMaxVcpus];
    SpinLock lock;

    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
};

namespace vgic {

/// Learns the host's GICv2 virtualization extensions (boot CPU, after the GIC).
bool init(const Platform& platform);
/// Whether the host can give VMs a virtual GICv2 (GICH and GICV in the DTB).
bool available();
/// Maps GICV into `stage2` and prepares `vgic` for `vcpus` vCPUs.
bool setup(Vgic& vgic, PageTable& stage2, class Vm& vm, uint32_t vcpus);

/// Before entering `vcpu`: its list registers in place, new interrupts in them.
void enter(Vcpu& vcpu);
/// Before entering a vCPU without a virtual GIC: takes any other vCPU's
/// list registers off this CPU, so none of its interrupts reach this guest.
void release_cpu();
/// After an exit: frees list registers the guest has completed.
void exit(Vcpu& vcpu);
/// The physical virtual-timer PPI fired while `vcpu` was loaded.
void timer_fired(Vcpu& vcpu, uint32_t intid);
/// A device's level-sensitive SPI changed: pending while the line is high.
void set_spi_level(Vgic& vgic, uint32_t intid, bool level);
/// Whether `vcpu` has an interrupt pending or in a list register (WFI wakes).
bool has_pending(Vcpu& vcpu);

} // namespace vgic
