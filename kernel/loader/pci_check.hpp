// The checks of a VM's PCIe functions (property pci-functions,
// docs/config.md "PCIe functions") that need only the configuration and the
// host's DTB: Vireo makes them while it builds each VM (kernel/vm/pci.cpp,
// between the ones that read the functions' config space), vireo-check with
// the board's DTB. Both give the same messages. Pure logic.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/loader/config.hpp"
#include "platform/platform.hpp"

namespace vm_check {

/// A PCIe function a VM has, so that no other VM gets it or its DMA stream.
struct PciClaim {
    const char* vm = nullptr; // nullptr: a free record
    uint32_t rid = 0;
    bool confined = false; // behind an SMMU: its stream is (smmu, sid)
    uint32_t smmu = 0;
    uint32_t sid = 0;
};

/// "BB:DD.F", as messages and the monitor name a function.
struct PciName {
    char text[8];
};
PciName pci_name(const PciFunctionConfig& f);

/// A VM with pci-functions needs a host bridge Vireo can drive.
bool pci_host_present(const VmConfig& config, const Platform& host, char* why, size_t size);
/// Function `f` is on the host bridge's root bus (functions behind bridges cannot be given).
bool pci_on_root_bus(const VmConfig& config, const Platform& host, const PciFunctionConfig& f, char* why, size_t size);
/// Function `f` is not one of `claims` (another VM's).
bool pci_given_once(const VmConfig& config, const PciFunctionConfig& f, const PciClaim* claims, size_t count, char* why,
                    size_t size);
/// Function `f`'s DMA stream from the host bridge's iommu-map: its claim
/// for `config` in `out`; nullptr, or why no SMMU confines its DMA
/// (`smmu_unusable`: why an SMMU cannot translate, or nullptr; that
/// reason, if any, in `smmu_problem`).
const char* pci_stream(const VmConfig& config, const Platform& host, const PciFunctionConfig& f,
                       const char* (*smmu_unusable)(uint32_t smmu), PciClaim& out, const char*& smmu_problem);
/// A confined function's stream no other VM's function uses, and an
/// unconfined one (`unconfined`: why) only where unconfined-dma allows it.
bool pci_stream_clear(const VmConfig& config, const PciFunctionConfig& f, const PciClaim& mine, const char* unconfined,
                      const PciClaim* claims, size_t count, char* why, size_t size);
/// The host bridge's 32-bit memory window is there and untranslated (BARs go there).
bool pci_window_usable(const VmConfig& config, const Platform& host, char* why, size_t size);
/// The VM's RAM clear of its PCIe config space and `window`, the host
/// bridge's 32-bit memory window (where its functions' BARs are).
bool pci_ram_clear(const VmConfig& config, const Range& window, char* why, size_t size);

} // namespace vm_check
