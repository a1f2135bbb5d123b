// The SMMUv3s and the ECAM PCIe host bridge in the firmware's device tree:
// the parts of parse_platform (fdt_platform.cpp) that PCIe passthrough needs.
#pragma once

#include "platform/platform.hpp"

namespace fdt_pci {

/// Fills Platform::smmu from the enabled "arm,smmu-v3" nodes. `gic` is the
/// GIC's node: interrupts of other controllers are not decoded (INTID 0).
void parse_smmus(const void* fdt, int gic, Platform& out);

/// Fills Platform::pci from the first enabled "pci-host-ecam-generic" node
/// and sets has_pci, or says in pci_problem why there is no bridge to use.
void parse_host_bridge(const void* fdt, int gic, Platform& out);

} // namespace fdt_pci
