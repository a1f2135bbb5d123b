#include "kernel/vm/configs.hpp"

#include <string.h>

#include "kernel/console/console.hpp"
#include "kernel/loader/channel_config.hpp"
#include "kernel/loader/config.hpp"
#include "kernel/loader/host_device.hpp"
#include "kernel/loader/image.hpp"
#include "kernel/loader/package.hpp"
#include "kernel/mem/memory.hpp"
#include "kernel/mem/objects.hpp"
#include "kernel/vm/channels.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/format.hpp"
#include "platform/platform.hpp"
#include "vcpu/limits.hpp"

namespace vm_configs {
namespace {

constinit Package package;
constinit char file_name[64] = "config";

// The identity-mapped VMs' RAM, claimed before anything else is allocated.
struct Identity {
    vm_config::IdentityRange range;
    bool claimed;
};
constinit Identity identities[limits::kVms] = {};
constinit size_t identity_count = 0;

/// Claims every identity-mapped VM's RAM (before Vireo allocates anything
/// from the free memory, which might land there); returns the bytes claimed.
uint64_t claim_identity_ranges(const void* blob, size_t size)
{
    vm_config::IdentityRange ranges[limits::kVms];
    identity_count = vm_config::identity_ranges(blob, size, ranges, limits::kVms);
    uint64_t claimed = 0;
    for (size_t i = 0; i < identity_count; i++) {
        const vm_config::IdentityRange& r = ranges[i];
        char why[160];
        identities[i] = {r, memory::claim(r.name, r.base, r.size, why, sizeof why)};
        if (identities[i].claimed) {
            claimed += r.size;
        } else {
            log_error("%s: /%s: property 'memory' [0x%lx, 0x%lx) is identity-mapped but %s: expected free RAM of "
                      "this machine",
                      file_name, r.name, r.base, r.base + r.size, why);
        }
    }
    return claimed;
}

/// Whether `config` may have the identity-mapped RAM it asks for (claimed
/// above); gives the claim back when the VM will not start.
bool identity_ok(const VmConfig& config, bool starts)
{
    for (size_t i = 0; i < identity_count; i++) {
        Identity& id = identities[i];
        if (strcmp(id.range.name, config.name) != 0 || id.range.base != config.ram_base ||
            id.range.size != config.ram_size) {
            continue;
        }
        if (id.claimed && !starts) {
            memory::phys().free(id.range.base, id.range.size);
            id.claimed = false;
        }
        return id.claimed;
    }
    return !config.identity_mapped;
}

/// The package entry a configuration names, or an error naming what the package holds.
bool entry(const VmConfig& config, const char* what, const char* name, const uint8_t*& data, size_t& size)
{
    const PackageBlob blob = package.find(name);
    if (blob.found()) {
        data = blob.data;
        size = blob.size;
        return true;
    }
    char held[160] = "";
    for (size_t i = 0; i < package.count(); i++) {
        const size_t used = strlen(held);
        format(held + used, sizeof held - used, "%s%s", i == 0 ? "" : ", ", package.name(i));
    }
    log_error("%s: /%s: %s names \"%s\": expected an entry of the boot package (it holds: %s)", file_name, config.name,
              what, name, held);
    return false;
}

/// Passthrough devices named by their host DTB path: registers (exactly as
/// the host says: not filling whole pages, they are forwarded),
/// interrupts, compatible, dma-coherent and iommus from the host's DTB; a
/// device that does DMA by what the host says of it needs identity-mapped RAM.
bool resolve_paths(VmConfig& config, const void* host_dtb)
{
    for (size_t i = 0; i < config.passthrough_count; i++) {
        PassthroughDevice& p = config.passthrough[i];
        if (p.path == nullptr) {
            continue;
        }
        HostDevice d;
        char why[320];
        if (!host_device::read(host_dtb, p.path, d, why, sizeof why)) {
            log_error("%s: /%s: passthrough/%s: property 'path' \"%s\": %s", file_name, config.name, p.name, p.path,
                      why);
            return false;
        }
        p.base = d.base;
        p.size = d.size;
        static_assert(sizeof p.intid_cells == 4 * HostDevice::kMaxIntids);
        for (size_t n = 0; n < d.intid_count; n++) {
            p.intid_cells[4 * n] = static_cast<uint8_t>(d.intids[n] >> 24);
            p.intid_cells[4 * n + 1] = static_cast<uint8_t>(d.intids[n] >> 16);
            p.intid_cells[4 * n + 2] = static_cast<uint8_t>(d.intids[n] >> 8);
            p.intid_cells[4 * n + 3] = static_cast<uint8_t>(d.intids[n]);
        }
        p.intids = {p.intid_cells, d.intid_count};
        p.compatible = d.compatible;
        p.compatible_length = d.compatible_length;
        p.dma_coherent = d.dma_coherent;
        p.iommus = d.iommus;
        p.edge = d.edge;
        p.primecell_periphid = d.primecell_periphid;
        if (vm_config::dma_refused(config, p, why, sizeof why)) {
            log_error("%s: /%s: %s", file_name, config.name, why);
            return false;
        }
    }
    return true;
}

bool to_spec(const VmConfig& config, VmSpec& spec)
{
    spec = VmSpec{};
    spec.config = &config;
    for (size_t i = 0; i < config.region_count; i++) {
        const RegionConfig& r = config.regions[i];
        if (r.contents == nullptr) {
            continue;
        }
        char property[48];
        format(property, sizeof property, "regions/%s: property 'contents'", r.name);
        const uint8_t* data = nullptr;
        size_t size = 0;
        if (!entry(config, property, r.contents, data, size)) {
            return false;
        }
        if (size > r.size) {
            log_error("%s: /%s: regions/%s: property 'contents' names \"%s\" of %lu bytes: expected at most the "
                      "region's %lu (reg)",
                      file_name, config.name, r.name, r.contents, size, r.size);
            return false;
        }
        spec.region_data[i] = data;
        spec.region_size[i] = size;
    }
    // No kernel: firmware in a region ('entry' there).
    if (config.kernel != nullptr) {
        if (!entry(config, "property 'kernel'", config.kernel, spec.image, spec.image_size)) {
            return false;
        }
        ImageInfo image;
        LoadError why;
        if (!config.kernel_raw && !linux_image::parse(spec.image, spec.image_size, image, why)) {
            log_error("%s: /%s: property 'kernel' names \"%s\": %s; with 'kernel-address' it is loaded as a raw "
                      "binary",
                      file_name, config.name, config.kernel, why.message);
            return false;
        }
    }
    if (config.initrd != nullptr && !entry(config, "property 'initrd'", config.initrd, spec.initrd, spec.initrd_size)) {
        return false;
    }
    return config.dtb == nullptr || entry(config, "property 'dtb'", config.dtb, spec.dtb, spec.dtb_size);
}

} // namespace

Specs load(const Platform& platform, size_t cpu_count, const void* host_dtb)
{
    if (platform.initrd.size == 0) {
        return {};
    }
    char why[128];
    if (!memory::package_placed(why, sizeof why)) {
        log_error("boot package at [0x%lx, 0x%lx) (from /chosen linux,initrd-start/end) %s: no VMs from it",
                  platform.initrd.base, platform.initrd.end(), why);
        return {};
    }
    LoadError error;
    if (!package.open(reinterpret_cast<const void*>(platform.initrd.base), platform.initrd.size, error)) {
        log_error("boot package at 0x%lx (%lu bytes, from /chosen linux,initrd-start/end): %s", platform.initrd.base,
                  platform.initrd.size, error.message);
        return {};
    }
    const PackageBlob name = package.find("config-name");
    if (name.found()) {
        const size_t length = name.size < sizeof file_name - 1 ? name.size : sizeof file_name - 1;
        memcpy(file_name, name.data, length);
        file_name[length] = '\0';
        file_name[strcspn(file_name, "\n")] = '\0';
    }
    const PackageBlob config = package.find("config");
    if (!config.found()) {
        log_error("boot package: no entry \"config\" (the VM configuration, a compiled guests/configs/*.dts)");
        return {};
    }
    const uint64_t identity_bytes = claim_identity_ranges(config.data, config.size);
    // A record per VM node, per passthrough device and a spec per good VM,
    // as many as the file has.
    const vm_config::Room room = vm_config::room(config.data, config.size);
    auto* configs = memory::make<VmConfig>(room.vms);
    auto* specs = memory::make<VmSpec>(room.vms);
    auto* devices = memory::make<PassthroughDevice>(room.devices);
    if (room.vms != 0 && (configs == nullptr || specs == nullptr || (room.devices != 0 && devices == nullptr))) {
        log_error("%s: no memory left for its %lu VMs", file_name, room.vms);
        return {};
    }
    const ConfigLimits limits{cpu_count, memory::phys().free_bytes() + identity_bytes};
    size_t count = 0;
    if (!vm_config::parse(config.data, config.size, file_name, limits, configs, room.vms, devices, room.devices, count,
                          error)) {
        log_error("%s", error.message);
        return {};
    }
    size_t good = 0;
    for (size_t i = 0; i < count; i++) {
        if (!configs[i].ok) {
            identity_ok(configs[i], false);
            log_error("%s", configs[i].error);
            log_error("vm %s not started", configs[i].name[0] != '\0' ? configs[i].name : "?");
            continue;
        }
        if (identity_ok(configs[i], true) && resolve_paths(configs[i], host_dtb) && to_spec(configs[i], specs[good])) {
            good++;
        } else {
            identity_ok(configs[i], false);
            log_error("vm %s not started", configs[i].name);
        }
    }
    // Channels: one more record than the most there may be, for the message
    // about a file with too many.
    auto* channels = memory::make<ChannelConfig>(channel_config::kMaxChannels + 1);
    if (channels != nullptr) {
        vm_channels::set_up(channels, channel_config::parse(config.data, file_name, configs, count, channels,
                                                            channel_config::kMaxChannels + 1));
    } else {
        log_error("%s: no memory left for its channels", file_name);
    }
    return {specs, good};
}

} // namespace vm_configs
