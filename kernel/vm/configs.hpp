// VMs from the boot package: the package the boot loader names in /chosen
// (linux,initrd-start/end) holds a VM configuration (entry "config", a DTB
// compiled from guests/configs/*.dts; entry "config-name" its file name for
// messages) and the images it names. See docs/config.md.
#pragma once

#include <stddef.h>

struct Platform;
struct VmSpec;

namespace vm_configs {

/// Fills `out` with a spec per good VM of the package's configuration and
/// returns how many. Reports each bad VM (left out; the others still
/// start), and a missing or broken package or configuration.
size_t load(const Platform& platform, size_t online_cpus, const VmSpec** out, size_t max);

} // namespace vm_configs
