// The checks of a VM's configuration that need more than the configuration
// file: its images in the boot package, its passthrough devices in the
// host's device tree, and where its kernel, initrd and DTB go in its RAM.
// Vireo runs them at boot (kernel/vm/configs.cpp, kernel/vm/build.cpp) and
// vireo-check on the host (tools/vireo_check.cpp), so both report the same
// messages for the same input. Pure logic: host-tested.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/loader/config.hpp"
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

} // namespace vm_check
