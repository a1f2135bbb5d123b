#include "kernel/loader/host_device.hpp"

#include <libfdt.h>
#include <string.h>

#include "kernel/loader/bytes.hpp"
#include "platform/format.hpp"

namespace host_device {
namespace {

uint32_t cells_of(const void* dtb, int node, const char* name, uint32_t fallback)
{
    int length = 0;
    const void* value = fdt_getprop(dtb, node, name, &length);
    return value != nullptr && length == 4 ? bytes::load_be32(static_cast<const uint8_t*>(value)) : fallback;
}

/// `cells` cells (1 or 2) at `p` as one number.
uint64_t number(const uint8_t* p, uint32_t cells)
{
    return cells == 2 ? uint64_t{bytes::load_be32(p)} << 32 | bytes::load_be32(p + 4) : bytes::load_be32(p);
}

/// Translates `address` (of node `node`'s parent bus) up to the root
/// through each bus's `ranges` (DTSpec 2.3.8). False if a bus has no
/// `ranges` or none of its ranges holds the address.
bool translate(const void* dtb, int node, uint64_t& address, uint64_t size, char* why, size_t why_size)
{
    for (int bus = fdt_parent_offset(dtb, node); bus > 0; bus = fdt_parent_offset(dtb, bus)) {
        const int parent = fdt_parent_offset(dtb, bus);
        if (parent < 0) {
            return true; // the root: nothing above it
        }
        int length = 0;
        const auto* ranges = static_cast<const uint8_t*>(fdt_getprop(dtb, bus, "ranges", &length));
        if (ranges == nullptr) {
            format(why, why_size, "its bus %s has no 'ranges': expected a bus that maps it into the CPU's addresses",
                   fdt_get_name(dtb, bus, nullptr));
            return false;
        }
        if (length == 0) {
            continue; // an empty ranges: the same addresses above
        }
        const uint32_t child_cells = cells_of(dtb, bus, "#address-cells", 2);
        const uint32_t size_cells = cells_of(dtb, bus, "#size-cells", 1);
        const uint32_t parent_cells = cells_of(dtb, parent, "#address-cells", 2);
        const uint32_t entry = 4 * (child_cells + parent_cells + size_cells);
        if (child_cells < 1 || child_cells > 2 || parent_cells < 1 || parent_cells > 2 || size_cells < 1 ||
            size_cells > 2 || length % static_cast<int>(entry) != 0) {
            format(why, why_size, "its bus %s has a 'ranges' Vireo cannot read: expected 1 or 2 cells per number",
                   fdt_get_name(dtb, bus, nullptr));
            return false;
        }
        bool found = false;
        for (int at = 0; at < length && !found; at += static_cast<int>(entry)) {
            const uint64_t child = number(ranges + at, child_cells);
            const uint64_t up = number(ranges + at + 4 * child_cells, parent_cells);
            const uint64_t span = number(ranges + at + 4 * (child_cells + parent_cells), size_cells);
            if (address >= child && address - child < span && size <= span - (address - child)) {
                address = up + (address - child);
                found = true;
            }
        }
        if (!found) {
            format(why, why_size, "its registers at 0x%lx are in none of bus %s's 'ranges'", address,
                   fdt_get_name(dtb, bus, nullptr));
            return false;
        }
    }
    return true;
}

/// The node's interrupt parent: its own or an ancestor's `interrupt-parent`.
int interrupt_parent(const void* dtb, int node)
{
    for (int n = node; n >= 0; n = fdt_parent_offset(dtb, n)) {
        int length = 0;
        const void* value = fdt_getprop(dtb, n, "interrupt-parent", &length);
        if (value != nullptr && length == 4) {
            return fdt_node_offset_by_phandle(dtb, bytes::load_be32(static_cast<const uint8_t*>(value)));
        }
    }
    return -1;
}

bool read_interrupts(const void* dtb, int node, HostDevice& out, char* why, size_t why_size)
{
    int length = 0;
    const auto* value = static_cast<const uint8_t*>(fdt_getprop(dtb, node, "interrupts", &length));
    if (value == nullptr) {
        return true; // a device without interrupts
    }
    const int gic = interrupt_parent(dtb, node);
    if (gic < 0 || fdt_getprop(dtb, gic, "interrupt-controller", nullptr) == nullptr ||
        cells_of(dtb, gic, "#interrupt-cells", 0) != 3) {
        format(why, why_size,
               "its interrupt parent is not a GIC with 3-cell specifiers: expected interrupts of the GIC");
        return false;
    }
    if (length % 12 != 0 || length == 0 || static_cast<size_t>(length / 12) > HostDevice::kMaxIntids) {
        format(why, why_size, "'interrupts' has %d bytes: expected 1 to %lu specifiers of 3 cells", length,
               HostDevice::kMaxIntids);
        return false;
    }
    for (int at = 0; at < length; at += 12) {
        const uint32_t type = bytes::load_be32(value + at);
        const uint32_t number = bytes::load_be32(value + at + 4);
        const uint32_t flags = bytes::load_be32(value + at + 8);
        if (type != 0 || number > 987) {
            format(why, why_size, "interrupt <%u %u %u> is not an SPI: expected SPIs (GIC_SPI, 0 to 987)", type, number,
                   flags);
            return false;
        }
        out.intids[out.intid_count++] = 32 + number;
        if (at == 0) {
            out.edge = (flags & 0xf) == 1 || (flags & 0xf) == 2; // IRQ_TYPE_EDGE_RISING / FALLING
        }
    }
    return true;
}

} // namespace

bool read(const void* dtb, const char* path, HostDevice& out, char* why, size_t why_size)
{
    out = HostDevice{};
    const int node = fdt_path_offset(dtb, path);
    if (node < 0) {
        format(why, why_size, "the host DTB has no node %s", path);
        return false;
    }
    const int parent = fdt_parent_offset(dtb, node);
    const uint32_t address_cells = parent >= 0 ? cells_of(dtb, parent, "#address-cells", 2) : 2;
    const uint32_t size_cells = parent >= 0 ? cells_of(dtb, parent, "#size-cells", 1) : 1;
    int length = 0;
    const auto* reg = static_cast<const uint8_t*>(fdt_getprop(dtb, node, "reg", &length));
    if (reg == nullptr || address_cells < 1 || address_cells > 2 || size_cells < 1 || size_cells > 2 ||
        length < static_cast<int>(4 * (address_cells + size_cells))) {
        format(why, why_size, "node %s has no 'reg' Vireo can read: expected its registers", path);
        return false;
    }
    out.base = number(reg, address_cells);
    out.size = number(reg + 4 * address_cells, size_cells);
    if (out.size == 0 || !translate(dtb, node, out.base, out.size, why, why_size) ||
        !read_interrupts(dtb, node, out, why, why_size)) {
        return false;
    }
    int compatible_length = 0;
    const auto* compatible = static_cast<const char*>(fdt_getprop(dtb, node, "compatible", &compatible_length));
    if (compatible != nullptr && compatible_length > 1 && compatible[compatible_length - 1] == '\0') {
        out.compatible = compatible;
        out.compatible_length = static_cast<size_t>(compatible_length);
    }
    out.dma_coherent = fdt_getprop(dtb, node, "dma-coherent", nullptr) != nullptr;
    out.iommus = fdt_getprop(dtb, node, "iommus", nullptr) != nullptr;
    int len = 0;
    const auto* periphid = static_cast<const fdt32_t*>(fdt_getprop(dtb, node, "arm,primecell-periphid", &len));
    out.primecell_periphid = periphid != nullptr && len == 4 ? fdt32_ld(periphid) : 0;
    return true;
}

} // namespace host_device
