#include "kernel/base/entropy.hpp"

#include <string.h>

#include "kernel/base/chacha20.hpp"
#include "kernel/base/spinlock.hpp"
#include "platform/cpu.hpp"

namespace entropy {

namespace {

constinit SpinLock lock;
constinit uint32_t key[chacha20::kKeyWords] = {};
constinit uint32_t added = 0; // bytes of seed material
// Distinct from any other use of the key (there is none): "vireo seed".
constexpr uint32_t kNonce[chacha20::kNonceWords] = {0x65726976, 0x6573206f, 0x00006465};

/// Clears key material off the stack (volatile: not a dead store to drop).
void wipe(void* p, size_t size)
{
    auto* bytes = static_cast<volatile uint8_t*>(p);
    for (size_t i = 0; i < size; i++) {
        bytes[i] = 0;
    }
}

} // namespace

void add(const uint8_t* bytes, size_t size)
{
    LockGuard guard(lock);
    // Folded into the key's 32 bytes: every bit of a longer seed still
    // counts, and material a second source adds cannot cancel the first
    // unless it knows it.
    for (size_t i = 0; i < size; i++) {
        const size_t at = (added + i) % (4 * chacha20::kKeyWords);
        key[at / 4] ^= uint32_t{bytes[i]} << (8 * (at % 4));
    }
    added += static_cast<uint32_t>(size);
}

bool add_rndr()
{
    uint64_t words[4];
    for (uint64_t& w : words) {
        if (!arch::rndr(w)) {
            return false;
        }
    }
    add(reinterpret_cast<const uint8_t*>(words), sizeof words);
    wipe(words, sizeof words);
    return true;
}

bool ready()
{
    LockGuard guard(lock);
    return added != 0;
}

bool fill(uint8_t* out, size_t size)
{
    LockGuard guard(lock);
    if (added == 0) {
        return false;
    }
    uint32_t counter = 0;
    uint32_t block[chacha20::kBlockWords];
    // Block 0 becomes the next key (fast key erasure); blocks 1.. are the bytes.
    chacha20::block(key, counter++, kNonce, block);
    uint32_t next[chacha20::kKeyWords];
    memcpy(next, block, sizeof next);
    for (size_t done = 0; done < size;) {
        chacha20::block(key, counter++, kNonce, block);
        const size_t n = size - done < sizeof block ? size - done : sizeof block;
        memcpy(out + done, block, n);
        done += n;
    }
    memcpy(key, next, sizeof key);
    wipe(block, sizeof block);
    wipe(next, sizeof next);
    return true;
}

} // namespace entropy
