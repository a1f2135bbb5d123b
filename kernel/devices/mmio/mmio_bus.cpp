#include "kernel/devices/mmio/mmio_bus.hpp"

bool MmioBus::add(uint64_t base, uint64_t size, MmioDevice& device)
{
    if (count_ == kMaxRegions || size == 0 || base + size < base) {
        return false;
    }
    for (size_t i = 0; i < count_; i++) {
        if (base < regions_[i].base + regions_[i].size && regions_[i].base < base + size) {
            return false;
        }
    }
    regions_[count_++] = {base, size, &device};
    return true;
}

const MmioBus::Region* MmioBus::scan(uint64_t ipa, unsigned size) const
{
    for (size_t i = 0; i < count_; i++) {
        if (holds(regions_[i], ipa, size)) {
            __atomic_store_n(&last_, i, __ATOMIC_RELAXED);
            return &regions_[i];
        }
    }
    return nullptr;
}

bool MmioBus::overlaps(uint64_t ipa, uint64_t size) const
{
    for (size_t i = 0; i < count_; i++) {
        const Region& r = regions_[i];
        if (ipa < r.base + r.size && r.base < ipa + size) {
            return true;
        }
    }
    return false;
}

const MmioDevice* MmioBus::device_at(uint64_t ipa, unsigned size, uint64_t& offset) const
{
    const Region* r = find(ipa, size);
    if (r == nullptr) {
        return nullptr;
    }
    offset = ipa - r->base;
    return r->device;
}
