#include "platform/board.hpp"

#include "platform/boards/qemu_virt.hpp"
#include "platform/boards/rk3588.hpp"
#include "platform/boards/rpi4.hpp"

#ifndef VIREO_BOARD
#define VIREO_BOARD kQemuVirt
#endif

const Board& board() { return boards::VIREO_BOARD; }
