// The emulated virtio network device and its switch (kernel/devices/
// virtio/): whatever a guest writes to the registers and leaves in its
// rings, nothing outside its RAM is read or written (AddressSanitizer and
// the fake RAM's bounds), frames stay within their limits, and the switch
// sends a frame only to ports it has, never back to the sender.
#include <cstring>
#include <vector>

#include "kernel/devices/virtio/net_switch.hpp"
#include "kernel/devices/virtio/virtio_net.hpp"
#include "tests/fake_ram.hpp"
#include "tests/fuzz/input.hpp"

namespace {

constexpr uint64_t kRam = 0x40000000;
constexpr uint64_t kRamSize = 64 * 1024;

using Ram = FakeRam<kRam, kRamSize>;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    Ram ram;
    // The RAM starts as the input says (rings and descriptors included).
    const size_t fill = in.below(kRamSize);
    for (size_t i = 0; i < fill && !in.done(); i++) {
        ram.bytes[in.below(kRamSize)] = in.u8();
    }
    bool line = false;
    const VirtioNet::Owner owner{&ram, [](void* c, bool level) { *static_cast<bool*>(c) = level; },
                                 [](void*, const char*) {}, &line};
    const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    static VirtioNet net; // a frame's worth of stack per call otherwise
    net.init(owner, mac);
    NetSwitch sw;
    for (int p = 0; p < 4; p++) {
        sw.attach();
    }
    static uint8_t frame[VirtioNet::kMaxFrame];
    for (int op = 0; op < 64 && !in.done(); op++) {
        const uint64_t offset = in.below(0x110);
        const unsigned width = 1u << in.below(4);
        switch (in.below(5)) {
        case 0: {
            uint64_t v = 0;
            net.read(0, offset, width, v);
            break;
        }
        case 1: {
            // Registers with values near what a driver writes: ring addresses in or around the RAM.
            const uint64_t value = in.flag() ? kRam + in.below(kRamSize + 0x100) : in.u32();
            net.write(0, offset & ~3ull, 4, value);
            break;
        }
        case 2: {
            size_t length = 0;
            if (net.take_frame(frame, length)) {
                FUZZ_CHECK(length >= VirtioNet::kMinFrame && length <= VirtioNet::kMaxFrame);
                const uint32_t from = in.below(4);
                const uint32_t to = sw.route(from, frame, length);
                FUZZ_CHECK((to & ~0xfu) == 0 && (to & (1u << from)) == 0);
            }
            break;
        }
        case 3: {
            const size_t length = in.below(VirtioNet::kMaxFrame + 2);
            std::memset(frame, in.u8(), length < sizeof frame ? length : sizeof frame);
            net.deliver(frame, length);
            break;
        }
        default: ram.bytes[in.below(kRamSize)] = in.u8(); break;
        }
    }
    return 0;
}
