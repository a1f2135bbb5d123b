// Random bytes for guests: each Linux guest's /chosen/rng-seed, fresh at
// every start and reset of its VM (docs/architecture.md, "Guest device
// tree"). Without it a guest's kernel starts with an empty entropy pool,
// and until that fills (slowly, in a VM) every random number it takes,
// one per system call for the stack offset alone, reseeds from the pool:
// Linux 6.1 guests spent half their time in BLAKE2s (docs/performance.md).
// The bytes are a ChaCha20 keystream (kernel/base/chacha20.hpp) under a
// key made of what the boot loader gave Vireo in its own /chosen/rng-seed
// and what the CPU's RNDR gives; the key is replaced by keystream after
// each use, so bytes handed out cannot be recomputed from a later key.
// With neither source Vireo has no secret, and hands out nothing.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace entropy {

/// Mixes `size` bytes of secret seed material into the key.
void add(const uint8_t* bytes, size_t size);
/// Mixes in what RNDR gives, if the CPU has it; true if it gave some.
bool add_rndr();
/// Whether a source was added: fill() then gives bytes.
bool ready();
/// `size` fresh bytes; false, with `out` untouched, if not ready().
bool fill(uint8_t* out, size_t size);

} // namespace entropy
