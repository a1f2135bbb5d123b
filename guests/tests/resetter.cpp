// A VM that resets itself at every boot (PSCI SYSTEM_RESET), with a lot of
// RAM for Vireo to reload each time: it may not take more than its share
// of the physical CPU it shares with tests/configs/bare/reset-loop.dts's
// other VM.
#include "lib/guest.hpp"

using namespace guest;

extern "C" void guest_main(uint64_t, uint64_t)
{
    print("resetter: boot\n");
    call(kPsciSystemReset);
}
