#include "kernel/devices/virtio/virtqueue.hpp"

#include <string.h>

namespace {

constexpr uint16_t kDescNext = 1;
constexpr uint16_t kDescWrite = 2;
constexpr uint16_t kDescIndirect = 4;
constexpr uint16_t kAvailNoInterrupt = 1;

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
    ready = true;
    return true;
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
    const uint16_t idx = load16(avail + 2);
    if (idx == next_avail_) {
        return Take::Empty;
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
        size_t& count = writable ? out.writable_count : out.readable_count;
        if (count == kMaxBuffers) {
            why = "a chain of more buffers than the device takes";
            return Take::Broken;
        }
        (writable ? out.writable : out.readable)[count++] = {data, d.len};
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
    return Take::Got;
}

void Virtqueue::put(GuestRam& ram, uint16_t head, uint32_t written)
{
    uint8_t* used = ram.at(device, used_bytes(size));
    if (used == nullptr) {
        return; // enable() checked it; a guest that moved its RAM away loses the entry
    }
    const uint32_t element[2] = {head, written};
    memcpy(used + 4 + 8 * (next_used_ % size), element, sizeof element);
    next_used_++;
    // Release: the element (and the buffer's bytes) before the index (2.7.8).
    __atomic_store_n(reinterpret_cast<uint16_t*>(used + 2), next_used_, __ATOMIC_RELEASE);
}

bool Virtqueue::interrupts_suppressed(GuestRam& ram)
{
    // A full barrier between the used index just written and the flag read
    // here (2.7.7.2): the driver re-enables interrupts and then looks at the
    // used index; without it both could miss the other's write, and the
    // driver would sleep on a buffer it was never told about (a store
    // followed by a load may be reordered even on TSO hosts).
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint8_t* avail = ram.at(driver, avail_bytes(size));
    return avail != nullptr && (load16(avail) & kAvailNoInterrupt) != 0;
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
    return walk(chain.readable, chain.readable_count, offset, length,
                [&](const uint8_t* data, size_t done, size_t n) { memcpy(to + done, data, n); });
}

bool scatter(const Virtqueue::Chain& chain, size_t offset, const uint8_t* from, size_t length)
{
    if (chain.writable_bytes < offset || chain.writable_bytes - offset < length) {
        return false;
    }
    walk(chain.writable, chain.writable_count, offset, length,
         [&](uint8_t* data, size_t done, size_t n) { memcpy(data, from + done, n); });
    return true;
}
