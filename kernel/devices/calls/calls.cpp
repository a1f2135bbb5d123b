#include "kernel/devices/calls/calls.hpp"

#include "kernel/console/console.hpp"
#include "kernel/devices/calls/psci_vm.hpp"
#include "kernel/devices/channel/doorbell.hpp"
#include "kernel/devices/vm_host.hpp"
#include "platform/firmware.hpp"
#include "platform/psci.hpp"
#include "vcpu/vcpu.hpp"

namespace calls {
namespace {

// What the firmware answered at boot, passed on to guests.
struct FirmwareInfo {
    bool present = false;
    bool smccc_1_1 = false;
    int64_t workaround[3] = {kNotSupported, kNotSupported, kNotSupported}; // ARCH_FEATURES answers
};
constinit FirmwareInfo firmware;

constexpr uint32_t kWorkarounds[3] = {kArchWorkaround1, kArchWorkaround2, kArchWorkaround3};

void set_result(Vcpu& vcpu, int64_t x0) { vcpu.regs.x[0] = static_cast<uint64_t>(x0); }

/// Guest console: bytes from guest RAM, printed a whole line at a time.
int64_t console_write(VmHost& vm, uint64_t ipa, uint64_t length)
{
    constexpr uint64_t kMaxWrite = 4096;
    if (length > kMaxWrite) {
        return kInvalidParameters;
    }
    const uint8_t* text = vm.ram_at(ipa, length);
    if (text == nullptr && length != 0) {
        return kInvalidParameters;
    }
    vm.console_output(reinterpret_cast<const char*>(text), length);
    return static_cast<int64_t>(length);
}

__attribute__((noinline)) Outcome psci(Vcpu& vcpu, VmHost& vm, uint32_t fid)
{
    const vpsci::Result r = vm.psci(fid, vcpu);
    set_result(vcpu, r.x0);
    switch (r.action) {
    case vpsci::Action::None: return Outcome::Continue;
    case vpsci::Action::StartCpu:
        vm.start_vcpu(static_cast<uint32_t>(r.target), r.entry, r.context);
        return Outcome::Continue;
    case vpsci::Action::StopCaller: vcpu.set_state(VcpuState::Off); return Outcome::Yield;
    case vpsci::Action::Suspend: return Outcome::WaitForInterrupt;
    case vpsci::Action::SystemOff: vm.stop("PSCI SYSTEM_OFF"); return Outcome::Yield;
    case vpsci::Action::SystemReset: vm.reset(); return Outcome::Yield;
    }
    return Outcome::Continue;
}

int64_t arch_features(uint32_t fid)
{
    switch (fid) {
    case kSmcccVersion:
    case kSmcccArchFeatures: return 0;
    default: break;
    }
    for (int i = 0; i < 3; i++) {
        if (fid == kWorkarounds[i]) {
            return firmware.workaround[i];
        }
    }
    return kNotSupported;
}

/// Forwards the call to the firmware: x0-x17 in, x0-x3 out.
void forward(Vcpu& vcpu)
{
    uint64_t results[4];
    firmware_smc_forward(vcpu.regs.x, results);
    for (int i = 0; i < 4; i++) {
        vcpu.regs.x[i] = results[i];
    }
}

/// A channel's doorbell through a hypercall: as its RING, PENDING and
/// PEERS, SELF, SHM_BASE and SHM_SIZE registers.
void channel_call(Vcpu& vcpu, VmHost& vm, uint32_t fid)
{
    const uint64_t index = vcpu.reg(1);
    Doorbell* d = index < 32 ? vm.doorbell(static_cast<uint32_t>(index)) : nullptr;
    if (d == nullptr) {
        set_result(vcpu, kInvalidParameters);
        return;
    }
    switch (fid) {
    case kHcChannelRing: {
        const uint64_t peer = vcpu.reg(2);
        set_result(vcpu, peer < ChannelPorts::kMax && d->ring(static_cast<uint32_t>(peer)) ? 0 : kInvalidParameters);
        break;
    }
    case kHcChannelInfo:
        vcpu.regs.x[0] = 0;
        vcpu.regs.x[1] = uint64_t{d->self()} << 32 | d->peers();
        vcpu.regs.x[2] = d->region().ipa;
        vcpu.regs.x[3] = d->region().size;
        break;
    default: set_result(vcpu, d->take_pending()); break;
    }
}

__attribute__((noinline)) Outcome hypercall(Vcpu& vcpu, VmHost& vm, uint32_t fid)
{
    switch (fid) {
    case kHcNull: set_result(vcpu, 0); return Outcome::Continue;
    case kHcConsoleWrite: set_result(vcpu, console_write(vm, vcpu.reg(1), vcpu.reg(2))); return Outcome::Continue;
    case kHcYield: set_result(vcpu, 0); return Outcome::Yield;
    case kHcExitCount: {
        const uint64_t kind = vcpu.reg(1);
        const VcpuStats& s = vcpu.stats;
        set_result(vcpu, kind == ~0ull              ? static_cast<int64_t>(s.all_exits())
                         : kind < VcpuStats::kKinds ? static_cast<int64_t>(s.exits[kind])
                                                    : kInvalidParameters);
        return Outcome::Continue;
    }
    case kHcStat: {
        const uint64_t item = vcpu.reg(1);
        const VcpuStats& s = vcpu.stats;
        int64_t value = kInvalidParameters;
        if (item == kStatGuestTicks) {
            value = static_cast<int64_t>(s.guest_ticks);
        } else if (item == kStatInjected) {
            value = static_cast<int64_t>(s.injected);
        } else if (item == kStatWfiBlocks) {
            value = static_cast<int64_t>(s.wfi_blocks);
        } else if (item >= kStatVireoTicks && item < kStatVireoTicks + VcpuStats::kKinds) {
            value = static_cast<int64_t>(s.vireo_ticks[item - kStatVireoTicks]);
        }
        set_result(vcpu, value);
        return Outcome::Continue;
    }
    case kHcChannelRing:
    case kHcChannelInfo:
    case kHcChannelTake: channel_call(vcpu, vm, fid); return Outcome::Continue;
    case kHcRamMapping: {
        const RamMapping m = vm.ram_mapping();
        vcpu.regs.x[0] = 0;
        vcpu.regs.x[1] = m.pages;
        vcpu.regs.x[2] = m.blocks_2m;
        vcpu.regs.x[3] = m.blocks_1g;
        return Outcome::Continue;
    }
    case kHcCallCount: set_result(vcpu, kHcCalls); return Outcome::Continue;
    case kHcUid:
        // A random UUID naming Vireo's hypercall ABI, in the SMCCC UID layout.
        vcpu.regs.x[0] = 0x7669726full;
        vcpu.regs.x[1] = 0x8c5a4e21ull;
        vcpu.regs.x[2] = 0x9b3f1d07ull;
        vcpu.regs.x[3] = 0x5e62a4c9ull;
        return Outcome::Continue;
    case kHcRevision:
        vcpu.regs.x[0] = 1;
        vcpu.regs.x[1] = 0;
        return Outcome::Continue;
    default: set_result(vcpu, kNotSupported); return Outcome::Continue;
    }
}

} // namespace

bool firmware_present() { return firmware.present; }

void probe_firmware(Conduit conduit)
{
    if (conduit != Conduit::Smc) {
        log_info("firmware: none reachable (no PSCI over SMC in the DTB); guest SMCs are not forwarded");
        return;
    }
    firmware.present = true;
    const int64_t version = psci::call(Conduit::Smc, kSmcccVersion);
    firmware.smccc_1_1 = version >= 0x10001;
    if (!firmware.smccc_1_1) {
        log_info("firmware: SMCCC %s; no workaround discovery", version < 0 ? "1.0" : "below 1.1");
        return;
    }
    for (int i = 0; i < 3; i++) {
        firmware.workaround[i] = psci::call(Conduit::Smc, kSmcccArchFeatures, kWorkarounds[i]);
    }
    log_info("firmware: SMCCC %ld.%ld, ARCH_WORKAROUND_1/2/3: %ld %ld %ld", version >> 16, version & 0xffff,
             firmware.workaround[0], firmware.workaround[1], firmware.workaround[2]);
}

namespace {

/// SMCCC's owning entities (function ID bits 29:24) Vireo answers for.
enum class Owner : uint32_t { Arch = 0, StandardSecure = 4, VendorHypervisor = 6 };
constexpr Owner owner(uint32_t fid) { return static_cast<Owner>((fid >> 24) & 0x3f); }

/// An SMC no service of Vireo's answers: to the firmware if the VM's
/// policy lets it through, else NOT_SUPPORTED and a line (worth one: the
/// guest expected someone to answer).
__attribute__((noinline)) Outcome unowned_smc(Vcpu& vcpu, VmHost& vm, uint32_t fid)
{
    if (firmware.present && vm.smc_allowed(fid)) {
        forward(vcpu);
        return Outcome::Continue;
    }
    if (vm.should_log_fault()) {
        log_info("vm %s vcpu %u: SMC 0x%08x not allowed by its policy: NOT_SUPPORTED", vm.vm_name(), vcpu.index, fid);
    }
    set_result(vcpu, kNotSupported);
    return Outcome::Continue;
}

__attribute__((noinline, cold)) void log_unknown_hvc(const Vcpu& vcpu, const VmHost& vm, uint32_t fid)
{
    log_debug("vm %s vcpu %u: HVC 0x%08x is no call Vireo knows: NOT_SUPPORTED", vm.vm_name(), vcpu.index, fid);
}

/// A call no service of Vireo's answers. An HVC is NOT_SUPPORTED without a
/// line: it is a probe (Linux asks for the SMCCC TRNG at every boot).
Outcome unowned(Vcpu& vcpu, VmHost& vm, bool smc, uint32_t fid)
{
    if (smc) {
        return unowned_smc(vcpu, vm, fid);
    }
    if (console::debugging()) [[unlikely]] {
        log_unknown_hvc(vcpu, vm, fid);
    }
    set_result(vcpu, kNotSupported);
    return Outcome::Continue;
}

/// The Arm architecture service's calls (SMCCC 7): version, features and
/// the firmware's mitigations; any other goes where unowned calls go.
__attribute__((noinline)) Outcome arch_call(Vcpu& vcpu, VmHost& vm, bool smc, uint32_t fid)
{
    switch (fid) {
    case kSmcccVersion: set_result(vcpu, 0x10001); return Outcome::Continue;
    case kSmcccArchFeatures:
        set_result(vcpu, arch_features(static_cast<uint32_t>(vcpu.reg(1))));
        return Outcome::Continue;
    case kArchWorkaround1:
    case kArchWorkaround2:
    case kArchWorkaround3:
        if (firmware.present && arch_features(fid) >= 0) {
            forward(vcpu); // the mitigation is the firmware's to apply
        } else {
            set_result(vcpu, kNotSupported);
        }
        return Outcome::Continue;
    default: return unowned(vcpu, vm, smc, fid);
    }
}

} // namespace

Outcome handle(Vcpu& vcpu, VmHost& vm, bool smc)
{
    const auto fid = static_cast<uint32_t>(vcpu.reg(0));
    // By owner first: one look sends a call to its service, or past them
    // all (a call nobody here implements is refused in a few instructions).
    // The services are out of line, so that this needs no stack frame.
    switch (owner(fid)) {
    case Owner::VendorHypervisor:
        if ((fid & 0xbfff0000u) == 0x86000000u) {
            return hypercall(vcpu, vm, fid & ~0x40000000u);
        }
        break;
    case Owner::StandardSecure:
        if (vpsci::is_psci(fid)) {
            return psci(vcpu, vm, fid);
        }
        break;
    case Owner::Arch: return arch_call(vcpu, vm, smc, fid);
    }
    return unowned(vcpu, vm, smc, fid);
}

} // namespace calls
