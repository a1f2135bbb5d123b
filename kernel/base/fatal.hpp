// The frame vcpu/vectors.S builds for an unexpected exception at EL2.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/cpu/asm_offsets.h"

struct FatalFrame {
    uint64_t x[31];
    uint64_t sp;   // SP at the time of the exception
    uint64_t kind; // vector index 0-15
    uint64_t pad;
};

static_assert(offsetof(FatalFrame, sp) == FATAL_FRAME_SP);
static_assert(offsetof(FatalFrame, kind) == FATAL_FRAME_KIND);
static_assert(sizeof(FatalFrame) == FATAL_FRAME_SIZE);
static_assert(FATAL_FRAME_SIZE % 16 == 0, "the frame lives on the stack");
