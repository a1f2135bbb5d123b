#pragma once

#include <stdint.h>

#include "platform/cpu.hpp"
#include "platform/early_fdt.hpp"

/// The DTB's totalsize, read from its header with the MMU off (aligned
/// loads only) so the early map can cover it; 0 when x0 holds no usable
/// DTB (0, not 8-byte aligned, no FDT magic, a size not 40 bytes to 2 MiB).
uint32_t early_dtb_size(uint64_t dtb);

/// The console the DTB at `dtb` names (early_fdt::find_console, MMU off),
/// or none when early_dtb_size() finds no DTB there.
early_fdt::Console early_console(uint64_t dtb);

/// Called by boot/start.S when entered below EL2, with the boot loader's x0.
extern "C" [[noreturn]] void early_wrong_el(uint64_t el, uint64_t dtb);
