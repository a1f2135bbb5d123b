// PSCI as guests see it: return codes and power-state bookkeeping.
#include <gtest/gtest.h>

#include "kernel/devices/calls/psci_vm.hpp"

using namespace vpsci;

namespace {

constexpr RamRange kRam{0x40000000, 0x1000000};

struct Vm4 {
    CpuView cpus[4] = {{0x0, Power::On}, {0x1, Power::Off}, {0x2, Power::Off}, {0x3, Power::Off}};
    Result call(uint32_t fid, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0, size_t caller = 0)
    {
        return handle(fid, a1, a2, a3, cpus, 4, caller, kRam);
    }
};

TEST(VirtualPsci, VersionIs1_1AndFeaturesNameWhatIsImplemented)
{
    Vm4 vm;
    EXPECT_EQ(vm.call(kVersion).x0, 0x10001);
    EXPECT_EQ(vm.call(kFeatures, kCpuOn64).x0, kSuccess);
    EXPECT_EQ(vm.call(kFeatures, kSystemReset).x0, kSuccess);
    EXPECT_EQ(vm.call(kFeatures, 0x80000000).x0, kSuccess) << "SMCCC_VERSION, for SMCCC 1.1 discovery";
    EXPECT_EQ(vm.call(kFeatures, 0x84000012).x0, kNotSupported) << "SYSTEM_RESET2 is not implemented";
    EXPECT_EQ(vm.call(0x8400001f).x0, kNotSupported);
    EXPECT_EQ(vm.call(kMigrateInfoType).x0, 2);
}

TEST(VirtualPsci, CpuOnStartsAnOffCpuWithEntryAndContext)
{
    Vm4 vm;
    const Result r = vm.call(kCpuOn64, 0x2, 0x40001000, 0xc0ffee);
    EXPECT_EQ(r.x0, kSuccess);
    EXPECT_EQ(r.action, Action::StartCpu);
    EXPECT_EQ(r.target, 2u);
    EXPECT_EQ(r.entry, 0x40001000u);
    EXPECT_EQ(r.context, 0xc0ffeeu);
    EXPECT_EQ(vm.cpus[2].power, Power::OnPending);
    EXPECT_EQ(vm.call(kAffinityInfo64, 0x2, 0).x0, 2) << "ON_PENDING until it runs";
    EXPECT_EQ(vm.call(kCpuOn64, 0x2, 0x40001000, 0).x0, kOnPending);
}

TEST(VirtualPsci, CpuOnErrors)
{
    Vm4 vm;
    EXPECT_EQ(vm.call(kCpuOn64, 0x0, 0x40001000, 0).x0, kAlreadyOn);
    EXPECT_EQ(vm.call(kCpuOn64, 0x7, 0x40001000, 0).x0, kInvalidParameters) << "no such MPIDR";
    EXPECT_EQ(vm.call(kCpuOn64, 0x1, 0x80000000, 0).x0, kInvalidAddress) << "entry outside guest RAM";
    EXPECT_EQ(vm.call(kCpuOn64, 0x1, 0x40001002, 0).x0, kInvalidAddress) << "misaligned entry";
    EXPECT_EQ(vm.cpus[1].power, Power::Off) << "a failed CPU_ON changes nothing";
}

TEST(VirtualPsci, CpuOn32TruncatesItsArguments)
{
    Vm4 vm;
    const Result r = vm.call(kCpuOn32, 0xffffffff00000003ull, 0xffffffff40000000ull, 0x1234567890ull);
    EXPECT_EQ(r.x0, kSuccess);
    EXPECT_EQ(r.target, 3u);
    EXPECT_EQ(r.entry, 0x40000000u);
    EXPECT_EQ(r.context, 0x34567890u);
}

TEST(VirtualPsci, MpidrMatchesOnAffinityFieldsOnly)
{
    Vm4 vm;
    EXPECT_EQ(vm.call(kCpuOn64, 0x80000001ull, 0x40000000, 0).x0, kSuccess) << "bit 31 (RES1) ignored";
}

TEST(VirtualPsci, CpuOffThenAffinityInfoReportsOff)
{
    Vm4 vm;
    vm.cpus[1].power = Power::On;
    const Result r = vm.call(kCpuOff, 0, 0, 0, 1);
    EXPECT_EQ(r.action, Action::StopCaller);
    EXPECT_EQ(vm.call(kAffinityInfo64, 0x1, 0).x0, 1);
    EXPECT_EQ(vm.call(kAffinityInfo64, 0x0, 0).x0, 0);
    EXPECT_EQ(vm.call(kAffinityInfo64, 0x0, 1).x0, kInvalidParameters) << "only level 0";
    EXPECT_EQ(vm.call(kAffinityInfo64, 0x9, 0).x0, kInvalidParameters);
    EXPECT_EQ(vm.call(kCpuOn64, 0x1, 0x40000000, 0).x0, kSuccess) << "and it can be started again";
}

TEST(VirtualPsci, SuspendSystemOffAndReset)
{
    Vm4 vm;
    EXPECT_EQ(vm.call(kCpuSuspend64, 0x10000, 0x40000000, 0).action, Action::Suspend);
    EXPECT_EQ(vm.call(kCpuSuspend64, 0x10000, 0x40000000, 0).x0, kSuccess);
    EXPECT_EQ(vm.call(kCpuSuspend64, 0x0, 0, 0).action, Action::Suspend) << "standby needs no entry point";
    EXPECT_EQ(vm.call(kCpuSuspend64, 0x1010000, 0x40000000, 0).action, Action::Suspend) << "cluster power-down";
    EXPECT_EQ(vm.call(kCpuSuspend64, 0xffffffff, 0x40000000, 0).x0, kInvalidParameters) << "reserved bits";
    EXPECT_EQ(vm.call(kCpuSuspend64, 0xffffffff, 0x40000000, 0).action, Action::None) << "and no wait";
    EXPECT_EQ(vm.call(kCpuSuspend64, 0x2000000, 0x40000000, 0).x0, kInvalidParameters) << "system level";
    EXPECT_EQ(vm.call(kCpuSuspend64, 0x10000, 0x1000, 0).x0, kInvalidAddress) << "power-down entry outside RAM";
    EXPECT_EQ(vm.call(kCpuSuspend32, 0x100000000ull, 0x40000000, 0).action, Action::Suspend)
        << "SMC32: the upper half is not the caller's";
    EXPECT_EQ(vm.call(kSystemOff).action, Action::SystemOff);
    EXPECT_EQ(vm.call(kSystemReset).action, Action::SystemReset);
}

TEST(VirtualPsci, PsciRangeCoversBothCallingConventions)
{
    EXPECT_TRUE(is_psci(0x84000000));
    EXPECT_TRUE(is_psci(0xc4000003));
    EXPECT_TRUE(is_psci(0x8400001f));
    EXPECT_FALSE(is_psci(0x84000020));
    EXPECT_FALSE(is_psci(0x86000000));
    EXPECT_FALSE(is_psci(0x80000000));
}

} // namespace
