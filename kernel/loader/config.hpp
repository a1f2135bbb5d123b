// VM configurations: a device tree, compiled by dtc from guests/configs/*.dts,
// with one child node of / per VM. parse() checks every property against
// the schema in docs/config.md and fills VmConfig records and passthrough
// device records in room the caller gives (room() says how much); strings
// and lists of cells point into the blob, which must outlive them.
//
// Each VM is checked on its own: a VM with a bad property gets ok == false
// and an error naming the file, the node and the property, the others stay
// usable. A blob that is not a device tree or not a Vireo configuration
// fails as a whole.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/loader/passthrough.hpp"
#include "vcpu/limits.hpp"

#include "kernel/loader/load_error.hpp"

/// An inclusive range of SMCCC function IDs forwarded to the firmware.
struct SmcIdRange {
    uint32_t first = 0;
    uint32_t last = 0;
};

/// A device given to the VM (node passthrough/NAME).
using PassthroughConfig = PassthroughDevice;

/// What a load or store the VM's MMIO path could emulate gets when the
/// address has no RAM and no device (property 'unmapped-mmio').
enum class UnmappedMmio : uint8_t {
    Abort,  // a data abort, as on hardware with nothing there
    Ignore, // reads return zero, writes are dropped (as KVM with kvmtool)
};

/// A memory region of the VM besides its RAM (node regions/NAME): a ROM,
/// more RAM, or a CFI flash bank, optionally filled from a package entry.
enum class RegionType : uint8_t {
    Rom,   // read-only; writes are dropped (and logged), as a ROM ignores them
    Ram,   // read-write memory, reloaded from its contents on a VM reset
    Flash, // a CFI NOR flash bank (kernel/devices/flash/cfi_flash.hpp); keeps what the guest wrote across resets
};

struct RegionConfig {
    const char* name = nullptr; // the node name, in the blob
    uint64_t base = 0;          // guest-physical
    uint64_t size = 0;          // bytes
    RegionType type = RegionType::Rom;
    const char* contents = nullptr; // package entry copied to its start; nullptr: empty (zeros; 0xff for flash)
    bool executable = false;        // the guest may run code from it
};

/// A host PCIe function given to the VM (property pci-functions), on the
/// host's first ECAM bridge: its requester ID is bus << 8 | device << 3 | function.
struct PciFunctionConfig {
    uint8_t bus = 0;
    uint8_t device = 0;   // 0-31
    uint8_t function = 0; // 0-7
    uint32_t rid() const { return uint32_t{bus} << 8 | uint32_t{device} << 3 | function; }
};

struct VmConfig {
    static constexpr size_t kNameSize = 32; // the node name, NUL included
    static constexpr uint32_t kMaxVcpus = limits::kVcpusPerVm;

    char name[kNameSize] = {};
    uint32_t vcpus = 0;
    int16_t pcpu[kMaxVcpus] = {}; // physical CPU of each vCPU, from property 'cpus'
    bool pinned =
        false; // 'cpus' given; otherwise vCPU i of the n-th VM started runs on CPU (n + i) modulo the CPUs online
    uint64_t ram_base = 0; // guest-physical
    uint64_t ram_size = 0;
    const char* kernel = nullptr;             // package entry names; nullptr when not given (firmware in a region)
    const char* initrd = nullptr;             // (optional)
    const char* dtb = nullptr;                // (optional: nullptr means "generate one")
    const char* bootargs = nullptr;           // (optional)
    bool kernel_raw = false;                  // 'kernel-address' given: the kernel is a raw binary loaded there
    uint64_t kernel_address = 0;              // guest-physical, in the VM's RAM
    uint64_t entry = 0;                       // the raw kernel's entry point ('entry', default kernel_address)
    bool dtb_fixed = false;                   // 'dtb-address' given: the DTB goes there
    uint64_t dtb_address = 0;                 // guest-physical, 8-byte aligned, in the VM's RAM
    bool console_input = false;               // takes the console input first
    bool test_device = false;                 // "vireo,test-device" at 0x0a000000 (a test aid, docs/config.md)
    bool identity_mapped = false;             // RAM at host-physical = guest-physical (for devices that do DMA)
    Cells smc_forward;                        // pairs <first last>, checked first <= last
    size_t smc_forward_count = 0;             // pairs
    PassthroughConfig* passthrough = nullptr; // in the room parse() was given
    size_t passthrough_count = 0;
    UnmappedMmio unmapped_mmio = UnmappedMmio::Abort; // accesses with no RAM and no device behind them
    static constexpr size_t kMaxRegions = 8;
    RegionConfig regions[kMaxRegions]; // node regions: ROM, more RAM, flash
    size_t region_count = 0;
    bool entry_in_region = false; // no 'kernel': the boot vCPU starts at 'entry' in an executable region
    static constexpr uint32_t kMaxNetworks = 4;
    static constexpr size_t kNetworkNameSize = 32;
    const char* networks = nullptr; // the virtual networks it joins: network_count NUL-terminated names, in the blob
    uint32_t network_count = 0;
    uint32_t bridged = 0; // bit n: on network n it bridges other hosts (may send from other addresses)
    bool bridges(uint32_t n) const { return (bridged >> n & 1) != 0; }
    /// The name of network `i`.
    const char* network(uint32_t i) const
    {
        const char* at = networks;
        for (uint32_t n = 0; n < i; n++) {
            at += strlen(at) + 1;
        }
        return at;
    }

    /// Inclusive range `i` of SMCCC function IDs forwarded to the firmware.
    SmcIdRange smc_range(size_t i) const { return {smc_forward[2 * i], smc_forward[2 * i + 1]}; }
    static constexpr size_t kMaxPciFunctions = 8;
    PciFunctionConfig pci[kMaxPciFunctions]; // pci-functions = "00:02.0", ...;
    size_t pci_count = 0;
    // unconfined-dma: its PCIe functions that no SMMU fronts are given
    // anyway (identity-mapped only): their DMA can reach all memory.
    bool unconfined_dma = false;
    uint64_t colours = 0; // page colours its RAM is taken from (bit n: colour n); 0: any memory
    // interrupts = "direct": its guest takes its interrupts at the GIC's CPU
    // interface on CPUs of its own (kernel/devices/gic/direct.hpp).
    bool direct = false;

    bool ok = false;
    char error[384] = {}; // when !ok: file, node, property and what was expected (the list of known properties is long)
};

/// What the machine can give the VMs, for the checks that depend on it.
struct ConfigLimits {
    size_t cpu_count = 0;   // physical CPUs numbered at boot, online or not: a pinned vCPU names one of 0..cpu_count-1
    uint64_t ram_bytes = 0; // RAM for all the VMs' memory together
    uint32_t page_colours = 64; // the last-level cache's page colours, at most 64 (kernel/mem/colours.hpp)
};

namespace vm_config {

constexpr const char* kCompatible = "vireo,config";
/// The guest-physical window every VM's devices live in (virtual GIC at
/// 0x08000000, PL011 at 0x09000000, test device at 0x0a000000): memory must stay out of it.
constexpr uint64_t kDeviceWindowBase = 0x08000000;
constexpr uint64_t kDeviceWindowEnd = 0x0b000000;
/// Guest-physical addresses are 40 bits (VTCR_EL2.T0SZ for a 1 TiB IPA space).
constexpr uint64_t kIpaLimit = 1ull << 40;
constexpr uint64_t kMemoryAlign = 2ull << 20;
constexpr size_t kMaxBootargs = 2047;        // Linux's arm64 COMMAND_LINE_SIZE, less its NUL
constexpr uint64_t kRegionAlign = 64 * 1024; // a region's base and size (a flash bank's: its sectors)

/// The room parse() needs for the configuration DTB of `blob_size` bytes at
/// `blob`: a record per VM node (child of /) and per device node under a
/// VM's child nodes. Zeros when it is not a device tree (parse() says why).
struct Room {
    size_t vms = 0;
    size_t devices = 0;
};
Room room(const void* blob, size_t blob_size);

/// A VM asking for identity-mapped RAM, as found before anything is parsed
/// (its range must be claimed before Vireo allocates anything). `name`
/// points into the blob.
struct IdentityRange {
    const char* name = nullptr;
    uint64_t base = 0;
    uint64_t size = 0;
};
/// The identity-mapped VMs of the configuration, up to `max` of them into
/// `out` (a VM whose `memory` property is malformed is left to parse() to
/// report); returns how many.
size_t identity_ranges(const void* blob, size_t blob_size, IdentityRange* out, size_t max);

/// Whether device `p` of `vm` is refused because it does DMA
/// (PassthroughDevice::dma_reason) and the VM's RAM is not identity-mapped:
/// then `out` (of `size` bytes) says so, starting "passthrough/NAME: ".
bool dma_refused(const VmConfig& vm, const PassthroughDevice& p, char* out, size_t size);

/// Parses the configuration DTB of `blob_size` bytes at `blob`, read from
/// `file_name` (used in messages). Fills out[0..count) with one record per
/// VM node, in the order of the file, bad ones included (ok == false).
/// Returns false, with `error` set and count == 0, when the blob as a whole
/// is unusable: not a device tree, not compatible with "vireo,config", a
/// property at / that is not known, no VM at all, or more VMs than `max`.
/// The VMs' passthrough devices go to devices[0..device_room), each VM's
/// together (a VM that finds no room left is marked bad).
/// When no VM has console-input, the first good VM gets it.
bool parse(const void* blob, size_t blob_size, const char* file_name, const ConfigLimits& limits, VmConfig* out,
           size_t max, PassthroughDevice* devices, size_t device_room, size_t& count, LoadError& error);

/// The configuration's `vireo-colours` at / (docs/config.md, "Cache
/// colouring"): the page colours of Vireo's own allocations into `set`, 0
/// when it names none. False with `error` when it is malformed or names a
/// colour this machine does not have. For a blob parse() accepted.
bool own_colours(const void* blob, const char* file_name, const ConfigLimits& limits, uint64_t& set, LoadError& error);

} // namespace vm_config
