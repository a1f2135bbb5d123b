// The PSCI state machine a VM sees (kernel/devices/calls/psci_vm.cpp):
// any sequence of calls from any vCPU keeps the power states consistent.
#include "kernel/devices/calls/psci_vm.hpp"
#include "tests/fuzz/input.hpp"

using namespace vpsci;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    const size_t count = 1 + in.below(16);
    CpuView cpus[16];
    for (size_t i = 0; i < count; i++) {
        cpus[i] = {i, i == 0 ? Power::On : Power::Off};
    }
    const RamRange ram{0x40000000, 0x10000000};
    static const uint32_t kFids[] = {kVersion,   kCpuSuspend32,   kCpuSuspend64,   kCpuOff,   kCpuOn32,
                                     kCpuOn64,   kAffinityInfo32, kAffinityInfo64, kFeatures, kMigrateInfoType,
                                     kSystemOff, kSystemReset,    0x84000005,      0xc4000012};
    for (int op = 0; op < 32 && !in.done(); op++) {
        const uint32_t fid = in.flag() ? kFids[in.below(sizeof kFids / sizeof kFids[0])]
                                       : 0x84000000u | in.below(32) | (in.flag() ? 0x40000000u : 0);
        const size_t caller = in.below(static_cast<uint32_t>(count));
        const uint64_t a1 = in.flag() ? in.below(20) : in.u64();
        const uint64_t a2 = in.flag() ? ram.base + in.below(0x20000000) : in.u64();
        const uint64_t a3 = in.u64();
        Power before[16];
        for (size_t i = 0; i < count; i++) {
            before[i] = cpus[i].power;
        }
        const Result r = handle(fid, a1, a2, a3, cpus, count, caller, ram);
        // Results are PSCI's, actions come with success.
        FUZZ_CHECK(r.x0 >= -9 || r.x0 == kVersion1_1);
        switch (r.action) {
        case Action::StartCpu:
            FUZZ_CHECK(r.x0 == kSuccess && r.target < count && before[r.target] == Power::Off);
            FUZZ_CHECK(cpus[r.target].power == Power::OnPending);
            FUZZ_CHECK(r.entry >= ram.base && r.entry - ram.base < ram.size && r.entry % 4 == 0);
            cpus[r.target].power = Power::On; // as the VM does once the vCPU starts
            break;
        case Action::StopCaller: FUZZ_CHECK(cpus[caller].power == Power::Off); break;
        case Action::Suspend: FUZZ_CHECK(r.x0 == kSuccess); break;
        case Action::None:
            for (size_t i = 0; i < count; i++) {
                FUZZ_CHECK(cpus[i].power == before[i]); // only actions change power states
            }
            break;
        case Action::SystemOff:
        case Action::SystemReset: break;
        }
        for (size_t i = 0; i < count; i++) {
            FUZZ_CHECK(cpus[i].power == Power::Off || cpus[i].power == Power::On || cpus[i].power == Power::OnPending);
            FUZZ_CHECK(cpus[i].mpidr == i);
        }
    }
    return 0;
}
