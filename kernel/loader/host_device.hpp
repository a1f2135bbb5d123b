// A device of the host's DTB named by its path, as a passthrough
// configuration may name it (docs/config.md): its registers translated to
// host-physical addresses through the parent buses' `ranges`, its
// interrupts translated from the GIC's 3-cell specifiers to INTIDs, its
// `compatible`, `dma-coherent` and whether it has `iommus`. Pure logic over
// libfdt, host-tested.
#pragma once

#include <stddef.h>
#include <stdint.h>

struct HostDevice {
    static constexpr size_t kMaxIntids = 8;
    uint64_t base = 0; // host-physical, the first `reg` entry
    uint64_t size = 0;
    uint32_t intids[kMaxIntids] = {}; // SPIs, 32-1019
    size_t intid_count = 0;
    bool edge = false;                // the first interrupt is edge-triggered (else level)
    const char* compatible = nullptr; // in the DTB; nullptr if it has none
    size_t compatible_length = 0;     // bytes, the final NUL included
    bool dma_coherent = false;
    bool iommus = false;             // behind an IOMMU: a device that does DMA
    uint32_t primecell_periphid = 0; // arm,primecell-periphid: the ID a PrimeCell's registers may not show; 0 if none
};

namespace host_device {

/// Reads the node at `path` of the DTB at `dtb`. False, with `why` (of
/// `why_size` bytes) saying what was expected, when there is no such node,
/// it has no `reg`, a parent bus's `ranges` does not cover it, or its
/// interrupts are not SPIs of a GIC with 3-cell specifiers.
bool read(const void* dtb, const char* path, HostDevice& out, char* why, size_t why_size);

} // namespace host_device
