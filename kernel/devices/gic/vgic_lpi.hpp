// The LPIs of a VM's GICv3 redistributors (IHI 0069, 5.1 "LPIs" and 12.11):
// GICR_CTLR.EnableLPIs, GICR_PROPBASER and GICR_PENDBASER, GICR_INVLPIR,
// GICR_INVALLR and GICR_SYNCR, and each vCPU's LPI state.
//
// The guest's tables stay in its RAM, where the architecture puts them,
// but Vireo reads them only at the moments the architecture lets a
// redistributor do so and keeps what it read:
//  - the property table (a priority and an enable per LPI) when EnableLPIs
//    is set and on every invalidation (GICR_INVLPIR/INVALLR, the ITS's INV
//    and INVALL): a change the guest makes to the table takes effect then,
//    as the architecture allows (5.1.1: a redistributor may cache it);
//  - the pending table when EnableLPIs is set (unless PENDBASER.PTZ said it
//    is zero), and it is written back when EnableLPIs is cleared.
// Both table ranges are checked against the VM's RAM (GuestRam) when
// EnableLPIs is set: a table outside it leaves LPIs disabled, and write()
// says why. Only kCount LPIs exist (GICD_TYPER.num_LPIs), INTIDs kFirst
// onwards; an LPI beyond the guest's PROPBASER.IDbits stays disabled.
// Pure logic, host-tested; the virtual ITS (vgic_its.hpp) makes LPIs
// pending, list_registers.cpp delivers them.
#pragma once

#include <stdint.h>

#include "kernel/devices/guest_ram.hpp"
#include "vcpu/limits.hpp"

class VirtualLpis {
public:
    static constexpr uint32_t kFirst = 8192;
    static constexpr uint32_t kCount = 1024;
    static constexpr uint32_t kWords = kCount / 32;
    static constexpr uint32_t kIdBits = 16; // GICD_TYPER.IDbits + 1
    static constexpr uint32_t kMaxVcpus = limits::kVcpusPerVm;
    // GICD_TYPER fields that announce them: LPIS, and num_LPIs (2^(n+1) LPIs).
    static constexpr uint32_t kGicdTyperLpis = 1u << 17 | 9u << 11;

    static bool is_lpi(uint32_t intid) { return intid - kFirst < kCount; }

    void reset(uint32_t vcpus);

    /// Whether `offset` in a redistributor's RD_base frame is one of the
    /// LPI registers this model owns (GICR_CTLR included).
    static bool owns(uint64_t offset);
    /// A guest access to one of them in vCPU `target`'s redistributor.
    /// Widths the architecture does not allow read as zero and are ignored.
    void read(uint32_t target, uint64_t offset, unsigned size, uint64_t& value) const;
    /// nullptr, or why a table the guest named could not be used (its
    /// LPIs then stay disabled): for one log line.
    const char* write(uint32_t target, uint64_t offset, unsigned size, uint64_t value, GuestRam& ram);

    bool enabled(uint32_t vcpu) const { return vcpu < vcpus_ && rd_[vcpu].enabled; }
    /// Makes LPI `intid` pending (or not) in vCPU `vcpu`'s redistributor.
    /// A redistributor without EnableLPIs drops it, as hardware does.
    void set_pending(uint32_t vcpu, uint32_t intid, bool pending);
    bool pending(uint32_t vcpu, uint32_t intid) const;
    /// The ITS takes LPI `intid`'s pending state away from `vcpu` (CLEAR,
    /// DISCARD, MOVI elsewhere): also from its list registers, if one holds
    /// it not yet taken (withdrawn()).
    void withdraw(uint32_t vcpu, uint32_t intid);
    /// Moves every pending LPI of `from` to `to` (the ITS's MOVALL), those
    /// in `from`'s list registers not yet taken too.
    void move_all(uint32_t from, uint32_t to);
    /// Whether `vcpu`'s list registers must be looked over before its next
    /// entry: an LPI withdrawn, moved or given a new priority or enable
    /// while a list register may hold it pending.
    bool must_recheck(uint32_t vcpu) const { return vcpu < vcpus_ && rd_[vcpu].recheck; }
    /// For that look, per LPI a list register holds pending: true if it must
    /// leave it (withdrawn: gone; else reconfigured: back to pending, to be
    /// placed again as the property table now says).
    bool withdrawn(uint32_t vcpu, uint32_t intid) const;
    bool reconfigured(uint32_t vcpu) const { return rd_[vcpu].reconfigured; }
    /// MOVI of an LPI `vcpu` may hold in a list register (not pending in
    /// the model): if the look finds it there, it is raised at `to`.
    void follow(uint32_t vcpu, uint32_t intid, uint32_t to);
    /// Where a withdrawn LPI found in a list register goes: the vCPU a
    /// MOVI sent it to, or -1 (CLEAR, DISCARD: nowhere).
    int followed_to(uint32_t vcpu, uint32_t intid) const;
    /// The vCPU a MOVALL moved `vcpu`'s pending LPIs to since the last look
    /// (those its list registers held go there too), or -1.
    int moved_to(uint32_t vcpu) const { return static_cast<int>(rd_[vcpu].move_to) - 1; }
    /// The look is done.
    void rechecked(uint32_t vcpu);
    /// Reads LPI `intid`'s entry in `vcpu`'s property table again (INV);
    /// false if the table is no longer in RAM.
    bool invalidate(uint32_t vcpu, uint32_t intid, GuestRam& ram);
    /// Reads all of `vcpu`'s property table again (INVALL).
    bool invalidate_all(uint32_t vcpu, GuestRam& ram);
    /// Priority of `intid` from the cached property table (bits 7:2).
    uint8_t priority(uint32_t vcpu, uint32_t intid) const { return rd_[vcpu].config[intid - kFirst] & 0xfc; }
    /// Bit n set: LPI kFirst + 32 * `word` + n is pending, enabled and its
    /// redistributor has LPIs enabled.
    uint32_t deliverable_mask(uint32_t vcpu, uint32_t word) const;
    /// Bit w set: word w of `vcpu`'s pending LPIs has one (0 with LPIs off).
    /// The list-register fill and WFI look only at those words: most
    /// guests have no LPI pending most of the time, and the look is on
    /// every interrupt's path.
    uint32_t pending_words(uint32_t vcpu) const { return vcpu < vcpus_ ? rd_[vcpu].pending_words : 0; }
    bool anything_deliverable(uint32_t vcpu) const;

private:
    struct Redistributor { // plain data: reset() clears it
        bool enabled;
        uint64_t propbaser;
        uint64_t pendbaser; // as written, PTZ included
        uint32_t usable;    // LPIs the property table covers (PROPBASER.IDbits)
        uint8_t config[kCount];
        uint32_t enable[kWords]; // bit 0 of each config byte
        uint32_t pending[kWords];
        uint32_t pending_words;     // bit w: pending[w] != 0
        uint32_t withdrawn[kWords]; // taken away while a list register may hold them
        bool reconfigured;          // invalidated while a list register may hold one
        bool recheck;               // any of these
        uint8_t move_to;            // 1 + the vCPU a MOVALL sent them to; 0: none
        struct Follow {
            uint16_t index; // LPI kFirst + index
            uint8_t to;     // 1 + vCPU; 0: unused
        } follows[8];       // MOVIs of LPIs a list register may hold
    };
    static void note_pending(Redistributor& rd, uint32_t word)
    {
        rd.pending_words = rd.pending[word] != 0 ? rd.pending_words | 1u << word : rd.pending_words & ~(1u << word);
    }

    const char* enable(Redistributor& rd, GuestRam& ram);
    void disable(Redistributor& rd, GuestRam& ram);
    static uint8_t* property_table(const Redistributor& rd, GuestRam& ram);
    static uint8_t* pending_table(const Redistributor& rd, GuestRam& ram);
    static void cache(Redistributor& rd, uint32_t index, uint8_t config);

    uint32_t vcpus_ = 1;
    Redistributor rd_[kMaxVcpus] = {};
};
