// The device tree a Linux guest boots with, generated from what Vireo gives
// the VM: its RAM, vCPUs (started through PSCI over HVC), the virtual GIC
// (v2 or v3, as the host's), the architected timer, the virtual PL011 and
// /chosen (bootargs, console, initrd). Addresses default to QEMU virt's, so
// the guest sees a machine shaped like the one Vireo itself runs on there.
//
// Built with libfdt's sequential-write API into the caller's buffer. libfdt
// is compiled with FP/SIMD instructions (scripts/check-fpsimd allows fdt_*
// functions only): the caller must run build() where no guest's FP/SIMD
// state is live in the registers, e.g. while creating the VM, before its
// vCPUs first run on this CPU.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/loader/passthrough.hpp"
#include "vcpu/limits.hpp"

/// Passthrough devices the guest's DTB describes: those with a compatible
/// string (Vireo knows nothing else of them); interrupts level-high.
using GuestFdtDevice = PassthroughDevice;

/// A shared-memory channel the VM is on (kernel/loader/channel_config.hpp):
/// its region, under /reserved-memory with no-map, and its doorbell page.
struct GuestFdtChannel {
    const char* name = nullptr;
    uint64_t shm_ipa = 0;
    uint64_t shm_size = 0;
    uint64_t doorbell_ipa = 0;
    uint64_t doorbell_size = 0x1000;
    uint32_t intid = 0; // an SPI, level-high
    bool writable = true;
};

/// A virtio-mmio device Vireo emulates for the VM (a network device,
/// kernel/vm/networks.hpp): DMA-coherent, its interrupt level-high.
struct GuestFdtVirtio {
    uint64_t base = 0;
    uint64_t size = 0x200;
    uint32_t intid = 0;
};

/// A CFI flash bank Vireo emulates for the VM (a region of type "flash",
/// kernel/devices/flash/cfi_flash.hpp): what U-Boot and EDK2 look for.
struct GuestFdtFlash {
    uint64_t base = 0;
    uint64_t size = 0;
};

/// The VM's virtual PCIe host bridge (kernel/vm/pci.hpp): a generic ECAM
/// of bus 0 holding only its functions, whose BARs Vireo assigned (the
/// guest must not move them: /chosen gets linux,pci-probe-only).
struct GuestFdtPci {
    uint64_t ecam_base = 0;
    uint64_t ecam_size = 0;
    uint64_t mmio_base = 0; // the 32-bit memory window, PCI address = guest-physical address
    uint64_t mmio_size = 0;
    struct Intx {
        uint32_t device = 0;
        uint32_t pin = 0;   // 1 = INTA .. 4 = INTD
        uint32_t intid = 0; // an SPI, level-high
    };
    static constexpr size_t kMaxIntx = 8;
    Intx intx[kMaxIntx];
    size_t intx_count = 0;
    // A GICv2m MSI frame the VM owns (its host address), a child of the
    // GIC node and the bridge's msi-parent; size 0: none (INTx only).
    bool msi_its = false; // MSIs through the GIC's ITS (msi-map to its@...): GuestFdtSpec::its_base
    uint64_t msi_frame_base = 0;
    uint64_t msi_frame_size = 0;
    uint32_t msi_first = 0; // the frame's SPIs the VM may use (INTIDs), overriding its MSI_TYPER
    uint32_t msi_count = 0;
};

struct GuestFdtSpec {
    uint64_t ram_base = 0;
    uint64_t ram_size = 0;
    uint32_t vcpus = 1;       // 1-16 (GICv2: 1-8); vCPU n has MPIDR Aff0 = n
    uint32_t gic_version = 0; // 2 or 3
    uint64_t gicd_base = 0x08000000;
    uint64_t gicd_size = 0x10000;
    uint64_t gicc_base = 0x08010000; // GICv2 CPU interface
    uint64_t gicc_size = 0x2000;
    uint64_t gicr_base = 0x080a0000; // GICv3 redistributors, one frame pair per vCPU
    uint64_t gicr_size = 0x20000;    // per vCPU
    uint64_t its_base = 0;           // GICv3: the virtual ITS, 128 KiB (0: none)
    uint64_t uart_base = 0x09000000;
    uint32_t uart_spi = 1;                   // SPI number: INTID 32 + uart_spi
    const char* bootargs = nullptr;          // nullptr: no bootargs property
    uint64_t initrd_start = 0;               // guest-physical; both 0: no initrd
    uint64_t initrd_end = 0;                 // exclusive
    const GuestFdtDevice* devices = nullptr; // passthrough devices; a PrimeCell gets the apb-pclk clock
    size_t device_count = 0;
    const GuestFdtChannel* channels = nullptr;
    size_t channel_count = 0;
    const GuestFdtVirtio* virtio = nullptr;
    size_t virtio_count = 0;
    const GuestFdtFlash* flash = nullptr;
    size_t flash_count = 0;
    const GuestFdtPci* pci = nullptr; // nullptr: no PCIe host bridge
    bool pmu = false;                 // a PMUv3 node (arm,armv8-pmuv3), its overflow interrupt on kPmuPpi
    bool rng_seed = false;            // a /chosen/rng-seed of kRngSeedSize bytes, zero (guest_fdt::rng_seed)
};

namespace guest_fdt {

constexpr uint32_t kGicPhandle = 1;
constexpr uint32_t kClockPhandle = 2;
constexpr uint32_t kMsiFramePhandle = 3;
constexpr uint32_t kItsPhandle = 4;
constexpr uint64_t kItsSize = 0x20000;
constexpr uint32_t kChannelPhandleBase = 16; // channel i's region: 16 + i
constexpr uint32_t kUartClockHz = 24000000;
constexpr uint32_t kFlashBankWidth = 4; // bytes: two x16 chips, as QEMU virt's
constexpr uint64_t kUartSize = 0x1000;
constexpr int kRngSeedSize = 64; // bytes of /chosen/rng-seed: Linux counts them as entropy, and needs 32

// GIC binding interrupt specifiers (<type number flags>).
constexpr uint32_t kSpi = 0;
constexpr uint32_t kPpi = 1;
constexpr uint32_t kLevelHigh = 4;
constexpr uint32_t kEdgeRising = 1;
constexpr uint32_t kLevelLow = 8;
constexpr unsigned kGicv2CpuMaskShift = 8; // GICv2 PPIs: which CPUs have the interrupt, in flags bits 8-15
// PPI numbers (INTID - 16).
constexpr uint32_t kMaintenancePpi = 9;
constexpr uint32_t kSecurePhysTimerPpi = 13;
constexpr uint32_t kPhysTimerPpi = 14;
constexpr uint32_t kVirtTimerPpi = 11;
constexpr uint32_t kHypTimerPpi = 10;
constexpr uint32_t kPmuPpi = 7; // INTID 23, as on QEMU virt

/// Writes the guest's DTB for `spec` into `buf` (`size` bytes). Returns the
/// DTB's size in bytes, or a negative libfdt error with `error` saying why:
/// -FDT_ERR_BADVALUE for an invalid spec, -FDT_ERR_NOSPACE when the buffer
/// is too small (nothing is written past `size` bytes).
int build(const GuestFdtSpec& spec, void* buf, size_t size, const char*& error);
/// The bytes of a DTB's /chosen/rng-seed that build() made (kRngSeedSize
/// of them), for the caller to fill; nullptr if it has none.
uint8_t* rng_seed(void* fdt);

} // namespace guest_fdt
