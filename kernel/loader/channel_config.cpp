#include "kernel/loader/channel_config.hpp"

#include <libfdt.h>
#include <string.h>

#include "platform/platform.hpp"

namespace channel_config {
namespace {

uint64_t cells64(const void* value, size_t index)
{
    const auto* cells = static_cast<const fdt32_t*>(value);
    return uint64_t{fdt32_ld(cells + index)} << 32 | fdt32_ld(cells + index + 1);
}

class ChannelNode {
public:
    ChannelNode(const void* fdt, int node, const char* file, const VmConfig* vms, size_t vm_count,
                const ChannelConfig* earlier, size_t earlier_count, ChannelConfig& out)
        : fdt_(fdt), node_(node), file_(file), vms_(vms), vm_count_(vm_count), earlier_(earlier),
          earlier_count_(earlier_count), out_(out)
    {
    }

    void parse()
    {
        int length = 0;
        const char* name = fdt_get_name(fdt_, node_, &length);
        strncpy(out_.name, name != nullptr ? name : "?", sizeof out_.name - 1);
        if (name == nullptr || length < 1 || static_cast<size_t>(length) >= ChannelConfig::kNameSize) {
            fail(nullptr, "the channel name has %d characters: expected 1 to %lu", length,
                 ChannelConfig::kNameSize - 1);
            return;
        }
        out_.ok = parse_properties() && parse_members();
    }

private:
    template <typename... Args> bool fail(const char* member, const char* fmt, Args... args)
    {
        const int prefix =
            member != nullptr
                ? format(out_.error, sizeof out_.error, "%s: /%s/%s/%s: ", file_, kNode, out_.name, member)
                : format(out_.error, sizeof out_.error, "%s: /%s/%s: ", file_, kNode, out_.name);
        const size_t used = prefix < 0 ? 0 : static_cast<size_t>(prefix);
        if (used < sizeof out_.error) {
            format(out_.error + used, sizeof out_.error - used, fmt, args...);
        }
        out_.ok = false;
        return false;
    }

    bool parse_properties()
    {
        int offset = 0;
        fdt_for_each_property_offset(offset, fdt_, node_)
        {
            const char* name = nullptr;
            if (fdt_getprop_by_offset(fdt_, offset, &name, nullptr) == nullptr || name == nullptr) {
                return fail(nullptr, "unreadable property");
            }
            if (strcmp(name, "size") != 0) {
                return fail(nullptr, "property '%s' is not known: expected size, and a child node per VM", name);
            }
        }
        int length = 0;
        const void* size = fdt_getprop(fdt_, node_, "size", &length);
        if (size == nullptr) {
            return fail(nullptr, "property 'size' missing: expected the region's bytes, e.g. size = <0x0 0x100000>;");
        }
        if (length != 8) {
            return fail(nullptr, "property 'size' has %d bytes: expected 2 cells <size-high size-low>", length);
        }
        out_.size = cells64(size, 0);
        if (out_.size == 0 || out_.size % 4096 != 0 || out_.size > kMaxSize) {
            return fail(nullptr, "property 'size' is 0x%lx: expected a non-zero multiple of 4 KiB, at most 1 GiB",
                        out_.size);
        }
        return true;
    }

    bool parse_members()
    {
        int child = 0;
        fdt_for_each_subnode(child, fdt_, node_)
        {
            const char* vm = fdt_get_name(fdt_, child, nullptr);
            vm = vm != nullptr ? vm : "?";
            if (out_.member_count == ChannelConfig::kMaxMembers) {
                return fail(vm, "a channel has at most %lu VMs", ChannelConfig::kMaxMembers);
            }
            ChannelMember& m = out_.members[out_.member_count];
            strncpy(m.vm, vm, sizeof m.vm - 1);
            if (!parse_member(child, m)) {
                return false;
            }
            out_.member_count++;
        }
        if (out_.member_count < 2) {
            return fail(nullptr, "%lu VMs: expected a child node for each of at least two VMs, named after them",
                        out_.member_count);
        }
        return true;
    }

    bool parse_member(int node, ChannelMember& m)
    {
        int offset = 0;
        fdt_for_each_property_offset(offset, fdt_, node)
        {
            const char* name = nullptr;
            if (fdt_getprop_by_offset(fdt_, offset, &name, nullptr) == nullptr || name == nullptr) {
                return fail(m.vm, "unreadable property");
            }
            if (strcmp(name, "address") != 0 && strcmp(name, "read-only") != 0) {
                return fail(m.vm, "property '%s' is not known: expected address and read-only", name);
            }
        }
        if (fdt_first_subnode(fdt_, node) >= 0) {
            return fail(m.vm, "unexpected child node: a member has only address and read-only");
        }
        size_t index = 0;
        while (index < vm_count_ && strcmp(vms_[index].name, m.vm) != 0) {
            index++;
        }
        if (index == vm_count_) {
            return fail(m.vm, "no VM named '%s' in this file: expected a member node named after a VM", m.vm);
        }
        const VmConfig& vm = vms_[index];
        if (!vm.ok) {
            return fail(m.vm, "VM '%s' was refused (above): its channels cannot be set up", m.vm);
        }
        for (size_t i = 0; i < out_.member_count; i++) {
            if (out_.members[i].vm_index == index) {
                return fail(m.vm, "VM '%s' is listed twice: expected each VM once", m.vm);
            }
        }
        m.vm_index = index;
        int length = 0;
        const void* read_only = fdt_getprop(fdt_, node, "read-only", &length);
        if (read_only != nullptr && length != 0) {
            return fail(m.vm, "property 'read-only' has a value: expected none (read-only;)");
        }
        m.writable = read_only == nullptr;
        const void* address = fdt_getprop(fdt_, node, "address", &length);
        if (address == nullptr) {
            return fail(m.vm, "property 'address' missing: expected where the region appears in the VM, e.g. "
                              "address = <0x0 0x50000000>;");
        }
        if (length != 8) {
            return fail(m.vm, "property 'address' has %d bytes: expected 2 cells <address-high address-low>", length);
        }
        m.ipa = cells64(address, 0);
        if (m.ipa % 4096 != 0 || m.ipa >= vm_config::kIpaLimit || out_.size > vm_config::kIpaLimit - m.ipa) {
            return fail(m.vm,
                        "property 'address' is 0x%lx: expected a 4 KiB-aligned address with the region "
                        "below 1 TiB",
                        m.ipa);
        }
        return check_clear(vm, m);
    }

    /// The region in the VM must not land on anything else the VM has.
    bool check_clear(const VmConfig& vm, ChannelMember& m)
    {
        const uint64_t size = out_.size;
        if (overlaps(m.ipa, size, vm.ram_base, vm.ram_size)) {
            return fail(m.vm, "property 'address' [0x%lx, +0x%lx) overlaps the VM's RAM [0x%lx, +0x%lx)", m.ipa, size,
                        vm.ram_base, vm.ram_size);
        }
        if (overlaps(m.ipa, size, vm_config::kDeviceWindowBase,
                     vm_config::kDeviceWindowEnd - vm_config::kDeviceWindowBase)) {
            return fail(m.vm, "property 'address' [0x%lx, +0x%lx) overlaps the VM's device window [0x%lx, 0x%lx)",
                        m.ipa, size, vm_config::kDeviceWindowBase, vm_config::kDeviceWindowEnd);
        }
        for (size_t i = 0; i < vm.passthrough_count; i++) {
            const PassthroughDevice& p = vm.passthrough[i];
            if (p.path == nullptr && overlaps(m.ipa, size, p.base, p.size)) {
                return fail(m.vm, "property 'address' [0x%lx, +0x%lx) overlaps the VM's passthrough %s", m.ipa, size,
                            p.name);
            }
        }
        uint32_t doorbells = 0;
        for (size_t c = 0; c < earlier_count_; c++) {
            const ChannelConfig& other = earlier_[c];
            for (size_t i = 0; other.ok && i < other.member_count; i++) {
                const ChannelMember& o = other.members[i];
                if (o.vm_index != m.vm_index) {
                    continue;
                }
                doorbells++;
                if (overlaps(m.ipa, size, o.ipa, other.size)) {
                    return fail(m.vm, "property 'address' [0x%lx, +0x%lx) overlaps channel %s's region in the VM",
                                m.ipa, size, other.name);
                }
            }
        }
        if (doorbells == kMaxPerVm) {
            return fail(m.vm, "VM '%s' is already on %lu channels: expected at most %lu per VM", m.vm, kMaxPerVm,
                        kMaxPerVm);
        }
        m.doorbell = doorbells;
        return true;
    }

    const void* fdt_;
    int node_;
    const char* file_;
    const VmConfig* vms_;
    size_t vm_count_;
    const ChannelConfig* earlier_;
    size_t earlier_count_;
    ChannelConfig& out_;
};

} // namespace

bool is_channels_node(const void* blob, int node)
{
    const char* name = fdt_get_name(blob, node, nullptr);
    return name != nullptr && strcmp(name, kNode) == 0;
}

size_t parse(const void* blob, const char* file_name, const VmConfig* vms, size_t vm_count, ChannelConfig* out,
             size_t max)
{
    const int channels = fdt_subnode_offset(blob, 0, kNode);
    if (channels < 0) {
        return 0;
    }
    size_t count = 0;
    int node = 0;
    fdt_for_each_subnode(node, blob, channels)
    {
        if (count == max) {
            break;
        }
        ChannelConfig& c = out[count];
        c = ChannelConfig{};
        if (count >= kMaxChannels) {
            const char* name = fdt_get_name(blob, node, nullptr);
            strncpy(c.name, name != nullptr ? name : "?", sizeof c.name - 1);
            format(c.error, sizeof c.error,
                   "%s: /%s/%s: more than %lu channels: expected at most %lu (this one and any "
                   "after it are left out)",
                   file_name, kNode, c.name, kMaxChannels, kMaxChannels);
        } else {
            ChannelNode(blob, node, file_name, vms, vm_count, out, count, c).parse();
        }
        count++;
    }
    return count;
}

} // namespace channel_config
