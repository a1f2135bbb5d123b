#include "kernel/sched/sched.hpp"

#include "kernel/console/console.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/exit/dispatch.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/cpu.hpp"
#include "vcpu/vcpu.hpp"

namespace sched {
namespace {

constexpr uint64_t kSliceMs = 10;

struct RunQueue {
    static constexpr size_t kMax = 16;
    Vcpu* vcpus[kMax] = {};
    size_t count = 0;
    size_t next = 0; // round-robin position
};

constinit RunQueue queues[VIREO_MAX_CPUS];

VcpuState state_of(const Vcpu& v) { return __atomic_load_n(&v.state, __ATOMIC_ACQUIRE); }

/// The next runnable vCPU after the last one picked, claimed for this CPU.
Vcpu* pick(RunQueue& q)
{
    const size_t count = __atomic_load_n(&q.count, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < count; i++) {
        Vcpu* v = q.vcpus[(q.next + i) % count];
        VcpuState expected = VcpuState::Runnable;
        if (__atomic_compare_exchange_n(&v->state, &expected, VcpuState::Running, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            q.next = (q.next + i + 1) % count;
            return v;
        }
    }
    return nullptr;
}

bool others_runnable(const RunQueue& q, const Vcpu& self)
{
    for (size_t i = 0; i < q.count; i++) {
        if (q.vcpus[i] != &self && state_of(*q.vcpus[i]) == VcpuState::Runnable) {
            return true;
        }
    }
    return false;
}

} // namespace

void add(Vcpu& vcpu)
{
    RunQueue& q = queues[vcpu.pcpu];
    if (q.count == RunQueue::kMax) {
        log_error("cpu %u: more than %lu vCPUs pinned; vcpu %u of its VM is not scheduled", vcpu.pcpu, RunQueue::kMax,
                  vcpu.index);
        return;
    }
    q.vcpus[q.count] = &vcpu;
    __atomic_store_n(&q.count, q.count + 1, __ATOMIC_RELEASE);
    irq::kick(vcpu.pcpu);
}

void wake(Vcpu& vcpu)
{
    __atomic_store_n(&vcpu.state, VcpuState::Runnable, __ATOMIC_RELEASE);
    irq::kick(vcpu.pcpu); // out of its idle WFI, or out of the guest it runs
}

void wake_blocked(Vcpu& vcpu)
{
    VcpuState expected = VcpuState::Blocked;
    if (__atomic_compare_exchange_n(&vcpu.state, &expected, VcpuState::Runnable, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        irq::kick(vcpu.pcpu);
    }
}

namespace {

uint64_t slice_ticks() { return arch::read_cntfrq() / 1000 * kSliceMs; }

/// Wakes blocked vCPUs whose virtual timer is due; returns the earliest
/// deadline of those still blocked (~0 if none).
uint64_t wake_due(RunQueue& q, uint64_t now)
{
    uint64_t earliest = ~0ull;
    for (size_t i = 0; i < q.count; i++) {
        Vcpu& v = *q.vcpus[i];
        if (state_of(v) != VcpuState::Blocked) {
            continue;
        }
        if (v.wake_at <= now) {
            wake_blocked(v);
        } else if (v.wake_at < earliest) {
            earliest = v.wake_at;
        }
    }
    return earliest;
}

/// The physical counter value at which the loaded vCPU's virtual timer
/// fires, if it is enabled and unmasked (CNTV_CTL.ENABLE, !IMASK).
uint64_t timer_deadline(const Vcpu& v)
{
    uint64_t ctl, cval;
    asm volatile("mrs %0, cntv_ctl_el0" : "=r"(ctl));
    asm volatile("mrs %0, cntv_cval_el0" : "=r"(cval));
    return (ctl & 3) == 1 ? cval + v.stage2->cntvoff : ~0ull;
}

/// Puts the running `v` to sleep until an interrupt is pending for it.
void block(Vcpu& v)
{
    v.wake_at = timer_deadline(v);
    VcpuState expected = VcpuState::Running;
    __atomic_compare_exchange_n(&v.state, &expected, VcpuState::Blocked, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    // An interrupt that became pending before we slept must not be lost.
    if (wait_for_interrupt(v) == Outcome::Continue) {
        wake_blocked(v);
    }
}

/// Waits for work: WFI wakes on a kick or a due deadline even with
/// interrupts masked.
void idle(uint64_t deadline)
{
    if (irq::available()) {
        irq::arm_deadline(deadline);
        arch::wfi();
        irq::handle_pending();
    } else {
        arch::wfe(); // woken by the sev() in irq::kick()
    }
}

} // namespace

void run()
{
    RunQueue& q = queues[this_cpu()->index];
    for (;;) {
        const uint64_t now = arch::counter();
        const uint64_t earliest = wake_due(q, now);
        Vcpu* v = pick(q);
        if (v == nullptr) {
            idle(earliest);
            continue;
        }
        // A time slice only while someone else waits for this CPU; a
        // deadline for the earliest blocked vCPU's timer in any case.
        bool sliced = others_runnable(q, *v);
        const uint64_t slice_end = sliced ? now + slice_ticks() : ~0ull;
        irq::arm_deadline(slice_end < earliest ? slice_end : earliest);
        for (;;) {
            const bool vgic = v->vm->vgic.active;
            if (vgic) {
                vgic::enter(*v);
            } else if (this_cpu()->lr_owner != nullptr) {
                vgic::release_cpu();
            }
            const vcpu::Exit& exit = v->run();
            if (vgic) {
                vgic::exit(*v);
            }
            Outcome outcome = handle_exit(*v, exit);
            if (outcome == Outcome::Interrupted) {
                if (irq::slice_expired()) {
                    outcome = Outcome::Yield;
                } else if (!sliced && others_runnable(q, *v)) {
                    sliced = true; // woken meanwhile: start sharing
                    const uint64_t end = arch::counter() + slice_ticks();
                    irq::arm_deadline(end < earliest ? end : earliest);
                }
            }
            const VcpuState state = state_of(*v);
            if (state == VcpuState::Off || state == VcpuState::Stopped) {
                v->unload(); // its registers leave this CPU before anyone restarts it
                break;
            }
            if (state != VcpuState::Running) {
                break; // made runnable again by a reset
            }
            if (outcome == Outcome::Block) {
                block(*v);
                break;
            }
            if (outcome == Outcome::Yield || (outcome == Outcome::YieldIfOthers && others_runnable(q, *v))) {
                VcpuState expected = VcpuState::Running;
                __atomic_compare_exchange_n(&v->state, &expected, VcpuState::Runnable, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE);
                break;
            }
        }
    }
}

} // namespace sched
