// A physical device given to one VM: its registers mapped into the VM at
// the same address, its SPIs delivered to the VM through hardware-linked
// list registers (the guest's EOI deactivates the physical interrupt). One
// description serves the VM configuration, the VM and its generated DTB.
#pragma once

#include <stddef.h>
#include <stdint.h>

struct PassthroughDevice {
    static constexpr size_t kMaxIntids = 4;
    const char* name = nullptr;       // its node name (configuration, guest DTB)
    const char* compatible = nullptr; // optional: with it, the generated DTB describes the device
    size_t compatible_length = 0;     // bytes: one string or a NUL-separated list, final NUL included
    uint64_t base = 0;                // host physical = guest-physical, page aligned
    uint64_t size = 0;
    uint32_t intids[kMaxIntids] = {}; // GIC INTIDs, SPIs only (32-1019)
    size_t intid_count = 0;
};
