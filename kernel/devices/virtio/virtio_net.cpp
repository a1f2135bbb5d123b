#include "kernel/devices/virtio/virtio_net.hpp"

#include <string.h>

namespace {

// virtio-mmio registers (virtio 1.2, 4.2.2).
constexpr uint64_t kMagic = 0x000, kVersion = 0x004, kDeviceId = 0x008, kVendorId = 0x00c, kDeviceFeatures = 0x010,
                   kDeviceFeaturesSel = 0x014, kDriverFeatures = 0x020, kDriverFeaturesSel = 0x024, kQueueSel = 0x030,
                   kQueueNumMax = 0x034, kQueueNum = 0x038, kQueueReady = 0x044, kQueueNotify = 0x050,
                   kInterruptStatus = 0x060, kInterruptAck = 0x064, kStatus = 0x070, kQueueDescLow = 0x080,
                   kQueueDescHigh = 0x084, kQueueDriverLow = 0x090, kQueueDriverHigh = 0x094, kQueueDeviceLow = 0x0a0,
                   kQueueDeviceHigh = 0x0a4, kConfigGeneration = 0x0fc, kConfig = 0x100;
constexpr uint32_t kMagicValue = 0x74726976; // "virt"
constexpr uint32_t kVendor = 0x4f524956;     // "VIRO"
constexpr uint32_t kNetDevice = 1;
constexpr uint32_t kFeaturesOk = 8;
// Feature bits (5.1.3, 6).
constexpr uint64_t kCsum = 1ull << 0, kGuestCsum = 1ull << 1, kFeatureMac = 1ull << 5, kGuestTso4 = 1ull << 7,
                   kGuestTso6 = 1ull << 8, kGuestEcn = 1ull << 9, kHostTso4 = 1ull << 11, kHostTso6 = 1ull << 12,
                   kHostEcn = 1ull << 13, kMrgRxbuf = 1ull << 15, kFeatureStatus = 1ull << 16, kEventIdx = 1ull << 29,
                   kFeatureVersion1 = 1ull << 32;
constexpr uint64_t kFeatures = kCsum | kGuestCsum | kFeatureMac | kGuestTso4 | kGuestTso6 | kGuestEcn | kHostTso4 |
                               kHostTso6 | kHostEcn | kMrgRxbuf | kFeatureStatus | kEventIdx | kFeatureVersion1;
constexpr uint32_t kUsedBuffer = 1;
constexpr uint32_t kConfigChange = 2;
constexpr uint16_t kLinkUp = 1;
constexpr size_t kConfigSize = 8; // mac[6], status

/// Whether `features` keep the dependencies of 5.1.3.1: segmentation
/// offload only with checksum offload, ECN only with segmentation offload.
bool consistent(uint64_t features)
{
    const auto needs = [&](uint64_t feature, uint64_t any_of) {
        return (features & feature) == 0 || (features & any_of) != 0;
    };
    return needs(kGuestTso4 | kGuestTso6, kGuestCsum) && needs(kGuestEcn, kGuestTso4 | kGuestTso6) &&
           needs(kHostTso4 | kHostTso6, kCsum) && needs(kHostEcn, kHostTso4 | kHostTso6);
}

void set_half(uint64_t& reg, bool high, uint64_t value)
{
    reg = high ? (reg & 0xffffffffu) | value << 32 : (reg & ~0xffffffffull) | (value & 0xffffffffu);
}

} // namespace

void VirtioNet::init(const Owner& owner, const uint8_t (&mac)[6])
{
    owner_ = owner;
    memcpy(mac_, mac, sizeof mac_);
    reset();
}

void VirtioNet::reset()
{
    queues_[0].reset();
    queues_[1].reset();
    status_ = 0;
    device_features_sel_ = driver_features_sel_ = queue_sel_ = 0;
    driver_features_ = 0;
    interrupt_status_ = 0;
    tx_kick_ = false;
    update_line();
}

void VirtioNet::update_line()
{
    const bool level = interrupt_status_ != 0;
    if (level != line_) {
        line_ = level;
        if (owner_.set_line != nullptr) {
            owner_.set_line(owner_.context, level);
        }
    }
}

void VirtioNet::raise(uint32_t bits)
{
    interrupt_status_ |= bits;
    update_line();
}

void VirtioNet::needs_reset(const char* why)
{
    if ((status_ & kNeedsReset) == 0 && owner_.broken != nullptr) {
        owner_.broken(owner_.context, why);
    }
    status_ |= kNeedsReset;
    raise(kConfigChange); // 2.1.2: the device tells the driver with a configuration change
}

bool VirtioNet::read(uint32_t, uint64_t offset, unsigned size, uint64_t& value)
{
    if (offset >= kConfig) {
        const uint64_t at = offset - kConfig;
        if (at + size > kConfigSize) {
            return false;
        }
        uint8_t config[kConfigSize];
        memcpy(config, mac_, 6);
        config[6] = kLinkUp & 0xff;
        config[7] = kLinkUp >> 8;
        value = 0;
        for (unsigned i = 0; i < size; i++) {
            value |= uint64_t{config[at + i]} << (8 * i);
        }
        return true;
    }
    if (size != 4 || offset % 4 != 0) {
        return false; // 4.2.2.2: 32-bit accesses to the registers
    }
    const Virtqueue* q = selected();
    switch (offset) {
    case kMagic: value = kMagicValue; return true;
    case kVersion: value = 2; return true;
    case kDeviceId: value = kNetDevice; return true;
    case kVendorId: value = kVendor; return true;
    case kDeviceFeatures:
        value = device_features_sel_ == 0 ? kFeatures & 0xffffffffu : device_features_sel_ == 1 ? kFeatures >> 32 : 0;
        return true;
    case kQueueNumMax: value = q != nullptr ? Virtqueue::kMaxSize : 0; return true;
    case kQueueReady: value = q != nullptr && q->ready ? 1 : 0; return true;
    case kInterruptStatus: value = interrupt_status_; return true;
    case kStatus: value = status_; return true;
    case kConfigGeneration: value = 0; return true;
    default: value = 0; return true; // write-only and reserved registers read as zero
    }
}

const char* VirtioNet::refusal(uint64_t offset, unsigned size, bool) const
{
    return offset >= kConfig
               ? (offset - kConfig + size > kConfigSize ? "past its configuration space" : "refused")
               : (size != 4 || offset % 4 != 0 ? "its registers take aligned 32-bit accesses (4.2.2.2)" : "refused");
}

bool VirtioNet::write(uint32_t, uint64_t offset, unsigned size, uint64_t value)
{
    if (offset >= kConfig) {
        return offset - kConfig + size <= kConfigSize; // the driver may not write the MAC: ignored
    }
    if (size != 4 || offset % 4 != 0) {
        return false;
    }
    const auto v = static_cast<uint32_t>(value);
    Virtqueue* q = selected();
    // Queue registers may change only while the queue is not ready (4.2.2.2).
    const bool queue_writable = q != nullptr && !q->ready;
    switch (offset) {
    case kDeviceFeaturesSel: device_features_sel_ = v; break;
    case kDriverFeaturesSel: driver_features_sel_ = v; break;
    case kDriverFeatures:
        if (driver_features_sel_ < 2 && (status_ & kFeaturesOk) == 0) {
            set_half(driver_features_, driver_features_sel_ == 1, v);
        }
        break;
    case kQueueSel: queue_sel_ = v; break;
    case kQueueNum:
        if (queue_writable) {
            q->size = v <= Virtqueue::kMaxSize ? static_cast<uint16_t>(v) : 0;
        }
        break;
    case kQueueDescLow:
    case kQueueDescHigh:
        if (queue_writable) {
            set_half(q->desc, offset == kQueueDescHigh, v);
        }
        break;
    case kQueueDriverLow:
    case kQueueDriverHigh:
        if (queue_writable) {
            set_half(q->driver, offset == kQueueDriverHigh, v);
        }
        break;
    case kQueueDeviceLow:
    case kQueueDeviceHigh:
        if (queue_writable) {
            set_half(q->device, offset == kQueueDeviceHigh, v);
        }
        break;
    case kQueueReady:
        if (q != nullptr) {
            const char* why = nullptr;
            q->event_idx = negotiated(kEventIdx);
            q->quiet = queue_sel_ == 0; // frames are delivered as they come: no receive notifications wanted
            if (v == 0) {
                q->ready = false;
            } else if (!q->ready && !q->enable(*owner_.ram, why)) {
                needs_reset(why);
            }
        }
        break;
    case kQueueNotify:
        if (v == 1 && running()) {
            tx_kick_ = true;
        }
        break; // the receive queue's notifications say buffers came: frames are delivered as they arrive
    case kInterruptAck:
        interrupt_status_ &= ~v;
        update_line();
        break;
    case kStatus: write_status(v); break;
    default: break; // read-only and reserved registers ignore writes
    }
    return true;
}

void VirtioNet::write_status(uint32_t v)
{
    if (v == 0) {
        reset();
        return;
    }
    uint32_t next = (v & ~kNeedsReset) | (status_ & kNeedsReset); // only the device sets NEEDS_RESET
    if ((v & kFeaturesOk) && !(status_ & kFeaturesOk)) {
        // FEATURES_OK only for a subset of what was offered, VERSION_1 included
        // (this is not a legacy device), that keeps the dependencies.
        const bool acceptable =
            (driver_features_ & ~kFeatures) == 0 && negotiated(kFeatureVersion1) && consistent(driver_features_);
        next = acceptable ? next : next & ~kFeaturesOk;
    }
    const bool driver_ok = (next & kDriverOk) && !(status_ & kDriverOk);
    status_ = next;
    if (driver_ok && !(status_ & kFeaturesOk)) {
        // 3.1.1: the driver sets DRIVER_OK only after the device accepted
        // FEATURES_OK; a device never used without negotiated features.
        needs_reset("DRIVER_OK without FEATURES_OK");
    }
}

Offloads VirtioNet::offloads() const
{
    if (!running()) {
        return {};
    }
    return {negotiated(kGuestCsum), negotiated(kGuestTso4), negotiated(kGuestTso6), negotiated(kGuestEcn)};
}

bool VirtioNet::take_frame(uint8_t* frame, size_t& length, NetHeader& header)
{
    Virtqueue& tx = queues_[1];
    const Offloads sent{negotiated(kCsum), negotiated(kHostTso4), negotiated(kHostTso6), negotiated(kHostEcn)};
    bool taken = false;
    bool used = false;
    while (!taken && running()) {
        Virtqueue::Chain chain;
        const char* why = nullptr;
        const Virtqueue::Take got = tx.take(*owner_.ram, chain, why);
        if (got != Virtqueue::Take::Got) {
            if (got == Virtqueue::Take::Broken) {
                needs_reset(why);
            }
            break;
        }
        const uint64_t bytes = chain.readable_bytes;
        const char* refused = nullptr;
        if (bytes >= kHeader + kMinFrame && bytes - kHeader <= kMaxBigFrame) {
            uint8_t raw[kHeader];
            gather(chain, 0, raw, kHeader);
            header = NetHeader::decode(raw);
            length = gather(chain, kHeader, frame, bytes - kHeader);
            refused = check_offload(header, sent, frame, length);
            taken = refused == nullptr;
        }
        tx.put(*owner_.ram, chain.head, 0);
        used = true;
        if (refused != nullptr && owner_.dropped != nullptr) {
            owner_.dropped(owner_.context, refused);
        }
    }
    if (used && tx.needs_interrupt(*owner_.ram)) {
        raise(kUsedBuffer);
    }
    return taken;
}

bool VirtioNet::undeliver(uint16_t chains, uint16_t used)
{
    queues_[0].untake(chains); // they stay the driver's
    queues_[0].unadd(used);
    dropped++;
    return false;
}

bool VirtioNet::deliver(const uint8_t* frame, size_t length, const NetHeader& sent)
{
    Virtqueue& rx = queues_[0];
    const size_t most = sent.gso() != NetHeader::kGsoNone ? kMaxBigFrame : kMaxFrame;
    if (!running() || length > most || !offloads().takes_whole(sent)) {
        dropped++;
        return false;
    }
    NetHeader header = sent;
    header.flags = negotiated(kGuestCsum) ? header.flags : 0; // 5.1.6.3.2: DATA_VALID only for GUEST_CSUM
    uint8_t raw[kHeader];
    header.encode(raw);
    // The header (its num_buffers filled in last) and the frame, over as
    // many chains as it takes: one without MRG_RXBUF (5.1.6.3.2). Their
    // used entries are shown to the driver together, the first first.
    const uint16_t most_chains = negotiated(kMrgRxbuf) ? rx.size : 1;
    const size_t total = kHeader + length;
    size_t done = 0;
    uint16_t chains = 0;
    uint8_t* num_buffers[2] = {};
    while (done < total) {
        if (chains == most_chains) {
            return undeliver(chains, chains);
        }
        Virtqueue::Chain chain;
        const char* why = nullptr;
        const Virtqueue::Take got = rx.take(*owner_.ram, chain, why);
        if (got != Virtqueue::Take::Got) {
            if (got == Virtqueue::Take::Broken) {
                needs_reset(why);
            }
            return undeliver(chains, chains);
        }
        if (chain.readable_count != 0 || (chains == 0 && chain.writable_bytes < kHeader)) {
            return undeliver(static_cast<uint16_t>(chains + 1), chains);
        }
        size_t at = 0;
        if (chains == 0) {
            scatter(chain, 0, raw, kHeader);
            num_buffers[0] = writable_byte(chain, 10);
            num_buffers[1] = writable_byte(chain, 11);
            at = done = kHeader;
        }
        const size_t n = chain.writable_bytes - at < total - done ? chain.writable_bytes - at : total - done;
        scatter(chain, at, frame + (done - kHeader), n);
        done += n;
        rx.add_used(*owner_.ram, chain.head, static_cast<uint32_t>(at + n));
        chains++;
    }
    *num_buffers[0] = static_cast<uint8_t>(chains);
    *num_buffers[1] = static_cast<uint8_t>(chains >> 8);
    rx.publish(*owner_.ram);
    if (rx.needs_interrupt(*owner_.ram)) {
        raise(kUsedBuffer);
    }
    return true;
}
