// The firmware's device tree read before the MMU is on, to find the console.
//
// With the MMU off every data access is to Device memory, where an unaligned
// access faults (Arm ARM B2.1.4: alignment of Device accesses is always
// checked); libfdt and newlib's string functions may make unaligned loads.
// This reader makes only naturally aligned 32-bit loads of the structure
// block and byte loads of names and strings, and calls no library function,
// so it runs with the MMU on or off. Platform discovery (fdt_platform.cpp)
// uses its reg translation too, so both see the same addresses.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "platform/platform.hpp"

namespace early_fdt {

struct Console {
    UartDesc uart; // kind None when nothing usable was found
    int node = -1; // the UART's node (a libfdt structure offset); -1 for earlycon
    ConsoleSource source = ConsoleSource::None;
};

/// The console UART the DTB at `fdt` names, tried in ConsoleSource order.
/// The header must have been checked (early_dtb_size); a malformed
/// structure block gives kind None, never a read outside totalsize.
Console find_console(const void* fdt);

/// Entry `index` of the reg property of the node at structure offset
/// `node`, translated through the ranges of its ancestors into a CPU
/// physical address (DT spec 2.3.8). False if there is no such entry or an
/// ancestor bus has no path to the CPU's address space.
bool node_reg(const void* fdt, int node, int index, Range& out);

/// What the boot loader left in RAM and what must stay where it is, read
/// before anything else is (boot/start.S moves Vireo, its DTB and the boot
/// package to the top of RAM with it: platform/boot_place.hpp).
struct BootMemory {
    static constexpr size_t kMaxBanks = 8;
    static constexpr size_t kMaxReserved = 32;
    Range banks[kMaxBanks] = {}; // enabled /memory nodes' reg entries, non-empty
    size_t bank_count = 0;
    Range reserved[kMaxReserved] = {}; // /memreserve/ and /reserved-memory's reg entries
    size_t reserved_count = 0;
    bool reserved_overflow = false; // more than kMaxReserved: nothing may move
    Range package = {};             // /chosen linux,initrd-start/end; size 0 if none
};
bool boot_memory(const void* fdt, BootMemory& out);

/// Whether /chosen/bootargs holds `word` as a whole word.
bool bootargs_word(const void* fdt, const char* word);

/// Writes `package` into /chosen linux,initrd-start/end of the DTB at
/// `fdt` (the same cells: one or two each). False when they are not there.
bool set_package(void* fdt, Range package);

} // namespace early_fdt
