// The SMCCC dispatcher (kernel/devices/calls/calls.cpp): any function ID
// and arguments over HVC or SMC, against a VM whose RAM is a host buffer.
// Guest addresses are checked against that RAM, results are SMCCC's, and
// nothing but the VM's policy lets an SMC reach the firmware.
#include <cstring>

#include "kernel/console/console.hpp"
#include "kernel/devices/calls/calls.hpp"
#include "kernel/devices/channel/doorbell.hpp"
#include "kernel/devices/vm_host.hpp"
#include "platform/firmware.hpp"
#include "tests/fuzz/input.hpp"
#include "vcpu/vcpu.hpp"

namespace {

constexpr uint64_t kRamIpa = 0x40000000;
constexpr size_t kRamSize = 64 * 1024;
uint8_t ram[kRamSize];
int forwarded = 0;

class FakeVm final : public VmHost {
public:
    vpsci::CpuView cpus[4] = {
        {0, vpsci::Power::On}, {1, vpsci::Power::Off}, {2, vpsci::Power::Off}, {3, vpsci::Power::Off}};
    bool allow_smc = false;
    size_t console_bytes = 0;
    int starts = 0, stops = 0, resets = 0;

    const char* vm_name() const override { return "fuzz"; }
    void wake(uint32_t) override {}
    void kick(uint32_t) override {}
    vpsci::Result psci(uint32_t fid, const Vcpu& caller) override
    {
        return vpsci::handle(fid, caller.reg(1), caller.reg(2), caller.reg(3), cpus, 4, caller.index,
                             {kRamIpa, kRamSize});
    }
    void start_vcpu(uint32_t index, uint64_t, uint64_t) override
    {
        FUZZ_CHECK(index < 4);
        starts++;
    }
    void stop(const char*) override { stops++; }
    void reset() override { resets++; }
    uint8_t* ram_at(uint64_t ipa, uint64_t size) override
    {
        if (ipa < kRamIpa || ipa - kRamIpa > kRamSize || size > kRamSize - (ipa - kRamIpa)) {
            return nullptr;
        }
        return ram + (ipa - kRamIpa);
    }
    RamMapping ram_mapping() const override { return {kRamSize / 4096, 0, 0}; }
    void console_output(const char* text, size_t length) override
    {
        const auto* p = reinterpret_cast<const uint8_t*>(text);
        FUZZ_CHECK(length == 0 || (p >= ram && p + length <= ram + kRamSize)); // only the VM's own RAM
        console_bytes += length;
    }
    bool smc_allowed(uint32_t) const override { return allow_smc; }
    bool should_log_fault() override { return true; }
    void owe_work(uint32_t) override {}
    bool defer_work(uint32_t) override { return false; }
    // Channel 0: a doorbell on a channel with one peer (the channel hypercalls).
    Doorbell* doorbell(uint32_t index) override { return index == 0 ? &door : nullptr; }
    Doorbell door;
};

int line_changes = 0;
uint64_t fake_counter() { return 1000; }

} // namespace

// What calls.cpp needs of the rest of Vireo, here.
namespace console {
LogLevel detail::current_level = LogLevel::Debug; // debug lines' arguments gathered too
void log(LogLevel, const char*, ...) {}
} // namespace console
namespace psci {
// The firmware answers: SMCCC 1.1, no workaround (so none is forwarded).
int64_t call(Conduit, uint64_t function, uint64_t, uint64_t, uint64_t) { return function == 0x80000000 ? 0x10001 : -1; }
} // namespace psci
extern "C" void firmware_smc_forward(const uint64_t args[18], uint64_t results[4])
{
    forwarded++;
    std::memcpy(results, args, 4 * sizeof(uint64_t));
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static bool probed = false;
    if (!probed) {
        calls::probe_firmware(Conduit::Smc); // there is firmware to forward to
        probed = true;
    }
    FuzzInput in(data, size);
    static Vcpu vcpu; // holds FP/SIMD state: not on the stack
    FakeVm vm;
    vm.allow_smc = in.flag();
    static ChannelPorts channel;
    static Doorbell peer;
    channel.count = 2;
    const Doorbell::Owner owner{[](void*, uint32_t, bool) { line_changes++; }, nullptr, 96, fake_counter, 10};
    vm.door.init(channel, 0, {0x50000000, 0x1000, true}, owner);
    peer.init(channel, 1, {0x50000000, 0x1000, false}, owner);
    channel.publish(0, &vm.door);
    channel.publish(1, &peer);
    for (int op = 0; op < 16 && !in.done(); op++) {
        vcpu.regs = {};
        vcpu.index = 0;
        vcpu.state = VcpuState::Running;
        const uint32_t kinds[] = {0x86000000, 0x86000001, 0x86000002, 0x86000003, 0x8600ff00,
                                  0x8600ff01, 0x8600ff03, 0x80000000, 0x80000001, 0x80008000,
                                  0x84000000, 0xc4000003, 0x86000005, 0x86000006, 0x86000007};
        const uint32_t fid =
            in.flag() ? kinds[in.below(sizeof kinds / sizeof kinds[0])] | (in.flag() ? 0x40000000u : 0) : in.u32();
        vcpu.regs.x[0] = fid | (in.flag() ? in.u64() << 32 : 0);
        for (int r = 1; r < 18; r++) {
            vcpu.regs.x[r] = in.flag() ? kRamIpa + in.below(2 * kRamSize) : in.u64();
        }
        const bool smc = in.flag();
        const int before = forwarded;
        const uint64_t channel = vcpu.regs.x[1];
        const uint64_t peer = vcpu.regs.x[2];
        const Outcome outcome = calls::handle(vcpu, vm, smc);
        // Only an SMC the VM's policy allows reaches the firmware, never an HVC.
        FUZZ_CHECK(forwarded == before || (smc && vm.allow_smc && forwarded == before + 1));
        const auto x0 = static_cast<int64_t>(vcpu.regs.x[0]);
        if ((fid & 0xbfff0000u) == 0x86000000u && (fid & ~0x40000000u) == calls::kHcConsoleWrite) {
            // CONSOLE_WRITE: the bytes written, or INVALID_PARAMETERS for a buffer not all in RAM.
            FUZZ_CHECK(x0 == calls::kInvalidParameters || (x0 >= 0 && x0 <= 4096));
        }
        const uint32_t call = fid & ~0x40000000u;
        if (call >= calls::kHcChannelRing && call <= calls::kHcChannelTake) {
            // A channel the VM does not have, or a peer the channel does not have, is refused.
            FUZZ_CHECK(channel == 0 || x0 == calls::kInvalidParameters);
            FUZZ_CHECK(call != calls::kHcChannelRing || channel != 0 || (x0 == 0) == (peer < 2));
            FUZZ_CHECK(call != calls::kHcChannelTake || channel != 0 || (x0 >= 0 && x0 < 4));
        }
        FUZZ_CHECK(outcome == Outcome::Continue || outcome == Outcome::Yield || outcome == Outcome::WaitForInterrupt);
    }
    return 0;
}
