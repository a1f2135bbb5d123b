// The MMIO bus of one VM: device models register guest-physical ranges and
// get decoded accesses. Anything else is the guest's fault.
#pragma once

#include <stddef.h>
#include <stdint.h>

/// A device model. Offsets are relative to the registered base; `size` is
/// 1, 2, 4 or 8; `vcpu` is the accessing vCPU's index in its VM (for banked
/// registers). Returning false makes the access fault in the guest; the
/// log line that says so names the device and gives its refusal().
class MmioDevice {
public:
    virtual bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) = 0;
    virtual bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) = 0;

    /// What the log calls it: "the doorbell".
    virtual const char* name() const { return "a device"; }
    /// Why it refused an access (read() or write() returned false for it),
    /// for the log: "a read-only register". Asked only then, so it may
    /// work the reason out again instead of every access recording one.
    virtual const char* refusal(uint64_t /*offset*/, unsigned /*size*/, bool /*write*/) const
    {
        return "no register there at that width";
    }

protected:
    ~MmioDevice() = default;
};

class MmioBus {
public:
    static constexpr size_t kMaxRegions = 16;

    /// False if the range overlaps another or the bus is full.
    bool add(uint64_t base, uint64_t size, MmioDevice& device);

    /// Dispatches one access of `size` bytes at `ipa`; false when no device
    /// covers the whole access or the device refused it.
    bool read(uint32_t vcpu, uint64_t ipa, unsigned size, uint64_t& value) const
    {
        const Region* r = find(ipa, size);
        return r != nullptr && r->device->read(vcpu, ipa - r->base, size, value);
    }
    bool write(uint32_t vcpu, uint64_t ipa, unsigned size, uint64_t value) const
    {
        const Region* r = find(ipa, size);
        return r != nullptr && r->device->write(vcpu, ipa - r->base, size, value);
    }

    /// Whether any device's range overlaps [ipa, ipa + size).
    bool overlaps(uint64_t ipa, uint64_t size) const;

    /// The device whose range holds the whole access of `size` bytes at
    /// `ipa`, with the access's offset in it; nullptr when there is none
    /// (for saying who refused a failed access, and why).
    const MmioDevice* device_at(uint64_t ipa, unsigned size, uint64_t& offset) const;

private:
    struct Region {
        uint64_t base;
        uint64_t size;
        MmioDevice* device;
    };

    static bool holds(const Region& r, uint64_t ipa, unsigned size)
    {
        return ipa >= r.base && ipa - r.base < r.size && size <= r.size - (ipa - r.base);
    }

    /// The region of the last access first: a guest's accesses come in runs
    /// to one device (a driver's loop, a benchmark), and the scan costs about
    /// 4 instructions a region. The hint is only a guess, shared by the VM's
    /// vCPUs on any CPU: relaxed atomics, and any value it holds is a valid
    /// index (an unused slot is empty and holds no access).
    const Region* find(uint64_t ipa, unsigned size) const
    {
        const Region& hinted = regions_[__atomic_load_n(&last_, __ATOMIC_RELAXED)];
        return holds(hinted, ipa, size) ? &hinted : scan(ipa, size);
    }
    const Region* scan(uint64_t ipa, unsigned size) const; // and sets the hint

    Region regions_[kMaxRegions] = {};
    size_t count_ = 0;
    mutable size_t last_ = 0; // find()'s hint: the region the last access hit
};
