#include "kernel/vm/channels.hpp"

#include "kernel/console/console.hpp"
#include "kernel/mem/bulk.hpp"
#include "kernel/mem/memory.hpp"

namespace vm_channels {
namespace {

constinit Channel channels[channel_config::kMaxChannels] = {};
constinit size_t channel_count = 0;

} // namespace

void set_up(const ChannelConfig* configs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const ChannelConfig& c = configs[i];
        if (!c.ok) {
            log_error("%s", c.error);
            log_error("channel %s not set up", c.name);
            continue;
        }
        if (channel_count == channel_config::kMaxChannels) {
            break; // channel_config::parse() has refused the rest
        }
        const uint64_t pa = memory::phys().alloc(c.size, PhysAllocator::kPage);
        if (pa == 0) {
            log_error("channel %s: no %s of free RAM for its region", c.name, size_text(c.size).text);
            continue;
        }
        // Zeroed to the point of coherency: a guest with its caches off
        // reads memory, not Vireo's cache lines (Arm ARM D7.5.8).
        bulk::zero_to_poc(reinterpret_cast<void*>(pa), c.size);
        Channel& ch = channels[channel_count++];
        ch.config = &c;
        ch.pa = pa;
        ch.ports.count = static_cast<uint32_t>(c.member_count);
        console::Line line;
        line.add("channel %s: %s at 0x%lx,", c.name, size_text(c.size).text, pa);
        for (size_t m = 0; m < c.member_count; m++) {
            line.add(" %s%s", c.members[m].vm, c.members[m].writable ? "" : " (read-only)");
        }
        line.print();
    }
}

size_t count() { return channel_count; }

Channel& at(size_t index) { return channels[index]; }

} // namespace vm_channels
