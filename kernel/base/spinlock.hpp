// A ticket lock: fair between CPUs, so no CPU's console lines starve.
// Needs the MMU on (exclusives on Normal memory).
#pragma once

#include <stdint.h>

class SpinLock {
public:
    void lock()
    {
        const uint32_t ticket = __atomic_fetch_add(&next_, 1u, __ATOMIC_RELAXED);
        while (__atomic_load_n(&owner_, __ATOMIC_ACQUIRE) != ticket) {
            asm volatile("yield");
        }
    }
    /// Like lock(), but gives up after `spins` tries (for the fatal path,
    /// where the holder may be the CPU that crashed).
    bool lock_bounded(uint64_t spins)
    {
        uint32_t owner = __atomic_load_n(&owner_, __ATOMIC_RELAXED);
        for (uint64_t i = 0; i < spins; i++) {
            uint32_t expected = owner;
            if (__atomic_load_n(&next_, __ATOMIC_RELAXED) == owner &&
                __atomic_compare_exchange_n(&next_, &expected, owner + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
                return true;
            }
            asm volatile("yield");
            owner = __atomic_load_n(&owner_, __ATOMIC_RELAXED);
        }
        return false;
    }
    void unlock() { __atomic_store_n(&owner_, owner_ + 1, __ATOMIC_RELEASE); }

private:
    uint32_t next_ = 0;
    uint32_t owner_ = 0;
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
