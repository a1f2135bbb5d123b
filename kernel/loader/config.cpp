#include "kernel/loader/config.hpp"

#include <libfdt.h>
#include <string.h>

#include "kernel/devices/flash/cfi_flash.hpp"
#include "kernel/loader/channel_config.hpp"
#include "kernel/loader/package.hpp"

using namespace vm_config;

namespace {

constexpr const char* const kVmProperties[] = {"vcpus",          "cpus",
                                               "memory",         "kernel",
                                               "kernel-address", "entry",
                                               "initrd",         "dtb",
                                               "dtb-address",    "bootargs",
                                               "console-input",  "smc-forward",
                                               "test-device",    "identity-mapped",
                                               "networks",       "bridged-networks",
                                               "unmapped-mmio",  "pci-functions",
                                               "unconfined-dma", "colours",
                                               "interrupts"};
// (child nodes: passthrough, regions)
constexpr const char* const kRootProperties[] = {"compatible", "model", "#address-cells", "#size-cells",
                                                 "vireo-colours"};

/// The value of the `count` hexadecimal digits at `text`; -1 if any is not one.
int hex_digits(const char* text, int count)
{
    int value = 0;
    for (int i = 0; i < count; i++) {
        const char c = text[i];
        const int digit = c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
        if (digit < 0) {
            return -1;
        }
        value = value * 16 + digit;
    }
    return value;
}

template <size_t N> bool is_one_of(const char* name, const char* const (&names)[N])
{
    for (const char* known : names) {
        if (strcmp(name, known) == 0) {
            return true;
        }
    }
    return false;
}

/// The known VM properties as "a, b, c", for the message about an unknown one.
struct PropertyList {
    char text[256] = {};
    PropertyList()
    {
        size_t used = 0;
        for (const char* name : kVmProperties) {
            const int n = format(text + used, sizeof text - used, "%s%s", used == 0 ? "" : ", ", name);
            used += n > 0 ? static_cast<size_t>(n) : 0;
            if (used >= sizeof text) {
                break;
            }
        }
    }
};

/// Marks `vm` bad with "FILE: /NODE: " and the rest of the message.
template <typename... Args>
void set_error(VmConfig& vm, const char* file, const char* node, const char* fmt, Args... args)
{
    const int prefix = format(vm.error, sizeof vm.error, "%s: /%s: ", file, node);
    const size_t used = prefix < 0 ? 0 : static_cast<size_t>(prefix);
    if (used < sizeof vm.error) {
        format(vm.error + used, sizeof vm.error - used, fmt, args...);
    }
    vm.ok = false;
}

uint32_t cell(const void* value, size_t index) { return fdt32_ld(static_cast<const fdt32_t*>(value) + index); }

/// The colour set of a `colours` or `vireo-colours` value of `length`
/// bytes into `set`: kColoursOk, kColoursBadLength, or the first colour the
/// machine's `page_colours` do not have.
constexpr int64_t kColoursOk = -1;
constexpr int64_t kColoursBadLength = -2;
int64_t colour_cells(const void* value, int length, uint32_t page_colours, uint64_t& set)
{
    if (length <= 0 || length % 4 != 0) {
        return kColoursBadLength;
    }
    for (int i = 0; i < length / 4; i++) {
        const uint32_t colour = cell(value, static_cast<size_t>(i));
        if (colour >= page_colours) {
            return colour;
        }
        set |= uint64_t{1} << colour;
    }
    return kColoursOk;
}

uint64_t cells64(const void* value, size_t index)
{
    return uint64_t{cell(value, index)} << 32 | cell(value, index + 1);
}

/// Checks one VM node and fills its record; every check that fails sets
/// the record's error and returns false.
class VmNode {
public:
    /// Passthrough records come from [devices, devices + room), which the
    /// VM takes from at `used` and moves `used` on.
    struct DeviceRoom {
        PassthroughDevice* devices;
        size_t room;
        size_t used;
    };

    VmNode(const void* fdt, int node, const char* file, const ConfigLimits& limits, VmConfig& vm, DeviceRoom& room)
        : fdt_(fdt), node_(node), file_(file), limits_(limits), vm_(vm), room_(room)
    {
    }

    bool parse()
    {
        int name_length = 0;
        node_name_ = fdt_get_name(fdt_, node_, &name_length);
        if (node_name_ == nullptr) {
            node_name_ = "?";
        }
        strncpy(vm_.name, node_name_, sizeof vm_.name - 1);
        if (name_length < 1 || static_cast<size_t>(name_length) >= VmConfig::kNameSize) {
            return fail("the VM name has %d characters: expected 1 to %lu", name_length, VmConfig::kNameSize - 1);
        }
        // In this order: an unknown property is most likely a misspelt known one.
        vm_.ok = known_properties_only() && parse_children() && parse_vcpus() && parse_cpus() && parse_memory() &&
                 check_regions() && parse_images() && parse_placement() && parse_bootargs() &&
                 flag("console-input", vm_.console_input) && parse_smc_forward() &&
                 flag("test-device", vm_.test_device) && flag("identity-mapped", vm_.identity_mapped) &&
                 flag("unconfined-dma", vm_.unconfined_dma) && parse_networks() && parse_bridged_networks() &&
                 parse_unmapped_mmio() && parse_pci_functions() && check_dma() && parse_colours() && parse_interrupts();
        return vm_.ok;
    }

private:
    template <typename... Args> bool fail(const char* fmt, Args... args)
    {
        set_error(vm_, file_, node_name_, fmt, args...);
        return false;
    }

    const void* property(const char* name, int& length) const { return fdt_getprop(fdt_, node_, name, &length); }

    bool known_properties_only()
    {
        int offset = 0;
        fdt_for_each_property_offset(offset, fdt_, node_)
        {
            const char* name = nullptr;
            if (fdt_getprop_by_offset(fdt_, offset, &name, nullptr) == nullptr || name == nullptr) {
                return fail("unreadable property");
            }
            if (!is_one_of(name, kVmProperties)) {
                return fail("property '%s' is not known: expected one of %s", name, PropertyList().text);
            }
        }
        return true;
    }

    /// The child nodes a VM may have: passthrough { NAME { reg; interrupts;
    /// compatible; }; ... } and regions { NAME { type; reg; contents; executable; }; ... }.
    bool parse_children()
    {
        int child = 0;
        fdt_for_each_subnode(child, fdt_, node_)
        {
            const char* name = fdt_get_name(fdt_, child, nullptr);
            const bool regions = name != nullptr && strcmp(name, "regions") == 0;
            if (name == nullptr || (!regions && strcmp(name, "passthrough") != 0)) {
                return fail("unexpected child node '%s': expected only 'passthrough' and 'regions'",
                            name != nullptr ? name : "?");
            }
            int device = 0;
            fdt_for_each_subnode(device, fdt_, child)
            {
                if (!(regions ? parse_region(device) : parse_passthrough(device))) {
                    return false;
                }
            }
        }
        return true;
    }

    /// regions/NAME: type = "rom" | "ram" | "flash"; reg = <base size>;
    /// contents = "ENTRY"; executable; (docs/config.md, "Regions").
    bool parse_region(int node)
    {
        const char* name = fdt_get_name(fdt_, node, nullptr);
        if (vm_.region_count == VmConfig::kMaxRegions) {
            return fail("regions/%s: more than %lu regions: expected at most %lu", name, VmConfig::kMaxRegions,
                        VmConfig::kMaxRegions);
        }
        RegionConfig& r = vm_.regions[vm_.region_count];
        r = RegionConfig{};
        r.name = name;
        bool have_type = false;
        bool have_reg = false;
        int offset = 0;
        fdt_for_each_property_offset(offset, fdt_, node)
        {
            const char* prop = nullptr;
            int length = 0;
            const void* value = fdt_getprop_by_offset(fdt_, offset, &prop, &length);
            if (value == nullptr || prop == nullptr) {
                return fail("regions/%s: unreadable property", name);
            }
            const auto* text = static_cast<const char*>(value);
            const bool one_string = length > 0 && text[length - 1] == '\0' && strlen(text) + 1 == size_t(length);
            if (strcmp(prop, "type") == 0) {
                have_type = true;
                if (one_string && strcmp(text, "rom") == 0) {
                    r.type = RegionType::Rom;
                } else if (one_string && strcmp(text, "ram") == 0) {
                    r.type = RegionType::Ram;
                } else if (one_string && strcmp(text, "flash") == 0) {
                    r.type = RegionType::Flash;
                } else {
                    return fail("regions/%s: property 'type' is not \"rom\", \"ram\" or \"flash\"", name);
                }
            } else if (strcmp(prop, "reg") == 0) {
                if (length != 16) {
                    return fail("regions/%s: property 'reg' has %d bytes: expected 4 cells <base-high base-low "
                                "size-high size-low>",
                                name, length);
                }
                r.base = cells64(value, 0);
                r.size = cells64(value, 2);
                have_reg = true;
            } else if (strcmp(prop, "contents") == 0) {
                if (!one_string || strlen(text) == 0 || strlen(text) > Package::kMaxName) {
                    return fail("regions/%s: property 'contents' is not the name of a package entry (1 to %lu "
                                "characters)",
                                name, Package::kMaxName);
                }
                r.contents = text;
            } else if (strcmp(prop, "executable") == 0) {
                if (length != 0) {
                    return fail("regions/%s: property 'executable' has %d bytes: expected no value (executable;)", name,
                                length);
                }
                r.executable = true;
            } else {
                return fail("regions/%s: property '%s' is not known: expected type, reg, contents or executable", name,
                            prop);
            }
        }
        if (!have_type) {
            return fail("regions/%s: property 'type' missing: expected \"rom\", \"ram\" or \"flash\"", name);
        }
        if (!have_reg) {
            return fail("regions/%s: property 'reg' missing: expected its guest-physical base and size, e.g. "
                        "reg = <0x0 0x0 0x0 0x4000000>;",
                        name);
        }
        const uint64_t align = r.type == RegionType::Flash ? CfiFlash::kSectorSize : kRegionAlign;
        if (r.size == 0 || r.base % align != 0 || r.size % align != 0 ||
            (r.type == RegionType::Flash && !CfiFlash::size_ok(r.size))) {
            return fail("regions/%s: property 'reg' is base 0x%lx size 0x%lx: expected a non-zero size, both "
                        "multiples of %lu KiB%s",
                        name, r.base, r.size, align >> 10,
                        r.type == RegionType::Flash ? " (the flash's erase block), at most 65536 blocks" : "");
        }
        if (r.base >= kIpaLimit || r.size > kIpaLimit - r.base) {
            return fail("regions/%s: property 'reg' is base 0x%lx size 0x%lx: expected it to end by 0x%lx (40-bit "
                        "guest-physical addresses)",
                        name, r.base, r.size, kIpaLimit);
        }
        vm_.region_count++;
        return true;
    }

    /// The regions against the RAM, the device window and each other.
    bool check_regions()
    {
        const auto overlap = [](uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
            return a < b + b_size && b < a + a_size;
        };
        for (size_t i = 0; i < vm_.region_count; i++) {
            const RegionConfig& r = vm_.regions[i];
            if (overlap(r.base, r.size, vm_.ram_base, vm_.ram_size)) {
                return fail("regions/%s: property 'reg' [0x%lx, 0x%lx) overlaps the VM's RAM [0x%lx, 0x%lx): expected "
                            "a region outside it",
                            r.name, r.base, r.base + r.size, vm_.ram_base, vm_.ram_base + vm_.ram_size);
            }
            if (overlap(r.base, r.size, kDeviceWindowBase, kDeviceWindowEnd - kDeviceWindowBase)) {
                return fail("regions/%s: property 'reg' [0x%lx, 0x%lx) overlaps the device window [0x%lx, 0x%lx): "
                            "expected a region outside it",
                            r.name, r.base, r.base + r.size, kDeviceWindowBase, kDeviceWindowEnd);
            }
            for (size_t j = 0; j < i; j++) {
                const RegionConfig& o = vm_.regions[j];
                if (overlap(r.base, r.size, o.base, o.size)) {
                    return fail("regions/%s: property 'reg' [0x%lx, 0x%lx) overlaps region %s [0x%lx, 0x%lx)", r.name,
                                r.base, r.base + r.size, o.name, o.base, o.base + o.size);
                }
            }
        }
        return true;
    }

    bool parse_passthrough(int device)
    {
        const char* name = fdt_get_name(fdt_, device, nullptr);
        if (room_.used == room_.room) {
            return fail("passthrough/%s: no room for another passthrough device record (the caller gave %lu)", name,
                        room_.room);
        }
        if (vm_.passthrough == nullptr) {
            vm_.passthrough = room_.devices + room_.used;
        }
        PassthroughConfig& p = vm_.passthrough[vm_.passthrough_count];
        p = PassthroughConfig{};
        p.name = name;
        int offset = 0;
        fdt_for_each_property_offset(offset, fdt_, device)
        {
            const char* property = nullptr;
            int length = 0;
            const void* value = fdt_getprop_by_offset(fdt_, offset, &property, &length);
            if (value == nullptr || property == nullptr) {
                return fail("passthrough/%s: unreadable property", name);
            }
            if (strcmp(property, "reg") == 0) {
                if (length != 16) {
                    return fail("passthrough/%s: property 'reg' has %d bytes: expected 4 cells <base-high base-low "
                                "size-high size-low>",
                                name, length);
                }
                p.base = cells64(value, 0);
                p.size = cells64(value, 2);
                if (p.size == 0 || (p.base | p.size) % 4 != 0 || p.base >= kIpaLimit || p.size > kIpaLimit - p.base) {
                    return fail("passthrough/%s: property 'reg' is base 0x%lx size 0x%lx: expected a non-zero range "
                                "of whole 32-bit words below 1 TiB",
                                name, p.base, p.size);
                }
            } else if (strcmp(property, "interrupts") == 0) {
                const size_t count = static_cast<size_t>(length) / 4;
                if (length % 4 != 0 || count == 0) {
                    return fail("passthrough/%s: property 'interrupts' has %d bytes: expected cells, each a GIC INTID",
                                name, length);
                }
                p.intids = {static_cast<const uint8_t*>(value), count};
                for (size_t i = 0; i < count; i++) {
                    if (p.intids[i] < 32 || p.intids[i] > 1019) {
                        return fail("passthrough/%s: property 'interrupts' names INTID %u: expected SPIs, 32 to 1019",
                                    name, p.intids[i]);
                    }
                }
            } else if (strcmp(property, "compatible") == 0) {
                const auto* text = static_cast<const char*>(value);
                if (length < 2 || text[length - 1] != '\0') {
                    return fail("passthrough/%s: property 'compatible' is not a string: expected e.g. \"arm,pl031\"",
                                name);
                }
                p.compatible = text;
                p.compatible_length = static_cast<size_t>(length);
            } else if (strcmp(property, "dma") == 0 || strcmp(property, "no-dma") == 0) {
                if (length != 0) {
                    return fail("passthrough/%s: property '%s' has %d bytes: expected no value (%s;)", name, property,
                                length, property);
                }
                (strcmp(property, "dma") == 0 ? p.declares_dma : p.declares_no_dma) = true;
            } else if (strcmp(property, "path") == 0) {
                const auto* text = static_cast<const char*>(value);
                if (length < 2 || text[0] != '/' || text[length - 1] != '\0' ||
                    strlen(text) + 1 != static_cast<size_t>(length)) {
                    return fail("passthrough/%s: property 'path' is not a node path: expected e.g. "
                                "path = \"/virtio_mmio@a003e00\";",
                                name);
                }
                p.path = text;
            } else {
                return fail("passthrough/%s: property '%s' is not known: expected path, or reg, interrupts, "
                            "compatible; and dma or no-dma",
                            name, property);
            }
        }
        if (p.path != nullptr && (p.size != 0 || p.intids.count != 0 || p.compatible != nullptr)) {
            return fail("passthrough/%s: property 'path' takes reg, interrupts and compatible from the host's DTB: "
                        "expected either path or those",
                        name);
        }
        if (p.declares_dma && p.declares_no_dma) {
            return fail("passthrough/%s: properties 'dma' and 'no-dma' contradict each other: expected one of them",
                        name);
        }
        if (p.size == 0 && p.path == nullptr) {
            return fail("passthrough/%s: property 'reg' missing: expected the device's registers, e.g. "
                        "reg = <0x0 0x9010000 0x0 0x1000>;, or path",
                        name);
        }
        vm_.passthrough_count++;
        room_.used++;
        return true;
    }

    /// Devices that do DMA need identity-mapped RAM. Devices named by
    /// `path` are checked again when the host DTB has said what they are
    /// (kernel/vm/configs.cpp).
    bool check_dma()
    {
        for (size_t i = 0; i < vm_.passthrough_count; i++) {
            char why[320];
            if (dma_refused(vm_, vm_.passthrough[i], why, sizeof why)) {
                return fail("%s", why);
            }
        }
        return true;
    }

    /// colours = <0 1 2 3>; the last-level cache's page colours the VM's
    /// RAM is taken from (docs/config.md, "Cache colouring").
    bool parse_colours()
    {
        int length = 0;
        const void* value = property("colours", length);
        if (value == nullptr) {
            return true;
        }
        const int64_t bad = colour_cells(value, length, limits_.page_colours, vm_.colours);
        if (bad == kColoursBadLength) {
            return fail("property 'colours' has %d bytes: expected one or more cells, each a page colour, e.g. "
                        "colours = <0 1 2 3>;",
                        length);
        }
        if (bad != kColoursOk) {
            return fail("property 'colours' names colour %ld: expected 0 to %u (this machine's last-level cache "
                        "gives %u page colours)",
                        bad, limits_.page_colours - 1, limits_.page_colours);
        }
        if (vm_.identity_mapped) {
            return fail("property 'colours' with 'identity-mapped': a coloured VM's RAM is pages of its colours "
                        "spread over a larger run, an identity-mapped VM's is the one run at its guest-physical "
                        "address; expected one of the two");
        }
        return true;
    }

    /// interrupts = "direct" | "emulated";: whether the guest takes its
    /// interrupts at the GIC's CPU interface itself (docs/vcpu.md, "Direct
    /// interrupts"). What needs the machine (a GICv3 with Group 0, CPUs
    /// nobody else has) is checked when the VM is built.
    bool parse_interrupts()
    {
        constexpr const char* kExpected = "\"direct\" or \"emulated\"";
        bool ok = false;
        const char* value = string("interrupts", false, kExpected, ok);
        if (!ok || value == nullptr || strcmp(value, "emulated") == 0) {
            return ok;
        }
        if (strcmp(value, "direct") != 0) {
            return fail("property 'interrupts' is \"%s\": expected %s", value, kExpected);
        }
        vm_.direct = true;
        if (!vm_.pinned) {
            return fail("property 'interrupts' is \"direct\" without 'cpus': expected each vCPU pinned to a CPU of "
                        "its own, e.g. cpus = <1 2>;");
        }
        for (uint32_t i = 0; i < vm_.vcpus; i++) {
            if (vm_.pcpu[i] == 0) {
                return fail("property 'interrupts' is \"direct\" and vcpu %u is pinned to cpu 0, which takes Vireo's "
                            "console, SMMU and unrouted MSI interrupts: expected CPUs other than 0",
                            i);
            }
            for (uint32_t j = 0; j < i; j++) {
                if (vm_.pcpu[j] == vm_.pcpu[i]) {
                    return fail("property 'interrupts' is \"direct\" and vcpus %u and %u share cpu %d: expected each "
                                "vCPU on a CPU of its own",
                                j, i, vm_.pcpu[i]);
                }
            }
        }
        const char* needs_lists = vm_.console_input        ? "console-input"
                                  : vm_.network_count != 0 ? "networks"
                                  : vm_.pci_count != 0     ? "pci-functions"
                                                           : nullptr;
        if (needs_lists != nullptr) {
            return fail("property 'interrupts' is \"direct\" with '%s': those devices' interrupts reach a guest "
                        "through the virtual GIC's list registers, which a direct VM does not use; expected one of "
                        "the two",
                        needs_lists);
        }
        return true;
    }

    bool parse_vcpus()
    {
        int length = 0;
        const void* value = property("vcpus", length);
        if (value == nullptr) {
            return fail("property 'vcpus' missing: expected the number of vCPUs, 1 to %u, e.g. vcpus = <2>;",
                        VmConfig::kMaxVcpus);
        }
        if (length != 4) {
            return fail("property 'vcpus' has %d bytes: expected one cell, the number of vCPUs (1 to %u)", length,
                        VmConfig::kMaxVcpus);
        }
        vm_.vcpus = cell(value, 0);
        if (vm_.vcpus < 1 || vm_.vcpus > VmConfig::kMaxVcpus) {
            return fail("property 'vcpus' is %u: expected 1 to %u", vm_.vcpus, VmConfig::kMaxVcpus);
        }
        return true;
    }

    bool parse_cpus()
    {
        int length = 0;
        const void* value = property("cpus", length);
        if (value == nullptr) {
            return true; // the scheduler's default placement
        }
        if (length % 4 != 0 || static_cast<uint32_t>(length / 4) != vm_.vcpus) {
            return fail("property 'cpus' has %d bytes: expected one cell per vCPU (%u), each a physical CPU number",
                        length, vm_.vcpus);
        }
        for (uint32_t i = 0; i < vm_.vcpus; i++) {
            const uint32_t cpu = cell(value, i);
            if (cpu >= limits_.cpu_count || cpu > INT16_MAX) {
                return fail("property 'cpus' puts vCPU %u on CPU %u: expected a CPU of this machine, which has %lu "
                            "numbered from 0",
                            i, cpu, limits_.cpu_count);
            }
            vm_.pcpu[i] = static_cast<int16_t>(cpu);
        }
        vm_.pinned = true;
        return true;
    }

    bool parse_memory()
    {
        int length = 0;
        const void* value = property("memory", length);
        if (value == nullptr) {
            return fail("property 'memory' missing: expected the guest-physical base and size of the VM's RAM, "
                        "e.g. memory = <0x0 0x40000000 0x0 0x20000000>;");
        }
        if (length != 16) {
            return fail("property 'memory' has %d bytes: expected 4 cells, <base-high base-low size-high size-low>",
                        length);
        }
        const uint64_t base = cells64(value, 0);
        const uint64_t size = cells64(value, 2);
        if (size == 0 || base % kMemoryAlign != 0 || size % kMemoryAlign != 0) {
            return fail("property 'memory' is base 0x%lx size 0x%lx: expected a non-zero size, both multiples of "
                        "2 MiB",
                        base, size);
        }
        if (base >= kIpaLimit || size > kIpaLimit - base) {
            return fail("property 'memory' is base 0x%lx size 0x%lx: expected it to end by 0x%lx (40-bit "
                        "guest-physical addresses)",
                        base, size, kIpaLimit);
        }
        if (base < kDeviceWindowEnd && kDeviceWindowBase < base + size) {
            return fail("property 'memory' [0x%lx, 0x%lx) overlaps the device window [0x%lx, 0x%lx): expected "
                        "memory outside it",
                        base, base + size, kDeviceWindowBase, kDeviceWindowEnd);
        }
        vm_.ram_base = base;
        vm_.ram_size = size;
        return true;
    }

    /// A property holding exactly one NUL-terminated string: nullptr (and
    /// an error) otherwise; nullptr and no error when absent and optional.
    const char* string(const char* name, bool required, const char* expected, bool& ok)
    {
        ok = false;
        int length = 0;
        const auto* value = static_cast<const char*>(property(name, length));
        if (value == nullptr) {
            ok = !required;
            if (required) {
                fail("property '%s' missing: expected %s", name, expected);
            }
            return nullptr;
        }
        if (length < 1 || value[length - 1] != '\0') {
            fail("property '%s' is not a NUL-terminated string: expected %s", name, expected);
            return nullptr;
        }
        if (strlen(value) + 1 != static_cast<size_t>(length)) {
            fail("property '%s' holds several strings: expected one, %s", name, expected);
            return nullptr;
        }
        ok = true;
        return value;
    }

    /// A string property naming a package entry.
    bool entry_name(const char* name, bool required, const char* what, const char*& out)
    {
        bool ok = false;
        out = string(name, required, what, ok);
        if (!ok || out == nullptr) {
            return ok;
        }
        const size_t length = strlen(out);
        if (length == 0 || length > Package::kMaxName) {
            return fail("property '%s' is %lu characters long: expected %s (1 to %lu characters)", name, length, what,
                        Package::kMaxName);
        }
        return true;
    }

    bool parse_images()
    {
        return entry_name("kernel", false, "the name of a package entry holding an arm64 Image or a raw binary",
                          vm_.kernel) &&
               entry_name("initrd", false, "the name of a package entry holding an initramfs", vm_.initrd) &&
               entry_name("dtb", false, "the name of a package entry holding the VM's DTB", vm_.dtb);
    }

    /// An optional guest-physical address, `name = <high low>;`.
    bool address(const char* name, bool& given, uint64_t& out)
    {
        int length = 0;
        const void* value = property(name, length);
        given = value != nullptr;
        if (given && length != 8) {
            return fail("property '%s' has %d bytes: expected 2 cells, <address-high address-low>", name, length);
        }
        out = given ? cells64(value, 0) : 0;
        return true;
    }

    /// An optional guest-physical address in the VM's RAM.
    bool ram_address(const char* name, bool& given, uint64_t& out)
    {
        if (!address(name, given, out)) {
            return false;
        }
        if (given && (out < vm_.ram_base || out - vm_.ram_base >= vm_.ram_size)) {
            return fail("property '%s' is 0x%lx: expected an address in the VM's RAM [0x%lx, 0x%lx)", name, out,
                        vm_.ram_base, vm_.ram_base + vm_.ram_size);
        }
        return true;
    }

    /// Without 'kernel', the boot vCPU starts at 'entry' in an executable
    /// region (firmware in a ROM or flash: docs/config.md, "Regions").
    bool parse_firmware_entry()
    {
        bool given = false;
        uint64_t unused = 0;
        if (!address("kernel-address", given, unused)) {
            return false;
        }
        if (given) {
            return fail("property 'kernel-address' without 'kernel': expected 'kernel' to name the raw binary");
        }
        if (!address("entry", given, vm_.entry)) {
            return false;
        }
        if (!given) {
            return fail("property 'kernel' missing: expected the name of a package entry holding an arm64 Image or a "
                        "raw binary, or 'entry' in an executable region (firmware)");
        }
        for (size_t i = 0; i < vm_.region_count; i++) {
            const RegionConfig& r = vm_.regions[i];
            if (r.executable && vm_.entry >= r.base && vm_.entry - r.base < r.size) {
                vm_.entry_in_region = true;
            }
        }
        if (!vm_.entry_in_region) {
            return fail("property 'entry' is 0x%lx and there is no 'kernel': expected an address in a region marked "
                        "'executable'",
                        vm_.entry);
        }
        return true;
    }

    /// kernel-address (a raw binary loaded there), entry (where it starts;
    /// default: kernel-address) and dtb-address (docs/config.md, "Raw images").
    bool parse_placement()
    {
        if (!ram_address("dtb-address", vm_.dtb_fixed, vm_.dtb_address)) {
            return false;
        }
        if (vm_.dtb_fixed && vm_.dtb_address % 8 != 0) {
            return fail("property 'dtb-address' is 0x%lx: expected a multiple of 8 (the arm64 boot protocol)",
                        vm_.dtb_address);
        }
        bool entry_given = false;
        if (vm_.kernel == nullptr) {
            if (!parse_firmware_entry()) {
                return false;
            }
            entry_given = true;
        } else if (!ram_address("kernel-address", vm_.kernel_raw, vm_.kernel_address) ||
                   !ram_address("entry", entry_given, vm_.entry)) {
            return false;
        }
        if (entry_given && vm_.kernel != nullptr && !vm_.kernel_raw) {
            return fail("property 'entry' without 'kernel-address': an arm64 Image starts at its load address; "
                        "expected 'kernel-address' to load the kernel as a raw binary");
        }
        if (!entry_given) {
            vm_.entry = vm_.kernel_address;
        }
        if (vm_.entry % 4 != 0) {
            return fail("property '%s' is 0x%lx: expected a multiple of 4 (an instruction's address)",
                        entry_given ? "entry" : "kernel-address", vm_.entry);
        }
        return true;
    }

    bool parse_bootargs()
    {
        bool ok = false;
        vm_.bootargs = string("bootargs", false, "the kernel command line", ok);
        if (ok && vm_.bootargs != nullptr && strlen(vm_.bootargs) > kMaxBootargs) {
            return fail("property 'bootargs' is %lu characters long: expected at most %lu", strlen(vm_.bootargs),
                        kMaxBootargs);
        }
        return ok;
    }

    /// A property without a value (`name;`): `out` says whether it is there.
    bool flag(const char* name, bool& out)
    {
        int length = 0;
        out = property(name, length) != nullptr;
        if (out && length != 0) {
            return fail("property '%s' has %d bytes: expected no value (%s;)", name, length, name);
        }
        return true;
    }

    /// unmapped-mmio = "abort" | "ignore";: what an access to an address with
    /// no RAM and no device gets.
    bool parse_unmapped_mmio()
    {
        constexpr const char* kExpected = "\"abort\" or \"ignore\"";
        bool ok = false;
        const char* value = string("unmapped-mmio", false, kExpected, ok);
        if (!ok || value == nullptr) {
            return ok; // absent: abort
        }
        if (strcmp(value, "abort") == 0) {
            vm_.unmapped_mmio = UnmappedMmio::Abort;
        } else if (strcmp(value, "ignore") == 0) {
            vm_.unmapped_mmio = UnmappedMmio::Ignore;
        } else {
            return fail("property 'unmapped-mmio' is \"%s\": expected %s", value, kExpected);
        }
        return true;
    }

    /// Property `name`, a list of non-empty strings (network names, `example`), in [list, list + length);
    /// list nullptr and length 0 when it is absent. False (failed) when it
    /// is not a list of strings.
    bool network_list(const char* name, const char*& list, int& length, const char* example = "\"lan0\"")
    {
        list = static_cast<const char*>(property(name, length));
        if (list == nullptr) {
            length = 0;
            return true;
        }
        bool strings = length >= 2 && list[length - 1] == '\0';
        for (int at = 0; strings && at < length; at += static_cast<int>(strlen(list + at)) + 1) {
            strings = list[at] != '\0'; // no empty names (cells of zeros look like them)
        }
        if (!strings) {
            return fail("property '%s' is not a list of strings: expected e.g. %s = %s;", name, name, example);
        }
        return true;
    }

    /// networks = "lan0", "lan1";: the virtual networks the VM joins.
    bool parse_networks()
    {
        const char* list = nullptr;
        int length = 0;
        if (!network_list("networks", list, length)) {
            return false;
        }
        if (list == nullptr) {
            return true; // none
        }
        uint32_t count = 0;
        for (int at = 0; at < length; count++) {
            const char* name = list + at;
            const size_t n = strlen(name);
            if (n == 0 || n >= VmConfig::kNetworkNameSize) {
                return fail("property 'networks' names a network of %lu characters: expected 1 to %lu", n,
                            VmConfig::kNetworkNameSize - 1);
            }
            for (size_t i = 0; i < n; i++) {
                const char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_')) {
                    return fail("property 'networks' names \"%s\": expected letters, digits, '-' and '_'", name);
                }
            }
            for (int before = 0; before < at; before += static_cast<int>(strlen(list + before)) + 1) {
                if (strcmp(list + before, name) == 0) {
                    return fail("property 'networks' names \"%s\" twice", name);
                }
            }
            if (count == VmConfig::kMaxNetworks) {
                return fail("property 'networks' names more than %u networks: expected at most %u",
                            VmConfig::kMaxNetworks, VmConfig::kMaxNetworks);
            }
            at += static_cast<int>(n) + 1;
        }
        vm_.networks = list;
        vm_.network_count = count;
        return true;
    }

    /// bridged-networks = "lan0";: networks (of those in `networks`) on
    /// which the VM bridges other hosts: it may send from other addresses.
    bool parse_bridged_networks()
    {
        const char* list = nullptr;
        int length = 0;
        if (!network_list("bridged-networks", list, length)) {
            return false;
        }
        if (list == nullptr) {
            return true; // none
        }
        for (int at = 0; at < length; at += static_cast<int>(strlen(list + at)) + 1) {
            const char* name = list + at;
            uint32_t n = 0;
            while (n < vm_.network_count && strcmp(vm_.network(n), name) != 0) {
                n++;
            }
            if (n == vm_.network_count) {
                return fail("property 'bridged-networks' names \"%s\": expected networks the VM joins (its "
                            "'networks')",
                            name);
            }
            vm_.bridged |= 1u << n;
        }
        return true;
    }

    /// pci-functions = "00:02.0";: host PCIe functions given to the VM, as
    /// bus:device.function in hexadecimal (lspci's notation).
    bool parse_pci_functions()
    {
        const char* list = nullptr;
        int length = 0;
        if (!network_list("pci-functions", list, length, "\"00:02.0\"")) { // non-empty strings, as networks are
            return false;
        }
        for (int at = 0; list != nullptr && at < length; at += static_cast<int>(strlen(list + at)) + 1) {
            const char* text = list + at;
            const int bus = hex_digits(text, 2), device = hex_digits(text + 3, 2), function = hex_digits(text + 6, 1);
            if (strlen(text) != 7 || text[2] != ':' || text[5] != '.' || bus < 0 || device < 0 || device > 31 ||
                function < 0 || function > 7) {
                return fail("property 'pci-functions' names \"%s\": expected bus:device.function in hexadecimal, "
                            "e.g. \"00:02.0\" (device 00-1f, function 0-7)",
                            text);
            }
            const PciFunctionConfig f = {static_cast<uint8_t>(bus), static_cast<uint8_t>(device),
                                         static_cast<uint8_t>(function)};
            for (size_t i = 0; i < vm_.pci_count; i++) {
                if (vm_.pci[i].rid() == f.rid()) {
                    return fail("property 'pci-functions' names \"%s\" twice", text);
                }
            }
            if (vm_.pci_count == VmConfig::kMaxPciFunctions) {
                return fail("property 'pci-functions' names more than %lu functions: expected at most %lu",
                            VmConfig::kMaxPciFunctions, VmConfig::kMaxPciFunctions);
            }
            vm_.pci[vm_.pci_count++] = f;
        }
        if (vm_.unconfined_dma && !vm_.identity_mapped) {
            return fail("property 'unconfined-dma' is for functions with no SMMU in front, which use host-physical "
                        "addresses: expected identity-mapped; with it");
        }
        return true;
    }

    bool parse_smc_forward()
    {
        int length = 0;
        const void* value = property("smc-forward", length);
        if (value == nullptr) {
            return true; // nothing forwarded
        }
        const size_t pairs = static_cast<size_t>(length) / 8;
        if (length % 8 != 0 || pairs == 0) {
            return fail("property 'smc-forward' has %d bytes: expected pairs of cells <first last>, inclusive ranges "
                        "of SMCCC function IDs",
                        length);
        }
        vm_.smc_forward = {static_cast<const uint8_t*>(value), 2 * pairs};
        vm_.smc_forward_count = pairs;
        for (size_t i = 0; i < pairs; i++) {
            const SmcIdRange range = vm_.smc_range(i);
            if (range.first > range.last) {
                return fail("property 'smc-forward' pair %lu is <0x%x 0x%x>: expected first <= last", i, range.first,
                            range.last);
            }
        }
        return true;
    }

    const void* fdt_;
    int node_;
    const char* file_;
    const ConfigLimits& limits_;
    VmConfig& vm_;
    DeviceRoom& room_;
    const char* node_name_ = "?";
};

/// The checks across VMs, in file order: unique names, total memory, one
/// console-input.
void check_together(VmConfig* vms, size_t count, const char* file, const ConfigLimits& limits)
{
    uint64_t total = 0;
    const VmConfig* console = nullptr;
    for (size_t i = 0; i < count; i++) {
        VmConfig& vm = vms[i];
        for (size_t j = 0; vm.ok && j < i; j++) {
            if (vms[j].ok && strcmp(vms[j].name, vm.name) == 0) {
                set_error(vm, file, vm.name, "a VM of this name comes earlier in the file: expected unique names");
            }
        }
        if (vm.ok && (vm.ram_size > limits.ram_bytes || total > limits.ram_bytes - vm.ram_size)) {
            set_error(vm, file, vm.name,
                      "property 'memory' of %s brings the VMs' memory to %s: expected at most the %s Vireo "
                      "can give them",
                      size_text(vm.ram_size).text, size_text(total + vm.ram_size).text,
                      size_text(limits.ram_bytes).text);
        }
        if (vm.ok && vm.console_input && console != nullptr) {
            set_error(vm, file, vm.name, "property 'console-input' is also set for /%s: expected it on one VM only",
                      console->name);
        }
        if (!vm.ok) {
            continue;
        }
        total += vm.ram_size;
        if (vm.console_input) {
            console = &vm;
        }
    }
    for (size_t i = 0; console == nullptr && i < count; i++) {
        if (vms[i].ok) {
            vms[i].console_input = true;
            console = &vms[i];
        }
    }
}

/// A device tree starts 8-byte aligned (DTSpec 5.1); its header is read
/// in place. (Package entries are 4 KiB-aligned, so this always holds.)
bool aligned(const void* blob) { return reinterpret_cast<uintptr_t>(blob) % 8 == 0; }

constexpr uint32_t kMinFdtVersion = 16;

bool check_blob(const void* blob, size_t blob_size, const char* file, LoadError& error)
{
    if (blob != nullptr && !aligned(blob)) {
        return fail(error, "%s: the device tree is not 8-byte aligned in memory", file);
    }
    if (blob == nullptr || blob_size < sizeof(fdt_header) || fdt_magic(blob) != FDT_MAGIC) {
        return fail(error, "%s: not a device tree (no FDT magic): expected a DTB compiled by dtc", file);
    }
    if (fdt_totalsize(blob) > blob_size) {
        return fail(error, "%s: device tree truncated: its header says %u bytes, only %lu are there", file,
                    fdt_totalsize(blob), blob_size);
    }
    // Older formats (path names, unaligned properties) are what dtc has not
    // written for decades, and libfdt 1.6.1's fdt_check_full() crashes on
    // some of them (found by tests/fuzz/config.cpp): refused before it looks.
    if (fdt_version(blob) < kMinFdtVersion) {
        return fail(error, "%s: device tree version %u: expected version %u or later, as dtc writes", file,
                    fdt_version(blob), kMinFdtVersion);
    }
    const int check = fdt_check_full(blob, blob_size);
    if (check != 0) {
        return fail(error, "%s: not a valid device tree: %s", file, fdt_strerror(check));
    }
    const int compatible = fdt_node_check_compatible(blob, 0, kCompatible);
    if (compatible != 0) {
        return fail(error, "%s: not a Vireo VM configuration: expected compatible = \"%s\" at /", file, kCompatible);
    }
    int offset = 0;
    fdt_for_each_property_offset(offset, blob, 0)
    {
        const char* name = nullptr;
        if (fdt_getprop_by_offset(blob, offset, &name, nullptr) == nullptr || name == nullptr) {
            return fail(error, "%s: /: unreadable property", file);
        }
        if (!is_one_of(name, kRootProperties)) {
            return fail(error,
                        "%s: /: property '%s' is not known: expected compatible, model or vireo-colours; each VM "
                        "is a child node of /",
                        file, name);
        }
    }
    return true;
}

} // namespace

vm_config::Room vm_config::room(const void* blob, size_t blob_size)
{
    Room room;
    if (blob == nullptr || !aligned(blob) || blob_size < sizeof(fdt_header) || fdt_check_header(blob) != 0 ||
        fdt_totalsize(blob) > blob_size || fdt_version(blob) < kMinFdtVersion) {
        return room;
    }
    int vm = 0;
    fdt_for_each_subnode(vm, blob, 0)
    {
        if (channel_config::is_channels_node(blob, vm)) {
            continue;
        }
        room.vms++;
        int child = 0;
        fdt_for_each_subnode(child, blob, vm)
        {
            int device = 0;
            fdt_for_each_subnode(device, blob, child) { room.devices++; }
        }
    }
    return room;
}

size_t vm_config::identity_ranges(const void* blob, size_t blob_size, IdentityRange* out, size_t max)
{
    if (room(blob, blob_size).vms == 0) {
        return 0; // not a usable device tree: parse() says why
    }
    size_t count = 0;
    int vm = 0;
    fdt_for_each_subnode(vm, blob, 0)
    {
        int length = 0;
        const void* memory = fdt_getprop(blob, vm, "memory", &length);
        if (count == max || channel_config::is_channels_node(blob, vm) ||
            fdt_getprop(blob, vm, "identity-mapped", nullptr) == nullptr || memory == nullptr || length != 16) {
            continue;
        }
        out[count].name = fdt_get_name(blob, vm, nullptr);
        out[count].base = cells64(memory, 0);
        out[count].size = cells64(memory, 2);
        count++;
    }
    return count;
}

bool vm_config::dma_refused(const VmConfig& vm, const PassthroughDevice& p, char* out, size_t size)
{
    const char* reason = p.dma_reason();
    if (vm.identity_mapped || reason == nullptr) {
        return false;
    }
    format(out, size,
           "passthrough/%s: the device does DMA (%s) and the VM's RAM is not identity-mapped, so without an SMMU it "
           "would read and write memory that is not the VM's: expected identity-mapped; on the VM, or no-dma; on a "
           "device that does no DMA",
           p.name, reason);
    return true;
}

bool vm_config::parse(const void* blob, size_t blob_size, const char* file_name, const ConfigLimits& limits,
                      VmConfig* out, size_t max, PassthroughDevice* devices, size_t device_room, size_t& count,
                      LoadError& error)
{
    count = 0;
    if (!check_blob(blob, blob_size, file_name, error)) {
        return false;
    }
    size_t vms = 0;
    int node = 0;
    fdt_for_each_subnode(node, blob, 0) { vms += channel_config::is_channels_node(blob, node) ? 0 : 1; }
    if (vms == 0) {
        return fail(error, "%s: no VMs: expected one child node of / per VM", file_name);
    }
    if (vms > max) {
        return fail(error, "%s: %lu VMs: expected at most %lu", file_name, vms, max);
    }
    VmNode::DeviceRoom room{devices, devices != nullptr ? device_room : 0, 0};
    fdt_for_each_subnode(node, blob, 0)
    {
        if (channel_config::is_channels_node(blob, node)) {
            continue; // channel_config::parse() reads it
        }
        VmConfig& vm = out[count++];
        vm = VmConfig{};
        VmNode(blob, node, file_name, limits, vm, room).parse();
    }
    check_together(out, count, file_name, limits);
    return true;
}

bool vm_config::own_colours(const void* blob, const char* file_name, const ConfigLimits& limits, uint64_t& set,
                            LoadError& error)
{
    set = 0;
    int length = 0;
    const void* value = fdt_getprop(blob, 0, "vireo-colours", &length);
    if (value == nullptr) {
        return true;
    }
    const int64_t bad = colour_cells(value, length, limits.page_colours, set);
    if (bad == kColoursBadLength) {
        return fail(error,
                    "%s: /: property 'vireo-colours' has %d bytes: expected one or more cells, each a page colour "
                    "for Vireo's own memory, e.g. vireo-colours = <15>;",
                    file_name, length);
    }
    if (bad != kColoursOk) {
        return fail(error,
                    "%s: /: property 'vireo-colours' names colour %ld: expected 0 to %u (this machine's last-level "
                    "cache gives %u page colours)",
                    file_name, bad, limits.page_colours - 1, limits.page_colours);
    }
    return true;
}
