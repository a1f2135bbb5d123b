// The little of a modern virtio-pci driver (virtio 1.2, 4.1) the test
// guests need for a PCIe function of their own: the vendor-specific
// capabilities that say where in its BARs the common configuration, the
// notification area, the ISR and the device configuration lie; reset,
// feature negotiation and one split virtqueue (virtqueue.hpp) per queue.
// Also the MSI-X capability (PCI Local Bus 3.0, 6.8.2), to find its table.
#pragma once

#include <stdint.h>

#include "gic.hpp"
#include "guest.hpp"
#include "pci.hpp"

namespace guest::virtio_pci {

constexpr uint8_t kCapVendor = 0x09;
constexpr uint8_t kCapMsix = 0x11;

// struct virtio_pci_cap's cfg_type (4.1.4).
constexpr uint8_t kCommonCfg = 1, kNotifyCfg = 2, kIsrCfg = 3, kDeviceCfg = 4;

// struct virtio_pci_common_cfg (4.1.4.3).
constexpr uint64_t kDeviceFeatureSelect = 0x00, kDeviceFeature = 0x04, kDriverFeatureSelect = 0x08,
                   kDriverFeature = 0x0c, kMsixConfig = 0x10, kDeviceStatus = 0x14, kQueueSelect = 0x16,
                   kQueueSize = 0x18, kQueueMsixVector = 0x1a, kQueueEnable = 0x1c, kQueueNotifyOff = 0x1e,
                   kQueueDesc = 0x20, kQueueDriver = 0x28, kQueueDevice = 0x30;

// Device status (2.1) and the feature bits every modern device has (6).
constexpr uint8_t kAcknowledge = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kNeedsReset = 0x40;
constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint64_t kAccessPlatform = 1ull << 33; // the device's DMA goes through the platform's IOMMU
constexpr uint16_t kNoVector = 0xffff;

// MSI-X (PCI Local Bus 3.0, 6.8.2): Message Control in the upper half of
// the capability's first dword, the table's BIR and offset in its second.
constexpr uint32_t kMsixEnable = 1u << 31;
constexpr uint32_t kMsixTable = 0x04;
constexpr uint32_t kMsixEntry = 16; // address low, high, data, vector control (bit 0: masked)

using pci::find_capability;

/// Where BAR `index` decodes (a 64-bit one takes the next BAR's upper half).
inline uint64_t bar_address(const pci::Function& fn, uint32_t index)
{
    const uint32_t low = fn.read32(pci::kBar0 + 4 * index);
    const bool wide = (low & 6) == 4; // memory BAR type 10b
    return (low & pci::kBarAddressMask) | (wide ? uint64_t{fn.read32(pci::kBar0 + 4 * index + 4)} << 32 : 0);
}

struct Device {
    uint64_t common = 0;
    uint64_t notify = 0;
    uint32_t notify_multiplier = 0;
    uint64_t isr = 0;
    uint64_t config = 0;

    /// The four structures from the function's vendor-specific
    /// capabilities: {cfg_type, bar} in bytes 3-4, offset at 8 (4.1.4).
    bool find(const pci::Function& fn)
    {
        uint32_t at = find_capability(fn, kCapVendor);
        for (int n = 0; at >= 0x40 && n < 48; n++, at = fn.read32(at) >> 8 & 0xfc) {
            if ((fn.read32(at) & 0xff) != kCapVendor) {
                continue;
            }
            const uint8_t type = static_cast<uint8_t>(fn.read32(at) >> 24);
            const uint64_t where = bar_address(fn, fn.read32(at + 4) & 0xff) + fn.read32(at + 8);
            switch (type) {
            case kCommonCfg: common = where; break;
            case kNotifyCfg:
                notify = where;
                notify_multiplier = fn.read32(at + 16);
                break;
            case kIsrCfg: isr = where; break;
            case kDeviceCfg: config = where; break;
            default: break;
            }
        }
        return common != 0 && notify != 0 && isr != 0 && config != 0;
    }

    template <typename T> T read(uint64_t base, uint64_t off) const
    {
        return *reinterpret_cast<volatile T*>(base + off);
    }
    template <typename T> void write(uint64_t base, uint64_t off, T v) const
    {
        *reinterpret_cast<volatile T*>(base + off) = v;
    }
    uint8_t status() const { return read<uint8_t>(common, kDeviceStatus); }
    void set_status(uint8_t s) const { write<uint8_t>(common, kDeviceStatus, s); }

    /// Writing 0 resets the device; it is done when status reads 0 again
    /// (4.1.4.3.2), which QEMU's is at once. Whether it was within 100 ms.
    bool reset() const
    {
        set_status(0);
        const uint64_t begin = counter();
        while (status() != 0) {
            if (counter() - begin > gic::frequency() / 10) {
                return false;
            }
        }
        return true;
    }

    uint64_t offered() const
    {
        write<uint32_t>(common, kDeviceFeatureSelect, 0);
        const uint64_t low = read<uint32_t>(common, kDeviceFeature);
        write<uint32_t>(common, kDeviceFeatureSelect, 1);
        return low | uint64_t{read<uint32_t>(common, kDeviceFeature)} << 32;
    }

    /// Reset, ACKNOWLEDGE, DRIVER, `features` and FEATURES_OK (3.1.1):
    /// whether the device kept FEATURES_OK, i.e. accepted them.
    bool negotiate(uint64_t features) const
    {
        if (!reset()) {
            return false;
        }
        set_status(kAcknowledge | kDriver);
        write<uint32_t>(common, kDriverFeatureSelect, 0);
        write<uint32_t>(common, kDriverFeature, static_cast<uint32_t>(features));
        write<uint32_t>(common, kDriverFeatureSelect, 1);
        write<uint32_t>(common, kDriverFeature, static_cast<uint32_t>(features >> 32));
        set_status(kAcknowledge | kDriver | kFeaturesOk);
        return (status() & kFeaturesOk) != 0;
    }

    /// Queue `index` of `size` entries at the given bus addresses, its
    /// interrupts to MSI-X vector `vector`, then enabled.
    void setup_queue(uint16_t index, uint16_t size, uint64_t desc, uint64_t driver, uint64_t device,
                     uint16_t vector = kNoVector) const
    {
        write<uint16_t>(common, kQueueSelect, index);
        write<uint16_t>(common, kQueueSize, size);
        write<uint16_t>(common, kQueueMsixVector, vector);
        write<uint64_t>(common, kQueueDesc, desc);
        write<uint64_t>(common, kQueueDriver, driver);
        write<uint64_t>(common, kQueueDevice, device);
        write<uint16_t>(common, kQueueEnable, 1);
    }

    void driver_ok() const { set_status(kAcknowledge | kDriver | kFeaturesOk | kDriverOk); }
    bool needs_reset() const { return (status() & kNeedsReset) != 0; }

    /// Tells the device that queue `index` has new buffers (4.1.4.4): its
    /// notification address is the area's start plus queue_notify_off
    /// times the multiplier.
    void notify_queue(uint16_t index) const
    {
        write<uint16_t>(common, kQueueSelect, index);
        const uint64_t off = uint64_t{read<uint16_t>(common, kQueueNotifyOff)} * notify_multiplier;
        // The buffers and the available index, written to RAM, reach the
        // device before it is told (Device-nGnRnE RAM with the MMU off is
        // ordered against the BAR only by a barrier, as in edu.hpp).
        asm volatile("dsb sy" ::: "memory");
        write<uint16_t>(notify, off, index);
    }
};

} // namespace guest::virtio_pci
