#include "platform/smmuv3.hpp"

#include "platform/cpu.hpp"
#include "platform/mmio.hpp"
#include "platform/platform.hpp"

using namespace smmuv3;

namespace {

// Register updates (CR0 -> CR0ACK, GBPA.Update, command consumption) take
// effect in bounded time on real SMMUs; a millisecond-scale budget of polls
// keeps a broken one from hanging the boot.
constexpr uint64_t kPolls = 1u << 20;

// What Vireo needs to use an SMMU for VMs' stage 2 (IDR0, IDR5).
const char* missing_feature(uint32_t idr0, uint32_t idr5, bool coherent)
{
    if ((idr0 & kIdr0S2p) == 0) {
        return "no stage-2 translation (IDR0.S2P)";
    }
    if ((idr0_ttf(idr0) & 2) == 0) {
        return "no AArch64 translation tables (IDR0.TTF)";
    }
    if ((idr5 & kIdr5Gran4k) == 0) {
        return "no 4 KiB translation granule (IDR5.GRAN4K)";
    }
    // Vireo writes stage-2 tables, STEs and commands through its caches
    // and reads events from them: an SMMU that does not snoop them would
    // need cache maintenance Vireo does not do.
    if (!coherent || (idr0 & kIdr0Cohacc) == 0) {
        return "not coherent with the CPUs' caches (dma-coherent, IDR0.COHACC)";
    }
    return nullptr;
}

uint32_t at_most(uint32_t value, uint32_t limit) { return value < limit ? value : limit; }

} // namespace

uint32_t Smmu::read(uint32_t offset) const { return mmio::read<uint32_t>(base_ + offset); }

void Smmu::write(uint32_t offset, uint32_t value) { mmio::write<uint32_t>(base_ + offset, value); }

void Smmu::write64(uint32_t offset, uint64_t value) { mmio::write<uint64_t>(base_ + offset, value); }

const char* Smmu::probe(const SmmuDesc& desc)
{
    base_ = desc.regs.base;
    // GBPA first: until SMMUEN, it alone decides what happens to incoming
    // transactions. Update is set with the new value and clears once the
    // SMMU has taken it (6.3.15).
    write(reg::kGbpa, kGbpaAbort | kGbpaUpdate);
    for (uint64_t i = 0; i < kPolls && (read(reg::kGbpa) & kGbpaUpdate) != 0; i++) {
        arch::cpu_relax();
    }
    if ((read(reg::kGbpa) & (kGbpaUpdate | kGbpaAbort)) != kGbpaAbort) {
        return "GBPA.ABORT did not take effect";
    }
    // A firmware may have left it translating with its own tables: off,
    // so that GBPA (abort) governs until Vireo's tables are in place.
    if (!set_cr0(0)) {
        return "CR0 did not acknowledge turning it off";
    }
    const uint32_t idr0 = read(reg::kIdr0);
    const uint32_t idr1 = read(reg::kIdr1);
    const uint32_t idr5 = read(reg::kIdr5);
    if (const char* why = missing_feature(idr0, idr5, desc.coherent)) {
        return why;
    }
    // A linear stream table of up to 2^16 STEs (4 MiB) covers every PCI
    // requester ID; higher StreamIDs are out of range and abort
    // (C_BAD_STREAMID), which is what a stream no VM owns must do anyway.
    stream_bits_ = at_most(idr1_sidsize(idr1), 16);
    command_bits_ = at_most(idr1_cmdqs(idr1), 8);
    event_bits_ = at_most(idr1_eventqs(idr1), 11); // 64 KiB: a 4 KiB transfer faulting every 4 bytes fits
    output_size_ = idr5_oas(idr5);
    if (command_bits_ < 2 || event_bits_ < 1) {
        return "its queues are too small (IDR1.CMDQS, IDR1.EVENTQS)";
    }
    return nullptr;
}

bool Smmu::set_cr0(uint32_t value)
{
    write(reg::kCr0, value);
    for (uint64_t i = 0; i < kPolls; i++) {
        if (read(reg::kCr0Ack) == value) {
            return true;
        }
        arch::cpu_relax();
    }
    return false;
}

const char* Smmu::enable(const Memory& memory, bool event_interrupt, bool error_interrupt)
{
    memory_ = memory;
    const Ste abort = ste_abort();
    for (uint64_t sid = 0; sid < (1ull << stream_bits_); sid++) {
        memory_.streams[sid] = abort;
    }
    // The STEs and empty queues are in memory before the SMMU is told where (6.3.9: with SMMUEN and the queues off).
    asm volatile("dsb sy" ::: "memory");
    if (!set_cr0(0)) {
        return "CR0 did not acknowledge turning it off";
    }
    write(reg::kIrqCtrl, 0);
    write(reg::kCr1, cr1(true));
    write(reg::kCr2, kCr2);
    write64(reg::kStrtabBase, strtab_base(reinterpret_cast<uintptr_t>(memory_.streams)));
    write(reg::kStrtabBaseCfg, strtab_linear(stream_bits_));
    write64(reg::kCmdqBase, queue_base(reinterpret_cast<uintptr_t>(memory_.commands), command_bits_));
    write(reg::kCmdqProd, 0);
    write(reg::kCmdqCons, 0);
    write64(reg::kEventqBase, queue_base(reinterpret_cast<uintptr_t>(memory_.events), event_bits_));
    write(reg::kEventqProd, 0);
    write(reg::kEventqCons, 0);
    command_prod_ = 0;
    event_cons_ = 0;
    if (!set_cr0(kCr0CmdqEn)) {
        return "CR0 did not acknowledge enabling the command queue";
    }
    // Nothing the SMMU may have cached before Vireo ran survives.
    const Command flush[] = {cmd_cfgi_all(), cmd_tlbi_all()};
    if (!run(flush, 2)) {
        return "the command queue did not complete CFGI_ALL and TLBI_NSNH_ALL";
    }
    if (!set_cr0(kCr0CmdqEn | kCr0EventqEn)) {
        return "CR0 did not acknowledge enabling the event queue";
    }
    const uint32_t irqs = (event_interrupt ? kIrqCtrlEventq : 0) | (error_interrupt ? kIrqCtrlGerror : 0);
    write(reg::kIrqCtrl, irqs);
    for (uint64_t i = 0; i < kPolls && read(reg::kIrqCtrlAck) != irqs; i++) {
        arch::cpu_relax();
    }
    if (!set_cr0(kCr0CmdqEn | kCr0EventqEn | kCr0SmmuEn)) {
        return "CR0 did not acknowledge SMMUEN";
    }
    enabled_ = true;
    return nullptr;
}

bool Smmu::run(const Command* commands, size_t count)
{
    const uint32_t bits = command_bits_;
    const uint32_t entries = 1u << bits;
    const Command sync = cmd_sync();
    for (size_t i = 0; i <= count; i++) {
        memory_.commands[queue_index(command_prod_, bits)] = i < count ? commands[i] : sync;
        command_prod_ = (command_prod_ + 1) & (2 * entries - 1); // index and wrap bit
    }
    // The entries reach memory before the SMMU learns of them (PROD write).
    asm volatile("dsb st" ::: "memory");
    write(reg::kCmdqProd, command_prod_);
    for (uint64_t i = 0; i < kPolls; i++) {
        const uint32_t cons = read(reg::kCmdqCons);
        if ((cons & (2 * entries - 1)) == command_prod_) {
            return true;
        }
        const uint32_t gerror = read(reg::kGerror);
        if (((gerror ^ read(reg::kGerrorN)) & kGerrorCmdqErr) != 0) {
            // The SMMU stopped at a command it could not run (CONS points
            // at it, CONS.ERR says why, 7.1): none of Vireo's should, so
            // count it, make it a CMD_SYNC and let the queue go on.
            command_failures_++;
            memory_.commands[queue_index(cons, bits)] = sync;
            asm volatile("dsb st" ::: "memory");
            write(reg::kGerrorN, read(reg::kGerrorN) ^ kGerrorCmdqErr);
        }
        arch::cpu_relax();
    }
    command_failures_++;
    return false;
}

void Smmu::write_ste(uint32_t sid, const Ste& ste)
{
    // The SMMU may fetch the STE at any time: dwords 1-7 first while
    // dword 0 still says what it said, then dword 0 in one 64-bit store
    // (5.2: single-copy atomicity of each dword), then forget the cached copy.
    Ste& slot = memory_.streams[sid];
    for (unsigned i = 1; i < 8; i++) {
        __atomic_store_n(&slot.dword[i], ste.dword[i], __ATOMIC_RELAXED);
    }
    asm volatile("dsb ish" ::: "memory");
    __atomic_store_n(&slot.dword[0], ste.dword[0], __ATOMIC_RELAXED);
    const Command forget = cmd_cfgi_ste(sid);
    run(&forget, 1);
}

bool Smmu::attach(uint32_t sid, const Stage2& s2)
{
    if (!enabled_ || sid >= (1u << stream_bits_)) {
        return false;
    }
    write_ste(sid, ste_stage2(s2));
    invalidate(s2.vmid); // nothing of an earlier owner of the VMID is used
    return true;
}

void Smmu::detach(uint32_t sid)
{
    if (!enabled_ || sid >= (1u << stream_bits_)) {
        return;
    }
    const uint64_t vmid = memory_.streams[sid].dword[2] & 0xffff;
    write_ste(sid, ste_abort());
    invalidate(static_cast<uint16_t>(vmid));
}

void Smmu::invalidate(uint16_t vmid)
{
    if (!enabled_) {
        return;
    }
    const Command tlbi = cmd_tlbi_vmid(vmid);
    run(&tlbi, 1);
}

bool Smmu::next_event(Event& event, bool& lost)
{
    if (!enabled_) {
        return false;
    }
    const uint32_t bits = event_bits_;
    const uint32_t prod = read(reg::kEventqProd);
    lost = ((prod ^ event_cons_) & kQueueOverflow) != 0;
    if (lost) {
        event_cons_ ^= kQueueOverflow; // acknowledged with the next CONS write
        write(reg::kEventqCons, event_cons_);
    }
    const uint32_t mask = (2u << bits) - 1;
    if ((prod & mask) == (event_cons_ & mask)) {
        return false;
    }
    // The record is read after PROD said it is there.
    asm volatile("dsb ld" ::: "memory");
    const Event& slot = memory_.events[queue_index(event_cons_, bits)];
    for (unsigned i = 0; i < 4; i++) {
        event.dword[i] = __atomic_load_n(&slot.dword[i], __ATOMIC_RELAXED);
    }
    // Our reads are done before the slot is handed back.
    asm volatile("dsb ish" ::: "memory");
    event_cons_ = (event_cons_ & kQueueOverflow) | (((event_cons_ & mask) + 1) & mask);
    write(reg::kEventqCons, event_cons_);
    return true;
}

uint32_t Smmu::take_errors()
{
    const uint32_t gerror = read(reg::kGerror);
    const uint32_t active = (gerror ^ read(reg::kGerrorN)) & kGerrorMask;
    if (active != 0) {
        write(reg::kGerrorN, read(reg::kGerrorN) ^ active); // toggling acknowledges (6.3.17)
    }
    return active;
}
