// The SMMUs' memory comes from the physical allocator (identity-mapped at
// EL2); all their calls are serialised by one lock (stage-2 changes, VM
// starts and stops, and the event interrupt on the boot CPU are rare).
#include "kernel/vm/dma.hpp"

#include "kernel/base/spinlock.hpp"
#include "kernel/console/console.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/mem/objects.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/cpu.hpp"
#include "platform/platform.hpp"
#include "platform/smmuv3.hpp"

namespace dma {
namespace {

struct Owner {
    Stream stream;
    Vm* vm = nullptr;
    const char* device = nullptr;
};

constexpr size_t kMaxOwners = 32;

constinit Smmu smmus[Platform::kMaxSmmus] = {};
constinit const char* problem[Platform::kMaxSmmus] = {};
constinit size_t smmu_count = 0;
constinit Owner owners[kMaxOwners] = {};
constinit SpinLock lock;
// Lines of the SMMUs' own (no VM's): events of streams no VM owns, global
// errors, lost events. Rate-limited like a VM's (LogBudget::kLimit).
constinit uint32_t smmu_lines = 0;

bool take_smmu_line()
{
    if (smmu_lines == LogBudget::kLimit) {
        log_info("smmu: more events of no VM's, losses and errors; no longer logged");
    }
    return smmu_lines++ < LogBudget::kLimit;
}

/// The last fault reported: a device's one transfer faults once per
/// access the SMMU sees (QEMU's edu: every 4 bytes of a 4 KiB DMA), so
/// repeats on the same page of the same kind say nothing new.
struct LastFault {
    uint32_t smmu = ~0u;
    uint32_t sid = 0;
    uint32_t type = 0;
    bool read = false;
    uint64_t page = 0;

    bool repeats(uint32_t s, const smmuv3::Event& e) const
    {
        return s == smmu && e.stream() == sid && e.type() == type && e.is_read() == read &&
               e.input_address() >> 12 == page;
    }
};
constinit LastFault last_fault = {};

Owner* owner_of(uint32_t smmu, uint32_t sid)
{
    for (Owner& o : owners) {
        if (o.vm != nullptr && o.stream.smmu == smmu && o.stream.sid == sid) {
            return &o;
        }
    }
    return nullptr;
}

/// One line per event, on the owning VM's budget: the device keeps
/// running, its transfer was terminated (the VM learns of it only from its
/// device's own error reporting).
void report(uint32_t smmu, const smmuv3::Event& event)
{
    if (last_fault.repeats(smmu, event)) {
        return;
    }
    last_fault = {smmu, event.stream(), event.type(), event.is_read(), event.input_address() >> 12};
    const Owner* o = owner_of(smmu, event.stream());
    const char* what = smmuv3::event_name(event.type());
    if (o == nullptr) {
        if (take_smmu_line()) {
            log_warn("smmu %u: stream 0x%x: %s (0x%02x)", smmu, event.stream(), what, event.type());
        }
        return;
    }
    if (!o->vm->dma_fault_logs.take(o->vm->name, "DMA faults")) {
        return;
    }
    if (event.has_address()) {
        log_info("vm %s: %s DMA %s at 0x%lx blocked by the SMMU (%s)", o->vm->name, o->device,
                 event.is_read() ? "read" : "write", event.input_address(), what);
    } else {
        log_info("vm %s: %s DMA blocked by the SMMU (%s)", o->vm->name, o->device, what);
    }
}

void on_interrupt(uint32_t intid)
{
    LockGuard guard(lock);
    for (uint32_t i = 0; i < smmu_count; i++) {
        Smmu& smmu = smmus[i];
        smmuv3::Event event;
        bool lost = false;
        // Bounded: at most one queue's worth per interrupt (a device that
        // faults without end must not hold this CPU; the rest stay queued
        // and raise the interrupt again).
        for (uint32_t n = 0; n < (1u << smmu.event_bits()) && smmu.next_event(event, lost); n++) {
            report(i, event);
        }
        // A device faulting faster than Vireo drains the queue fills it:
        // later records are lost (Overflow; QEMU reports it as
        // GERROR.EVTQ_ABT_ERR instead). The faults still blocked the
        // transfers; only their log lines are missing.
        const uint32_t errors = smmu.take_errors();
        lost = lost || (errors & smmuv3::kGerrorEventqAbt) != 0;
        if (lost && take_smmu_line()) {
            log_info("smmu %u: its event queue was full: some DMA faults were not logged", i);
        }
        if ((errors & ~smmuv3::kGerrorEventqAbt) != 0 && take_smmu_line()) {
            log_error("smmu %u: global errors 0x%x (GERROR)", i, errors);
        }
    }
    (void)intid;
}

/// Memory for an SMMU's tables: 2^bits entries of T, naturally aligned.
template <typename T> T* table(uint32_t bits)
{
    const uint64_t bytes = sizeof(T) << bits;
    const uint64_t size = bytes < PhysAllocator::kPage ? PhysAllocator::kPage : bytes;
    const uint64_t pa = memory::phys().alloc(size, size);
    if (pa != 0) {
        bulk::zero(reinterpret_cast<void*>(pa), size);
    }
    return reinterpret_cast<T*>(pa);
}

} // namespace

void init(const Platform& platform)
{
    smmu_count = platform.smmu_count;
    for (uint32_t i = 0; i < smmu_count; i++) {
        const SmmuDesc& desc = platform.smmu[i];
        Smmu& smmu = smmus[i];
        problem[i] = smmu.probe(desc);
        if (problem[i] == nullptr) {
            Smmu::Memory memory;
            memory.streams = table<smmuv3::Ste>(smmu.stream_bits());
            memory.commands = table<smmuv3::Command>(smmu.command_bits());
            memory.events = table<smmuv3::Event>(smmu.event_bits());
            if (memory.streams == nullptr || memory.commands == nullptr || memory.events == nullptr) {
                problem[i] = "no memory for its stream table and queues";
            } else {
                const bool events = desc.eventq_intid != 0 && irq::claim_own_spi(desc.eventq_intid, on_interrupt);
                const bool errors = desc.gerror_intid != 0 && irq::claim_own_spi(desc.gerror_intid, on_interrupt);
                problem[i] = smmu.enable(memory, events, errors);
                if (problem[i] == nullptr && !events) {
                    log_warn("smmu %u: no event queue interrupt: DMA faults are not logged", i);
                }
            }
        }
        if (problem[i] != nullptr) {
            log_warn("smmu %u at 0x%lx: %s; every stream through it aborts (global abort)", i, desc.regs.base,
                     problem[i]);
        } else {
            log_info("smmu %u at 0x%lx: SMMUv3, %u stream IDs, all aborting until a VM owns them", i, desc.regs.base,
                     1u << smmu.stream_bits());
        }
    }
}

const char* unusable(uint32_t smmu)
{
    if (smmu >= smmu_count) {
        return "no such SMMU";
    }
    return problem[smmu];
}

bool attach(const Stream& stream, Vm& vm, const char* device)
{
    if (unusable(stream.smmu) != nullptr) {
        return false;
    }
    LockGuard guard(lock);
    Owner* slot = owner_of(stream.smmu, stream.sid);
    for (size_t i = 0; slot == nullptr && i < kMaxOwners; i++) {
        slot = owners[i].vm == nullptr ? &owners[i] : nullptr;
    }
    if (slot == nullptr) {
        return false;
    }
    Smmu& smmu = smmus[stream.smmu];
    smmuv3::Stage2 s2;
    s2.vmid = vm.vmid;
    s2.table = vm.stage2.vttbr & pte::kAddrMask;
    s2.ipa_bits = vm.ipa_bits;
    const unsigned cpu_ps = static_cast<unsigned>(arch::read_id_aa64mmfr0() & 0xf);
    s2.output_size = cpu_ps < smmu.output_size() ? cpu_ps : smmu.output_size();
    if (!smmu.attach(stream.sid, s2)) {
        return false;
    }
    *slot = {stream, &vm, device};
    return true;
}

void detach(const Stream& stream)
{
    if (unusable(stream.smmu) != nullptr) {
        return;
    }
    LockGuard guard(lock);
    smmus[stream.smmu].detach(stream.sid);
    if (Owner* o = owner_of(stream.smmu, stream.sid)) {
        o->vm = nullptr;
    }
}

void invalidate(uint16_t vmid)
{
    LockGuard guard(lock);
    for (uint32_t i = 0; i < smmu_count; i++) {
        smmus[i].invalidate(vmid);
    }
}

} // namespace dma
