#include "kernel/cpu/smp.hpp"

#include "kernel/console/console.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/devices/pmu/vpmu.hpp"
#include "kernel/sched/sched.hpp"
#include "platform/cpu.hpp"
#include "platform/mmio.hpp"
#include "platform/platform.hpp"
#include "platform/psci.hpp"
#include "vcpu/vcpu.hpp"

extern "C" {
SecondaryBoot vireo_secondary_boot;
extern char secondary_entry[];
}

namespace smp {

bool release(const CpuDesc& desc, const Platform& platform, uint32_t index)
{
    const auto entry = reinterpret_cast<uint64_t>(secondary_entry);
    switch (desc.method) {
    case EnableMethod::Psci: {
        if (platform.psci_conduit != Conduit::Smc) {
            log_error("cpu %u (mpidr 0x%lx): PSCI conduit must be smc for a hypervisor at EL2", index, desc.mpidr);
            return false;
        }
        const int64_t ret = psci::call(Conduit::Smc, psci::kCpuOn64, desc.mpidr, entry, index);
        if (ret != psci::kSuccess) {
            log_error("cpu %u (mpidr 0x%lx) failed to start: PSCI CPU_ON returned %ld (%s)", index, desc.mpidr, ret,
                      psci::error_name(ret));
            return false;
        }
        return true;
    }
    case EnableMethod::SpinTable:
        // The CPU polls its release address with caches off (Linux booting.rst).
        mmio::write<uint64_t>(desc.release_addr, entry);
        arch::clean_dcache_to_poc(reinterpret_cast<void*>(desc.release_addr), sizeof(uint64_t));
        arch::sev();
        return true;
    case EnableMethod::Unknown: break;
    }
    log_error(
        "cpu %u (mpidr 0x%lx): no usable enable-method in the DTB (need psci, or spin-table with cpu-release-addr)",
        index, desc.mpidr);
    return false;
}

namespace {

constexpr uint64_t kOnlineTimeoutMs = 500;

bool wait_online(const PerCpu& cpu, uint64_t frequency)
{
    const uint64_t deadline = arch::counter() + frequency / 1000 * kOnlineTimeoutMs;
    while (__atomic_load_n(&cpu.online, __ATOMIC_ACQUIRE) == 0) {
        if (arch::counter() > deadline) {
            return false;
        }
        arch::cpu_relax();
    }
    return true;
}

} // namespace

size_t start_secondaries(const Platform& platform, size_t boot_index)
{
    const uint64_t frequency = arch::read_cntfrq();
    size_t online = 1;
    uint32_t next = 1;
    for (size_t i = 0; i < platform.cpu_count; i++) {
        if (i == boot_index) {
            continue;
        }
        const CpuDesc& desc = platform.cpus[i];
        const uint32_t index = next++;
        percpu_init(index, desc.mpidr);
        vireo_secondary_boot = {&vireo_cpus[index], el2_map::config()};
        arch::clean_dcache_to_poc(&vireo_secondary_boot, sizeof vireo_secondary_boot);
        if (!release(desc, platform, index)) {
            continue;
        }
        if (!wait_online(vireo_cpus[index], frequency)) {
            log_error("cpu %u (mpidr 0x%lx) did not come online within %lu ms", index, desc.mpidr, kOnlineTimeoutMs);
            continue;
        }
        online++;
    }
    return online;
}

} // namespace smp

extern "C" [[noreturn]] void secondary_main(PerCpu* cpu)
{
    const uint64_t mpidr = arch::read_mpidr() & kMpidrAffinityMask;
    console::print("cpu %u online (mpidr 0x%lx)\n", cpu->index, mpidr);
    vcpu_cpu_init(vcpu_ipa_bits());
    vpmu::init_cpu();
    irq::init_cpu();
    __atomic_store_n(&cpu->online, 1u, __ATOMIC_RELEASE);
    sched::run(); // idles in WFE until a vCPU is pinned here
}
