#include "kernel/devices/virtio/virtqueue.hpp"

#include <string.h>

namespace {

constexpr uint16_t kDescNext = 1;
constexpr uint16_t kDescWrite = 2;
constexpr uint16_t kDescIndirect = 4;
constexpr uint16_t kAvailNoInterrupt = 1;
constexpr uint16_t kUsedNoNotify = 1;

struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
static_assert(sizeof(Desc) == 16);

uint64_t desc_bytes(uint16_t size) { return 16ull * size; }
uint64_t avail_bytes(uint16_t size) { return 6 + 2ull * size; } // flags, idx, ring[size], used_event
uint64_t used_bytes(uint16_t size) { return 6 + 8ull * size; }  // flags, idx, ring[size] {id, len}, avail_event

uint16_t load16(const uint8_t* p) { return __atomic_load_n(reinterpret_cast<const uint16_t*>(p), __ATOMIC_ACQUIRE); }
void store16(uint8_t* p, uint16_t v) { __atomic_store_n(reinterpret_cast<uint16_t*>(p), v, __ATOMIC_RELAXED); }

} // namespace

bool Virtqueue::enable(GuestRam& ram, const char*& why)
{
    if (size == 0 || size > kMaxSize || (size & (size - 1)) != 0) {
        // 2.7: a split virtqueue's size is a power of 2 (and at most QueueNumMax, 4.2.2.2)
        why = "queue size 0, not a power of 2 or above the maximum";
        return false;
    }
    if (desc % 16 != 0 || driver % 2 != 0 || device % 4 != 0) {
        why = "a ring is misaligned";
        return false;
    }
    if (ram.at(desc, desc_bytes(size)) == nullptr || ram.at(driver, avail_bytes(size)) == nullptr ||
        ram.at(device, used_bytes(size)) == nullptr) {
        why = "a ring is not in the guest's RAM";
        return false;
    }
    next_avail_ = 0;
    next_used_ = 0;
    signalled_ = 0;
    ready = true;
    if (quiet) {
        // No notifications wanted: without EVENT_IDX the used ring's flag
        // says so (2.7.10), with it an avail_event the driver never passes
        // (kept just behind the index it fills, at each take).
        uint8_t* used = ram.at(device, used_bytes(size));
        store16(used, event_idx ? 0 : kUsedNoNotify);
        ask_notification_at(used, static_cast<uint16_t>(next_avail_ - 1));
    }
    return true;
}

void Virtqueue::ask_notification_at(uint8_t* used, uint16_t index)
{
    if (event_idx) {
        store16(used + 4 + 8ull * size, index); // avail_event, after the used ring (2.7.8)
    }
}

Virtqueue::Take Virtqueue::take(GuestRam& ram, Chain& out, const char*& why)
{
    if (!ready) {
        return Take::Empty;
    }
    // Looked up afresh each time: the guest's RAM is what it is now.
    uint8_t* avail = ram.at(driver, avail_bytes(size));
    auto* table = reinterpret_cast<Desc*>(ram.at(desc, desc_bytes(size)));
    if (avail == nullptr || table == nullptr) {
        why = "a ring is no longer in the guest's RAM";
        return Take::Broken;
    }
    // Acquire: the ring entry and the descriptors are read after the index
    // that publishes them (the driver writes them first, 2.7.13).
    uint16_t idx = load16(avail + 2);
    if (idx == next_avail_) {
        uint8_t* used = ram.at(device, used_bytes(size));
        if (!event_idx || quiet || used == nullptr) {
            return Take::Empty;
        }
        // Out of chains: the driver is to notify when it adds the next one.
        // A full barrier between that store and the index read again, or
        // both sides could miss the other's write (as in needs_interrupt()).
        ask_notification_at(used, next_avail_);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        idx = load16(avail + 2);
        if (idx == next_avail_) {
            return Take::Empty;
        }
    }
    if (static_cast<uint16_t>(idx - next_avail_) > size) {
        why = "the available index ran more than a queue ahead";
        return Take::Broken;
    }
    uint16_t head;
    memcpy(&head, avail + 4 + 2 * (next_avail_ % size), 2);
    if (head >= size) {
        why = "a chain head outside the descriptor table";
        return Take::Broken;
    }
    out = Chain{};
    out.head = head;
    uint16_t i = head;
    for (uint32_t seen = 0;; seen++) {
        if (seen == size) {
            why = "a descriptor chain loops";
            return Take::Broken;
        }
        Desc d;
        memcpy(&d, &table[i], sizeof d);
        if (d.flags & kDescIndirect) {
            why = "an indirect descriptor (not offered)";
            return Take::Broken;
        }
        uint8_t* data = d.len != 0 ? ram.at(d.addr, d.len) : nullptr;
        if (d.len != 0 && data == nullptr) {
            why = "a buffer outside the guest's RAM";
            return Take::Broken;
        }
        const bool writable = (d.flags & kDescWrite) != 0;
        if (!writable && out.writable_count != 0) {
            why = "a device-readable buffer after a device-writable one";
            return Take::Broken;
        }
        if (out.readable_count + out.writable_count == kMaxBuffers) {
            why = "a chain of more buffers than the device takes";
            return Take::Broken;
        }
        out.buffers[out.readable_count + out.writable_count] = {data, d.len};
        (writable ? out.writable_count : out.readable_count)++;
        (writable ? out.writable_bytes : out.readable_bytes) += d.len;
        if (!(d.flags & kDescNext)) {
            break;
        }
        if (d.next >= size) {
            why = "a next descriptor outside the table";
            return Take::Broken;
        }
        i = d.next;
    }
    next_avail_++;
    if (quiet) {
        uint8_t* used = ram.at(device, used_bytes(size));
        if (used != nullptr) {
            ask_notification_at(used, static_cast<uint16_t>(next_avail_ - 1));
        }
    }
    return Take::Got;
}

void Virtqueue::add_used(GuestRam& ram, uint16_t head, uint32_t written)
{
    uint8_t* used = ram.at(device, used_bytes(size));
    if (used == nullptr) {
        return; // enable() checked it; a guest that moved its RAM away loses the entry
    }
    const uint32_t element[2] = {head, written};
    memcpy(used + 4 + 8 * (next_used_ % size), element, sizeof element);
    next_used_++;
}

void Virtqueue::publish(GuestRam& ram)
{
    uint8_t* used = ram.at(device, used_bytes(size));
    if (used != nullptr) {
        // Release: the elements (and the buffers' bytes) before the index (2.7.8).
        __atomic_store_n(reinterpret_cast<uint16_t*>(used + 2), next_used_, __ATOMIC_RELEASE);
    }
}

bool Virtqueue::needs_interrupt(GuestRam& ram)
{
    // A full barrier between the used index just written and the flag or
    // used_event read here (2.7.7.2): the driver re-enables interrupts and
    // then looks at the used index; without it both could miss the other's
    // write, and the driver would sleep on a buffer it was never told about
    // (a store followed by a load may be reordered even on TSO hosts).
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint8_t* avail = ram.at(driver, avail_bytes(size));
    const uint16_t old = signalled_;
    signalled_ = next_used_;
    if (avail == nullptr) {
        return false;
    }
    if (!event_idx) {
        return (load16(avail) & kAvailNoInterrupt) == 0;
    }
    // 2.7.10: interrupt when the used index moved past used_event since
    // the last time (vring_need_event()).
    const uint16_t used_event = load16(avail + 4 + 2 * size);
    return static_cast<uint16_t>(next_used_ - used_event - 1) < static_cast<uint16_t>(next_used_ - old);
}

namespace {

/// Calls copy(buffer bytes, done, n) for the `length` bytes that start
/// `offset` bytes into the buffers [buffers, buffers + count), in order;
/// returns how many bytes there were.
template <typename Copy>
size_t walk(const Virtqueue::Buffer* buffers, size_t count, size_t offset, size_t length, Copy copy)
{
    size_t done = 0;
    for (size_t b = 0; b < count && done < length; b++) {
        const Virtqueue::Buffer& buf = buffers[b];
        if (offset >= buf.length) {
            offset -= buf.length;
            continue;
        }
        const size_t n = buf.length - offset < length - done ? buf.length - offset : length - done;
        copy(buf.data + offset, done, n);
        done += n;
        offset = 0;
    }
    return done;
}

} // namespace

size_t gather(const Virtqueue::Chain& chain, size_t offset, uint8_t* to, size_t length)
{
    return walk(chain.readable(), chain.readable_count, offset, length,
                [&](const uint8_t* data, size_t done, size_t n) { memcpy(to + done, data, n); });
}

bool scatter(const Virtqueue::Chain& chain, size_t offset, const uint8_t* from, size_t length)
{
    if (chain.writable_bytes < offset || chain.writable_bytes - offset < length) {
        return false;
    }
    walk(chain.writable(), chain.writable_count, offset, length,
         [&](uint8_t* data, size_t done, size_t n) { memcpy(data, from + done, n); });
    return true;
}

uint8_t* writable_byte(const Virtqueue::Chain& chain, size_t offset)
{
    uint8_t* byte = nullptr;
    walk(chain.writable(), chain.writable_count, offset, 1, [&](uint8_t* data, size_t, size_t) { byte = data; });
    return byte;
}
