#include "kernel/sched/sched.hpp"

#include "kernel/base/spinlock.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/devices/gic/direct.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/devices/pmu/vpmu.hpp"
#include "kernel/devices/timer/ptimer.hpp"
#include "kernel/exit/dispatch.hpp"
#include "platform/cpu.hpp"
#include "vcpu/vcpu.hpp"

namespace sched {
namespace {

constexpr uint64_t kSliceMs = 10;

/// The vCPUs pinned to one physical CPU, linked through Vcpu::next_queued:
/// as many as there are (they live in the VMs' pages). Appended to while
/// VMs are built (on the boot CPU, under add_lock), never shortened; the
/// CPU itself walks it meanwhile, so links are published with release
/// stores and read with acquire loads.
struct RunQueue {
    Vcpu* head = nullptr;
    Vcpu* tail = nullptr; // add() only
    Vcpu* last = nullptr; // round-robin position: the vCPU picked last (this CPU only)
};

constinit RunQueue queues[VIREO_MAX_CPUS];
constinit SpinLock add_lock;

VcpuState state_of(const Vcpu& v) { return __atomic_load_n(&v.state, __ATOMIC_ACQUIRE); }

/// `v` from state `from` to `to`, if it is in `from` (another CPU may
/// change it meanwhile: a wake-up, a stop, a reset).
bool move(Vcpu& v, VcpuState from, VcpuState to)
{
    return __atomic_compare_exchange_n(&v.state, &from, to, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

Vcpu* first(const RunQueue& q) { return __atomic_load_n(&q.head, __ATOMIC_ACQUIRE); }
Vcpu* next(const Vcpu& v) { return __atomic_load_n(&v.next_queued, __ATOMIC_ACQUIRE); }

/// The vCPU after `v` on the queue, round the end to the first.
Vcpu* after(const RunQueue& q, const Vcpu* v)
{
    Vcpu* n = v != nullptr ? next(*v) : nullptr;
    return n != nullptr ? n : first(q);
}

/// The next runnable vCPU after the last one picked, claimed for this CPU.
Vcpu* pick(RunQueue& q)
{
    Vcpu* const start = after(q, q.last);
    Vcpu* v = start;
    while (v != nullptr) {
        if (move(*v, VcpuState::Runnable, VcpuState::Running)) {
            q.last = v;
            return v;
        }
        v = after(q, v);
        if (v == start) {
            break;
        }
    }
    return nullptr;
}

bool others_runnable(const RunQueue& q, const Vcpu& self)
{
    for (const Vcpu* v = first(q); v != nullptr; v = next(*v)) {
        if (v != &self && state_of(*v) == VcpuState::Runnable) {
            return true;
        }
    }
    return false;
}

} // namespace

void add(Vcpu& vcpu)
{
    RunQueue& q = queues[vcpu.pcpu];
    {
        LockGuard guard(add_lock);
        vcpu.next_queued = nullptr;
        // The vCPU is complete before another CPU can reach it.
        if (q.tail == nullptr) {
            __atomic_store_n(&q.head, &vcpu, __ATOMIC_RELEASE);
        } else {
            __atomic_store_n(&q.tail->next_queued, &vcpu, __ATOMIC_RELEASE);
        }
        q.tail = &vcpu;
    }
    irq::kick(vcpu.pcpu);
}

namespace {

uint64_t slice_ticks() { return arch::read_cntfrq() / 1000 * kSliceMs; }

/// `vcpu` became runnable: its CPU must look at its run queue. Another CPU
/// is kicked. On this one a kick would not interrupt the vCPU it runs now,
/// so the time slice starts here: it shares the CPU within one slice.
__attribute__((noinline)) void runnable_now(const Vcpu& vcpu)
{
    const PerCpu& cpu = *this_cpu();
    // (Not for the vCPU whose state is loaded here: that one is this
    // loop's own, woken from its WFI, and picked next anyway.)
    if (vcpu.pcpu == cpu.index && &vcpu != cpu.loaded) {
        const uint64_t slice_end = arch::counter() + slice_ticks();
        if (cpu.slice_expired || slice_end < cpu.deadline) {
            irq::arm_deadline(slice_end);
        }
    }
    irq::kick(vcpu.pcpu); // out of its idle WFI, or out of the guest it runs
}

} // namespace

void wake(Vcpu& vcpu)
{
    __atomic_store_n(&vcpu.state, VcpuState::Runnable, __ATOMIC_RELEASE);
    runnable_now(vcpu);
}

namespace {

/// Blocked → Runnable; false if it was not blocked. The caller sees to it
/// that its CPU looks (the loop itself, for its own queue).
bool unblock(Vcpu& vcpu) { return move(vcpu, VcpuState::Blocked, VcpuState::Runnable); }

} // namespace

void wake_blocked(Vcpu& vcpu)
{
    if (unblock(vcpu)) {
        runnable_now(vcpu);
    }
}

namespace {

/// Wakes blocked vCPUs whose virtual timer is due; returns the earliest
/// deadline of those still blocked (~0 if none).
uint64_t wake_due(RunQueue& q, uint64_t now)
{
    uint64_t earliest = ~0ull;
    for (Vcpu* p = first(q); p != nullptr; p = next(*p)) {
        Vcpu& v = *p;
        if (state_of(v) != VcpuState::Blocked) {
            continue;
        }
        if (v.wake_at <= now) {
            unblock(v); // this loop picks it next
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
    const uint64_t virtual_timer = timer_deadline(v);
    const uint64_t physical_timer = ptimer::deadline(v);
    v.wake_at = virtual_timer < physical_timer ? virtual_timer : physical_timer;
    v.stats.wfi_blocks++;
    move(v, VcpuState::Running, VcpuState::Blocked);
    // An interrupt that became pending before we slept must not be lost:
    // look again, once the state is visible to whoever makes one pending
    // (a full barrier: the look must not be satisfied before the store;
    // vgic::has_pending reads without the lock).
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (wait_for_interrupt(v) == Outcome::Continue) {
        unblock(v);
    }
}

/// Waits for work: WFI wakes on a kick or a due deadline even with
/// interrupts masked.
void idle(uint64_t deadline)
{
    const uint64_t start = arch::counter();
    if (irq::available()) {
        irq::arm_deadline(deadline);
        arch::wfi();
        irq::handle_pending();
    } else {
        arch::wfe(); // woken by the sev() in irq::kick()
    }
    this_cpu()->idle_ticks += arch::counter() - start;
}

/// Runs `v`'s guest until its next exit, and handles the exit.
Outcome enter_guest(Vcpu& v)
{
    const bool vgic = v.vgic != nullptr;
    vpmu::enter(v);
    if (vgic) {
        vgic::enter(v); // a direct vCPU's CPU set up for it (kernel/devices/gic/direct.hpp)
    } else if (this_cpu()->lr_owner != nullptr) {
        vgic::release_cpu();
    }
    const vcpu::Exit& exit = v.run();
    if (vgic) {
        vgic::exit(v);
    }
    return handle_exit(v, exit);
}

/// One bounded step of the device work `v`'s exits left over, on its time,
/// then a look at this CPU's interrupts: the end of its time slice, a
/// neighbour's timer and kicks are seen between steps as they are between
/// its guest's instructions, so no amount of work a guest queues holds the
/// CPU longer than a step.
Outcome device_step(Vcpu& v)
{
    v.begin_stretch();
    if (v.device_work(v)) {
        v.device_work = nullptr;
    }
    v.end_stretch();
    irq::handle_pending();
    return Outcome::Interrupted;
}

/// Runs `v`, picked for this CPU, until it blocks, yields, stops or its
/// time slice ends; `sliced` says whether a slice is armed, `earliest` is
/// the earliest timer deadline the EL2 timer must also serve (blocked
/// vCPUs' timers, this vCPU's emulated physical timer).
void run_until_switch(RunQueue& q, Vcpu& v, bool sliced, uint64_t earliest)
{
    struct Leave {
        Vcpu& v;
        ~Leave() { v.leave_cpu(); } // the time after its last exit is its own, until here
    } leave{v};
    for (;;) {
        bool guest = v.device_work == nullptr;
        if (!guest && v.device_work_waits) [[unlikely]] {
            v.device_work_waits = false; // the work after the guest's next exit (VmHost::defer_work)
            guest = true;
        }
        Outcome outcome = guest ? enter_guest(v) : device_step(v);
        // Most exits: handled, the guest goes on. One look at the state
        // (another CPU may have stopped or reset the vCPU meanwhile).
        if (outcome == Outcome::Continue && state_of(v) == VcpuState::Running) [[likely]] {
            continue;
        }
        if (outcome == Outcome::Interrupted) {
            if (irq::slice_expired()) {
                outcome = Outcome::Yield;
            } else if (!sliced && others_runnable(q, v)) {
                sliced = true; // woken meanwhile: start sharing
                const uint64_t end = arch::counter() + slice_ticks();
                irq::arm_deadline(end < earliest ? end : earliest);
            }
        }
        const VcpuState state = state_of(v);
        if (state == VcpuState::Off || state == VcpuState::Stopped) {
            direct::leave(v); // a direct vCPU's CPU back to Vireo (else nothing)
            v.unload();       // its registers leave this CPU before anyone restarts it
            break;
        }
        if (state != VcpuState::Running) {
            break; // made runnable again by a reset
        }
        if (outcome == Outcome::Block) {
            if (v.device_work != nullptr) {
                continue; // the work first (a WFI then ends early, as it may)
            }
            block(v);
            break;
        }
        if (outcome == Outcome::Yield || (outcome == Outcome::YieldIfOthers && others_runnable(q, v))) {
            move(v, VcpuState::Running, VcpuState::Runnable);
            break;
        }
    }
}

/// One step of the work Vireo does on `v`'s time; then `v` waits for its
/// turn again (unless the work blocked or started it).
void do_work(Vcpu& v)
{
    if (v.work(v)) {
        v.work = nullptr;
    }
    move(v, VcpuState::Running, VcpuState::Runnable);
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
        if (v->work != nullptr) [[unlikely]] {
            do_work(*v);
            continue;
        }
        // A time slice only while someone else waits for this CPU; a
        // deadline for the earliest blocked vCPU's timer in any case.
        uint64_t wake = earliest;
        if (v->ptimer.armed()) {
            // Its emulated physical timer: the line now, and the EL2 timer for when it rises.
            ptimer::update(*v);
            const uint64_t rises = ptimer::deadline(*v);
            wake = rises < wake ? rises : wake;
        }
        bool sliced = others_runnable(q, *v);
        const uint64_t slice_end = sliced ? now + slice_ticks() : ~0ull;
        irq::arm_deadline(slice_end < wake ? slice_end : wake);
        run_until_switch(q, *v, sliced, wake);
    }
}

} // namespace sched
