#include "kernel/vm/msi.hpp"

#include "kernel/base/spinlock.hpp"
#include "kernel/console/console.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/mem/bulk.hpp"
#include "kernel/mem/memory.hpp"
#include "kernel/mem/page_table.hpp"
#include "kernel/vm/pci.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/gic.hpp"
#include "platform/gic_its.hpp"
#include "platform/platform.hpp"

namespace msi {
namespace {

// Each function gets room for 2^11 events at the host ITS: MSI-X's most
// vectors (PCIe Base 7.7.2.2).
constexpr uint32_t kEventBits = 11;
// Host LPIs Vireo hands out, from HostIts::kFirstLpi on.
constexpr uint32_t kMaxLpis = 1024;
constexpr uint64_t kDoorbellIpa = VirtualIts::kBase + 0x10000; // the guest's GITS_TRANSLATER page

struct Lpi {
    Vm* vm; // nullptr: free
    uint32_t rid;
    uint32_t host_device;
    uint32_t event;
};

constinit HostIts its;
constinit bool ready = false;
constinit bool tried = false;
constinit uint64_t its_base = 0;
constinit size_t cpu_count = 0;
constinit bool cpu_ready[VIREO_MAX_CPUS] = {};
constinit Lpi lpis[kMaxLpis] = {};
constinit SpinLock lock; // lpis and every HostIts command

uint64_t alloc(uint64_t size, uint64_t align)
{
    const uint64_t pa = memory::phys().alloc(size, align < PhysAllocator::kPage ? PhysAllocator::kPage : align);
    if (pa != 0) {
        bulk::zero(reinterpret_cast<void*>(pa), size);
    }
    return pa;
}

/// The CPU a host LPI for vCPU `vcpu` of `vm` goes to: where that vCPU
/// runs (its first vCPU's if none is named yet), the boot CPU if that CPU
/// has no LPIs.
uint32_t cpu_of(const Vm& vm, int vcpu)
{
    const uint32_t index = vcpu >= 0 && static_cast<uint32_t>(vcpu) < vm.vcpu_count ? static_cast<uint32_t>(vcpu) : 0;
    const uint32_t cpu = vm.vcpus[index].pcpu;
    return cpu < VIREO_MAX_CPUS && cpu_ready[cpu] ? cpu : 0;
}

int find_lpi(const Vm* vm, uint32_t rid, uint32_t event)
{
    for (uint32_t i = 0; i < kMaxLpis; i++) {
        if (lpis[i].vm == vm && lpis[i].rid == rid && lpis[i].event == event) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

/// A host LPI fired (irq.cpp, already ended at the GIC): the VM's ITS
/// translates the MSI as its guest mapped it.
void on_lpi(uint32_t intid)
{
    const uint32_t index = intid - HostIts::kFirstLpi;
    if (index >= kMaxLpis) {
        return;
    }
    Lpi lpi;
    {
        LockGuard guard(lock);
        lpi = lpis[index];
    }
    if (lpi.vm != nullptr) {
        vgic::msi(lpi.vm->vgic, lpi.rid, lpi.event);
    }
}

/// Forgets `vm`'s host LPIs (their translations are gone from the ITS).
void free_lpis(const Vm& vm)
{
    for (Lpi& lpi : lpis) {
        if (lpi.vm == &vm) {
            lpi = {};
        }
    }
}

/// Brings the host ITS up when the first VM's function needs it (no memory
/// is taken from RAM that identity-mapped VMs may want before then).
bool bring_up()
{
    if (ready || tried) {
        return ready;
    }
    tried = true;
    if (its_base == 0) {
        return false; // no ITS, or no PCIe functions to give VMs
    }
    if (const char* problem = its.init(its_base, alloc)) {
        log_warn("its at 0x%lx: %s; passed-through PCIe functions use INTx", its_base, problem);
        return false;
    }
    size_t usable = 0;
    for (uint32_t cpu = 0; cpu < cpu_count && cpu < VIREO_MAX_CPUS; cpu++) {
        if (!__atomic_load_n(&vireo_cpus[cpu].online, __ATOMIC_ACQUIRE)) {
            continue;
        }
        const uint64_t rd = gic::redistributor(vireo_cpus[cpu].mpidr);
        const char* problem = rd != 0 ? its.add_cpu(cpu, rd, alloc) : "no redistributor";
        if (problem != nullptr) {
            log_warn("its: cpu %u: %s; MSIs for its vCPUs go to cpu 0", cpu, problem);
            continue;
        }
        cpu_ready[cpu] = true;
        usable++;
    }
    if (!cpu_ready[0] || its.command_failures() != 0) {
        log_warn("its at 0x%lx: cpu 0 has no LPIs or commands failed; passed-through PCIe functions use INTx",
                 its_base);
        return false;
    }
    irq::set_lpi_handler(on_lpi);
    ready = true;
    log_info("its at 0x%lx: MSIs of passed-through PCIe functions as host LPIs %u-%u, on %lu CPUs", its_base,
             HostIts::kFirstLpi, HostIts::kFirstLpi + kMaxLpis - 1, usable);
    return true;
}

} // namespace

const Functions::Function* Functions::find(uint32_t device) const
{
    for (size_t i = 0; i < count; i++) {
        if (functions[i].rid == device) {
            return &functions[i];
        }
    }
    return nullptr;
}

const char* Functions::map(uint32_t device, uint32_t event, int vcpu)
{
    const Function* f = find(device);
    if (f == nullptr || event >> kEventBits) {
        return "EventID beyond the 2048 Vireo maps for a passed-through function";
    }
    LockGuard guard(lock);
    int index = find_lpi(vm, device, event); // mapped again: the same host LPI
    if (index < 0) {
        index = find_lpi(nullptr, 0, 0); // a free one
    }
    if (index < 0) {
        return "no host LPI left for a passed-through function's MSI";
    }
    lpis[index] = {vm, device, f->host_device, event};
    its.map_event(f->host_device, event, HostIts::kFirstLpi + static_cast<uint32_t>(index), cpu_of(*vm, vcpu));
    return nullptr;
}

void Functions::move(uint32_t device, uint32_t event, uint32_t vcpu)
{
    const Function* f = find(device);
    LockGuard guard(lock);
    if (f != nullptr && find_lpi(vm, device, event) >= 0) {
        its.move_event(f->host_device, event, cpu_of(*vm, static_cast<int>(vcpu)));
    }
}

void Functions::unmap(uint32_t device, uint32_t event)
{
    const Function* f = find(device);
    LockGuard guard(lock);
    const int index = f != nullptr ? find_lpi(vm, device, event) : -1;
    if (index >= 0) {
        its.unmap_event(f->host_device, event, HostIts::kFirstLpi + static_cast<uint32_t>(index));
        lpis[index] = {};
    }
}

void init(const Platform& platform, size_t cpus)
{
    if (platform.gic.version == 3 && platform.gic.its.size != 0 && platform.has_pci) {
        its_base = platform.gic.its.base;
        cpu_count = cpus;
    }
}

bool available() { return ready; }

bool add_function(Vm& vm, uint32_t rid, uint32_t host_device)
{
    if (!bring_up() || vm.pci == nullptr || host_device == 0) {
        return false; // DeviceID 0 is what a CPU's own doorbell writes carry on QEMU virt: never a VM's
    }
    Functions& fns = vm.pci->msi;
    if (fns.count == Functions::kMax) {
        return false;
    }
    LockGuard guard(lock);
    if (!its.map_device(host_device, kEventBits, alloc)) {
        return false;
    }
    fns.vm = &vm;
    fns.functions[fns.count++] = {rid, host_device};
    vm.vgic.its.set_host(&fns);
    return true;
}

bool map_doorbell(Vm& vm, PageTable& stage2)
{
    if (vm.pci == nullptr || vm.pci->msi.count == 0) {
        return true;
    }
    return stage2.map(kDoorbellIpa, its.doorbell_page(), PageTable::kPageSize, MemType::Device);
}

void stop(Vm& vm)
{
    if (vm.pci == nullptr || vm.pci->msi.count == 0) {
        return;
    }
    LockGuard guard(lock);
    for (size_t i = 0; i < vm.pci->msi.count; i++) {
        its.map_device(vm.pci->msi.functions[i].host_device, kEventBits, alloc); // mapped afresh: no translation left
    }
    free_lpis(vm);
}

void release(Vm& vm)
{
    if (vm.pci == nullptr) {
        return;
    }
    LockGuard guard(lock);
    for (size_t i = 0; i < vm.pci->msi.count; i++) {
        its.unmap_device(vm.pci->msi.functions[i].host_device);
    }
    free_lpis(vm);
    vm.pci->msi.count = 0;
    vm.vgic.its.set_host(nullptr);
}

} // namespace msi
