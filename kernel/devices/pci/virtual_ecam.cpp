#include "kernel/devices/pci/virtual_ecam.hpp"

namespace {

constexpr uint64_t kFunctionShift = 12; // 4 KiB of config space per function

bool access_ok(uint64_t offset, unsigned size)
{
    return offset < VirtualEcam::kSize &&
           PciConfigSpace::access_ok(static_cast<uint32_t>(offset % PciConfigSpace::kSize), size);
}

} // namespace

bool VirtualEcam::add(uint32_t device, uint32_t function, PciConfigSpace& space)
{
    if (device >= kDevices || function >= kFunctions || count_ == kMaxFunctions) {
        return false;
    }
    const uint32_t devfn = device << 3 | function;
    if (find(uint64_t{devfn} << kFunctionShift) != nullptr) {
        return false;
    }
    entries_[count_++] = {devfn, &space};
    return true;
}

PciConfigSpace* VirtualEcam::find(uint64_t offset) const
{
    for (size_t i = 0; i < count_; i++) {
        if (entries_[i].devfn == offset >> kFunctionShift) {
            return entries_[i].space;
        }
    }
    return nullptr;
}

bool VirtualEcam::read(uint32_t, uint64_t offset, unsigned size, uint64_t& value)
{
    if (!access_ok(offset, size)) {
        return false;
    }
    PciConfigSpace* space = find(offset);
    uint32_t read = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    if (space != nullptr) {
        space->read(static_cast<uint32_t>(offset % PciConfigSpace::kSize), size, read);
    }
    value = read;
    return true;
}

bool VirtualEcam::write(uint32_t, uint64_t offset, unsigned size, uint64_t value)
{
    if (!access_ok(offset, size)) {
        return false;
    }
    if (PciConfigSpace* space = find(offset)) {
        space->write(static_cast<uint32_t>(offset % PciConfigSpace::kSize), size, static_cast<uint32_t>(value));
    }
    return true;
}

const char* VirtualEcam::refusal(uint64_t offset, unsigned size, bool) const
{
    if (offset >= kSize) {
        return "past bus 0's configuration space";
    }
    return size == 8 ? "configuration space takes 1-, 2- and 4-byte accesses"
                     : "an access not aligned to its size (PCIe Base 7.2.2)";
}

void VirtualEcam::reset()
{
    for (size_t i = 0; i < count_; i++) {
        entries_[i].space->reset();
    }
}
