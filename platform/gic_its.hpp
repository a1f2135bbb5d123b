// Vireo's driver of the host's GICv3 ITS (Arm IHI 0069, chapter 6) and of
// the LPIs of its redistributors: what lets a passed-through PCIe
// function's MSIs reach Vireo as LPIs, which it then raises in the VM that
// owns the function (kernel/vm/msi.cpp). Hardware access only: the caller
// gives it memory, serialises calls and decides what each LPI means.
// Commands wait for the ITS (a SYNC after each): not for a guest's exit path
// in bulk, only for the few a guest's own ITS commands cause.
//
// Vireo keeps the LPI tables small (14 INTID bits: LPIs 8192-16383), one
// collection per CPU (ICID = Vireo's CPU index), and issues each command
// with a SYNC, waiting for the ITS to finish it. Every table and queue
// entry it writes is cleaned to the point of coherency first, so a
// non-coherent ITS or redistributor reads what Vireo wrote.
#pragma once

#include <stddef.h>
#include <stdint.h>

class HostIts {
public:
    static constexpr uint32_t kIdBits = 14; // the LPI INTIDs Vireo uses: below 2^14
    static constexpr uint32_t kFirstLpi = 8192;
    static constexpr uint32_t kLpis = (1u << kIdBits) - kFirstLpi;

    /// What the driver asks of Vireo's physical memory: `size` bytes,
    /// zeroed, aligned to `align`, identity-mapped at EL2; 0 if none is left.
    using Allocator = uint64_t (*)(uint64_t size, uint64_t align);

    /// Resets and sets up the ITS at `base` (boot CPU): device, collection
    /// and command memory, the LPI property table, then the ITS enabled.
    /// Nullptr on success, else why the ITS cannot be used.
    const char* init(uint64_t base, Allocator alloc);
    /// LPIs on in the redistributor at `rd_base` (a CPU's RD_base frame,
    /// any CPU may call), and collection `cpu` mapped to it.
    const char* add_cpu(uint32_t cpu, uint64_t rd_base, Allocator alloc);

    /// Maps DeviceID `device` with room for 2^`event_bits` EventIDs
    /// (MAPD), dropping any translations it had. False if it cannot.
    bool map_device(uint32_t device, uint32_t event_bits, Allocator alloc);
    /// Forgets every translation of `device` (MAPD with V clear).
    void unmap_device(uint32_t device);
    /// `device` writing `event` raises `lpi` at CPU `cpu` (MAPTI), with the
    /// LPI enabled at Vireo's priority.
    void map_event(uint32_t device, uint32_t event, uint32_t lpi, uint32_t cpu);
    /// The LPI of (`device`, `event`) goes to CPU `cpu` from now on (MOVI).
    void move_event(uint32_t device, uint32_t event, uint32_t cpu);
    /// (`device`, `event`) raises nothing any more (DISCARD), and its LPI
    /// is disabled.
    void unmap_event(uint32_t device, uint32_t event, uint32_t lpi);

    uint64_t base() const { return base_; }
    /// The physical 4 KiB page holding GITS_TRANSLATER, devices' doorbell.
    uint64_t doorbell_page() const { return base_ + 0x10000; }
    uint32_t device_bits() const { return device_bits_; }
    /// Commands the ITS did not finish in time (a broken ITS or a Vireo bug).
    uint32_t command_failures() const { return command_failures_; }

private:
    void command(uint64_t dw0, uint64_t dw1, uint64_t dw2, uint64_t dw3);
    void sync(uint32_t cpu);
    void set_lpi(uint32_t lpi, bool enabled);

    uint64_t base_ = 0;
    uint64_t typer_ = 0;
    uint32_t device_bits_ = 0;
    uint32_t itt_entry_size_ = 0;
    uint8_t* properties_ = nullptr; // the LPI property table, shared by every redistributor
    uint64_t* queue_ = nullptr;     // 4 KiB: 128 commands
    uint64_t cwriter_ = 0;
    uint64_t rd_target_[64] = {}; // per CPU: its RDbase as MAPC and SYNC want it
    uint32_t command_failures_ = 0;
    struct Device {
        uint32_t id;
        uint32_t event_bits;
        uint64_t itt;
    };
    Device devices_[32] = {}; // ITTs, kept for a device mapped again
    uint32_t device_count_ = 0;
};
