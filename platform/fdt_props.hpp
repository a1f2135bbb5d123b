// Property readers shared by platform discovery's files (fdt_platform.cpp,
// fdt_pci.cpp), on top of libfdt. Every read is bounded by the property's
// length: a malformed tree gives "absent" or "malformed", never a read past it.
#pragma once

#include <libfdt.h>
#include <stdint.h>
#include <string.h>

namespace fdt_props {

/// `count` big-endian cells (at most two) as one number, the first most significant.
inline uint64_t read_cells(const fdt32_t* cells, int count)
{
    uint64_t value = 0;
    for (int i = 0; i < count; i++) {
        value = (value << 32) | fdt32_ld(&cells[i]);
    }
    return value;
}

/// status absent, "okay" or "ok" (DT spec 2.3.4); "disabled", "fail" and
/// "fail-sss" are not.
inline bool node_enabled(const void* fdt, int node)
{
    const char* status = static_cast<const char*>(fdt_getprop(fdt, node, "status", nullptr));
    return status == nullptr || strcmp(status, "okay") == 0 || strcmp(status, "ok") == 0;
}

/// A property read as 32-bit cells.
struct Cells {
    const fdt32_t* cells = nullptr; // null when absent or not a whole number of cells
    int count = 0;
    bool found = false; // present, whatever its length

    bool ok() const { return cells != nullptr; }
    bool malformed() const { return found && !ok(); }
    uint32_t at(int i) const { return fdt32_ld(&cells[i]); }
    uint64_t read(int first, int n) const { return read_cells(&cells[first], n); }
};

inline Cells prop_cells(const void* fdt, int node, const char* name)
{
    int len = 0;
    const auto* value = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, name, &len));
    if (value == nullptr) {
        return {};
    }
    if (len % 4 != 0) {
        return {nullptr, 0, true};
    }
    return {value, len / 4, true};
}

/// A property of exactly one cell.
inline bool prop_u32(const void* fdt, int node, const char* name, uint32_t& value)
{
    const Cells cells = prop_cells(fdt, node, name);
    if (!cells.ok() || cells.count != 1) {
        return false;
    }
    value = cells.at(0);
    return true;
}

} // namespace fdt_props
