// The checks of a VM's passthrough devices against the machine, the VM's
// own emulated devices and the VMs built before it (docs/config.md,
// "Passthrough devices"). Vireo runs them while it builds each VM
// (kernel/vm/build.cpp), vireo-check with the board's DTB; both give the
// same messages. Pure logic.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/loader/config.hpp"
#include "platform/platform.hpp"

namespace vm_check {

// Where every VM's virtual GIC and PCIe config space are (kernel/devices/gic,
// kernel/vm/pci.hpp: their own constants are checked against these).
constexpr uint64_t kGicdBase = 0x08000000;
constexpr uint64_t kGicrBase = 0x080a0000;
constexpr uint64_t kGicrFrames = 0x20000; // per vCPU
constexpr uint64_t kEcamIpa = 0x3f000000;
constexpr uint64_t kEcamSize = 1u << 20;

/// A channel the VM is a member of, where the VM sees it.
struct ChannelPlace {
    const char* name;
    uint64_t ipa;  // its region
    uint64_t size; // of the region
    uint32_t doorbell;
};

/// Whether `config`'s passthrough devices are device memory nobody else
/// uses on `host`: not RAM, not Vireo's GIC, console, SMMUs or PCIe host
/// bridge, not where the VM's emulated devices sit, not one of the
/// `other_count` VMs' at `others` (built before it), each interrupt listed
/// once and an SPI `spi_free` says nobody has. False with the message in `why`.
bool passthrough_clear(const VmConfig& config, const Platform& host, const VmConfig* const* others, size_t other_count,
                       bool (*spi_free)(uint32_t intid), char* why, size_t size);

/// Whether what Vireo emulates for the VM (its channels' doorbells and
/// regions, its network devices, its regions) is clear of its passthrough
/// devices and of each other. False with the message in `why`.
bool emulated_clear(const VmConfig& config, const ChannelPlace* channels, size_t channel_count, char* why, size_t size);

/// Whether [base, base + size) is in one of `host`'s RAM banks (the DTB's
/// /memory); else `why` says it is not.
bool in_board_ram(const Platform& host, uint64_t base, uint64_t size, char* why, size_t size_of_why);
/// The message for VM `vm` of `file` whose identity-mapped RAM [base, base
/// + size) cannot be had, `reason` saying why.
void identity_refused(const char* file, const char* vm, uint64_t base, uint64_t size, const char* reason, char* why,
                      size_t size_of_why);
/// Whether `config`'s vCPUs fit a virtual GIC of `gic_version`.
bool vcpus_fit(const VmConfig& config, unsigned gic_version, char* why, size_t size);

/// Direct interrupts (kernel/devices/gic/direct.hpp): why a host cannot
/// give them.
constexpr const char* kDirectNeedsGicv3 = "the host's GIC is not a GICv3: on GICv2 the guest would own GICC_CTLR "
                                          "and with it every interrupt of its CPUs, Vireo's too";
constexpr const char* kDirectNeedsGroup0 = "the GICv3 has two security states (GICD_CTLR.DS is 0): Group 0 is the "
                                           "secure world's, and Vireo would keep no interrupt on the VM's CPUs that "
                                           "the guest could not take";
/// The refusals when a VM is built, as Vireo gives them: `config`'s vCPU
/// `vcpu` pinned to `cpu`, which direct VM `owner` has; direct `config`'s
/// vCPU `vcpu` on `cpu`, which another VM's vCPU has; direct `config` on a
/// host that cannot (`reason`, one of the two above).
void direct_cpu_owned(const VmConfig& config, uint32_t vcpu, uint32_t cpu, const char* owner, char* why, size_t size);
void direct_cpu_busy(const VmConfig& config, uint32_t vcpu, uint32_t cpu, char* why, size_t size);
void direct_unusable(const VmConfig& config, const char* reason, char* why, size_t size);
/// Those checks against the VMs built before it, by their `cpus` (VMs
/// without: not known here) and the host's GIC version (vireo-check;
/// whether a GICv3 has one security state is known only at boot).
bool direct_clear(const VmConfig& config, const VmConfig* const* built, size_t built_count, unsigned gic_version,
                  char* why, size_t size);

} // namespace vm_check
