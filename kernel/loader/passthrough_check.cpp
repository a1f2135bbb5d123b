#include "kernel/loader/passthrough_check.hpp"

#include "kernel/devices/mmio/test_device.hpp"
#include "kernel/devices/uart/vpl011.hpp"
#include "kernel/devices/virtio/virtio_net.hpp"
#include "kernel/loader/channel_config.hpp"
#include "kernel/loader/network_config.hpp"
#include "kernel/loader/vm_check.hpp"
#include "platform/format.hpp"

namespace vm_check {
namespace {

/// What Vireo emulates at [base, base + size) (with interrupt `intid`; 0:
/// none to compare) clear of the VM's passthrough devices.
bool clear_of_passthrough(const VmConfig& config, uint64_t base, uint64_t size, uint32_t intid, const char* what,
                          const char* name, char* why, size_t why_size)
{
    for (size_t i = 0; i < config.passthrough_count; i++) {
        const PassthroughDevice& p = config.passthrough[i];
        if (overlaps(p.base, p.size, base, size)) {
            format(why, why_size, "vm %s: passthrough %s [0x%lx, +0x%lx) overlaps %s %s [0x%lx, +0x%lx)", config.name,
                   p.name, p.base, p.size, what, name, base, size);
            return false;
        }
        for (size_t n = 0; intid != 0 && n < p.intids.count; n++) {
            if (p.intids[n] == intid) {
                format(why, why_size, "vm %s: passthrough %s: interrupt %u is %s %s's", config.name, p.name, intid,
                       what, name);
                return false;
            }
        }
    }
    return true;
}

/// Interrupts listed twice, in one device or two of the VM's.
bool interrupts_once(const VmConfig& config, size_t i, char* why, size_t size)
{
    const PassthroughDevice& p = config.passthrough[i];
    for (size_t j = 0; j < i; j++) {
        const PassthroughDevice& earlier = config.passthrough[j];
        if (overlaps(p.base, p.size, earlier.base, earlier.size)) {
            format(why, size, "vm %s: passthrough %s [0x%lx, +0x%lx) overlaps its passthrough %s", config.name, p.name,
                   p.base, p.size, earlier.name);
            return false;
        }
        for (size_t n = 0; n < p.intids.count; n++) {
            for (size_t m = 0; m < earlier.intids.count; m++) {
                if (p.intids[n] == earlier.intids[m]) {
                    format(why, size, "vm %s: passthrough %s: interrupt %u is also its passthrough %s's", config.name,
                           p.name, p.intids[n], earlier.name);
                    return false;
                }
            }
        }
    }
    for (size_t n = 1; n < p.intids.count; n++) {
        for (size_t m = 0; m < n; m++) {
            if (p.intids[n] == p.intids[m]) {
                format(why, size, "vm %s: passthrough %s: interrupt %u is listed twice", config.name, p.name,
                       p.intids[n]);
                return false;
            }
        }
    }
    return true;
}

} // namespace

bool passthrough_clear(const VmConfig& config, const Platform& host, const VmConfig* const* others, size_t other_count,
                       bool (*spi_free)(uint32_t intid), char* why, size_t size)
{
    struct Named {
        const char* what;
        uint64_t base;
        uint64_t size;
    };
    const Named taken[] = {
        {"the VM's virtual GIC", kGicdBase, kGicrBase + limits::kVcpusPerVm * kGicrFrames - kGicdBase},
        {"the VM's virtual PL011", kUartBase, VirtualPl011::kSize},
        {"the VM's test device", kTestDeviceBase, config.test_device ? uint64_t{TestDevice::kSize} : 0},
        {"the VM's RAM", config.ram_base, config.ram_size},
        {"Vireo's GIC distributor", host.gic.dist.base, host.gic.dist.size},
        {"Vireo's GIC CPU interface", host.gic.cpu_if.base, host.gic.cpu_if.size},
        {"Vireo's GIC hypervisor interface", host.gic.hyp_if.base, host.gic.hyp_if.size},
        {"the GIC's virtual CPU interface", host.gic.virt_cpu_if.base, host.gic.virt_cpu_if.size},
        {"Vireo's GIC redistributors", host.gic.redist[0].base,
         host.gic.redist_count > 0 ? host.gic.redist[0].size : 0},
        {"Vireo's console UART", host.uart.base & ~0xfffull, host.uart.kind != UartKind::None ? 0x1000ull : 0ull},
        {"the GICv2m MSI frame", host.gic.msi_frame.base, host.gic.msi_frame.size},
        {"Vireo's SMMU 0", host.smmu[0].regs.base, host.smmu_count > 0 ? host.smmu[0].regs.size : 0},
        {"Vireo's SMMU 1", host.smmu[1].regs.base, host.smmu_count > 1 ? host.smmu[1].regs.size : 0},
        {"Vireo's SMMU 2", host.smmu[2].regs.base, host.smmu_count > 2 ? host.smmu[2].regs.size : 0},
        {"Vireo's SMMU 3", host.smmu[3].regs.base, host.smmu_count > 3 ? host.smmu[3].regs.size : 0},
        {"the PCIe host bridge's config space", host.pci.ecam.base, host.has_pci ? host.pci.ecam.size : 0},
        {"the PCIe memory window where Vireo places functions' BARs", host.pci.mmio32.base,
         host.has_pci ? host.pci.mmio32.size : 0},
        {"the PCIe 64-bit memory window", host.pci.mmio64.base, host.has_pci ? host.pci.mmio64.size : 0},
        {"the PCIe I/O window", host.pci.io.base, host.has_pci ? host.pci.io.size : 0},
        {"the VM's PCIe config space", kEcamIpa, config.pci_count != 0 ? kEcamSize : 0},
    };
    static_assert(Platform::kMaxSmmus == 4, "one entry per SMMU above");
    for (size_t i = 0; i < config.passthrough_count; i++) {
        const PassthroughDevice& p = config.passthrough[i];
        if (p.size == 0 || (p.base | p.size) % 4 != 0) {
            format(why, size, "vm %s: passthrough [0x%lx, +0x%lx): expected a non-zero range of whole 32-bit words",
                   config.name, p.base, p.size);
            return false;
        }
        for (const Named& t : taken) {
            if (t.size != 0 && overlaps(p.base, p.size, t.base, t.size)) {
                format(why, size, "vm %s: passthrough [0x%lx, +0x%lx) overlaps %s [0x%lx, +0x%lx)", config.name, p.base,
                       p.size, t.what, t.base, t.size);
                return false;
            }
        }
        if (!interrupts_once(config, i, why, size)) {
            return false;
        }
        for (size_t bank = 0; bank < host.memory_count; bank++) {
            if (overlaps(p.base, p.size, host.memory[bank].base, host.memory[bank].size)) {
                format(why, size, "vm %s: passthrough [0x%lx, +0x%lx) is RAM: expected a device's registers",
                       config.name, p.base, p.size);
                return false;
            }
        }
        for (size_t other = 0; other < other_count; other++) {
            const VmConfig& o = *others[other];
            for (size_t j = 0; j < o.passthrough_count; j++) {
                if (overlaps(p.base, p.size, o.passthrough[j].base, o.passthrough[j].size)) {
                    format(why, size, "vm %s: passthrough [0x%lx, +0x%lx) is already vm %s's", config.name, p.base,
                           p.size, o.name);
                    return false;
                }
            }
        }
        for (size_t n = 0; n < p.intids.count; n++) {
            if (!spi_free(p.intids[n])) {
                format(why, size,
                       "vm %s: passthrough interrupt %u: expected a free SPI (32-1019) not used by Vireo or another VM",
                       config.name, p.intids[n]);
                return false;
            }
        }
    }
    return true;
}

bool in_board_ram(const Platform& host, uint64_t base, uint64_t size, char* why, size_t size_of_why)
{
    for (size_t i = 0; i < host.memory_count; i++) {
        const Range& bank = host.memory[i];
        if (bank.base <= base && base < bank.end() && size <= bank.end() - base) {
            return true;
        }
    }
    format(why, size_of_why, "is not RAM of this machine (the DTB's /memory banks)");
    return false;
}

void identity_refused(const char* file, const char* vm, uint64_t base, uint64_t size, const char* reason, char* why,
                      size_t size_of_why)
{
    format(why, size_of_why,
           "%s: /%s: property 'memory' [0x%lx, 0x%lx) is identity-mapped but %s: expected free RAM of this machine",
           file, vm, base, base + size, reason);
}

bool vcpus_fit(const VmConfig& config, unsigned gic_version, char* why, size_t size)
{
    const uint32_t most = gic_version == 2 ? limits::kVcpusPerGicv2Vm : limits::kVcpusPerVm;
    if (config.vcpus == 0 || config.vcpus > most) {
        format(why, size, "vm %s: %u vCPUs, expected 1 to %u (a virtual GICv%u addresses at most %u)", config.name,
               config.vcpus, most, gic_version, most);
        return false;
    }
    return true;
}

void direct_cpu_owned(const VmConfig& config, uint32_t vcpu, uint32_t cpu, const char* owner, char* why, size_t size)
{
    format(why, size, "vm %s: vcpu %u is pinned to cpu %u, which direct vm %s has to itself", config.name, vcpu, cpu,
           owner);
}

void direct_cpu_busy(const VmConfig& config, uint32_t vcpu, uint32_t cpu, char* why, size_t size)
{
    format(why, size,
           "vm %s: takes its interrupts directly, but cpu %u (its vcpu %u's) already runs another VM's vCPU: "
           "expected CPUs no other VM has",
           config.name, cpu, vcpu);
}

void direct_unusable(const VmConfig& config, const char* reason, char* why, size_t size)
{
    format(why, size, "vm %s: cannot take its interrupts directly: %s", config.name, reason);
}

bool direct_clear(const VmConfig& config, const VmConfig* const* built, size_t built_count, unsigned gic_version,
                  char* why, size_t size)
{
    for (uint32_t i = 0; config.pinned && i < config.vcpus; i++) {
        const auto cpu = static_cast<uint32_t>(config.pcpu[i]);
        for (size_t b = 0; b < built_count; b++) {
            const VmConfig& other = *built[b];
            for (uint32_t j = 0; other.pinned && j < other.vcpus; j++) {
                if (static_cast<uint32_t>(other.pcpu[j]) != cpu) {
                    continue;
                }
                if (other.direct) {
                    direct_cpu_owned(config, i, cpu, other.name, why, size);
                    return false;
                }
                if (config.direct) {
                    direct_cpu_busy(config, i, cpu, why, size);
                    return false;
                }
            }
        }
    }
    if (config.direct && gic_version != 3) {
        direct_unusable(config, kDirectNeedsGicv3, why, size);
        return false;
    }
    return true;
}

bool emulated_clear(const VmConfig& config, const ChannelPlace* channels, size_t channel_count, char* why, size_t size)
{
    for (size_t i = 0; i < channel_count; i++) {
        const ChannelPlace& c = channels[i];
        if (!clear_of_passthrough(config, channel_config::doorbell_ipa(c.doorbell), channel_config::kDoorbellSize,
                                  channel_config::intid(c.doorbell), "the doorbell of channel", c.name, why, size) ||
            !clear_of_passthrough(config, c.ipa, c.size, 0, "the region of channel", c.name, why, size)) {
            return false;
        }
    }
    for (uint32_t n = 0; n < config.network_count; n++) {
        if (!clear_of_passthrough(config, network_config::device_ipa(n), network_config::kStride,
                                  network_config::intid(n), "the device of network", config.network(n), why, size)) {
            return false;
        }
    }
    for (size_t i = 0; i < config.region_count; i++) {
        const RegionConfig& r = config.regions[i];
        if (!clear_of_passthrough(config, r.base, r.size, 0, "region", r.name, why, size)) {
            return false;
        }
        for (size_t c = 0; c < channel_count; c++) {
            if (overlaps(r.base, r.size, channels[c].ipa, channels[c].size) ||
                overlaps(r.base, r.size, channel_config::doorbell_ipa(channels[c].doorbell),
                         channel_config::kDoorbellSize)) {
                format(why, size, "vm %s: region %s [0x%lx, +0x%lx) overlaps the region or doorbell of channel %s",
                       config.name, r.name, r.base, r.size, channels[c].name);
                return false;
            }
        }
    }
    return true;
}

} // namespace vm_check
