// RK3588 boards (rock-5b, orangepi-5). UART2, snps,dw-apb-uart, as the
// bootloader left it (1.5 Mbaud).
#pragma once

#include "platform/board.hpp"

namespace boards {
constexpr Board kRk3588 = {
    .name = "rk3588",
    .early_uart = {UartKind::Ns16550, 0xfeb50000, 2, 4},
};
} // namespace boards
