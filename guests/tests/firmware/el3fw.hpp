// What the EL3 test firmware answers, shared with the guest that checks it.
#pragma once

#include <stdint.h>

namespace el3fw {

/// A SiP SMC64 call the "smc-forward" VM may forward.
constexpr uint32_t kSipTest = 0xc2000042;
/// A SiP call the VM may not forward: if it reached firmware it would get kSipTrapAnswer.
constexpr uint32_t kSipTrap = 0xc2000043;
constexpr uint64_t kSipTrapAnswer = 0x5a5a5a5a;

/// x0..x3 computed from x1..x17: each result depends on every argument.
inline void sip_test_result(const uint64_t* x, uint64_t r[4])
{
    uint64_t sum = 0, mix = 0;
    for (int i = 1; i <= 17; i++) {
        sum += x[i] * static_cast<uint64_t>(i);
        mix = (mix << 7 | mix >> 57) ^ x[i];
    }
    r[0] = sum;
    r[1] = mix;
    r[2] = x[17] ^ x[1];
    r[3] = ~sum;
}

} // namespace el3fw
