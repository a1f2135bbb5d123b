// The VM configuration reader (kernel/loader/config.cpp) and its channels
// (kernel/loader/channel_config.cpp): whatever the blob, every VM and every
// channel it calls good satisfies every documented check.
#include <cstring>
#include <vector>

#include "kernel/loader/channel_config.hpp"
#include "kernel/loader/config.hpp"
#include "tests/fuzz/input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    const vm_config::Room misaligned = vm_config::room(data + 1 + (reinterpret_cast<uintptr_t>(data) % 2 == 0), 16);
    FUZZ_CHECK(misaligned.vms == 0); // refused, never read
    // The first two bytes choose the machine (CPUs and page colours, RAM);
    // the rest is the blob.
    const ConfigLimits limits{1u + data[0] % 16, (uint64_t{data[1]} + 1) << 26, 1u << (data[0] / 16 % 7)};
    // The blob where Vireo finds it, 8-byte aligned (a package entry is 4 KiB-aligned).
    std::vector<uint64_t> aligned((size - 2 + 7) / 8 + 1);
    std::memcpy(aligned.data(), data + 2, size - 2);
    const uint8_t* blob = reinterpret_cast<const uint8_t*>(aligned.data());
    const size_t blob_size = size - 2;
    const vm_config::Room room = vm_config::room(blob, blob_size);
    std::vector<VmConfig> vms(room.vms + 1);
    std::vector<PassthroughDevice> devices(room.devices + 1);
    size_t count = 0;
    LoadError error;
    if (!vm_config::parse(blob, blob_size, "fuzz.dts", limits, vms.data(), room.vms, devices.data(), room.devices,
                          count, error)) {
        FUZZ_CHECK(count == 0 && error.message[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(count == room.vms && count > 0);
    uint64_t own = 0;
    if (vm_config::own_colours(blob, "fuzz.dts", limits, own, error)) {
        FUZZ_CHECK(limits.page_colours == 64 || own >> limits.page_colours == 0);
    } else {
        FUZZ_CHECK(own == 0 || error.message[0] != '\0');
    }
    uint64_t total = 0;
    size_t consoles = 0;
    const auto inside = [&](const void* p) {
        return static_cast<const uint8_t*>(p) >= blob && static_cast<const uint8_t*>(p) < blob + blob_size;
    };
    for (size_t i = 0; i < count; i++) {
        const VmConfig& vm = vms[i];
        FUZZ_CHECK(strnlen(vm.name, VmConfig::kNameSize) < VmConfig::kNameSize);
        if (!vm.ok) {
            FUZZ_CHECK(vm.error[0] != '\0' && strnlen(vm.error, sizeof vm.error) < sizeof vm.error);
            continue;
        }
        FUZZ_CHECK(vm.vcpus >= 1 && vm.vcpus <= VmConfig::kMaxVcpus);
        for (uint32_t v = 0; vm.pinned && v < vm.vcpus; v++) {
            FUZZ_CHECK(vm.pcpu[v] >= 0 && static_cast<size_t>(vm.pcpu[v]) < limits.cpu_count);
        }
        FUZZ_CHECK(vm.ram_size != 0 && vm.ram_base % vm_config::kMemoryAlign == 0 &&
                   vm.ram_size % vm_config::kMemoryAlign == 0);
        FUZZ_CHECK(vm.ram_base < vm_config::kIpaLimit && vm.ram_size <= vm_config::kIpaLimit - vm.ram_base);
        FUZZ_CHECK(vm.ram_base + vm.ram_size <= vm_config::kDeviceWindowBase ||
                   vm.ram_base >= vm_config::kDeviceWindowEnd);
        // A kernel, or firmware entered in one of its executable regions.
        FUZZ_CHECK(vm.kernel != nullptr ? inside(vm.kernel) && strlen(vm.kernel) >= 1 && strlen(vm.kernel) <= 47
                                        : vm.entry_in_region);
        FUZZ_CHECK(vm.bootargs == nullptr || (inside(vm.bootargs) && strlen(vm.bootargs) <= vm_config::kMaxBootargs));
        for (size_t r = 0; r < vm.smc_forward_count; r++) {
            FUZZ_CHECK(vm.smc_range(r).first <= vm.smc_range(r).last);
        }
        for (size_t p = 0; p < vm.passthrough_count; p++) {
            const PassthroughDevice& d = vm.passthrough[p];
            FUZZ_CHECK(&d >= devices.data() && &d < devices.data() + room.devices);
            // A device named by its host DTB path gets its registers when
            // the path is resolved against the host's DTB, after parse().
            FUZZ_CHECK(d.path != nullptr ? inside(d.path)
                                         : d.size != 0 && d.base % 4 == 0 && d.size % 4 == 0 &&
                                               d.base + d.size <= vm_config::kIpaLimit);
            for (size_t n = 0; n < d.intids.count; n++) {
                FUZZ_CHECK(d.intids[n] >= 32 && d.intids[n] <= 1019);
            }
            FUZZ_CHECK(d.compatible == nullptr ||
                       (d.compatible_length >= 2 && d.compatible[d.compatible_length - 1] == '\0'));
        }
        total += vm.ram_size;
        consoles += vm.console_input ? 1 : 0;
        for (size_t j = 0; j < i; j++) {
            FUZZ_CHECK(!vms[j].ok || strcmp(vms[j].name, vm.name) != 0);
        }
    }
    FUZZ_CHECK(total <= limits.ram_bytes); // the checked bound on all VMs' memory
    FUZZ_CHECK(consoles <= 1);

    ChannelConfig channels[channel_config::kMaxChannels + 1];
    const size_t channel_count =
        channel_config::parse(blob, "fuzz.dts", vms.data(), count, channels, channel_config::kMaxChannels + 1);
    FUZZ_CHECK(channel_count <= channel_config::kMaxChannels + 1);
    uint32_t per_vm[64] = {};
    for (size_t c = 0; c < channel_count; c++) {
        const ChannelConfig& ch = channels[c];
        if (!ch.ok) {
            FUZZ_CHECK(ch.error[0] != '\0' && strnlen(ch.error, sizeof ch.error) < sizeof ch.error);
            continue;
        }
        FUZZ_CHECK(c < channel_config::kMaxChannels);
        FUZZ_CHECK(ch.size != 0 && ch.size % 4096 == 0 && ch.size <= channel_config::kMaxSize);
        FUZZ_CHECK(ch.member_count >= 2 && ch.member_count <= ChannelConfig::kMaxMembers);
        for (size_t m = 0; m < ch.member_count; m++) {
            const ChannelMember& member = ch.members[m];
            FUZZ_CHECK(member.vm_index < count && vms[member.vm_index].ok);
            FUZZ_CHECK(strcmp(member.vm, vms[member.vm_index].name) == 0);
            const VmConfig& vm = vms[member.vm_index];
            FUZZ_CHECK(member.ipa % 4096 == 0 && member.ipa + ch.size <= vm_config::kIpaLimit);
            FUZZ_CHECK(member.ipa + ch.size <= vm.ram_base || member.ipa >= vm.ram_base + vm.ram_size);
            FUZZ_CHECK(member.ipa + ch.size <= vm_config::kDeviceWindowBase ||
                       member.ipa >= vm_config::kDeviceWindowEnd);
            FUZZ_CHECK(member.doorbell < channel_config::kMaxPerVm);
            if (member.vm_index < 64) {
                FUZZ_CHECK(per_vm[member.vm_index] == member.doorbell); // doorbell pages in order, no gaps
                per_vm[member.vm_index]++;
            }
            for (size_t n = 0; n < m; n++) {
                FUZZ_CHECK(ch.members[n].vm_index != member.vm_index);
            }
        }
    }
    return 0;
}
