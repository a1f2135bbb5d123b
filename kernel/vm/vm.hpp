// A virtual machine: its memory (stage 2, VMID), its vCPUs, its devices and
// what it may ask of the firmware.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/base/spinlock.hpp"
#include "kernel/devices/calls/psci_vm.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/devices/mmio/mmio_bus.hpp"
#include "kernel/devices/mmio/test_device.hpp"
#include "kernel/devices/uart/vpl011.hpp"
#include "kernel/loader/passthrough.hpp"
#include "vcpu/vcpu.hpp"

/// An inclusive range of SMCCC function IDs a VM may send to the firmware.
struct SmcRange {
    uint32_t first;
    uint32_t last;
};

using Passthrough = PassthroughDevice;

/// What a VM is made of: a VM configuration from the boot package
/// (kernel/vm/configs.cpp) with the package entries it names.
struct VmSpec {
    static constexpr size_t kMaxVcpus = 8;
    static constexpr size_t kMaxSmcRanges = 4;

    const char* name = nullptr;
    const uint8_t* image = nullptr;
    size_t image_size = 0;
    uint64_t ram_base = 0x40000000; // guest-physical; the image is loaded here
    uint64_t ram_size = 0;
    uint32_t vcpu_count = 1;
    int8_t pcpu[kMaxVcpus] = {-1, -1, -1, -1, -1, -1, -1, -1}; // -1: vCPU i on pCPU i % online
    SmcRange smc_allow[kMaxSmcRanges] = {};
    size_t smc_allow_count = 0;
    bool test_device = false; // "vireo,test-device" at kTestDeviceBase (a test aid)

    // The arm64 Linux boot protocol: `image` is an Image placed as its
    // header says, with the initrd and a DTB (given, or generated) beside
    // it; the boot vCPU starts at the Image with x0 = the DTB's address.
    const uint8_t* initrd = nullptr;
    size_t initrd_size = 0;
    const uint8_t* dtb = nullptr; // nullptr: generated
    size_t dtb_size = 0;
    const char* bootargs = nullptr;
    bool console_input = false; // this VM gets the console input first

    static constexpr size_t kMaxPassthrough = 4;
    Passthrough passthrough[kMaxPassthrough] = {};
    size_t passthrough_count = 0;
};

constexpr uint64_t kTestDeviceBase = 0x0a000000;
constexpr uint64_t kUartBase = 0x09000000; // the guest's PL011, where QEMU virt has its own

class Vm {
public:
    static constexpr size_t kMaxVcpus = VmSpec::kMaxVcpus;
    static constexpr size_t kInputBuffer = 4096; // typed bytes waiting for the guest (a pasted block fits)

    /// The virtual PL011 on the bus: guest accesses and console input under
    /// one lock. (Its VM is set when the VM is built: see Vgic::Redistributors.)
    class UartPort final : public MmioDevice {
    public:
        Vm* vm = nullptr;
        bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
        bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    };

    char name[32] = {};
    uint32_t id = 0;
    uint16_t vmid = 0;
    const VmSpec* spec = nullptr;
    Vcpu vcpus[kMaxVcpus];
    size_t vcpu_count = 0;
    Stage2Context stage2;
    uint64_t ram_ipa = 0;
    uint64_t ram_pa = 0;
    uint64_t ram_size = 0;
    uint64_t entry = 0;    // the boot vCPU's first instruction (IPA)
    uint64_t entry_x0 = 0; // and its x0
    // Linux boot protocol: where kernel, initrd and DTB go (IPAs), and the
    // DTB Vireo built for it, kept to reload on reset.
    uint64_t kernel_ipa = 0;
    uint64_t initrd_ipa = 0;
    uint64_t dtb_ipa = 0;
    const uint8_t* dtb = nullptr;
    size_t dtb_size = 0;
    MmioBus bus;
    TestDevice test_device;
    Vgic vgic;
    VirtualPl011 uart;
    UartPort uart_port;
    SpinLock uart_lock;
    uint8_t input[kInputBuffer] = {}; // typed, not yet in the PL011's FIFO
    size_t input_head = 0;
    size_t input_count = 0;
    vpsci::CpuView power[kMaxVcpus] = {};
    SpinLock lock;        // power states and vCPU starts/stops
    bool running = false; // false once stopped (SYSTEM_OFF, crash)
    uint32_t fault_logs = 0;
    char line[200] = {}; // guest console output not yet printed
    size_t line_used = 0;

    /// The physical address of guest-physical [ipa, ipa + size) when it is
    /// all in this VM's RAM; 0 otherwise.
    uint64_t ram_pa_of(uint64_t ipa, uint64_t size) const;

    /// True once per `kFaultLogLimit` faults... (rate-limits guest-caused log lines).
    bool should_log_fault();

    bool smc_allowed(uint32_t fid) const;

    /// Guest console output (hypercall or PL011). With one VM it goes
    /// straight through; with several, a line at a time prefixed with the
    /// VM's name (console_flush shows an unfinished line, e.g. a prompt).
    void console_write(const char* text, size_t length);
    /// Prints the unfinished line, if any (a vCPU went idle: it may be
    /// waiting for input after a prompt).
    void console_flush();
    /// A byte typed on the console for this VM (see console_input).
    void type(uint8_t byte);

private:
    void emit_line(bool complete);
    void feed_uart(); // moves typed bytes into the PL011's FIFO; uart_lock held
};

namespace vms {

/// Creates and starts every VM in `specs`, reporting any that cannot be
/// built (the others still start). Returns how many started.
/// `host` says which devices are Vireo's (never passed through).
size_t create_all(const VmSpec* const* specs, size_t count, size_t online_cpus, const struct Platform& host);

/// Stops `vm` (its vCPUs leave at their next exit) and powers the machine
/// off through the firmware when it was the last VM running.
void stop(Vm& vm, const char* why);

/// Restarts `vm` from its image, boot vCPU only (PSCI SYSTEM_RESET).
void reset(Vm& vm);

/// Starts vCPU `index` of `vm` at `entry` with `context` in x0.
void start_vcpu(Vm& vm, size_t index, uint64_t entry, uint64_t context);

size_t count();

/// The VM started `index`-th (0-based), or nullptr.
Vm* at(size_t index);

} // namespace vms
