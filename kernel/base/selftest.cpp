#include "kernel/base/selftest.hpp"

#include <stdint.h>
#include <string.h>

#include "kernel/console/console.hpp"
#include "kernel/cpu/smp.hpp"
#include "kernel/mem/page_table.hpp"
#include "platform/platform.hpp"

namespace {

// Each frame keeps a live buffer, so the compiler cannot turn the recursion
// into a loop; the stack runs into its guard page.
__attribute__((noinline)) uint64_t recurse(uint64_t depth)
{
    volatile uint64_t frame[64];
    frame[0] = depth;
    // Far deeper than any stack: the bound only keeps the compiler content.
    return depth < (1ull << 40) ? recurse(depth + 1) + frame[0] : frame[0];
}

} // namespace

void run_selftest(const Platform& platform)
{
    char name[32];
    if (find_bootarg(platform.bootargs, "vireo.selftest", name, sizeof name) == nullptr) {
        return;
    }
    console::print("selftest: %s\n", name);
    if (strcmp(name, "stack-overflow") == 0) {
        recurse(0);
    } else if (strcmp(name, "data-abort") == 0) {
        // Beyond the 39-bit EL2 map: a translation fault at EL2.
        const uint64_t unmapped = 1ull << PageTable::kEl2VaBits;
        console::print("selftest: reading 0x%lx\n", *reinterpret_cast<volatile uint64_t*>(unmapped));
    } else if (strcmp(name, "cpu-on-twice") == 0 && platform.cpu_count > 1) {
        // cpu 1 is running: the firmware must refuse, and Vireo must say why.
        smp::release(platform.cpus[1], platform, 1);
    } else {
        log_warn("vireo.selftest=%s is unknown; expected stack-overflow, data-abort or cpu-on-twice (with 2+ CPUs)",
                 name);
    }
}
