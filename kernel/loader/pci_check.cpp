#include "kernel/loader/pci_check.hpp"

#include <string.h>

#include "kernel/loader/passthrough_check.hpp"
#include "platform/format.hpp"

namespace vm_check {

PciName pci_name(const PciFunctionConfig& f)
{
    PciName n;
    format(n.text, sizeof n.text, "%02x:%02x.%x", f.bus, f.device, f.function);
    return n;
}

bool pci_host_present(const VmConfig& config, const Platform& host, char* why, size_t size)
{
    if (config.pci_count != 0 && !host.has_pci) {
        format(why, size,
               "vm %s: property 'pci-functions': the host has no PCIe host bridge Vireo can drive (a "
               "pci-host-ecam-generic node in its DTB)",
               config.name);
        return false;
    }
    return true;
}

bool pci_on_root_bus(const VmConfig& config, const Platform& host, const PciFunctionConfig& f, char* why, size_t size)
{
    const uint32_t root = host.pci.bus_first;
    if (f.bus != root) {
        format(why, size,
               "vm %s: property 'pci-functions': %s is not on the host bridge's root bus %02x: expected a function "
               "of bus %02x (functions behind bridges cannot be given)",
               config.name, pci_name(f).text, root, root);
        return false;
    }
    return true;
}

bool pci_given_once(const VmConfig& config, const PciFunctionConfig& f, const PciClaim* claims, size_t count, char* why,
                    size_t size)
{
    for (size_t i = 0; i < count; i++) {
        if (claims[i].vm != nullptr && claims[i].rid == f.rid()) {
            format(why, size, "vm %s: property 'pci-functions': %s is already given to vm %s", config.name,
                   pci_name(f).text, claims[i].vm);
            return false;
        }
    }
    return true;
}

const char* pci_stream(const VmConfig& config, const Platform& host, const PciFunctionConfig& f,
                       const char* (*smmu_unusable)(uint32_t smmu), PciClaim& out, const char*& smmu_problem)
{
    size_t smmu = 0;
    out = {config.name, f.rid(), false, 0, 0};
    const char* unconfined = nullptr;
    smmu_problem = nullptr;
    if (!host.pci.stream_of(f.rid(), host, smmu, out.sid)) {
        unconfined = "no SMMU translates it (the host bridge has no iommu-map entry for it, or its SMMU is disabled)";
    } else if ((smmu_problem = smmu_unusable(static_cast<uint32_t>(smmu))) != nullptr) {
        unconfined = "its SMMU cannot translate";
    }
    out.smmu = static_cast<uint32_t>(smmu);
    out.confined = unconfined == nullptr;
    return unconfined;
}

bool pci_stream_clear(const VmConfig& config, const PciFunctionConfig& f, const PciClaim& mine, const char* unconfined,
                      const PciClaim* claims, size_t count, char* why, size_t size)
{
    for (size_t i = 0; i < count; i++) {
        // The bridge's iommu-map may give functions one StreamID (a mask,
        // aliases): a stream translates for one VM only.
        const PciClaim& c = claims[i];
        if (mine.confined && c.vm != nullptr && strcmp(c.vm, config.name) != 0 && c.confined && c.smmu == mine.smmu &&
            c.sid == mine.sid) {
            format(why, size,
                   "vm %s: property 'pci-functions': %s would share SMMU %u stream 0x%x with %02x:%02x.%x of vm %s: "
                   "expected functions whose streams no other VM uses",
                   config.name, pci_name(f).text, mine.smmu, mine.sid, c.rid >> 8, c.rid >> 3 & 31, c.rid & 7, c.vm);
            return false;
        }
    }
    if (unconfined != nullptr && !config.unconfined_dma) {
        format(why, size,
               "vm %s: property 'pci-functions': the DMA of %s would not be confined: %s: expected an SMMU that "
               "translates it (QEMU: -M virt,iommu=smmuv3), or both identity-mapped; and unconfined-dma; on the VM "
               "(its DMA can then reach all memory)",
               config.name, pci_name(f).text, unconfined);
        return false;
    }
    return true;
}

bool pci_window_usable(const VmConfig& config, const Platform& host, char* why, size_t size)
{
    const PciHostDesc& bridge = host.pci;
    if (bridge.mmio32.size == 0 || bridge.mmio32_pci != bridge.mmio32.base) {
        format(why, size,
               "vm %s: property 'pci-functions': the host bridge's 32-bit memory window is missing or translated "
               "(PCI address 0x%lx at 0x%lx): Vireo needs PCI addresses = physical addresses",
               config.name, bridge.mmio32_pci, bridge.mmio32.base);
        return false;
    }
    return true;
}

bool pci_ram_clear(const VmConfig& config, const Range& window, char* why, size_t size)
{
    if (overlaps(config.ram_base, config.ram_size, kEcamIpa, kEcamSize) ||
        overlaps(config.ram_base, config.ram_size, window.base, window.size)) {
        format(why, size,
               "vm %s: property 'memory' [0x%lx, 0x%lx) overlaps its PCIe host bridge (config space [0x%lx, "
               "0x%lx), memory window [0x%lx, 0x%lx)): expected RAM elsewhere",
               config.name, config.ram_base, config.ram_base + config.ram_size, kEcamIpa, kEcamIpa + kEcamSize,
               window.base, window.base + window.size);
        return false;
    }
    return true;
}

} // namespace vm_check
