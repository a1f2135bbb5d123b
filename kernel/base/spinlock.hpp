// A test-and-test-and-set lock. Not a ticket lock: Vireo's physical CPUs
// may themselves be threads of a host (QEMU's TCG, Vireo nested under
// another hypervisor) that deschedules them at will. With tickets, the
// waiter whose turn it is holds up every waiter behind it for as long as
// it is descheduled, even after the lock is free: a 4-vCPU Linux VM on
// QEMU with 4 CPUs on 2 host cores booted 6x slower than natively,
// nearly all of it spent spinning here (docs/performance.md). Here any
// CPU that runs takes a free lock. Critical sections are short, so no CPU
// waits long in practice, although nothing orders the waiters.
// Needs the MMU on (exclusives on Normal memory).
#pragma once

#include <stdint.h>

class SpinLock {
public:
    void lock()
    {
        while (!try_lock()) {
            while (__atomic_load_n(&held_, __ATOMIC_RELAXED) != 0) {
                asm volatile("yield");
            }
        }
    }
    /// Like lock(), but gives up after `spins` tries (for the fatal path,
    /// where the holder may be the CPU that crashed).
    bool lock_bounded(uint64_t spins)
    {
        for (uint64_t i = 0; i < spins; i++) {
            if (try_lock()) {
                return true;
            }
            asm volatile("yield");
        }
        return false;
    }
    void unlock() { __atomic_store_n(&held_, 0u, __ATOMIC_RELEASE); }

private:
    bool try_lock()
    {
        uint32_t free = 0;
        return __atomic_load_n(&held_, __ATOMIC_RELAXED) == 0 &&
               __atomic_compare_exchange_n(&held_, &free, 1u, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
    }

    uint32_t held_ = 0;
};

/// Holds a SpinLock for the lifetime of the guard.
class LockGuard {
public:
    explicit LockGuard(SpinLock& lock) : lock_(lock) { lock_.lock(); }
    ~LockGuard() { lock_.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    SpinLock& lock_;
};
