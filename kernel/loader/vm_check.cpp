#include "kernel/loader/vm_check.hpp"

#include <string.h>

#include "kernel/devices/gic/vgic_its.hpp"
#include "kernel/devices/virtio/virtio_net.hpp"
#include "kernel/loader/host_device.hpp"
#include "kernel/loader/network_config.hpp"
#include "platform/format.hpp"

namespace vm_check {
namespace {

/// The package entry a configuration names, or a message naming what the package holds.
bool entry(const Package& package, const char* file, const VmConfig& config, const char* what, const char* name,
           const uint8_t*& data, size_t& size, char* why, size_t why_size)
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
    format(why, why_size, "%s: /%s: %s names \"%s\": expected an entry of the boot package (it holds: %s)", file,
           config.name, what, name, held);
    return false;
}

} // namespace

bool find_images(const Package& package, const char* file, const VmConfig& config, VmSpec& spec, char* why, size_t size)
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
        size_t bytes = 0;
        if (!entry(package, file, config, property, r.contents, data, bytes, why, size)) {
            return false;
        }
        if (bytes > r.size) {
            format(why, size,
                   "%s: /%s: regions/%s: property 'contents' names \"%s\" of %lu bytes: expected at most the "
                   "region's %lu (reg)",
                   file, config.name, r.name, r.contents, bytes, r.size);
            return false;
        }
        spec.region_data[i] = data;
        spec.region_size[i] = bytes;
    }
    // No kernel: firmware in a region ('entry' there).
    if (config.kernel != nullptr) {
        if (!entry(package, file, config, "property 'kernel'", config.kernel, spec.image, spec.image_size, why, size)) {
            return false;
        }
        ImageInfo image;
        LoadError error;
        if (!config.kernel_raw && !linux_image::parse(spec.image, spec.image_size, image, error)) {
            format(why, size,
                   "%s: /%s: property 'kernel' names \"%s\": %s; with 'kernel-address' it is loaded as a raw binary",
                   file, config.name, config.kernel, error.message);
            return false;
        }
    }
    if (config.initrd != nullptr &&
        !entry(package, file, config, "property 'initrd'", config.initrd, spec.initrd, spec.initrd_size, why, size)) {
        return false;
    }
    return config.dtb == nullptr ||
           entry(package, file, config, "property 'dtb'", config.dtb, spec.dtb, spec.dtb_size, why, size);
}

bool resolve_paths(VmConfig& config, const void* host_dtb, const char* file, char* why, size_t size)
{
    for (size_t i = 0; i < config.passthrough_count; i++) {
        PassthroughDevice& p = config.passthrough[i];
        if (p.path == nullptr) {
            continue;
        }
        HostDevice d;
        char reason[320];
        if (!host_device::read(host_dtb, p.path, d, reason, sizeof reason)) {
            format(why, size, "%s: /%s: passthrough/%s: property 'path' \"%s\": %s", file, config.name, p.name, p.path,
                   reason);
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
        if (vm_config::dma_refused(config, p, reason, sizeof reason)) {
            format(why, size, "%s: /%s: %s", file, config.name, reason);
            return false;
        }
    }
    return true;
}

bool plan_layout(const VmSpec& spec, GuestLayout& out, char* why, size_t size)
{
    const VmConfig& config = *spec.config;
    LoadError error;
    ImageInfo image;
    const bool image_kernel = config.kernel != nullptr && !config.kernel_raw;
    if (image_kernel && !linux_image::parse(spec.image, spec.image_size, image, error)) {
        format(why, size, "vm %s: kernel: %s", config.name, error.message); // find_images() checked it: a VM reset
        return false;
    }
    linux_image::LayoutRequest request;
    request.ram_base = config.ram_base;
    request.ram_size = config.ram_size;
    request.image = image_kernel ? &image : nullptr;
    request.firmware = config.entry_in_region;
    request.kernel_file_size = spec.image_size;
    request.raw_address = config.kernel_address;
    request.raw_entry = config.entry;
    request.initrd_size = spec.initrd_size;
    request.dtb_size = spec.dtb != nullptr ? spec.dtb_size : kDtbRoom;
    request.dtb_fixed = config.dtb_fixed;
    request.dtb_address = config.dtb_address;
    if (!linux_image::plan(request, out, error)) {
        format(why, size, "vm %s: %s", config.name, error.message);
        return false;
    }
    return true;
}

void describe_guest(const VmSpec& spec, const GuestLayout& layout, const GuestMachine& machine, GuestFdtParts& parts,
                    GuestFdtSpec& out)
{
    const VmConfig& config = *spec.config;
    out = GuestFdtSpec{};
    out.ram_base = config.ram_base;
    out.ram_size = config.ram_size;
    out.vcpus = config.vcpus;
    out.gic_version = machine.gic_version;
    out.its_base = machine.gic_version == 3 ? VirtualIts::kBase : 0;
    out.pmu = machine.pmu;
    out.uart_base = kUartBase;
    out.uart_spi = kUartIntid - 32;
    out.bootargs = config.bootargs;
    out.devices = config.passthrough;
    out.device_count = config.passthrough_count;
    if (spec.initrd_size != 0) {
        out.initrd_start = layout.initrd_start;
        out.initrd_end = layout.initrd_start + spec.initrd_size;
    }
    for (uint32_t n = 0; n < config.network_count; n++) {
        parts.nets[n] = {network_config::device_ipa(n), VirtioNet::kSize, network_config::intid(n)};
    }
    out.virtio = parts.nets;
    out.virtio_count = config.network_count;
    for (size_t i = 0; i < config.region_count; i++) {
        if (config.regions[i].type == RegionType::Flash) {
            parts.flash[out.flash_count++] = {config.regions[i].base, config.regions[i].size};
        }
    }
    out.flash = parts.flash;
}

GuestFdtChannel fdt_channel(const ChannelConfig& channel, const ChannelMember& member)
{
    return {channel.name,
            member.ipa,
            channel.size,
            channel_config::doorbell_ipa(member.doorbell),
            channel_config::kDoorbellSize,
            channel_config::intid(member.doorbell),
            member.writable};
}

} // namespace vm_check
