#include "kernel/vm/configs.hpp"

#include <string.h>

#include "kernel/console/console.hpp"
#include "kernel/loader/config.hpp"
#include "kernel/loader/image.hpp"
#include "kernel/loader/package.hpp"
#include "kernel/mem/memory.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/format.hpp"
#include "platform/platform.hpp"

namespace vm_configs {
namespace {

constexpr size_t kMaxVms = 4;      // started at once (the VM table's size)
constexpr size_t kMaxConfigs = 16; // VM nodes a configuration may hold, bad ones included

constinit Package package;
constinit VmConfig configs[kMaxConfigs];
constinit VmSpec specs[kMaxVms];
constinit char file_name[64] = "config";

/// The package entry a configuration names, or an error naming what the package holds.
bool entry(const VmConfig& config, const char* property, const char* name, const uint8_t*& data, size_t& size)
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
    log_error("%s: /%s: property '%s' names \"%s\": expected an entry of the boot package (it holds: %s)", file_name,
              config.name, property, name, held);
    return false;
}

bool to_spec(const VmConfig& config, VmSpec& spec)
{
    spec = VmSpec{};
    spec.name = config.name;
    spec.vcpu_count = config.vcpus;
    spec.ram_base = config.ram_base;
    spec.ram_size = config.ram_size;
    for (uint32_t i = 0; i < config.vcpus && i < VmSpec::kMaxVcpus; i++) {
        spec.pcpu[i] = config.pinned ? static_cast<int8_t>(config.pcpu[i]) : int8_t{-1};
    }
    for (size_t i = 0; i < config.smc_forward_count && i < VmSpec::kMaxSmcRanges; i++) {
        spec.smc_allow[i] = {config.smc_forward[i].first, config.smc_forward[i].last};
        spec.smc_allow_count++;
    }
    for (size_t i = 0; i < config.passthrough_count && i < VmSpec::kMaxPassthrough; i++) {
        spec.passthrough[spec.passthrough_count++] = config.passthrough[i];
    }
    spec.bootargs = config.bootargs;
    spec.console_input = config.console_input;
    spec.test_device = config.test_device;
    if (!entry(config, "kernel", config.kernel, spec.image, spec.image_size)) {
        return false;
    }
    ImageInfo image;
    LoadError why;
    if (!linux_image::parse(spec.image, spec.image_size, image, why)) {
        log_error("%s: /%s: property 'kernel' names \"%s\": %s", file_name, config.name, config.kernel, why.message);
        return false;
    }
    if (config.initrd != nullptr && !entry(config, "initrd", config.initrd, spec.initrd, spec.initrd_size)) {
        return false;
    }
    return config.dtb == nullptr || entry(config, "dtb", config.dtb, spec.dtb, spec.dtb_size);
}

} // namespace

size_t load(const Platform& platform, size_t online_cpus, const VmSpec** out, size_t max)
{
    if (platform.initrd.size == 0) {
        return 0;
    }
    LoadError error;
    if (!package.open(reinterpret_cast<const void*>(platform.initrd.base), platform.initrd.size, error)) {
        log_error("boot package at 0x%lx (%lu bytes, from /chosen linux,initrd-start/end): %s", platform.initrd.base,
                  platform.initrd.size, error.message);
        return 0;
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
        return 0;
    }
    const ConfigLimits limits{online_cpus, memory::phys().free_bytes()};
    size_t count = 0;
    if (!vm_config::parse(config.data, config.size, file_name, limits, configs, kMaxConfigs, count, error)) {
        log_error("%s", error.message);
        return 0;
    }
    size_t good = 0;
    for (size_t i = 0; i < count; i++) {
        if (!configs[i].ok) {
            log_error("%s", configs[i].error);
            log_error("vm %s not started", configs[i].name[0] != '\0' ? configs[i].name : "?");
            continue;
        }
        if (good == max || good == kMaxVms) {
            log_error("%s: /%s: expected at most %lu VMs; vm %s not started", file_name, configs[i].name, kMaxVms,
                      configs[i].name);
        } else if (to_spec(configs[i], specs[good])) {
            out[good] = &specs[good];
            good++;
        } else {
            log_error("vm %s not started", configs[i].name);
        }
    }
    return good;
}

} // namespace vm_configs
