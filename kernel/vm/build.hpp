// Making a VM from its spec: checks, memory, stage 2, devices, vCPUs and
// the images in its RAM. Used by kernel/vm/vm.cpp, which starts, stops and
// resets what this builds.
#pragma once

#include <stddef.h>
#include <stdint.h>

class Vm;
struct VmSpec;
struct Platform;

namespace vm_build {

/// A VM for `spec`, the `index`-th to be built (unpinned vCPUs spread from
/// there over the online ones of the `cpu_count` CPUs numbered at boot,
/// smp::start_secondaries), with VMID `vmid`; its vCPUs are off and
/// not yet scheduled. nullptr, with a message naming the VM and the reason,
/// when it cannot be built (everything it took is given back).
Vm* build(const VmSpec& spec, size_t cpu_count, size_t index, uint16_t vmid, const Platform& host);

/// Copies the VM's kernel, initrd and DTB into its RAM (the blocks they
/// land in cleared and mapped, the rest left for the guest's first touch),
/// made visible to a guest whose caches are off (at build).
void load_images(Vm& vm);
/// The same a piece at a time (a reset, on the VM's own time; starting
/// from `cursor` 0 first takes all RAM out of the VM's stage 2): at most
/// `budget` bytes from `cursor`, which it moves on; true once all is done.
bool load_images_step(Vm& vm, uint64_t& cursor, uint64_t budget);

} // namespace vm_build
