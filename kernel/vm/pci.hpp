// Host PCIe functions given to a VM (property pci-functions): which VM
// owns which function and interrupt line, where its BARs are, its stream
// in the SMMU, and the guest's view (a virtual ECAM host bridge of its own,
// kernel/devices/pci/). The guest sees each function at its host
// bus:device.function on its bridge's bus 0, BARs first at their host
// addresses; it may move them within its bridge's window, and its stage 2
// maps each where it put it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/base/spinlock.hpp"
#include "kernel/devices/pci/config_space.hpp"
#include "kernel/devices/pci/virtual_ecam.hpp"
#include "kernel/loader/config.hpp"
#include "kernel/loader/guest_fdt.hpp"
#include "kernel/loader/passthrough_check.hpp"
#include "kernel/vm/dma.hpp"
#include "kernel/vm/msi.hpp"
#include "platform/pci_host.hpp"

class Vm;
class PageTable;
struct Platform;

namespace vm_pci {

/// The guest's ECAM: bus 0 only, below the host bridge's 32-bit window's
/// usual end on QEMU virt (0x3f000000 is free there and on the boards);
/// kernel/loader/passthrough_check.hpp has it for the checks vireo-check shares.
using vm_check::kEcamIpa;
using vm_check::kEcamSize;

/// The guest's ECAM, one access at a time: the config-space models
/// read-modify-write the real functions' registers, and any of the VM's
/// vCPUs may access them at once.
class SerialEcam final : public MmioDevice {
public:
    VirtualEcam ecam;

    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override
    {
        LockGuard guard(lock_);
        return ecam.read(vcpu, offset, size, value);
    }
    Vm* vm = nullptr;

    /// The access, then each BAR the guest moved mapped where it is now.
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    const char* name() const override { return ecam.name(); }
    const char* refusal(uint64_t offset, unsigned size, bool write) const override
    {
        return ecam.refusal(offset, size, write);
    }

private:
    SpinLock lock_;
};

/// Where a BAR is not mapped (Function::mapped_at).
constexpr uint64_t kNotMapped = ~uint64_t{0};

struct Function {
    PciFunctionConfig at;
    char name[8] = {}; // "00:02.0"
    pci_host::EcamFunction host;
    PciBar bars[PciConfigSpace::kBars];
    uint64_t mapped_at[PciConfigSpace::kBars] = {}; // the guest address stage 2 maps each BAR at, or kNotMapped
    PciConfigSpace view;
    dma::Stream stream;
    bool confined = true;    // false: no SMMU fronts it (unconfined-dma)
    uint32_t pin = 0;        // its Interrupt Pin: 1 = INTA .. 4 = INTD, 0: none
    uint32_t intid = 0;      // its INTx as a host SPI; 0: it has none
    uint32_t its_device = 0; // its DeviceID at the host's ITS when its MSIs go there; 0: they do not
};

/// A VM's functions (allocated with the VM when it names any).
struct VmPci {
    Function functions[VmConfig::kMaxPciFunctions];
    size_t count = 0;
    SerialEcam ecam;
    GuestFdtPci fdt;
    // The host's GICv2m frame, when this VM has it: its SPIs
    // [msi_first, msi_first + msi_count), all this VM's but Vireo's own
    // (fdt.msi_first/msi_count: the run its guest allocates from).
    uint32_t msi_first = 0;
    uint32_t msi_count = 0;
    msi::Functions msi;     // GICv3: its functions whose MSIs go through the host's ITS
    bool resetting = false; // a function-level reset is under way: 100 ms before the functions are used
    // The part of the host bridge's window its BARs took: [bars_start,
    // bars_end), given back if the VM is refused (bars_end 0: still placing).
    uint64_t bars_start = 0;
    uint64_t bars_end = 0;
    // The host bridge's 32-bit window, which the VM's RAM must stay clear of.
    Range host_window;
};

/// Checks the VM's pci-functions against the host and other VMs, and
/// claims them: BARs placed, SMMU stream found. Logs why and returns
/// false when the VM cannot have them (nothing stays claimed then).
bool claim(Vm& vm, const Platform& host);
/// Maps the BARs into the VM's stage 2 and puts its ECAM on its bus;
/// false (logged) if the tables ran out or the ECAM overlaps something.
bool map(Vm& vm, PageTable& stage2, uint32_t& irqs);
/// Its functions' INTx lines, hardware-linked to its virtual GIC.
void claim_interrupts(Vm& vm);
/// Gives back what claim() took (a VM that could not be built).
void release(Vm& vm);

/// Before the guest starts (again): its RAM is mapped whole, the streams
/// translate with its stage 2. A function that was reset gets its BARs back.
void start(Vm& vm);
/// The VM stops or restarts: its functions stop DMA (Bus Master off,
/// function-level reset where they have it) and their streams abort.
/// Returns the counter ticks before the functions may be used again.
uint64_t stop(Vm& vm);

} // namespace vm_pci
