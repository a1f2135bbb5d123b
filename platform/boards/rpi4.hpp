// Raspberry Pi 4 (QEMU raspi4b). The DTB's stdout-path names the mini UART;
// before the DTB is parsed Vireo writes to the PL011 (QEMU's first -serial).
#pragma once

#include "platform/board.hpp"

namespace boards {
constexpr Board kRpi4 = {
    .name = "rpi4",
    .early_uart = {UartKind::Pl011, 0xfe201000, 2, 4},
};
} // namespace boards
