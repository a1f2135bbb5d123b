// Vireo's driver of one SMMUv3 (Arm IHI 0070): it makes every stream abort
// before any guest runs, then lets the streams of devices given to a VM
// translate with that VM's stage 2. Hardware access only: the caller
// (kernel/vm/dma.cpp) gives it memory, serialises calls and says what the
// events mean.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "platform/smmuv3_format.hpp"

struct SmmuDesc;

class Smmu {
public:
    /// Where its stream table and queues live (zeroed, naturally aligned,
    /// identity-mapped at EL2), sized by the log2 counts probe() gives.
    struct Memory {
        smmuv3::Ste* streams = nullptr;
        smmuv3::Command* commands = nullptr;
        smmuv3::Event* events = nullptr;
    };

    /// Sets GBPA.ABORT, so that nothing passes untranslated from here on
    /// (QEMU's reset value bypasses), and reads the ID registers. Nullptr
    /// when it can translate for VMs; else why not (it then stays in
    /// global abort: every device behind it is cut off from memory).
    const char* probe(const SmmuDesc& desc);

    uint32_t stream_bits() const { return stream_bits_; } // the stream table holds 2^stream_bits STEs
    uint32_t command_bits() const { return command_bits_; }
    uint32_t event_bits() const { return event_bits_; }
    unsigned output_size() const { return output_size_; } // IDR5.OAS (PARange encoding)

    /// Every STE aborts; queues on; cached configuration and TLBs
    /// invalidated; then SMMUEN. Nullptr on success, else what failed (the
    /// SMMU is left in global abort).
    const char* enable(const Memory& memory, bool event_interrupt, bool error_interrupt);
    bool enabled() const { return enabled_; }

    /// Stream `sid` translates with `s2` from now on; false if `sid` is
    /// beyond the stream table.
    bool attach(uint32_t sid, const smmuv3::Stage2& s2);
    /// Stream `sid` aborts again, and nothing it cached is used any more.
    void detach(uint32_t sid);
    /// Drops every TLB entry of VMID `vmid` (after its stage 2 changed).
    void invalidate(uint16_t vmid);

    /// The next event record, false when there is none. `lost` is set if
    /// the queue overflowed since the last call (records were dropped).
    bool next_event(smmuv3::Event& event, bool& lost);
    /// The global errors active now (GERROR bits), acknowledged.
    uint32_t take_errors();
    /// Commands the SMMU refused or did not finish (a Vireo bug or a broken SMMU).
    uint32_t command_failures() const { return command_failures_; }

private:
    uint32_t read(uint32_t offset) const;
    void write(uint32_t offset, uint32_t value);
    void write64(uint32_t offset, uint64_t value);
    bool set_cr0(uint32_t value);
    /// Queues `count` commands and a CMD_SYNC, and waits until the SMMU consumed them.
    bool run(const smmuv3::Command* commands, size_t count);
    void write_ste(uint32_t sid, const smmuv3::Ste& ste);

    uintptr_t base_ = 0;
    Memory memory_;
    uint32_t stream_bits_ = 0;
    uint32_t command_bits_ = 0;
    uint32_t event_bits_ = 0;
    unsigned output_size_ = 0;
    uint32_t command_prod_ = 0; // our copy of CMDQ_PROD (index and wrap)
    uint32_t event_cons_ = 0;   // our copy of EVENTQ_CONS
    uint32_t command_failures_ = 0;
    bool enabled_ = false;
};
