// Objects Vireo makes at run time (VMs, their vCPUs, the records of a VM
// configuration) live in pages of the physical allocator, so how many there
// can be depends on the machine's RAM, not on tables in the image. They are
// made while VMs are built, never on an exit path. With `vireo-colours`
// their pages are of those colours (memory::alloc_objects).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/mem/bulk.hpp"
#include "kernel/mem/memory.hpp"

// Placement new (freestanding: no <new>).
inline void* operator new(size_t, void* where) noexcept { return where; }

namespace memory {

/// The pages `count` objects of `T` take.
template <typename T> constexpr uint64_t object_bytes(size_t count)
{
    return (sizeof(T) * count + PhysAllocator::kPage - 1) / PhysAllocator::kPage * PhysAllocator::kPage;
}

/// `count` default-constructed objects of `T` in zeroed pages of their own;
/// nullptr when the RAM is not there (or `count` is 0).
template <typename T> T* make(size_t count = 1)
{
    static_assert(alignof(T) <= PhysAllocator::kPage);
    if (count == 0 || count > SIZE_MAX / sizeof(T)) {
        return nullptr;
    }
    const uint64_t bytes = object_bytes<T>(count);
    void* where = alloc_objects(bytes);
    if (where == nullptr) {
        return nullptr;
    }
    bulk::zero(where, bytes);
    T* objects = static_cast<T*>(where);
    for (size_t i = 0; i < count; i++) {
        new (&objects[i]) T();
    }
    return objects;
}

/// Gives back what make<T>(count) returned.
template <typename T> void unmake(T* objects, size_t count = 1)
{
    if (objects == nullptr) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        objects[i].~T();
    }
    free_objects(objects, object_bytes<T>(count));
}

} // namespace memory
