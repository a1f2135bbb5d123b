#include "kernel/console/monitor_views.hpp"

#include "kernel/console/console.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/mem/colours.hpp"
#include "kernel/mem/memory.hpp"
#include "kernel/mem/objects.hpp"
#include "kernel/vm/channels.hpp"
#include "kernel/vm/pci.hpp"
#include "platform/cpu.hpp"
#include "platform/format.hpp"

namespace monitor::views {
namespace {

using namespace detail;

// `top`: running, when it last drew, and each CPU's figures then.
constinit bool top_on = false;
constinit uint64_t top_at = 0;
struct CpuMark {
    uint64_t guest, idle, exits, injected;
};
constinit CpuMark cpu_top[VIREO_MAX_CPUS] = {};

/// Percent of `part` in `whole`, at most 100 (the counts are read a little apart).
uint64_t percent(uint64_t part, uint64_t whole)
{
    const uint64_t p = whole != 0 ? part * 100 / whole : 0;
    return p < 100 ? p : 100;
}
/// Events per second: `count` over `ticks`.
uint64_t per_second(uint64_t count, uint64_t ticks) { return ticks != 0 ? count * arch::read_cntfrq() / ticks : 0; }

void draw_top()
{
    const uint64_t now = arch::counter();
    const uint64_t interval = now - top_at;
    const Tenths over = seconds(interval);
    console::print("top: the last %lu.%lu s (any key returns to the monitor; VM output is held until then)\n",
                   over.whole, over.tenth);
    CpuMark cpus[VIREO_MAX_CPUS] = {};
    for (size_t i = 0; i < vms::count(); i++) {
        Vm& vm = *vms::at(i);
        console::print("vm %lu %s (%s):\n", i + 1, vm.name, vm_state(vm));
        for (uint32_t n = 0; n < vm.vcpu_count; n++) {
            Vcpu& v = vm.vcpus[n];
            const VcpuStats s = snapshot(v);
            const VcpuStats& last = v.stats_top;
            const uint64_t guest = s.guest_ticks - last.guest_ticks;
            const uint64_t vireo = vireo_ticks(s) - vireo_ticks(last);
            const uint64_t exits = total_exits(s) - total_exits(last);
            const uint64_t injected = s.injected - last.injected;
            const uint64_t other = interval > guest + vireo ? interval - guest - vireo : 0;
            console::print("  vcpu %u on cpu %u: %lu exits/s, %lu interrupts/s; guest %lu%%, Vireo %lu%%, waiting or "
                           "off the CPU %lu%%\n",
                           n, v.pcpu, per_second(exits, interval), per_second(injected, interval),
                           percent(guest, interval), percent(vireo, interval), percent(other, interval));
            v.stats_top = s;
            CpuMark& c = cpus[v.pcpu % VIREO_MAX_CPUS];
            c.guest += s.guest_ticks;
            c.exits += total_exits(s);
            c.injected += s.injected;
        }
    }
    for (uint32_t c = 0; c < VIREO_MAX_CPUS; c++) {
        if (!__atomic_load_n(&vireo_cpus[c].online, __ATOMIC_ACQUIRE)) {
            continue;
        }
        CpuMark& m = cpus[c];
        m.idle = __atomic_load_n(&vireo_cpus[c].idle_ticks, __ATOMIC_RELAXED);
        const CpuMark& last = cpu_top[c];
        const uint64_t guest = m.guest - last.guest;
        const uint64_t idle = m.idle - last.idle;
        const uint64_t busy = guest + idle < interval ? interval - guest - idle : 0; // Vireo's, for all its vCPUs
        console::print("cpu %u: %lu exits/s, %lu interrupts/s; guest %lu%%, Vireo %lu%%, idle %lu%%\n", c,
                       per_second(m.exits - last.exits, interval), per_second(m.injected - last.injected, interval),
                       percent(guest, interval), percent(busy, interval), percent(idle, interval));
        cpu_top[c] = m;
    }
    top_at = now;
}

void refresh_top()
{
    if (!top_on) {
        return;
    }
    draw_top();
    irq::call_at(top_at + arch::read_cntfrq(), refresh_top);
}

void raised_line(const Vm& vm, const char* what, uint64_t base, uint32_t intid)
{
    console::print("  %s at 0x%lx: INTID %u (raised %lu)\n", what, base, intid, vm.vgic.raised_count(intid));
}

} // namespace

void net()
{
    bool any = false;
    for (size_t i = 0; i < vms::count(); i++) {
        Vm& vm = *vms::at(i);
        for (uint32_t n = 0; n < vm.net_port_count; n++) {
            vm_networks::NetPort& port = vm.net_ports[n];
            const vm_networks::NetPort::Counts c = port.counts();
            const uint8_t* mac = port.mac();
            console::print(
                "network %s: vm %s, %02x:%02x:%02x:%02x:%02x:%02x: out %lu frames, %lu bytes; in %lu frames, "
                "%lu bytes\n",
                port.network_name(), vm.name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], c.sent, c.bytes_sent,
                c.received, c.bytes_received);
            console::print("  lost for want of a receive buffer %lu; dropped by the switch: %lu from other addresses, "
                           "%lu broadcast over its share, %lu to no one; NEEDS_RESET %lu times\n",
                           c.no_buffer, c.refused.spoofed, c.refused.storm, c.refused.unknown, c.needed_reset);
            any = true;
        }
    }
    for (size_t i = 0; i < vm_channels::count(); i++) {
        const vm_channels::Channel& ch = vm_channels::at(i);
        console::Line line;
        line.add("channel %s:", ch.config->name);
        for (uint32_t m = 0; m < ch.ports.count; m++) {
            const Doorbell* d = ch.ports.at(m);
            if (d == nullptr) {
                line.add("%s %s not started", m == 0 ? "" : ",", ch.config->members[m].vm);
            } else {
                line.add("%s %s rang %lu, rung %lu", m == 0 ? "" : ",", ch.config->members[m].vm, d->rings_sent(),
                         d->rings_got());
            }
        }
        line.print();
        any = true;
    }
    if (!any) {
        console::print("net: no virtual networks or channels\n");
    }
}

void dev(Vm& vm)
{
    const VmConfig& config = *vm.spec->config;
    console::print("vm %s devices (how many times each device's interrupt was raised since boot):\n", vm.name);
    console::print("  virtual GIC v%u at 0x%lx (SGIs, timers and LPIs: stat counts every interrupt injected)\n",
                   vgic::version(), Vgic::kGicdBase);
    raised_line(vm, "PL011", kUartBase, kUartIntid);
    if (config.test_device) {
        console::print("  test device at 0x%lx\n", kTestDeviceBase);
    }
    for (uint32_t n = 0; n < vm.net_port_count; n++) {
        char what[64];
        format(what, sizeof what, "network %s (virtio-net)", vm.net_ports[n].network_name());
        raised_line(vm, what, vm_networks::device_ipa(n), vm_networks::intid(n));
    }
    for (uint32_t k = 0; k < channel_config::kMaxPerVm; k++) {
        if ((vm.doorbell_mask >> k & 1) != 0) {
            const Doorbell& d = vm.doorbells[k];
            char what[64];
            format(what, sizeof what, "channel doorbell %u (region at 0x%lx)", k, d.region().ipa);
            raised_line(vm, what, channel_config::doorbell_ipa(k), channel_config::intid(k));
        }
    }
    for (size_t i = 0; i < config.passthrough_count; i++) {
        const PassthroughDevice& p = config.passthrough[i];
        console::Line line;
        line.add("  passthrough %s at 0x%lx (+0x%lx)", p.name, p.base, p.size);
        for (size_t n = 0; n < p.intids.count; n++) {
            line.add("%s INTID %u (raised %lu)", n == 0 ? ":" : ",", p.intids[n], vm.vgic.raised_count(p.intids[n]));
        }
        line.print();
    }
    for (size_t i = 0; vm.pci != nullptr && i < vm.pci->count; i++) {
        const vm_pci::Function& f = vm.pci->functions[i];
        if (f.intid != 0) {
            console::print("  PCIe function %s: INTx INTID %u (raised %lu)%s\n", f.name, f.intid,
                           vm.vgic.raised_count(f.intid), f.its_device != 0 ? "; MSIs as LPIs" : "");
        } else {
            console::print("  PCIe function %s%s\n", f.name, f.its_device != 0 ? ": MSIs as LPIs" : "");
        }
    }
    for (size_t i = 0; i < vm.region_count; i++) {
        const RegionConfig& r = *vm.regions[i].config;
        static const char* const kTypes[] = {"ROM", "RAM", "flash"};
        console::print("  region %s: %s at 0x%lx (+0x%lx)\n", r.name, kTypes[static_cast<int>(r.type)], r.base, r.size);
    }
}

void start_top()
{
    // The first view covers the time since the last one (or boot): it starts the marks.
    console::hold_guests(true);
    top_on = true;
    refresh_top();
}

void stop_top()
{
    top_on = false;
    irq::call_at(0, nullptr);
    console::hold_guests(false);
}

bool top_running() { return top_on; }

namespace {

/// Vireo's own pages behind the VMs (their records, vCPUs, RAM state and
/// stage-2 tables), each checked against `vireo-colours` when it has some.
void own_colours(uint32_t count)
{
    const uint64_t allowed = memory::own_colours();
    uint64_t pages = 0, wrong = 0, first_wrong = 0;
    auto check = [&](uint64_t pa) {
        pages++;
        if (allowed != 0 && !(allowed >> colours::of(pa, count) & 1) && wrong++ == 0) {
            first_wrong = pa;
        }
    };
    auto check_objects = [&](const void* objects, uint64_t bytes) {
        const auto va = reinterpret_cast<uint64_t>(objects);
        for (uint64_t offset = 0; objects != nullptr && offset < bytes; offset += colours::kPage) {
            check(memory::own_phys(reinterpret_cast<const void*>(va + offset)));
        }
    };
    for (size_t i = 0; i < vms::count(); i++) {
        const Vm& vm = *vms::at(i);
        check_objects(&vm, memory::object_bytes<Vm>(1));
        check_objects(vm.vcpus, memory::object_bytes<Vcpu>(vm.vcpu_count));
        check_objects(vm.ram_ready, memory::object_bytes<uint64_t>(Vm::ram_state_words(vm.ram_size)));
        vm.stage2_table().for_each_table_page(check);
    }
    if (allowed == 0) {
        console::print("vireo: not coloured: %lu pages of VM state and stage-2 tables, of any colour\n", pages);
        return;
    }
    char set[160];
    colours::describe(allowed, set, sizeof set);
    if (wrong == 0) {
        console::print("vireo: colours %s: %lu pages of VM state and stage-2 tables, every one of its colours\n", set,
                       pages);
    } else {
        console::print("vireo: colours %s: %lu pages of VM state and stage-2 tables, %lu of other colours (the first: "
                       "PA 0x%lx, colour %u)\n",
                       set, pages, wrong, first_wrong, colours::of(first_wrong, count));
    }
}

} // namespace

void colours()
{
    const uint32_t count = memory::page_colours();
    console::print("page colours of the last-level cache: %u\n", count);
    own_colours(count);
    for (size_t i = 0; i < vms::count(); i++) {
        const Vm& vm = *vms::at(i);
        // Each page of its RAM that stage 2 maps, wherever it is mapped
        // (a page, or inside a block): the physical page it reaches.
        const PageTable table = vm.stage2_table();
        const uint64_t allowed = vm.coloured() ? vm.colours : ~0ull;
        uint64_t mapped = 0, wrong = 0, first_wrong_ipa = 0, first_wrong_pa = 0;
        for (uint64_t offset = 0; offset < vm.ram_size; offset += colours::kPage) {
            uint64_t pa = 0;
            if (table.lookup(vm.ram_ipa + offset, &pa) == MemType::Unmapped) {
                continue;
            }
            mapped++;
            if (!(allowed >> colours::of(pa, count) & 1) && wrong++ == 0) {
                first_wrong_ipa = vm.ram_ipa + offset;
                first_wrong_pa = pa;
            }
        }
        if (!vm.coloured()) {
            console::print("vm %s: not coloured: %lu pages mapped, of any colour\n", vm.name, mapped);
            continue;
        }
        char set[160];
        colours::describe(vm.colours, set, sizeof set);
        if (wrong == 0) {
            console::print("vm %s: colours %s: %lu pages mapped, every one of its colours\n", vm.name, set, mapped);
        } else {
            console::print("vm %s: colours %s: %lu pages mapped, %lu of other colours (the first: IPA 0x%lx at PA "
                           "0x%lx, colour %u)\n",
                           vm.name, set, mapped, wrong, first_wrong_ipa, first_wrong_pa,
                           colours::of(first_wrong_pa, count));
        }
    }
}

} // namespace monitor::views
