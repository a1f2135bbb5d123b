#include "kernel/mem/memory.hpp"

#include <string.h>

#include "kernel/console/console.hpp"
#include "platform/platform.hpp"

extern "C" char _text[], _end[];

namespace memory {
namespace {

constinit PhysAllocator allocator;

class PhysTables final : public TableAllocator {
public:
    uint64_t* alloc(size_t pages) override
    {
        const uint64_t bytes = pages * PhysAllocator::kPage;
        const uint64_t pa = allocator.alloc(bytes, bytes);
        if (pa == 0) {
            return nullptr;
        }
        auto* table = reinterpret_cast<uint64_t*>(pa);
        memset(table, 0, bytes);
        return table;
    }
    uint64_t phys(const uint64_t* table) const override { return reinterpret_cast<uint64_t>(table); }
    uint64_t* virt(uint64_t phys) const override { return reinterpret_cast<uint64_t*>(phys); }
};

constinit PhysTables tables;

} // namespace

void init(const Platform& platform, uint64_t dtb, uint64_t dtb_size)
{
    for (size_t i = 0; i < platform.memory_count; i++) {
        // Only what the EL2 map covers can be handed out.
        const uint64_t limit = 1ull << PageTable::kEl2VaBits;
        const Range& bank = platform.memory[i];
        if (bank.base < limit) {
            allocator.add(bank.base, (bank.end() < limit ? bank.end() : limit) - bank.base);
        }
    }
    const auto text = reinterpret_cast<uint64_t>(_text);
    allocator.reserve(text, reinterpret_cast<uint64_t>(_end) - text);
    allocator.reserve(dtb, dtb_size);
    allocator.reserve(platform.initrd.base, platform.initrd.size); // the boot package
    for (size_t i = 0; i < platform.reserved_count; i++) {
        allocator.reserve(platform.reserved[i].base, platform.reserved[i].size);
    }
    log_info("memory: %lu MiB free for VMs (largest run %lu MiB)", allocator.free_bytes() >> 20,
             allocator.largest_free() >> 20);
}

PhysAllocator& phys() { return allocator; }

TableAllocator& stage2_tables() { return tables; }

} // namespace memory
