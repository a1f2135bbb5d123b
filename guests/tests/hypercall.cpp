// Hypercalls and SMCCC discovery: the null call round trip, the UID, the
// exit counters, an unknown hypercall.
#include <stdio.h>

#include "lib/guest.hpp"

using namespace guest;

extern "C" void guest_main(uint64_t, uint64_t)
{
    const auto stat = [](uint64_t item) { return static_cast<uint64_t>(call(kHcStat, item)); };
    const uint64_t guest_before = stat(0);
    const uint64_t hvc_ticks_before = stat(16 + kExitHvc);
    const uint64_t exits_before = static_cast<uint64_t>(call(kHcExitCount, kExitHvc));
    bool all_zero = true;
    for (int i = 0; i < 1000; i++) {
        all_zero = all_zero && call(kHcNull) == 0;
    }
    const uint64_t exits_after = static_cast<uint64_t>(call(kHcExitCount, kExitHvc));
    test("null-hypercall-round-trip", all_zero);
    // 1000 null calls + the first exit-count call itself.
    char details[64];
    snprintf(details, sizeof details, "%lu exits counted", exits_after - exits_before);
    test("exit-counter-counts-hypercalls", exits_after - exits_before == 1001, details);
    // Vireo's time for those exits, and the guest's own around them.
    const uint64_t hvc_ticks = stat(16 + kExitHvc) - hvc_ticks_before;
    snprintf(details, sizeof details, "%lu ticks in Vireo for 1000 calls", hvc_ticks);
    test("stat-vireo-ticks-per-exit-kind", hvc_ticks >= 1000, details);
    test("stat-guest-ticks-grow", stat(0) > guest_before);
    test("stat-bad-item", call(kHcStat, 99) == -2 && call(kHcStat, 16 + 14) == -2);
    test("hypercall-call-count", call(kHcCallCount) == 9);

    const Regs uid = hvc(kHcUid);
    test("hypercall-uid", uid.x[0] == 0x7669726f && uid.x[1] == 0x8c5a4e21);
    test("unknown-hypercall-not-supported", call(0x8600abcd) == -1);
    test("smccc-version-1.1", call(0x80000000) == 0x10001);
    test("smccc-arch-features-of-itself", call(0x80000001, 0x80000001) == 0);
    test("smccc-arch-features-unknown", call(0x80000001, 0x80001234) == -1);

    // The virtual PL011 at QEMU virt's address: identification, then a line
    // written byte by byte (the runner looks for it in the console).
    auto* uart = reinterpret_cast<volatile uint32_t*>(0x09000000);
    test("pl011-primecell-id", uart[0xff0 / 4] == 0x0d && uart[0xffc / 4] == 0xb1 && uart[0xfe0 / 4] == 0x11);
    for (const char* p = "uart: hello through the virtual PL011\n"; *p != '\0'; p++) {
        while (uart[0x18 / 4] & (1u << 5)) { // TXFF
        }
        uart[0] = static_cast<uint8_t>(*p);
    }
}
