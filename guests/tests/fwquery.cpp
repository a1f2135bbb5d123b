// SMCs a VM's policy forwards to real firmware (TF-A's BL31 on the
// Raspberry Pi 4, tests/system/boards.tests): the Arm standard service's
// general queries (SMCCC 1.x, "General Service Queries": call count 0xff00,
// UID 0xff01, revision 0xff03 of the 0x8400xxxx range) reach TF-A and its
// answers come back; a SiP call outside the policy gets NOT_SUPPORTED from
// Vireo without reaching it.
#include "lib/guest.hpp"

using namespace guest;

namespace {

Regs smc_call(uint32_t fid)
{
    uint64_t args[18] = {fid};
    return smc(args);
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t)
{
    constexpr uint64_t kNotSupported = 0xffffffffffffffffull;
    const Regs uid = smc_call(0x8400ff01);
    print("firmware: standard service UID %08lx %08lx %08lx %08lx\n", uid.x[0], uid.x[1], uid.x[2], uid.x[3]);
    test("std-service-uid-forwarded", uid.x[0] != kNotSupported && (uid.x[0] | uid.x[1] | uid.x[2] | uid.x[3]) != 0);
    const Regs revision = smc_call(0x8400ff03);
    print("firmware: standard service revision %lu.%lu\n", revision.x[0], revision.x[1]);
    test("std-service-revision-forwarded", revision.x[0] != kNotSupported);
    const Regs count = smc_call(0x8400ff00);
    test("std-service-call-count-forwarded", count.x[0] != kNotSupported && count.x[0] != 0);
    test("sip-outside-policy-not-forwarded", smc_call(0xc2000001).x[0] == kNotSupported);
}
