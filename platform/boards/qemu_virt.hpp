// QEMU `virt` (-M virt,virtualization=on). Only what the DTB cannot say.
#pragma once

#include "platform/board.hpp"

namespace boards {
constexpr Board kQemuVirt = {
    .name = "qemu-virt",
    .early_uart = {UartKind::Pl011, 0x09000000, 2, 4},
};
} // namespace boards
