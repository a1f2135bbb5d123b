#include "kernel/mem/el2_map.hpp"

#include <string.h>

#include "boot/el2_bits.h"
#include "kernel/base/panic.hpp"
#include "kernel/console/console.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/mem/memory.hpp"
#include "kernel/mem/page_table.hpp"
#include "platform/cpu.hpp"
#include "platform/platform.hpp"

extern "C" char _text[], _end[];

namespace el2_map {
namespace {

constexpr uint64_t kPage = PageTable::kPageSize;

using TablePage = uint64_t[512];

/// Tables carved from a static pool in BSS; VA == PA (identity map).
class StaticTables final : public TableAllocator {
public:
    constexpr StaticTables(TablePage* pages, size_t count) : pages_(pages), count_(count) {}

    uint64_t* alloc(size_t pages) override
    {
        if (pages != 1 || used_ == count_) {
            return nullptr; // the EL2 map has one root page
        }
        uint64_t* table = pages_[used_++];
        memset(table, 0, kPage);
        return table;
    }
    uint64_t phys(const uint64_t* table) const override { return reinterpret_cast<uint64_t>(table); }
    uint64_t* virt(uint64_t phys) const override { return reinterpret_cast<uint64_t*>(phys); }
    size_t used() const { return used_; }
    size_t capacity() const { return count_; }

private:
    TablePage* pages_;
    size_t count_;
    size_t used_ = 0;
};

alignas(4096) TablePage early_pool[8];
alignas(4096) TablePage final_pool[48];
constinit StaticTables early_tables(early_pool, 8);
constinit StaticTables final_tables(final_pool, 48);
constinit El2MmuConfig mmu_config{};

uint64_t align_down(uint64_t value) { return value & ~(kPage - 1); }
uint64_t align_up(uint64_t value) { return (value + kPage - 1) & ~(kPage - 1); }

void map_or_panic(PageTable& table, uint64_t base, uint64_t size, MemType type, const char* what)
{
    const uint64_t start = align_down(base);
    const uint64_t end = align_up(base + size);
    if (!table.map(start, start, end - start, type)) {
        panic("EL2 map: cannot map %s [0x%lx, 0x%lx)", what, start, end);
    }
}

El2MmuConfig make_config(uint64_t root)
{
    // TCR_EL2 (E2H=0, Arm ARM D19.2): T0SZ for 39-bit VAs, walks cacheable
    // write-back and inner shareable, 4 KiB granule, PS from PARange.
    uint64_t parange = arch::read_id_aa64mmfr0() & 0xf;
    if (parange > 5) {
        parange = 5; // 52-bit PAs need descriptor changes; not used
    }
    constexpr uint64_t kTcrRes1 = (1ull << 31) | (1ull << 23);
    const uint64_t tcr =
        kTcrRes1 | (parange << 16) | (3ull << 12) | (1ull << 10) | (1ull << 8) | (64 - PageTable::kEl2VaBits);
    // SCTLR_EL2: RES1 bits, M (MMU), C (data cache), SA (SP alignment), I (instruction cache).
    constexpr uint64_t kSctlr = SCTLR_EL2_RES1 | SCTLR_M | SCTLR_C | SCTLR_SA | SCTLR_I;
    return {pte::kMair, tcr, root, kSctlr};
}

} // namespace

void enable_early(uint64_t dtb, uint64_t dtb_size, uint64_t uart_base)
{
    PageTable table(early_tables, Regime::El2, PageTable::kEl2VaBits);
    if (!table.init()) {
        panic("EL2 map: no early tables");
    }
    const auto text = reinterpret_cast<uint64_t>(_text);
    map_or_panic(table, text, reinterpret_cast<uint64_t>(_end) - text, MemType::Normal, "the image");
    if (dtb != 0) {
        map_or_panic(table, dtb, dtb_size, MemType::Normal, "the DTB");
    }
    if (uart_base != 0) {
        map_or_panic(table, uart_base, kPage, MemType::Device, "the early UART");
    }
    mmu_config = make_config(table.root_phys());
    // Written with the caches off: drop any stale lines the walker could hit.
    arch::invalidate_dcache(early_pool, sizeof early_pool);
    el2_mmu_enable(&mmu_config);
}

void enable_final(const Platform& platform)
{
    PageTable table(final_tables, Regime::El2, PageTable::kEl2VaBits);
    if (!table.init()) {
        panic("EL2 map: no tables");
    }
    // Everything Device first, then RAM over it as Normal; the window
    // above kIdentityEnd stays invalid until window_map().
    static_assert(kWindowEnd == 1ull << PageTable::kEl2VaBits);
    const uint64_t limit = kIdentityEnd;
    map_or_panic(table, 0, limit, MemType::Device, "device space");
    for (size_t i = 0; i < platform.memory_count; i++) {
        const Range& bank = platform.memory[i];
        if (bank.end() > limit) {
            log_warn("RAM [0x%lx, 0x%lx) lies beyond Vireo's identity map; the part above 0x%lx is not used", bank.base,
                     bank.end(), limit);
        }
        const uint64_t end = bank.end() < limit ? bank.end() : limit;
        if (bank.base < end) {
            map_or_panic(table, bank.base, end - bank.base, MemType::Normal, "RAM");
        }
    }
    // The image is mapped even if a DTB leaves it out of its memory nodes.
    const auto text = reinterpret_cast<uint64_t>(_text);
    map_or_panic(table, text, reinterpret_cast<uint64_t>(_end) - text, MemType::Normal, "the image");
    for (uint32_t i = 0; i < VIREO_MAX_CPUS; i++) {
        map_or_panic(table, percpu_stack(i).base - kPage, kPage, MemType::Unmapped, "a stack guard page");
    }
    mmu_config.ttbr0 = table.root_phys();
    arch::switch_el2_tables(mmu_config.ttbr0);
    log_debug("EL2 map: %lu of %lu table pages used", final_tables.used(), final_tables.capacity());
}

const El2MmuConfig& config() { return mmu_config; }

namespace {
uint64_t window_next = kIdentityEnd;
constexpr uint64_t kWindowAlign = 2ull << 20;

// Window runs given back, for window_reserve() to take first (VMs built
// again after a failed start, Vireo's own coloured objects): first fit,
// the unused tail kept. When the list is full a run is lost, not reused.
struct WindowRun {
    uint64_t va;
    uint64_t size;
};
constexpr size_t kFreeRuns = 32;
WindowRun free_runs[kFreeRuns] = {};
size_t free_run_count = 0;

uint64_t window_rounded(uint64_t size) { return (size + kWindowAlign - 1) & ~(kWindowAlign - 1); }

PageTable window_table()
{
    return PageTable(memory::stage2_tables(), Regime::El2, PageTable::kEl2VaBits, mmu_config.ttbr0);
}
} // namespace

uint64_t window_reserve(uint64_t size)
{
    const uint64_t rounded = window_rounded(size);
    if (size == 0 || rounded < size) {
        return 0;
    }
    for (size_t i = 0; i < free_run_count; i++) {
        WindowRun& run = free_runs[i];
        if (run.size >= rounded) {
            const uint64_t va = run.va;
            run.va += rounded;
            run.size -= rounded;
            if (run.size == 0) {
                run = free_runs[--free_run_count];
            }
            return va;
        }
    }
    if (rounded > kWindowEnd - window_next) {
        return 0;
    }
    const uint64_t va = window_next;
    window_next += rounded;
    return va;
}

void window_release(uint64_t va, uint64_t size)
{
    if (size != 0 && free_run_count < kFreeRuns) {
        free_runs[free_run_count++] = {va, window_rounded(size)};
    }
}

uint64_t window_phys(uint64_t va)
{
    uint64_t pa = 0;
    return window_table().lookup(va, &pa) == MemType::Normal ? pa : 0;
}

bool window_map(uint64_t va, uint64_t pa, uint64_t size)
{
    PageTable table = window_table();
    const bool mapped = table.map(va, pa, size, MemType::Normal);
    // New entries where there were invalid ones, which no TLB caches (Arm
    // ARM D8.16.1): a DSB makes them visible to every CPU's walks, an ISB
    // to this CPU's next instructions.
    asm volatile("dsb ish\n\tisb" ::: "memory");
    return mapped;
}

void window_unmap(uint64_t va, uint64_t size)
{
    PageTable table = window_table();
    table.map(va, 0, size, MemType::Unmapped);
    // The entries invalid, then gone from every CPU's TLB before the
    // memory is given to anyone else.
    asm volatile("dsb ishst\n\ttlbi alle2is\n\tdsb ish\n\tisb" ::: "memory");
}

} // namespace el2_map
