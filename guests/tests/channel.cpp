// A shared-memory channel between VMs (docs/config.md, "Channels"): this
// guest runs in each of three VMs (tests/configs/bare/channel.dts). On the
// channel "ring0", member 0 (the producer) passes `messages=N` messages to
// member 1 (the consumer) through a ring of 64 slots in the shared region,
// ringing the consumer's doorbell after each one; the consumer checks every
// payload and rings back as it frees slots. Every other ring goes through
// the hypercalls instead of the doorbell registers. On "watch", read-only
// for the consumer, the producer leaves a value the consumer reads, and the
// consumer's write faults. The third VM (`outsider=ADDRESS`) is on no
// channel: its doorbell page and the channel's address fault.
// With `registers-only=1` a member checks its first doorbell's registers
// and stops. With `bench=N` the two members measure N doorbell round trips and the
// one-way latency (the ring's time, from RING_TIME, to the peer's handler).
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

// The doorbell page of the VM's channel k and its SPI (channel_config.hpp).
constexpr uint64_t kDoorbell = 0x0a100000;
constexpr uint32_t kDoorbellIntid = 96;
constexpr uint64_t kMagic = 0x00, kVersion = 0x04, kPeers = 0x08, kSelf = 0x0c, kRing = 0x10, kPending = 0x14,
                   kShmBase = 0x18, kShmSize = 0x20, kFlags = 0x28, kRingTime = 0x30;
constexpr uint64_t kHcRing = 0x86000005, kHcInfo = 0x86000006, kHcTake = 0x86000007;

uint64_t doorbell(uint32_t k) { return kDoorbell + 0x1000 * k; }
uint64_t read64(uint64_t addr) { return *reinterpret_cast<volatile uint64_t*>(addr); }

constexpr uint32_t kSlots = 64;
struct Message {
    uint32_t seq;
    uint32_t length;
    uint8_t data[56];
};
struct Ring {
    uint32_t head; // producer: messages written
    uint8_t pad0[60];
    uint32_t tail; // consumer: messages taken
    uint8_t pad1[60];
    Message slots[kSlots];
};

uint8_t pattern(uint32_t seq, uint32_t i) { return static_cast<uint8_t>(seq * 31 + i * 7 + 1); }

volatile uint32_t rung;       // rings taken by the interrupt handler (channel 0's PENDING)
volatile uint32_t other;      // interrupts that were not the doorbell's
volatile uint64_t handled_at; // the virtual counter in the last doorbell interrupt
volatile uint64_t rang_at;    // RING_TIME as that interrupt found it
uint32_t takes;               // how many PENDING reads went through the hypercall

uint32_t take_pending()
{
    // Alternately the register and the hypercall: both clear and lower the SPI.
    if (++takes % 2 == 0) {
        return static_cast<uint32_t>(call(kHcTake, 0));
    }
    return read32(doorbell(0) + kPending);
}

void ring(uint32_t peer, uint32_t n)
{
    if (n % 2 == 0) {
        write32(doorbell(0) + kRing, peer);
    } else {
        call(kHcRing, 0, peer);
    }
}

/// Waits (in WFI, the interrupt masked around the check so none is lost)
/// until `ready()` or `seconds` pass; false on the timeout.
template <typename Ready> bool wait_until(Ready ready, uint64_t seconds)
{
    const uint64_t start = counter();
    for (;;) {
        asm volatile("msr daifset, #2");
        if (ready()) {
            asm volatile("msr daifclr, #2");
            return true;
        }
        if (counter() - start > seconds * frequency()) {
            asm volatile("msr daifclr, #2");
            return false;
        }
        asm volatile("wfi");             // a pending interrupt ends it even while masked
        asm volatile("msr daifclr, #2"); // and is taken here
    }
}

uint64_t fault_address;
void read_fault_address() { (void)*reinterpret_cast<volatile uint32_t*>(fault_address); }
void write_fault_address() { *reinterpret_cast<volatile uint32_t*>(fault_address) = 1; }

void check_registers(uint32_t self, uint64_t shm)
{
    const uint64_t d = doorbell(0);
    test("channel-doorbell-magic", read32(d + kMagic) == 0x4e484356 && read32(d + kVersion) == 1);
    test("channel-doorbell-peers-and-self", read32(d + kPeers) == 2 && read32(d + kSelf) == self);
    test("channel-doorbell-region", read64(d + kShmBase) == shm && read64(d + kShmSize) == 0x10000 &&
                                        read32(d + kShmBase) == static_cast<uint32_t>(shm) && read32(d + kFlags) == 1);
    const Regs info = hvc(kHcInfo, 0);
    test("channel-info-hypercall",
         info.x[0] == 0 && info.x[1] == (uint64_t{self} << 32 | 2) && info.x[2] == shm && info.x[3] == 0x10000);
    test("channel-unknown-channel-refused", call(kHcInfo, 5) == -2 && call(kHcRing, 0, 7) == -2);
    fault_address = d + kRing;
    test("channel-ring-register-write-only", expect_fault(read_fault_address).esr != 0);
    fault_address = d + kMagic;
    test("channel-magic-register-read-only",
         expect_fault(write_fault_address).esr != 0 && read32(d + kMagic) == 0x4e484356);
}

void produce(uint64_t shm, uint32_t messages)
{
    Ring& r = *reinterpret_cast<Ring*>(shm);
    uint32_t seq = 0;
    for (; seq < messages; seq++) {
        if (!wait_until([&] { return seq - __atomic_load_n(&r.tail, __ATOMIC_ACQUIRE) < kSlots; }, 20)) {
            break;
        }
        Message& m = r.slots[seq % kSlots];
        m.seq = seq;
        m.length = 1 + seq % sizeof m.data;
        for (uint32_t i = 0; i < m.length; i++) {
            m.data[i] = pattern(seq, i);
        }
        __atomic_store_n(&r.head, seq + 1, __ATOMIC_RELEASE);
        ring(1, seq);
    }
    const bool drained = wait_until([&] { return __atomic_load_n(&r.tail, __ATOMIC_ACQUIRE) == messages; }, 20);
    char details[64];
    snprintf(details, sizeof details, "%u of %u sent, %u rings back", seq, messages, rung);
    test("channel-producer-sent-all", seq == messages && drained, details);
}

void consume(uint64_t shm, uint32_t messages)
{
    Ring& r = *reinterpret_cast<Ring*>(shm);
    uint32_t tail = 0;
    uint32_t bad = 0;
    while (tail < messages) {
        if (!wait_until([&] { return __atomic_load_n(&r.head, __ATOMIC_ACQUIRE) != tail; }, 20)) {
            break;
        }
        const uint32_t head = __atomic_load_n(&r.head, __ATOMIC_ACQUIRE);
        for (; tail != head; tail++) {
            const Message& m = r.slots[tail % kSlots];
            bool good = m.seq == tail && m.length == 1 + tail % sizeof m.data;
            for (uint32_t i = 0; good && i < m.length; i++) {
                good = m.data[i] == pattern(tail, i);
            }
            bad += good ? 0 : 1;
        }
        __atomic_store_n(&r.tail, tail, __ATOMIC_RELEASE);
        ring(0, tail);
    }
    char details[64];
    snprintf(details, sizeof details, "%u of %u received, %u bad, %u rings", tail, messages, bad, rung);
    test("channel-consumer-checked-every-payload", tail == messages && bad == 0 && rung > 0, details);
}

/// The "watch" channel (the VM's channel 1): the producer writes, the
/// consumer (read-only) reads what it wrote and cannot write.
void watch(uint32_t self)
{
    const uint64_t shm = read64(doorbell(1) + kShmBase);
    auto* value = reinterpret_cast<volatile uint32_t*>(shm);
    if (self == 0) {
        test("channel-watch-writable-for-producer", read32(doorbell(1) + kFlags) == 1);
        *value = 0x5eed1e55;
        return;
    }
    test("channel-watch-read-only-flag", read32(doorbell(1) + kFlags) == 0);
    // Polled: a store to shared memory raises no interrupt (WFI could sleep on).
    const uint64_t start = counter();
    while (*value != 0x5eed1e55 && counter() - start < 20 * frequency()) {
    }
    const bool seen = *value == 0x5eed1e55;
    test("channel-watch-sees-producers-write", seen);
    fault_address = shm;
    const Fault f = expect_fault(write_fault_address);
    test("channel-watch-write-faults", f.esr != 0 && f.far == shm && *value == 0x5eed1e55);
}

void bench(uint32_t self, uint64_t shm, uint32_t rounds)
{
    // The consumer says it is ready in the shared region (the producer's
    // VM may start before the consumer's exists: a ring to it is dropped).
    auto* ready = reinterpret_cast<volatile uint32_t*>(shm);
    if (self == 1) {
        __atomic_store_n(ready, 1u, __ATOMIC_RELEASE);
    } else {
        const uint64_t start = counter();
        while (__atomic_load_n(ready, __ATOMIC_ACQUIRE) == 0 && counter() - start < 20 * frequency()) {
        }
    }
    uint64_t total = 0, one_way = 0;
    for (uint32_t n = 0; n < rounds; n++) {
        // Counted, not compared with a copy: a ring may come before its wait starts.
        if (self == 0) {
            const uint64_t start = counter();
            write32(doorbell(0) + kRing, 1);
            wait_until([&] { return rung > n; }, 20);
            total += counter() - start;
            one_way += handled_at - rang_at;
        } else {
            wait_until([&] { return rung > n; }, 20);
            one_way += handled_at - rang_at;
            write32(doorbell(0) + kRing, 0);
        }
    }
    if (self == 0) {
        print("BENCH channel-round-trip: %lu.%02lu ticks/op\n", total / rounds, total % rounds * 100 / rounds);
    }
    print("BENCH channel-one-way-to-%s: %lu.%02lu ticks/op\n", self == 0 ? "producer" : "consumer", one_way / rounds,
          one_way % rounds * 100 / rounds);
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    if ((iar & 0x3ff) == kDoorbellIntid) {
        handled_at = counter();
        rang_at = read64(doorbell(0) + kRingTime);
        if (take_pending() != 0) {
            rung = rung + 1;
        }
    } else if ((iar & 0x3ff) != kSpurious) {
        other = other + 1;
    }
    end(iar);
}

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    const uint64_t outsider = bootarg(dtb, "outsider", 0);
    if (outsider != 0) {
        fault_address = doorbell(0);
        test("channel-outsider-has-no-doorbell", expect_fault(read_fault_address).esr != 0);
        fault_address = outsider;
        const Fault f = expect_fault(read_fault_address);
        test("channel-outsider-cannot-read-the-region", f.esr != 0 && f.far == outsider);
        call(kPsciSystemOff);
        return;
    }
    const uint32_t self = read32(doorbell(0) + kSelf);
    const uint64_t shm = read64(doorbell(0) + kShmBase);
    enable_distributor();
    enable_cpu_interface();
    enable_spi(kDoorbellIntid, 0, 0x80);
    asm volatile("msr daifclr, #2");
    const uint64_t rounds = bootarg(dtb, "bench", 0);
    if (rounds != 0) {
        bench(self, shm, static_cast<uint32_t>(rounds));
        call(kPsciSystemOff);
        return;
    }
    check_registers(self, shm);
    if (bootarg(dtb, "registers-only", 0) != 0) {
        call(kPsciSystemOff);
        return;
    }
    watch(self);
    const auto messages = static_cast<uint32_t>(bootarg(dtb, "messages", 10000));
    if (self == 0) {
        produce(shm, messages);
    } else {
        consume(shm, messages);
    }
    test("channel-no-stray-interrupts", other == 0);
    call(kPsciSystemOff);
}
