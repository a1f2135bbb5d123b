// A VM's RAM: reserved whole when the VM is built (so it can never run
// out), but cleared and mapped into its stage 2 a 64 KiB block at a time
// (16 pages), on the guest's first touch of the block (a stage-2
// translation fault) or when Vireo loads an image there. A guest pays only
// for the memory it uses: Linux touches a small part of its RAM while it
// boots, and clearing all of a 512 MiB VM up front cost 0.1-1.2 s of
// QEMU's time. Clearing 2 MiB on a first touch cost more than it saved in
// TCG, where every first store to a page is slow: a 1-vCPU Linux boot took
// 1.55 s with them and 1.36-1.50 s with 64 KiB ones (4 KiB: about the same,
// with 16 times the faults) (docs/performance.md). Until a block is ready
// nothing maps it, so nobody ever sees what the pages held before.
//
// Once all 32 blocks of a 2 MiB region are ready, the region's 512 page
// descriptors become one 2 MiB block descriptor (when its IPA and PA are
// both 2 MiB aligned): a TLB miss then walks one level less of stage 2,
// and one TLB entry covers the region. RAM mapped whole at build
// (identity-mapped, or reachable by a device's DMA) is in the largest
// blocks from the start (kernel/vm/build.cpp) and only cleared here.
#include "kernel/console/console.hpp"
#include "kernel/mem/bulk.hpp"
#include "kernel/mem/colours.hpp"
#include "kernel/mem/memory.hpp"
#include "kernel/mem/page_table.hpp"
#include "kernel/vm/dma.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/cpu.hpp"

namespace {
constexpr size_t kBlocksPerRegion = Vm::kRamRegion / Vm::kRamBlock;
static_assert(kBlocksPerRegion == 32, "a region's ready bits are half of one ram_ready word");
} // namespace

uint64_t Vm::ram_pa_at(uint64_t offset) const
{
    if (!coloured()) {
        return ram_pa + offset;
    }
    return colours::page_pa(ram_pa, colours, colour_count, offset / colours::kPage) + offset % colours::kPage;
}

bool Vm::map_pages(PageTable& table, uint64_t offset, uint64_t size)
{
    if (!coloured()) {
        return table.map(ram_ipa + offset, ram_pa + offset, size, MemType::Normal);
    }
    bool mapped = true;
    for (uint64_t at = offset; mapped && at < offset + size; at += colours::kPage) {
        mapped = table.map(ram_ipa + at, ram_pa_at(at), colours::kPage, MemType::Normal);
    }
    return mapped;
}

bool Vm::ram_whole() const { return spec->config->identity_mapped || pci != nullptr; }

PageTable Vm::stage2_table() const
{
    return PageTable(memory::stage2_tables(), Regime::Stage2, ipa_bits, stage2.vttbr & pte::kAddrMask);
}

bool Vm::block_ready(size_t block) const
{
    return (__atomic_load_n(&ram_ready[block / 64], __ATOMIC_ACQUIRE) >> (block % 64)) & 1;
}

void Vm::clear_block(size_t block)
{
    // A guest with its caches off reads memory, not Vireo's cache lines:
    // the zeros must be there, and no dirty line of a previous owner may
    // be written back over what the guest writes (Arm ARM D7.5.8).
    bulk::zero_to_poc(ram_va + block * kRamBlock, kRamBlock);
}

/// Maps blocks [first, end), cleared, and marks them ready (ram_lock held).
void Vm::map_blocks(size_t first, size_t end)
{
    PageTable table = stage2_table();
    if (!ram_whole()) {
        // The blocks' level-3 table exists (build maps every block
        // Unmapped first): this writes their page descriptors, allocating
        // nothing. They replace invalid ones, which no TLB holds (D8.16.1):
        // no invalidation, only a barrier so that every CPU's table walks
        // see them. (No contiguous hint: a walker on another CPU could see
        // the set half written.)
        map_pages(table, first * kRamBlock, (end - first) * kRamBlock);
        asm volatile("dsb ish" ::: "memory");
    }
    for (size_t block = first; block < end; block++) {
        __atomic_fetch_or(&ram_ready[block / 64], 1ull << (block % 64), __ATOMIC_RELEASE);
    }
    if (ram_whole() || coloured() || ((ram_ipa | ram_pa) & (kRamRegion - 1)) != 0) {
        return; // coloured RAM is not 2 MiB of consecutive pages: it stays in pages
    }
    for (size_t region = first / kBlocksPerRegion; region <= (end - 1) / kBlocksPerRegion; region++) {
        const uint64_t bits = __atomic_load_n(&ram_ready[region / 2], __ATOMIC_ACQUIRE) >> (region % 2 * 32);
        if (region < ram_size / kRamRegion && (bits & 0xffffffffull) == 0xffffffffull) {
            promote(region, table);
        }
    }
}

/// Turns region `region`'s level-3 table (all its pages mapped) into one
/// 2 MiB block (ram_lock held).
void Vm::promote(size_t region, PageTable& table)
{
    const uint64_t ipa = ram_ipa + region * kRamRegion;
    // Break-before-make (Arm ARM D8.16.1): a table entry that becomes a
    // block changes the size of the translation, so the old entry must be
    // invalid and gone from every TLB and walk cache before the block is
    // written, or a CPU could hold both (a TLB conflict abort, or walks of
    // a table no longer in use). Break: the entry invalid (the table is
    // kept for forget_ram), then flush_stage2_tlbs(): DSB so the walkers
    // see the invalid entry, TLBI VMALLS12E1IS for this VMID (a TLBI by
    // IPA would leave the combined stage 1 and 2 entries), DSB to finish
    // it on every CPU, and the SMMU's TLB if a device walks these tables.
    // Make: the block, and a DSB before any CPU may walk to it.
    //
    // Another vCPU touching the region meanwhile takes a translation
    // fault: touch_ram finds its block ready (all 32 are, or we would not
    // be here) and returns, and the guest retries the access.
    const uint64_t pages = table.unlink(ipa, 2);
    if (pages == 0) {
        return; // a block already
    }
    ram_tables[region] = pages;
    flush_stage2_tlbs();
    table.map(ipa, ram_pa + region * kRamRegion, kRamRegion, MemType::Normal);
    asm volatile("dsb ish\n\tisb" ::: "memory");
}

uint64_t Vm::ram_touched() const
{
    uint64_t blocks = 0;
    for (size_t block = 0; block < ram_size / kRamBlock; block++) {
        blocks += block_ready(block) ? 1 : 0;
    }
    return blocks * kRamBlock;
}

RamMapping Vm::ram_mapping() const
{
    // Without ram_lock: a walk that races a promotion may count the region
    // either way. Tables are never freed, so it only reads Vireo's memory.
    const PageTable::Leaves l = stage2_table().count(ram_ipa, ram_size);
    return {l.pages, l.blocks_2m, l.blocks_1g};
}

bool Vm::touch_ram(uint64_t ipa)
{
    if (ipa < ram_ipa || ipa - ram_ipa >= ram_size) {
        return false;
    }
    prepare_ram(ipa, 1); // another vCPU may have done it meanwhile: then nothing to do
    return true;
}

void Vm::prepare_ram(uint64_t ipa, uint64_t size, bool overwritten)
{
    if (size == 0) {
        return;
    }
    const size_t last = (ipa + size - 1 - ram_ipa) / kRamBlock;
    for (size_t block = (ipa - ram_ipa) / kRamBlock; block <= last; block++) {
        if (block_ready(block)) {
            continue;
        }
        LockGuard guard(ram_lock);
        // The run of blocks from here not ready yet (a vCPU may have made
        // this one ready meanwhile), cleared, then mapped at once.
        size_t end = block;
        for (; end <= last && !block_ready(end); end++) {
            const uint64_t start = ram_ipa + end * kRamBlock;
            if (!(overwritten && ipa <= start && start + kRamBlock <= ipa + size)) {
                clear_block(end); // not when an image fills it whole next
            }
        }
        if (end > block) {
            // Nor may the instruction cache hold a previous owner's code
            // for these addresses.
            asm volatile("ic ialluis\n\tdsb ish" ::: "memory");
            map_blocks(block, end);
            block = end - 1;
        }
    }
}

uint8_t* Vm::ram_at(uint64_t ipa, uint64_t size)
{
    if (ipa < ram_ipa || ipa - ram_ipa > ram_size || size > ram_size - (ipa - ram_ipa)) {
        return nullptr;
    }
    prepare_ram(ipa, size); // never the old contents of a block the guest has not touched
    return ram_va + (ipa - ram_ipa);
}

void Vm::forget_ram()
{
    LockGuard guard(ram_lock);
    bool touched = false;
    for (size_t word = 0; word < ram_words(ram_size); word++) {
        touched = touched || ram_ready[word] != 0;
        __atomic_store_n(&ram_ready[word], 0ull, __ATOMIC_RELEASE);
    }
    if (!touched || ram_whole()) {
        // RAM mapped whole stays mapped: it is all cleared again before
        // the VM's vCPUs or devices start (load_images_step).
        return;
    }
    PageTable table = stage2_table();
    // 2 MiB blocks become invalid entries, pages invalid in their tables.
    table.map(ram_ipa, ram_pa, ram_size, MemType::Unmapped);
    flush_stage2_tlbs(); // before any block is cleared and handed out again
    // A promoted region gets its level-3 table back, all invalid, so the
    // next first touch maps pages again without allocating: a reset loop
    // uses no more tables than the build did. The table is out of every
    // walker's reach since promote()'s invalidation.
    for (size_t region = 0; region < ram_size / kRamRegion; region++) {
        if (ram_tables[region] != 0) {
            table.relink(ram_ipa + region * kRamRegion, 2, ram_tables[region]);
            ram_tables[region] = 0;
        }
    }
    asm volatile("dsb ish" ::: "memory");
}

void Vm::flush_stage2_tlbs() const
{
    // TLBI by VMID acts on the VMID in VTTBR_EL2: this VM's, for the
    // moment. The DSB first: the table writes are seen before the
    // invalidation (D8.16.1, break-before-make).
    uint64_t saved;
    asm volatile("mrs %0, vttbr_el2" : "=r"(saved));
    asm volatile("dsb ishst\n\t"
                 "msr vttbr_el2, %0\n\t"
                 "isb\n\t"
                 "tlbi vmalls12e1is\n\t"
                 "dsb ish\n\t"
                 "msr vttbr_el2, %1\n\t"
                 "isb" ::"r"(stage2.vttbr),
                 "r"(saved)
                 : "memory");
    if (pci != nullptr) {
        dma::invalidate(vmid); // its devices walk the same tables through the SMMU
    }
}
