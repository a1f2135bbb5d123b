// A VM's RAM: reserved whole when the VM is built (so it can never run
// out), but cleared and mapped into its stage 2 a 64 KiB block at a time
// (16 pages), on the guest's first touch of the block (a stage-2
// translation fault) or when Vireo loads an image there. A guest pays only
// for the memory it uses: Linux touches a small part of its RAM while it
// boots, and clearing all of a 512 MiB VM up front cost 0.1-1.2 s of
// QEMU's time. 2 MiB blocks (one descriptor each) cost more than they
// saved in TCG, where every first store to a page is slow: a 1-vCPU Linux
// boot took 1.55 s with them and 1.36-1.50 s with 64 KiB ones (4 KiB:
// about the same, with 16 times the faults) (docs/performance.md). Until
// a block is ready nothing maps it, so nobody ever sees what the pages
// held before.
#include "kernel/mem/bulk.hpp"
#include "kernel/mem/memory.hpp"
#include "kernel/mem/page_table.hpp"
#include "kernel/vm/dma.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/cpu.hpp"

bool Vm::block_ready(size_t block) const
{
    return (__atomic_load_n(&ram_ready[block / 64], __ATOMIC_ACQUIRE) >> (block % 64)) & 1;
}

/// Clears block `block` (unless `clear` is false: it is about to be
/// overwritten whole) and maps it (ram_lock held).
void Vm::prepare_block(size_t block, bool clear)
{
    const uint64_t offset = block * kRamBlock;
    auto* pages = reinterpret_cast<uint8_t*>(ram_pa + offset);
    if (clear) {
        // A guest with its caches off reads memory, not Vireo's cache lines:
        // the zeros must be there, and no dirty line of a previous owner
        // may be written back over what the guest writes (Arm ARM D7.5.8).
        // Nor may the instruction cache hold a previous owner's code for
        // these addresses.
        bulk::zero_to_poc(pages, kRamBlock);
        asm volatile("ic ialluis\n\tdsb ish" ::: "memory");
    }
    PageTable table(memory::stage2_tables(), Regime::Stage2, ipa_bits, stage2.vttbr & pte::kAddrMask);
    // The block's level-3 table exists (build maps every block Unmapped
    // first): this writes its 16 page descriptors, allocating nothing.
    // They replace invalid ones, which no TLB holds (D8.16.1): no
    // invalidation, only a barrier so that every CPU's table walks see
    // them. (No contiguous hint: a walker on another CPU could see the set
    // half written.)
    table.map(ram_ipa + offset, ram_pa + offset, kRamBlock, MemType::Normal);
    asm volatile("dsb ish" ::: "memory");
    __atomic_fetch_or(&ram_ready[block / 64], 1ull << (block % 64), __ATOMIC_RELEASE);
}

uint64_t Vm::ram_touched() const
{
    uint64_t blocks = 0;
    for (size_t block = 0; block < ram_size / kRamBlock; block++) {
        blocks += block_ready(block) ? 1 : 0;
    }
    return blocks * kRamBlock;
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
    const size_t first = (ipa - ram_ipa) / kRamBlock;
    const size_t last = (ipa + size - 1 - ram_ipa) / kRamBlock;
    for (size_t block = first; block <= last; block++) {
        if (!block_ready(block)) {
            const uint64_t start = ram_ipa + block * kRamBlock;
            const bool whole = ipa <= start && start + kRamBlock <= ipa + size;
            LockGuard guard(ram_lock);
            if (!block_ready(block)) {
                prepare_block(block, !(overwritten && whole));
            }
        }
    }
}

uint64_t Vm::ram_pa_of(uint64_t ipa, uint64_t size)
{
    if (ipa < ram_ipa || ipa - ram_ipa > ram_size || size > ram_size - (ipa - ram_ipa)) {
        return 0;
    }
    prepare_ram(ipa, size); // never the old contents of a block the guest has not touched
    return ram_pa + (ipa - ram_ipa);
}

void Vm::forget_ram()
{
    LockGuard guard(ram_lock);
    PageTable table(memory::stage2_tables(), Regime::Stage2, ipa_bits, stage2.vttbr & pte::kAddrMask);
    bool unmapped = false;
    for (size_t block = 0; block < ram_size / kRamBlock; block++) {
        if (block_ready(block)) {
            table.map(ram_ipa + block * kRamBlock, ram_pa + block * kRamBlock, kRamBlock, MemType::Unmapped);
            unmapped = true;
        }
    }
    for (size_t word = 0; word < ram_words(ram_size); word++) {
        __atomic_store_n(&ram_ready[word], 0ull, __ATOMIC_RELEASE);
    }
    if (unmapped) {
        flush_stage2_tlbs(); // before any block is cleared and handed out again
    }
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
