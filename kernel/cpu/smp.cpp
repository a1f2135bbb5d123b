#include "kernel/cpu/smp.hpp"

#include "boot/el2_bits.h"
#include "kernel/base/panic.hpp"
#include "kernel/console/console.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/devices/pmu/vpmu.hpp"
#include "kernel/mem/el2_map.hpp"
#include "kernel/sched/sched.hpp"
#include "platform/cpu.hpp"
#include "platform/format.hpp"
#include "platform/mmio.hpp"
#include "platform/platform.hpp"
#include "platform/psci.hpp"
#include "vcpu/vcpu.hpp"

extern "C" {
SecondaryBoot vireo_secondary_boot;
extern char secondary_entry[];
}

namespace smp {
namespace {

constexpr uint64_t kOnlineTimeoutMs = 2000; // wall time: an emulated CPU on a busy host can take hundreds of ms

// Why each CPU that failed to start did (empty: it did not fail), for the
// boot log and for refusing a VM pinned to it.
constinit char failures[VIREO_MAX_CPUS][96] = {};

/// Starts the CPU as release() says; false, with the reason in `why`, if the
/// firmware refuses or the DTB gives no way to start it.
bool try_release(const CpuDesc& desc, const Platform& platform, uint32_t index, char (&why)[96])
{
    const auto entry = reinterpret_cast<uint64_t>(secondary_entry);
    switch (desc.method) {
    case EnableMethod::Psci: {
        if (platform.psci_conduit != Conduit::Smc) {
            format(why, sizeof why, "its PSCI conduit must be smc for a hypervisor at EL2");
            return false;
        }
        const int64_t ret = psci::call(Conduit::Smc, psci::kCpuOn64, desc.mpidr, entry, index);
        if (ret != psci::kSuccess) {
            format(why, sizeof why, "PSCI CPU_ON returned %ld (%s)", ret, psci::error_name(ret));
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
    format(why, sizeof why, "no usable enable-method in the DTB (need psci, or spin-table with cpu-release-addr)");
    return false;
}

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

bool release(const CpuDesc& desc, const Platform& platform, uint32_t index)
{
    char why[96];
    if (!try_release(desc, platform, index, why)) {
        log_error("cpu %u (mpidr 0x%lx) failed to start: %s", index, desc.mpidr, why);
        return false;
    }
    return true;
}

Cpus start_secondaries(const Platform& platform, size_t boot_index)
{
    const uint64_t frequency = arch::read_cntfrq();
    Cpus cpus{1, 1};
    for (size_t i = 0; i < platform.cpu_count; i++) {
        if (i == boot_index) {
            continue;
        }
        const CpuDesc& desc = platform.cpus[i];
        if (cpus.numbered == VIREO_MAX_CPUS) { // only when the boot CPU is not in the DTB's /cpus
            log_warn("cpu (mpidr 0x%lx) not started: Vireo supports %d CPUs", desc.mpidr, VIREO_MAX_CPUS);
            break;
        }
        // A CPU that fails keeps its number: the next one is numbered as
        // the DTB's order says, and as the boot log names it.
        const auto index = static_cast<uint32_t>(cpus.numbered++);
        percpu_init(index, desc.mpidr);
        vireo_secondary_boot = {&vireo_cpus[index], el2_map::config(), desc.mpidr & kMpidrAffinityMask};
        arch::clean_dcache_to_poc(&vireo_secondary_boot, sizeof vireo_secondary_boot);
        char(&why)[96] = failures[index];
        if (try_release(desc, platform, index, why)) {
            if (wait_online(vireo_cpus[index], frequency)) {
                cpus.online++;
                continue;
            }
            format(why, sizeof why, "it did not come online within %lu ms", kOnlineTimeoutMs);
        }
        log_error("cpu %u (mpidr 0x%lx) failed to start: %s", index, desc.mpidr, why);
    }
    return cpus;
}

const char* why_offline(uint32_t index)
{
    if (index < VIREO_MAX_CPUS && __atomic_load_n(&vireo_cpus[index].online, __ATOMIC_ACQUIRE) != 0) {
        return nullptr;
    }
    return index < VIREO_MAX_CPUS && failures[index][0] != '\0' ? failures[index] : "it was not started";
}

} // namespace smp

extern "C" [[noreturn]] void secondary_main(PerCpu* cpu)
{
    const uint64_t mpidr = arch::read_mpidr() & kMpidrAffinityMask;
    // The MMU and caches are on, with the primary's tables: a secondary
    // running on anything else would work under QEMU (which models no
    // caches) and fail on a board, where its accesses would not be
    // coherent with the other CPUs' (8bd5013 had it start with its
    // configuration read 8 bytes off: MMU off, unseen by every test).
    uint64_t sctlr;
    asm volatile("mrs %0, sctlr_el2" : "=r"(sctlr));
    constexpr uint64_t kMmuCachesOn = SCTLR_M | SCTLR_C | SCTLR_I;
    if ((sctlr & kMmuCachesOn) != kMmuCachesOn || arch::read_ttbr0_el2() != el2_map::config().ttbr0) {
        panic("cpu %u: EL2 MMU and caches not on as the boot CPU's (SCTLR_EL2 0x%lx, TTBR0_EL2 0x%lx)", cpu->index,
              sctlr, arch::read_ttbr0_el2());
    }
    console::print("cpu %u online (mpidr 0x%lx)\n", cpu->index, mpidr);
    vcpu_cpu_init(vcpu_ipa_bits());
    vpmu::init_cpu();
    irq::init_cpu();
    __atomic_store_n(&cpu->online, 1u, __ATOMIC_RELEASE);
    sched::run(); // idles in WFE until a vCPU is pinned here
}
