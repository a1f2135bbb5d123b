// A physical device given to one VM: its registers mapped into the VM at
// the same address (or, not filling whole pages, forwarded by Vireo), its SPIs delivered to the VM through
// hardware-linked list registers (the guest's EOI deactivates the physical interrupt). One description serves the VM
// configuration, the VM and its generated DTB.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/loader/bytes.hpp"

/// Device-tree cells where they are (big-endian, any alignment): a
/// property's value in the configuration blob, read in place.
struct Cells {
    const uint8_t* data = nullptr;
    size_t count = 0;
    uint32_t operator[](size_t i) const { return bytes::load_be32(data + 4 * i); }
};

struct PassthroughDevice {
    const char* name = nullptr;       // its node name (configuration, guest DTB)
    const char* compatible = nullptr; // optional: with it, the generated DTB describes the device
    size_t compatible_length = 0;     // bytes: one string or a NUL-separated list, final NUL included
    uint64_t base = 0;                // host physical = guest-physical, 4-byte aligned
    uint64_t size = 0;
    Cells intids; // GIC INTIDs, SPIs only (32-1019), as many as the property lists
    // Named by its host DTB path instead (reg, interrupts, compatible and
    // dma-coherent read from the host's DTB when the VM is built,
    // kernel/loader/host_device.cpp): the path, and room for the INTIDs.
    const char* path = nullptr;
    bool dma_coherent = false; // the guest DTB says so too
    bool iommus = false;       // the host DTB puts it behind an IOMMU (property iommus)
    // What the configuration says of the device's DMA (properties dma and
    // no-dma), over what dma_reason() would take from the device itself.
    bool declares_dma = false;
    bool declares_no_dma = false;
    bool edge = false;               // its interrupts are edge-triggered (else level-high)
    uint32_t primecell_periphid = 0; // from the host DTB: a PrimeCell whose ID registers are not where Linux reads
    uint8_t intid_cells[4 * 8] = {};

    /// Registers filling whole pages are mapped at stage 2; others share a
    /// page with something else and are forwarded (ForwardedDevice).
    bool whole_pages() const { return (base | size) % 4096 == 0; }

    /// Why the device is taken to do DMA, for the refusal of a VM whose RAM
    /// is not identity-mapped (docs/config.md, "Passthrough devices"), or
    /// nullptr. Without an SMMU such a device uses the guest-physical
    /// addresses the guest programs as host-physical ones.
    const char* dma_reason() const
    {
        if (declares_no_dma) {
            return nullptr;
        }
        if (declares_dma) {
            return "its property 'dma'";
        }
        if (compatible_with("virtio,mmio")) {
            return "compatible \"virtio,mmio\"";
        }
        if (dma_coherent) {
            return "dma-coherent in the host DTB";
        }
        return iommus ? "iommus in the host DTB" : nullptr;
    }

    /// `string` is one of the strings of its compatible list.
    bool compatible_with(const char* string) const
    {
        for (size_t at = 0; compatible != nullptr && at < compatible_length;) {
            const size_t length = strnlen(compatible + at, compatible_length - at);
            if (strncmp(compatible + at, string, length) == 0 && string[length] == '\0') {
                return true;
            }
            at += length + 1;
        }
        return false;
    }
};
