#include "kernel/vm/regions.hpp"

#include <string.h>

#include "kernel/console/console.hpp"
#include "kernel/mem/bulk.hpp"
#include "kernel/mem/memory.hpp"
#include "kernel/mem/objects.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/cpu.hpp"

namespace {

constexpr uint64_t kBlock = 2ull << 20;

const char* type_name(RegionType type)
{
    switch (type) {
    case RegionType::Rom: return "rom";
    case RegionType::Ram: return "ram";
    case RegionType::Flash: return "flash";
    }
    return "?";
}

/// Makes what Vireo wrote to [p, p + size) visible to a guest that reads
/// it with its caches off or as Device memory (firmware maps flash so), and
/// to its instruction fetches where it may run code from it (Arm ARM
/// D7.5.8, D7.5.9: data and instruction caches are not coherent with each
/// other, nor with non-cacheable accesses).
void publish(const uint8_t* p, size_t size, bool executable)
{
    arch::clean_dcache_to_poc(p, size);
    if (executable) {
        asm volatile("ic ialluis\n\tdsb ish" ::: "memory");
    }
}

} // namespace

MemType VmRegion::mapped_type() const
{
    if (config->type == RegionType::Ram) {
        return config->executable ? MemType::Normal : MemType::NormalNoExec;
    }
    return config->executable ? MemType::NormalReadOnly : MemType::ReadOnlyNoExec;
}

bool VmRegion::read(uint32_t, uint64_t offset, unsigned size, uint64_t& value)
{
    if (config->type == RegionType::Flash) {
        LockGuard guard(lock_);
        return flash.read(offset, size, value);
    }
    // Mapped memory does not trap on reads; served anyway, as memory.
    if (offset >= config->size || size > config->size - offset) {
        return false;
    }
    value = 0;
    memcpy(&value, bytes() + offset, size);
    return true;
}

bool VmRegion::write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    if (config->type != RegionType::Flash) {
        // A ROM ignores stores, as QEMU's and real ones do.
        if (vm->should_log_fault()) {
            log_info("vm %s vcpu %u: write to ROM %s at IPA 0x%lx: dropped", vm->name, vcpu, config->name,
                     config->base + offset);
        }
        return true;
    }
    LockGuard guard(lock_);
    const uint32_t unknown = flash.unknown_commands();
    if (!flash.write(offset, size, value)) {
        return false;
    }
    if (flash.unknown_commands() != unknown && vm->should_log_fault()) {
        log_info("vm %s vcpu %u: flash %s: unknown command 0x%02lx at offset 0x%lx: back to read-array mode", vm->name,
                 vcpu, config->name, value & 0xff, offset);
    }
    if (flash.changed_end() > flash.changed_begin()) {
        publish(bytes() + flash.changed_begin(), flash.changed_end() - flash.changed_begin(), config->executable);
    }
    if (flash.array_mode() != mapped_) {
        set_mapped(flash.array_mode());
    }
    return true;
}

void VmRegion::set_mapped(bool mapped)
{
    PageTable table(memory::stage2_tables(), Regime::Stage2, vm->ipa_bits, vm->stage2.vttbr & pte::kAddrMask);
    // The bank's descriptors exist since the VM was built: this rewrites
    // them, allocating nothing.
    table.map(config->base, pa, config->size, mapped ? mapped_type() : MemType::Unmapped);
    if (mapped) {
        // Valid entries replace invalid ones, which no TLB holds (D8.16.1):
        // a barrier suffices for every CPU's walks to see them.
        asm volatile("dsb ish" ::: "memory");
    } else {
        // Valid entries went away: no CPU may still read the array through
        // its TLB once the model answers in another mode.
        vm->flush_stage2_tlbs();
    }
    mapped_ = mapped;
}

void VmRegion::reset(const uint8_t* contents, size_t contents_size)
{
    switch (config->type) {
    case RegionType::Rom: return; // nothing can have changed it
    case RegionType::Ram:
        bulk::copy(bytes(), contents, contents_size);
        bulk::zero(bytes() + contents_size, config->size - contents_size);
        publish(bytes(), config->size, config->executable);
        return;
    case RegionType::Flash: {
        LockGuard guard(lock_);
        flash.reset();
        if (!mapped_) {
            set_mapped(true);
        }
        return;
    }
    }
}

bool vm_regions::set_up(Vm& vm, const VmSpec& spec, PageTable& stage2)
{
    const VmConfig& config = *spec.config;
    static_assert(1 + VmConfig::kMaxRegions <= Stage2Context::kMaxSpans); // the RAM and the regions
    for (size_t i = 0; i < config.region_count; i++) {
        const RegionConfig& c = config.regions[i];
        VmRegion& r = vm.regions[i];
        r.config = &c;
        r.vm = &vm;
        if (c.base + c.size > 1ull << stage2.input_bits()) {
            log_error("vm %s: regions/%s [0x%lx, 0x%lx) lies beyond the %u-bit guest-physical addresses this CPU "
                      "supports",
                      config.name, c.name, c.base, c.base + c.size, stage2.input_bits());
            return false;
        }
        r.pa = memory::phys().alloc(c.size, c.size % kBlock == 0 ? kBlock : PhysAllocator::kPage);
        if (r.pa == 0) {
            log_error("vm %s: regions/%s: no %lu KiB of contiguous free RAM for it (largest run %lu KiB)", config.name,
                      c.name, c.size >> 10, memory::phys().largest_free() >> 10);
            return false;
        }
        vm.region_count = i + 1; // from here release() gives it back
        const size_t filled = spec.region_size[i];
        if (c.type == RegionType::Flash) {
            r.flash_locks = memory::make<uint8_t>(c.size / CfiFlash::kSectorSize);
            if (r.flash_locks == nullptr) {
                log_error("vm %s: regions/%s: no memory left for its lock bits", config.name, c.name);
                return false;
            }
            r.flash = CfiFlash(r.bytes(), c.size, r.flash_locks);
        }
        if (c.type != RegionType::Ram) { // RAM is filled by every reset, the first included
            bulk::copy(r.bytes(), spec.region_data[i], filled);
            bulk::fill(r.bytes() + filled, c.type == RegionType::Flash ? 0xff : 0, c.size - filled);
            publish(r.bytes(), c.size, c.executable);
        }
        if (!stage2.map(c.base, r.pa, c.size, r.mapped_type())) {
            log_error("vm %s: regions/%s: out of memory for its stage-2 tables", config.name, c.name);
            return false;
        }
        if (c.type != RegionType::Ram && !vm.bus.add(c.base, c.size, r)) {
            log_error("vm %s: regions/%s [0x%lx, 0x%lx): its MMIO bus is full or a device is there", config.name,
                      c.name, c.base, c.base + c.size);
            return false;
        }
        vm.stage2.spans[vm.stage2.span_count++] = {r.pa, c.size}; // after the RAM's
        log_info("vm %s: region %s [0x%lx, 0x%lx) %s%s%s%s%s", config.name, c.name, c.base, c.base + c.size,
                 type_name(c.type), c.executable ? ", executable" : "", c.contents != nullptr ? ", from \"" : "",
                 c.contents != nullptr ? c.contents : "", c.contents != nullptr ? "\"" : "");
    }
    return true;
}

void vm_regions::reset(Vm& vm)
{
    for (size_t i = 0; i < vm.region_count; i++) {
        vm.regions[i].reset(vm.spec->region_data[i], vm.spec->region_size[i]);
    }
}

void vm_regions::release(Vm& vm)
{
    for (size_t i = 0; i < vm.region_count; i++) {
        VmRegion& r = vm.regions[i];
        memory::phys().free(r.pa, r.config->size);
        if (r.flash_locks != nullptr) {
            memory::unmake(r.flash_locks, r.config->size / CfiFlash::kSectorSize);
        }
    }
    vm.region_count = 0;
}
