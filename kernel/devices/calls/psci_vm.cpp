#include "kernel/devices/calls/psci_vm.hpp"

namespace vpsci {
namespace {

constexpr uint64_t kAffinityMask = 0xff00ffffffull;
constexpr uint32_t kSmcccVersion = 0x80000000;

int find(const CpuView* cpus, size_t count, uint64_t mpidr)
{
    for (size_t i = 0; i < count; i++) {
        if (cpus[i].mpidr == (mpidr & kAffinityMask)) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

bool supported(uint32_t fid)
{
    switch (fid) {
    case kVersion:
    case kCpuSuspend32:
    case kCpuSuspend64:
    case kCpuOff:
    case kCpuOn32:
    case kCpuOn64:
    case kAffinityInfo32:
    case kAffinityInfo64:
    case kMigrateInfoType:
    case kSystemOff:
    case kSystemReset:
    case kFeatures:
    case kSmcccVersion: return true;
    default: return false;
    }
}

Result value(int64_t x0)
{
    Result r;
    r.x0 = x0;
    return r;
}

bool entry_in_ram(uint64_t entry, RamRange ram)
{
    return entry >= ram.base && entry - ram.base < ram.size && (entry & 3) == 0;
}

// CPU_SUSPEND's power_state, original format (DEN 0022 5.4.2.1): StateID
// [15:0], StateType [16] (1: power down), PowerLevel [25:24]; the rest is
// reserved and must be zero.
constexpr uint64_t kStateTypePowerDown = 1u << 16;
constexpr unsigned kPowerLevelShift = 24;
constexpr uint64_t kPowerStateValid = 0xffffu | kStateTypePowerDown | 3u << kPowerLevelShift;
// Levels a VM has: its vCPUs (0) in one cluster (1).
constexpr uint64_t kMaxPowerLevel = 1;

} // namespace

Result handle(uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3, CpuView* cpus, size_t count, size_t caller,
              RamRange ram)
{
    const bool is32 = (fid & 0x40000000u) == 0;
    if (is32) {
        a1 &= 0xffffffffu;
        a2 &= 0xffffffffu;
        a3 &= 0xffffffffu;
    }
    switch (fid) {
    case kVersion: return value(kVersion1_1);
    case kFeatures:
        // CPU_SUSPEND's feature flags: original power_state format, no OS-initiated mode.
        return value(supported(static_cast<uint32_t>(a1)) ? kSuccess : kNotSupported);
    case kMigrateInfoType: return value(kMigrateNotRequired);
    case kCpuOn32:
    case kCpuOn64: {
        const int target = find(cpus, count, a1);
        if (target < 0) {
            return value(kInvalidParameters);
        }
        if (cpus[target].power == Power::On) {
            return value(kAlreadyOn);
        }
        if (cpus[target].power == Power::OnPending) {
            return value(kOnPending);
        }
        if (!entry_in_ram(a2, ram)) {
            return value(kInvalidAddress);
        }
        cpus[target].power = Power::OnPending;
        Result r = value(kSuccess);
        r.action = Action::StartCpu;
        r.target = static_cast<size_t>(target);
        r.entry = a2;
        r.context = a3;
        return r;
    }
    case kCpuOff: {
        cpus[caller].power = Power::Off;
        Result r = value(kSuccess);
        r.action = Action::StopCaller;
        return r;
    }
    case kCpuSuspend32:
    case kCpuSuspend64: {
        // A power_state this VM's PSCI does not offer is refused, as native
        // firmware does: reserved bits set, or a level above the cluster.
        if ((a1 & ~kPowerStateValid) != 0 || (a1 >> kPowerLevelShift & 3) > kMaxPowerLevel) {
            return value(kInvalidParameters);
        }
        if ((a1 & kStateTypePowerDown) != 0 && !entry_in_ram(a2, ram)) {
            return value(kInvalidAddress);
        }
        // Standby and power-down requests alike are taken as standby: the
        // vCPU waits like WFI and returns SUCCESS (allowed by DEN 0022 5.4).
        Result r = value(kSuccess);
        r.action = Action::Suspend;
        return r;
    }
    case kAffinityInfo32:
    case kAffinityInfo64: {
        const int target = find(cpus, count, a1);
        if (target < 0 || a2 != 0) {
            return value(kInvalidParameters); // only affinity level 0
        }
        switch (cpus[target].power) {
        case Power::On: return value(0);
        case Power::Off: return value(1);
        case Power::OnPending: return value(2);
        }
        return value(kInvalidParameters);
    }
    case kSystemOff: {
        Result r = value(kSuccess);
        r.action = Action::SystemOff;
        return r;
    }
    case kSystemReset: {
        Result r = value(kSuccess);
        r.action = Action::SystemReset;
        return r;
    }
    default: return value(kNotSupported);
    }
}

} // namespace vpsci
