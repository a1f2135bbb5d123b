#include "kernel/vm/configs.hpp"

#include <string.h>

#include "kernel/console/console.hpp"
#include "kernel/loader/channel_config.hpp"
#include "kernel/loader/config.hpp"
#include "kernel/loader/package.hpp"
#include "kernel/loader/passthrough_check.hpp"
#include "kernel/loader/vm_check.hpp"
#include "kernel/mem/colours.hpp"
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
            char message[vm_check::kMessageSize];
            vm_check::identity_refused(file_name, r.name, r.base, r.size, why, message, sizeof message);
            log_error("%s", message);
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
    const ConfigLimits limits{cpu_count, memory::phys().free_bytes() + identity_bytes, memory::page_colours()};
    size_t count = 0;
    if (!vm_config::parse(config.data, config.size, file_name, limits, configs, room.vms, devices, room.devices, count,
                          error)) {
        log_error("%s", error.message);
        return {};
    }
    uint64_t own = 0;
    if (!vm_config::own_colours(config.data, file_name, limits, own, error)) {
        log_error("%s", error.message);
        return {};
    }
    if (own != 0) {
        // From here on: the VMs' objects and tables, not the records above.
        char set[160];
        memory::set_own_colours(own);
        log_info("memory: Vireo's own allocations from colours %s of %u", colours::describe(own, set, sizeof set),
                 memory::page_colours());
    }
    size_t good = 0;
    for (size_t i = 0; i < count; i++) {
        if (!configs[i].ok) {
            identity_ok(configs[i], false);
            log_error("%s", configs[i].error);
            log_error("vm %s not started", configs[i].name[0] != '\0' ? configs[i].name : "?");
            continue;
        }
        char message[vm_check::kMessageSize] = "";
        if (identity_ok(configs[i], true) &&
            vm_check::resolve_paths(configs[i], host_dtb, file_name, message, sizeof message) &&
            vm_check::find_images(package, file_name, configs[i], specs[good], message, sizeof message)) {
            good++;
        } else {
            if (message[0] != '\0') {
                log_error("%s", message);
            }
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
