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
constexpr uint64_t kFeatureMac = 1ull << 5;
constexpr uint64_t kFeatureStatus = 1ull << 16;
constexpr uint64_t kFeatureVersion1 = 1ull << 32;
constexpr uint64_t kFeatures = kFeatureMac | kFeatureStatus | kFeatureVersion1;
constexpr uint32_t kUsedBuffer = 1;
constexpr uint32_t kConfigChange = 2;
constexpr uint16_t kLinkUp = 1;
constexpr size_t kConfigSize = 8; // mac[6], status

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
        // FEATURES_OK only for a subset of what was offered, VERSION_1 included (this is not a legacy device).
        const bool acceptable = (driver_features_ & ~kFeatures) == 0 && (driver_features_ & kFeatureVersion1);
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

bool VirtioNet::take_frame(uint8_t* frame, size_t& length)
{
    Virtqueue& tx = queues_[1];
    while (running()) {
        Virtqueue::Chain chain;
        const char* why = nullptr;
        const Virtqueue::Take got = tx.take(*owner_.ram, chain, why);
        if (got == Virtqueue::Take::Empty) {
            return false;
        }
        if (got == Virtqueue::Take::Broken) {
            needs_reset(why);
            return false;
        }
        const uint64_t bytes = chain.readable_bytes;
        const bool fits = bytes >= kHeader + kMinFrame && bytes - kHeader <= kMaxFrame;
        if (fits) {
            length = gather(chain, kHeader, frame, bytes - kHeader);
        }
        tx.put(*owner_.ram, chain.head, 0);
        if (!tx.interrupts_suppressed(*owner_.ram)) {
            raise(kUsedBuffer);
        }
        if (fits) {
            return true;
        }
    }
    return false;
}

bool VirtioNet::deliver(const uint8_t* frame, size_t length)
{
    Virtqueue& rx = queues_[0];
    if (!running() || length > kMaxFrame) {
        dropped++;
        return false;
    }
    Virtqueue::Chain chain;
    const char* why = nullptr;
    const Virtqueue::Take got = rx.take(*owner_.ram, chain, why);
    if (got != Virtqueue::Take::Got) {
        if (got == Virtqueue::Take::Broken) {
            needs_reset(why);
        }
        dropped++;
        return false;
    }
    if (chain.writable_bytes < kHeader + length || chain.readable_count != 0) {
        rx.untake(); // too small for it: the frame is dropped, the chain stays the driver's
        dropped++;
        return false;
    }
    uint8_t header[kHeader] = {};
    header[10] = 1; // num_buffers: one chain holds the frame
    scatter(chain, 0, header, kHeader);
    scatter(chain, kHeader, frame, length);
    rx.put(*owner_.ram, chain.head, static_cast<uint32_t>(kHeader + length));
    if (!rx.interrupts_suppressed(*owner_.ram)) {
        raise(kUsedBuffer);
    }
    return true;
}
