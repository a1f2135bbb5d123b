// A virtual machine: its memory (stage 2, VMID), its vCPUs, its devices and
// what it may ask of the firmware. kernel/vm/build.cpp makes one from a
// VmSpec (in pages of the physical allocator: how many VMs and vCPUs there
// can be depends on RAM); this file's vms:: functions start, stop and
// reset them. Device models see a VM only as the VmHost it implements.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/base/spinlock.hpp"
#include "kernel/console/vm_console.hpp"
#include "kernel/devices/calls/psci_vm.hpp"
#include "kernel/devices/channel/doorbell.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/devices/mmio/forwarded.hpp"
#include "kernel/devices/mmio/mmio_bus.hpp"
#include "kernel/devices/mmio/test_device.hpp"
#include "kernel/devices/vm_host.hpp"
#include "kernel/loader/channel_config.hpp"
#include "kernel/loader/config.hpp"
#include "kernel/loader/vm_check.hpp"
#include "kernel/vm/networks.hpp"
#include "kernel/vm/regions.hpp"
#include "vcpu/limits.hpp"
#include "vcpu/vcpu.hpp"

class PageTable;

/// A VM's allowance of one kind of log line: the first kLimit are logged,
/// then one line says the rest are not.
struct LogBudget {
    static constexpr uint32_t kLimit = 20;
    uint32_t used = 0; // atomic: any of the VM's CPUs

    /// Whether to log one more; `what` names the kind ("guest faults").
    bool take(const char* vm, const char* what);
};

namespace vm_pci {
struct VmPci;
}

class Vm final : public VmHost, public GuestRam {
public:
    char name[VmConfig::kNameSize] = {};
    uint32_t id = 0; // start order, from 0
    uint16_t vmid = 0;
    const VmSpec* spec = nullptr;
    Vcpu* vcpus = nullptr; // vcpu_count of them, in pages of their own
    uint32_t vcpu_count = 0;
    Stage2Context stage2;
    unsigned ipa_bits = 0; // of its stage 2
    uint64_t ram_ipa = 0;
    uint64_t ram_pa = 0;
    uint64_t ram_size = 0;
    // Where Vireo reads and writes the RAM: the whole of it in one run of
    // EL2 addresses, so that a buffer the guest hands a device is one
    // pointer. Today the identity map's (ram_pa); RAM from scattered pages
    // (cache colouring, to come) needs a window of its own.
    uint8_t* ram_va = nullptr;
    // Cache colouring (docs/config.md): the RAM's pages are those of these
    // colours (of colour_count) in the run [ram_pa, ram_pa + ram_run), in
    // order (kernel/mem/colours.hpp); uncoloured, ram_run is ram_size.
    uint64_t colours = 0;
    uint32_t colour_count = 0;
    uint64_t ram_run = 0;
    bool coloured() const { return colours != 0; }
    /// The physical address of the RAM's byte at `offset`.
    uint64_t ram_pa_at(uint64_t offset) const;
    // RAM is reserved whole when the VM is built but cleared and mapped a
    // 64 KiB block at a time, when the guest (or Vireo, loading it) first
    // touches the block (kernel/vm/ram.cpp).
    uint64_t* ram_ready = nullptr; // bit n: block n is cleared and mapped
    // When all of a 2 MiB region is ready it becomes one 2 MiB block; its
    // level-3 table is kept here for forget_ram() to put back.
    uint64_t* ram_tables = nullptr; // per 2 MiB region: the table it had, or 0
    SpinLock ram_lock;              // ram_ready and the RAM's stage-2 entries
    // The arm64 boot protocol: where kernel, initrd and DTB go (IPAs), the
    // DTB (kept to reload on reset), and the boot vCPU's entry and x0.
    uint64_t kernel_ipa = 0;
    uint64_t initrd_ipa = 0;
    uint64_t dtb_ipa = 0;
    const uint8_t* dtb = nullptr;
    size_t dtb_size = 0;
    uint8_t* rng_seed = nullptr; // in a generated DTB: its /chosen/rng-seed, new bytes at each load
    uint64_t entry = 0;
    uint64_t entry_x0 = 0;
    MmioBus bus;
    TestDevice test_device;
    // Passthrough devices that share a page with others (kernel/vm/build.cpp).
    static constexpr size_t kMaxForwarded = 8;
    ForwardedDevice forwarded[kMaxForwarded];
    size_t forwarded_count = 0;
    // Its doorbell page k for its k-th channel (bit k of doorbell_mask).
    Doorbell doorbells[channel_config::kMaxPerVm];
    uint32_t doorbell_mask = 0;
    // Its virtio network device for each network it joins (kernel/vm/networks.hpp).
    vm_networks::NetPort* net_ports = nullptr;
    uint32_t net_port_count = 0;
    // Its ROMs, extra RAM and flash banks (kernel/vm/regions.hpp), as its configuration lists them.
    VmRegion regions[VmConfig::kMaxRegions];
    size_t region_count = 0;
    VmConsole console;
    vpsci::CpuView power[limits::kVcpusPerVm] = {};
    SpinLock lock;                     // power states and vCPU starts/stops
    bool running = false;              // false once stopped (SYSTEM_OFF, crash, the monitor)
    bool crashed = false;              // stopped by an error of the guest's (an SError), not by a request
    const char* stop_reason = nullptr; // why it last stopped
    uint32_t resets = 0;               // restarts since it was built (SYSTEM_RESET, the monitor)
    // Rate limits of its log lines: guest faults, and the accesses
    // unmapped-mmio = "ignore" lets through (a guest probing for devices
    // must not silence the faults that follow).
    LogBudget fault_logs;
    LogBudget unmapped_logs;
    LogBudget dma_fault_logs; // its devices' DMA the SMMU blocked (kernel/vm/dma.cpp)
    // Its PCIe functions (kernel/vm/pci.hpp); nullptr when it has none.
    vm_pci::VmPci* pci = nullptr;
    uint64_t started_at = 0;   // physical counter when its boot vCPU last started
    uint64_t stopped_at = 0;   // physical counter when it last stopped
    uint64_t restart_at = 0;   // a reset in progress: not before this counter value
    uint64_t reset_cursor = 0; // a reset in progress: how much of the reload is done
    Vgic vgic;                 // last: large (its LPI and ITS models), see Vgic

    // VmHost: what the VM's device models may ask of it.
    const char* vm_name() const override { return name; }
    void wake(uint32_t index) override;
    void kick(uint32_t index) override;
    vpsci::Result psci(uint32_t fid, const Vcpu& caller) override;
    void start_vcpu(uint32_t index, uint64_t entry_pc, uint64_t context) override;
    void stop(const char* why) override;
    void reset() override;
    /// A guest error Vireo cannot contain: stop(), marked as crashed.
    void crash(const char* why);
    /// The monitor's stop: as stop(), but the machine stays on when it was
    /// the last VM running (the monitor may start it again).
    void stop_from_monitor();
    /// Starts a stopped VM again from its images, with fresh memory (as a
    /// reset). False if it is running.
    bool start_again();
    uint8_t* ram_at(uint64_t ipa, uint64_t size) override;
    /// GuestRam: its RAM as device models reach it (through ram_va).
    uint8_t* at(uint64_t ipa, uint64_t size) override { return size != 0 ? ram_at(ipa, size) : nullptr; }
    void console_output(const char* text, size_t length) override { console.output(text, length); }
    bool smc_allowed(uint32_t fid) const override;
    Doorbell* doorbell(uint32_t index) override
    {
        return index < channel_config::kMaxPerVm && (doorbell_mask >> index & 1) != 0 ? &doorbells[index] : nullptr;
    }
    bool should_log_fault() override;
    void owe_work(uint32_t index) override;
    /// Transmit batching (docs/config.md, "Networks"): a transmit kick
    /// within 1/kKicksPerSecond s of the vCPU's previous one is done at its
    /// next exit, or that long after it at the latest.
    static constexpr uint64_t kKicksPerSecond = 1000;
    bool defer_work(uint32_t index) override;
    /// Whether to log an access to nothing that unmapped-mmio = "ignore" let through.
    bool should_log_unmapped() { return unmapped_logs.take(name, "MMIO accesses with no device"); }

    static constexpr uint64_t kRamBlock = 64 * 1024; // RAM is cleared and mapped this much at a time
    /// The words of the ram_ready bitmap of `ram_size` bytes of RAM.
    static size_t ram_words(uint64_t ram_size) { return (ram_size / kRamBlock + 63) / 64; }
    static constexpr uint64_t kRamRegion = 2ull << 20; // a level-2 block: kRamRegion / kRamBlock blocks
    /// The ram_ready words and ram_tables entries of `ram_size` bytes of RAM (one allocation).
    static size_t ram_state_words(uint64_t ram_size) { return ram_words(ram_size) + ram_size / kRamRegion; }
    /// How the RAM is mapped in the stage 2 now (4 KiB pages, 2 MiB and 1 GiB blocks).
    RamMapping ram_mapping() const override;
    /// How much of the RAM is cleared and mapped (touched by the guest or loaded).
    uint64_t ram_touched() const;
    /// A stage-2 translation fault at `ipa`: if it is in the VM's RAM, the
    /// block is cleared and mapped (if another vCPU has not done so
    /// already) and true returned: the guest retries the access.
    bool touch_ram(uint64_t ipa);
    /// Makes the blocks of [ipa, ipa + size) (in RAM) ready. With
    /// `overwritten` (an image is copied there next, before any guest runs),
    /// blocks the range covers whole are mapped without clearing.
    void prepare_ram(uint64_t ipa, uint64_t size, bool overwritten = false);
    /// Takes all RAM out of the stage 2 again (a reset): the next touch of
    /// any block finds it cleared.
    void forget_ram();
    /// Invalidates every CPU's TLB entries for this VM's VMID: after valid
    /// stage-2 entries were taken away or changed.
    void flush_stage2_tlbs() const;
    /// Whether the RAM is mapped whole at build (identity-mapped, or
    /// reachable by its PCIe functions' DMA), not on first touch.
    bool ram_whole() const;
    PageTable stage2_table() const;
    /// Maps RAM [offset, offset + size) at its IPA, page by page when coloured.
    bool map_pages(PageTable& table, uint64_t offset, uint64_t size);

private:
    void halt(const char* why, bool power_off_if_last);
    /// Resets the passed-through devices Vireo knows how to (virtio-mmio,
    /// PCIe functions): they stop their DMA into the VM's RAM when it stops
    /// or restarts. Returns the counter ticks before its PCIe functions may
    /// be used again (a function-level reset under way), else 0.
    uint64_t reset_passthrough();
    bool block_ready(size_t block) const;
    void clear_block(size_t block);
    void map_blocks(size_t first, size_t end);
    void promote(size_t region, PageTable& table);

    /// A reset's work on vCPU 0's time (Vcpu::work): wait out the restart
    /// limit, reload RAM a step at a time, then start the boot vCPU.
    static bool reset_step(Vcpu& v);
    /// Device work on `v`'s time (Vcpu::device_work): a step of each
    /// network device's transmit queue; true when none has more.
    static bool device_step(Vcpu& v);
};

namespace vms {

/// Builds and starts a VM for each of the `count` specs, reporting any that
/// cannot be built (the others still start). Returns how many started.
/// `host` says which devices are Vireo's (never passed through).
size_t create_all(const VmSpec* specs, size_t count, size_t cpu_count, const struct Platform& host);

/// Powers the machine off through the firmware, saying `why` (all VMs
/// stopped, or none could start); without firmware, says so and returns:
/// the caller idles.
void power_off(const char* why);

size_t count();

/// The VM started `index`-th (0-based), or nullptr.
Vm* at(size_t index);

} // namespace vms
