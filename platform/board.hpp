// A board: the little the device tree cannot tell Vireo. Selected at build
// time with `make BOARD=...` (qemu-virt, rpi4, rk3588).
#pragma once

#include "platform/uart.hpp"

struct Board {
    const char* name;
    UartDesc early_uart; // used before the DTB is parsed
};

/// The board this image was built for.
const Board& board();
