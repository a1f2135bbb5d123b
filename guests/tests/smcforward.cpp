// SMC forwarding: with the VM's policy allowing one SiP function, the call
// reaches the firmware (our EL3 test firmware, guests/tests/firmware) with
// x1-x17 intact and x0-x3 come back; a SiP call outside the policy gets
// NOT_SUPPORTED without reaching the firmware.
#include "firmware/el3fw.hpp"
#include "lib/guest.hpp"

using namespace guest;

extern "C" void guest_main(uint64_t, uint64_t)
{
    uint64_t args[18];
    args[0] = el3fw::kSipTest;
    for (int i = 1; i <= 17; i++) {
        args[i] = 0x1111111111111111ull * static_cast<uint64_t>(i) + 0x0123456789abcdefull;
    }
    uint64_t expected[4];
    el3fw::sip_test_result(args, expected);
    const Regs got = smc(args);
    test("smc-forwarded-all-arguments-and-results",
         got.x[0] == expected[0] && got.x[1] == expected[1] && got.x[2] == expected[2] && got.x[3] == expected[3]);
    uint64_t trap[18] = {el3fw::kSipTrap};
    test("smc-outside-policy-not-forwarded", smc(trap).x[0] == ~0ull);
    uint64_t psci[18] = {0x84000000};
    test("psci-over-smc-answered-by-vireo", smc(psci).x[0] == 0x10001);
}
