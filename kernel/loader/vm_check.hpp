// The checks of a VM's configuration that need more than the configuration
// file: its images in the boot package, its passthrough devices in the
// host's device tree, and where its kernel, initrd and DTB go in its RAM.
// Vireo runs them at boot (kernel/vm/configs.cpp, kernel/vm/build.cpp) and
// vireo-check on the host (tools/vireo_check.cpp), so both report the same
// messages for the same input. Pure logic: host-tested.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/loader/channel_config.hpp"
#include "kernel/loader/config.hpp"
#include "kernel/loader/guest_fdt.hpp"
#include "kernel/loader/image.hpp"
#include "kernel/loader/package.hpp"

/// What a VM is made of: a good VM configuration from the boot package
/// (kernel/vm/configs.cpp) and the package entries it names.
struct VmSpec {
    const VmConfig* config = nullptr; // name, vCPUs and their CPUs, memory, policy, passthrough
    const uint8_t* image = nullptr;   // an arm64 Image, placed as its header says
    size_t image_size = 0;
    const uint8_t* initrd = nullptr; // optional
    size_t initrd_size = 0;
    const uint8_t* dtb = nullptr; // nullptr: generated
    size_t dtb_size = 0;
    const uint8_t* region_data[VmConfig::kMaxRegions] = {}; // each region's contents (nullptr: none)
    size_t region_size[VmConfig::kMaxRegions] = {};
};

// Where Vireo puts every VM's emulated devices (besides the GIC, in
// kernel/devices/gic, and those of kernel/loader/network_config.hpp and
// channel_config.hpp).
constexpr uint64_t kTestDeviceBase = 0x0a000000;
constexpr uint64_t kUartBase = 0x09000000; // the guest's PL011, where QEMU virt has its own
constexpr uint32_t kUartIntid = 33;        // SPI 1, as QEMU virt wires its PL011

namespace vm_check {

constexpr size_t kDtbRoom = 64 * 1024; // a generated guest DTB's room
constexpr size_t kMessageSize = 400;   // room for any message below

/// `spec` for `config` (a good VM of configuration file `file`): the
/// kernel, initrd, DTB and region contents it names, found in `package`
/// and checked (an Image's header; contents that fit their region). False,
/// with the message in `why` (file, node, property, what was expected), if
/// one is missing or does not fit.
bool find_images(const Package& package, const char* file, const VmConfig& config, VmSpec& spec, char* why,
                 size_t size);

/// Fills in `config`'s passthrough devices named by their path in the
/// host's device tree `host_dtb` (registers, interrupts, compatible, DMA
/// properties), and refuses one that does DMA into RAM that is not
/// identity-mapped. False, with the message in `why`, if a path is wrong.
bool resolve_paths(VmConfig& config, const void* host_dtb, const char* file, char* why, size_t size);

/// Where `spec`'s kernel, initrd and DTB (generated: kDtbRoom) go in its
/// RAM. False, with the message in `why` ("vm NAME: ..."), if they do not fit.
bool plan_layout(const VmSpec& spec, GuestLayout& out, char* why, size_t size);

/// What the guest's DTB describes besides the configuration: the host's
/// GIC version and whether guests get a PMU.
struct GuestMachine {
    unsigned gic_version = 3;
    bool pmu = true;
};
/// Room for the parts of a GuestFdtSpec describe_guest() fills in.
struct GuestFdtParts {
    GuestFdtVirtio nets[VmConfig::kMaxNetworks];
    GuestFdtFlash flash[VmConfig::kMaxRegions];
};
/// The generated DTB's description of `spec`'s VM placed as `layout`
/// says, its network devices and flash banks in `parts`; its channels and
/// PCIe host bridge are the caller's to add.
void describe_guest(const VmSpec& spec, const GuestLayout& layout, const GuestMachine& machine, GuestFdtParts& parts,
                    GuestFdtSpec& out);
/// A channel as the DTB of its member `member` describes it.
GuestFdtChannel fdt_channel(const ChannelConfig& channel, const ChannelMember& member);

} // namespace vm_check
