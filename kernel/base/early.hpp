#pragma once

#include <stdint.h>

#include "platform/cpu.hpp"
#include "platform/uart.hpp"

enum class DtbStatus { Ok, Missing, Misaligned, BadMagic, BadSize };

struct DtbCheck {
    DtbStatus status;
    uint32_t magic;
    uint32_t size;
};

/// Reads the DTB header with the MMU off (aligned loads only) to learn its
/// size, so the early map can cover it.
DtbCheck early_check_dtb(uint64_t dtb);

/// Called by boot/start.S when entered below EL2, with the boot loader's x0.
extern "C" [[noreturn]] void early_wrong_el(uint64_t el, uint64_t dtb);
