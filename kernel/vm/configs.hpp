// VMs from the boot package: the package the boot loader names in /chosen
// (linux,initrd-start/end) holds a VM configuration (entry "config", a DTB
// compiled from guests/configs/*.dts; entry "config-name" its file name for
// messages) and the images it names. See docs/config.md.
#pragma once

#include <stddef.h>

struct Platform;
struct VmSpec;

namespace vm_configs {

/// The good VMs of a configuration, in file order.
struct Specs {
    const VmSpec* specs = nullptr;
    size_t count = 0;
};

/// A spec per good VM of the package's configuration (records in pages of
/// the physical allocator, as many as the file has VMs). Reports each bad
/// VM (left out; the others still start), and a missing or broken package
/// or configuration.
Specs load(const Platform& platform, size_t cpu_count, const void* host_dtb);

} // namespace vm_configs
