#include "kernel/console/monitor.hpp"

#include <string.h>

#include "kernel/console/console.hpp"
#include "kernel/console/input.hpp"
#include "kernel/console/monitor_line.hpp"
#include "kernel/console/monitor_views.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/cpu.hpp"

namespace monitor {
namespace detail {

const char* vm_state(const Vm& vm)
{
    if (!__atomic_load_n(&vm.running, __ATOMIC_ACQUIRE)) {
        return vm.crashed ? "crashed" : "stopped";
    }
    return __atomic_load_n(&vm.vcpus[0].work, __ATOMIC_ACQUIRE) != nullptr ? "resetting" : "running";
}

/// Tenths of a second in `ticks` of the counter, as "S.T".
Tenths seconds(uint64_t ticks)
{
    const uint64_t freq = arch::read_cntfrq();
    const uint64_t t = ticks * 10 / freq;
    return {t / 10, t % 10};
}

/// A word-by-word copy of `v`'s statistics (its CPU keeps counting).
VcpuStats snapshot(const Vcpu& v)
{
    VcpuStats s;
    const auto* from = reinterpret_cast<const volatile uint64_t*>(&v.stats);
    auto* to = reinterpret_cast<uint64_t*>(&s);
    for (size_t i = 0; i < sizeof s / sizeof(uint64_t); i++) {
        to[i] = from[i];
    }
    return s;
}

uint64_t total_exits(const VcpuStats& s)
{
    uint64_t n = 0;
    for (uint64_t e : s.exits) {
        n += e;
    }
    return n;
}

uint64_t vireo_ticks(const VcpuStats& s)
{
    uint64_t n = 0;
    for (uint64_t t : s.vireo_ticks) {
        n += t;
    }
    return n;
}

Vm* find_vm(const char* word)
{
    // A name, or a number in start order (as Ctrl-] N counts).
    uint64_t number = 0;
    bool digits = word[0] != '\0';
    for (const char* p = word; *p != '\0'; p++) {
        digits = digits && *p >= '0' && *p <= '9' && number < 1000;
        number = number * 10 + static_cast<uint64_t>(*p - '0');
    }
    for (size_t i = 0; i < vms::count(); i++) {
        Vm* vm = vms::at(i);
        if (strcmp(vm->name, word) == 0 || (digits && number == i + 1)) {
            return vm;
        }
    }
    console::print("monitor: no VM '%s' (list shows them)\n", word);
    return nullptr;
}

} // namespace detail

namespace {

using namespace detail;

constinit bool in_monitor = false;
constinit LineEditor editor;
// The last `stat`'s physical-CPU figures, for the interval since.
constinit uint64_t shown_at = 0;
constinit uint64_t base_at = 0;
constinit uint64_t cpu_idle_shown[VIREO_MAX_CPUS] = {};
constinit uint64_t cpu_guest_shown[VIREO_MAX_CPUS] = {};

constexpr const char* kKindNames[VcpuStats::kKinds] = {
    "mmio", "mmio-decode", "cache-op", "hvc",   "smc", "sysreg", "wfi",
    "wfe",  "fpsimd",      "fault",    "undef", "irq", "fiq",    "serror",
};

void prompt() { console::print("vireo> "); }

const char* state_name(VcpuState s)
{
    switch (s) {
    case VcpuState::Off: return "off";
    case VcpuState::Runnable: return "runnable";
    case VcpuState::Running: return "running";
    case VcpuState::Blocked: return "blocked";
    case VcpuState::Stopped: return "stopped";
    }
    return "?";
}

void list()
{
    const uint64_t now = arch::counter();
    for (size_t i = 0; i < vms::count(); i++) {
        const Vm& vm = *vms::at(i);
        const Tenths up = seconds((vm.running ? now : vm.stopped_at) - vm.started_at);
        console::print("vm %lu %s: %s%s%s%s, %u vCPU%s, %lu MiB (%lu MiB touched), %s %lu.%lu s, %u reset%s\n", i + 1,
                       vm.name, vm_state(vm), vm.running ? "" : " (", vm.running ? "" : vm.stop_reason,
                       vm.running ? "" : ")", vm.vcpu_count, vm.vcpu_count == 1 ? "" : "s", vm.ram_size >> 20,
                       vm.ram_touched() >> 20, vm.running ? "up" : "ran", up.whole, up.tenth, vm.resets,
                       vm.resets == 1 ? "" : "s");
        const RamMapping m = vm.ram_mapping();
        const uint64_t mapped = m.pages * 4096 + m.blocks_2m * (2ull << 20) + m.blocks_1g * (1ull << 30);
        const uint64_t in_blocks = mapped - m.pages * 4096;
        console::print(
            "  ram: %lu 4 KiB pages, %lu 2 MiB blocks, %lu 1 GiB blocks (%lu%% of %lu MiB mapped in blocks)\n", m.pages,
            m.blocks_2m, m.blocks_1g, mapped != 0 ? in_blocks * 100 / mapped : 0, mapped >> 20);
        for (uint32_t n = 0; n < vm.vcpu_count; n++) {
            const Vcpu& v = vm.vcpus[n];
            console::print("  vcpu %u: cpu %u, %s%s\n", n, v.pcpu,
                           state_name(__atomic_load_n(&v.state, __ATOMIC_ACQUIRE)),
                           v.direct ? ", takes its interrupts directly" : "");
        }
    }
}

/// What went through each of the VM's network devices since it started.
void net_stats(Vm& vm)
{
    for (uint32_t n = 0; n < vm.net_port_count; n++) {
        vm_networks::NetPort& port = vm.net_ports[n];
        const vm_networks::NetPort::Counts c = port.counts();
        console::print("  network %s: %lu frames sent, %lu received, %lu lost for want of a receive buffer; "
                       "dropped: %lu from other addresses, %lu broadcast over its share, %lu to no one\n",
                       port.network_name(), c.sent, c.received, c.no_buffer, c.refused.spoofed, c.refused.storm,
                       c.refused.unknown);
    }
}

/// One VM's vCPUs: counts since the base, and the change since the last
/// `stat` (`mark`: remember this one as the last).
void vm_stats(Vm& vm, uint64_t interval, bool mark)
{
    console::print("vm %s (%s):\n", vm.name, vm_state(vm));
    for (uint32_t n = 0; n < vm.vcpu_count; n++) {
        Vcpu& v = vm.vcpus[n];
        const VcpuStats now = snapshot(v);
        const VcpuStats& base = v.stats_base;
        const VcpuStats& shown = v.stats_shown;
        const uint64_t exits = total_exits(now) - total_exits(base);
        const uint64_t delta = total_exits(now) - total_exits(shown);
        const uint64_t rate = interval != 0 ? delta * arch::read_cntfrq() / interval : 0;
        const uint64_t vireo = vireo_ticks(now) - vireo_ticks(base);
        console::print("  vcpu %u: %lu exits (+%lu, %lu/s), %lu ticks in the guest, %lu in Vireo, %lu interrupts "
                       "injected, %lu WFI blocks\n",
                       n, exits, delta, rate, now.guest_ticks - base.guest_ticks, vireo, now.injected - base.injected,
                       now.wfi_blocks - base.wfi_blocks);
        // By kind, four to a line: count (+change) and ticks in Vireo.
        console::Line line;
        unsigned on_line = 0;
        for (unsigned k = 0; k < VcpuStats::kKinds; k++) {
            const uint64_t count = now.exits[k] - base.exits[k];
            if (count == 0) {
                continue;
            }
            line.add("%s%s %lu (+%lu, %lu ticks)", on_line == 0 ? "    " : ", ", kKindNames[k], count,
                     now.exits[k] - shown.exits[k], now.vireo_ticks[k] - base.vireo_ticks[k]);
            if (++on_line == 4) {
                line.print(); // and empties it
                on_line = 0;
            }
        }
        if (on_line != 0) {
            line.print();
        }
        if (now.longest_ticks != 0) {
            const bool at_ipa = vcpu::is_stage2_abort(static_cast<vcpu::ExitKind>(now.longest_kind));
            console::print("    longest in Vireo at once: %lu ticks, %s %s 0x%lx\n", now.longest_ticks,
                           kKindNames[now.longest_kind % VcpuStats::kKinds], at_ipa ? "at IPA" : "from pc",
                           now.longest_where);
        }
        if (mark) {
            v.stats_shown = now;
        }
    }
    net_stats(vm);
}

/// Guest, Vireo and idle time of each physical CPU over the last interval, in percent.
void cpu_stats(uint64_t now, bool mark)
{
    const uint64_t interval = now - shown_at;
    for (uint32_t c = 0; c < VIREO_MAX_CPUS; c++) {
        if (!__atomic_load_n(&vireo_cpus[c].online, __ATOMIC_ACQUIRE)) {
            continue;
        }
        uint64_t guest = 0;
        for (size_t i = 0; i < vms::count(); i++) {
            const Vm& vm = *vms::at(i);
            for (uint32_t n = 0; n < vm.vcpu_count; n++) {
                const Vcpu& v = vm.vcpus[n];
                guest += v.pcpu == c ? __atomic_load_n(&v.stats.guest_ticks, __ATOMIC_RELAXED) : 0;
            }
        }
        const uint64_t idle = __atomic_load_n(&vireo_cpus[c].idle_ticks, __ATOMIC_RELAXED);
        const uint64_t g = guest - cpu_guest_shown[c];
        const uint64_t i = idle - cpu_idle_shown[c];
        const uint64_t pct_g = interval != 0 ? g * 100 / interval : 0;
        const uint64_t pct_i = interval != 0 ? i * 100 / interval : 0;
        const uint64_t pct_v = pct_g + pct_i < 100 ? 100 - pct_g - pct_i : 0;
        console::print("cpu %u: guest %lu%%, Vireo %lu%%, idle %lu%% of the last %lu ticks\n", c, pct_g, pct_v, pct_i,
                       interval);
        if (mark) {
            cpu_guest_shown[c] = guest;
            cpu_idle_shown[c] = idle;
        }
    }
    if (mark) {
        shown_at = now;
    }
}

void stat(const char* which)
{
    const uint64_t now = arch::counter();
    Vm* only = which[0] != '\0' ? find_vm(which) : nullptr;
    if (which[0] != '\0' && only == nullptr) {
        return;
    }
    const Tenths since = seconds(now - shown_at);
    console::print("stat: counts since %s; (+N) and rates over the last %lu.%lu s\n", base_at != 0 ? "stat -r" : "boot",
                   since.whole, since.tenth);
    for (size_t i = 0; i < vms::count(); i++) {
        Vm* vm = vms::at(i);
        if (only == nullptr || only == vm) {
            vm_stats(*vm, now - shown_at, true);
        }
    }
    cpu_stats(now, true);
}

void stat_reset()
{
    const uint64_t now = arch::counter();
    for (size_t i = 0; i < vms::count(); i++) {
        Vm& vm = *vms::at(i);
        for (uint32_t n = 0; n < vm.vcpu_count; n++) {
            vm.vcpus[n].stats_base = snapshot(vm.vcpus[n]);
            vm.vcpus[n].stats_shown = vm.vcpus[n].stats_base;
        }
    }
    cpu_stats(now, true); // the physical CPUs' marks (their lines: the interval that ended)
    base_at = now;
    console::print("stat: counters reset\n");
}

void help()
{
    console::print("monitor commands:\n"
                   "  list            VMs, their state, vCPUs, memory, uptime, resets\n"
                   "  stat [VM]       exits by kind, time in guest and Vireo, interrupts, WFI blocks\n"
                   "  stat -r         count from zero again\n"
                   "  stop VM         stop a VM (the machine stays on)\n"
                   "  restart VM      restart a VM from its images (as PSCI SYSTEM_RESET)\n"
                   "  start VM        start a stopped VM again, with fresh memory\n"
                   "  net             virtual networks and channels: traffic, drops, resets\n"
                   "  dev VM          a VM's devices, their addresses and interrupts\n"
                   "  top             rates every second until a key is pressed\n"
                   "  colours         each VM's RAM pages checked against its cache colours\n"
                   "  switch VM       give the console input to a VM (leaves the monitor)\n"
                   "  q               leave the monitor (or Ctrl-])\n"
                   "VM: a name, or a number as list shows it\n");
}

/// `action` on the VM `word` names, if it is running.
void on_running_vm(const char* word, void (*action)(Vm&))
{
    Vm* vm = find_vm(word);
    if (vm == nullptr) {
        return;
    }
    if (!__atomic_load_n(&vm->running, __ATOMIC_ACQUIRE)) {
        console::print("monitor: vm %s is not running (start starts it)\n", vm->name);
        return;
    }
    action(*vm);
}

void run(const Command& c)
{
    using Kind = Command::Kind;
    switch (c.kind) {
    case Kind::kEmpty: break;
    case Kind::kHelp: help(); break;
    case Kind::kList: list(); break;
    case Kind::kStat: stat(c.word); break;
    case Kind::kStatReset: stat_reset(); break;
    case Kind::kStop: on_running_vm(c.word, [](Vm& vm) { vm.stop_from_monitor(); }); break;
    case Kind::kRestart: on_running_vm(c.word, [](Vm& vm) { vm.reset(); }); break;
    case Kind::kStart:
        if (Vm* vm = find_vm(c.word); vm != nullptr && !vm->start_again()) {
            console::print("monitor: vm %s is running (restart restarts it)\n", vm->name);
        }
        break;
    case Kind::kNet: views::net(); break;
    case Kind::kColours: views::colours(); break;
    case Kind::kDev:
        if (Vm* vm = find_vm(c.word); vm != nullptr) {
            views::dev(*vm);
        }
        break;
    case Kind::kTop: views::start_top(); return; // the prompt comes back with a key
    case Kind::kSwitch:
        if (const Vm* vm = find_vm(c.word); vm != nullptr) {
            leave();
            console_input::give_input(vm->id);
            return;
        }
        break;
    case Kind::kQuit: leave(); return;
    case Kind::kUnknown: console::print("monitor: unknown command '%s' (help lists them)\n", c.word); break;
    case Kind::kNeedsVm: console::print("monitor: %s needs a VM (a name or number)\n", c.word); break;
    case Kind::kTooMany: console::print("monitor: too many words for '%s' (help)\n", c.word); break;
    }
    prompt();
}

} // namespace

bool active() { return in_monitor; }

void enter()
{
    in_monitor = true;
    editor.clear();
    console::print("\nmonitor: the VMs keep running; help lists commands, q or Ctrl-] leaves\n");
    prompt();
}

void leave()
{
    if (views::top_running()) {
        views::stop_top();
    }
    in_monitor = false;
    console::print("monitor: left; console input to the VM again\n");
}

void feed(uint8_t byte)
{
    if (views::top_running()) {
        views::stop_top(); // any key; it is not typed
        prompt();
        return;
    }
    switch (editor.feed(byte)) {
    case LineEditor::Event::kEcho: {
        const char c[2] = {static_cast<char>(byte), '\0'};
        console::print("%s", c);
        break;
    }
    case LineEditor::Event::kErase: console::print("\b \b"); break;
    case LineEditor::Event::kFull: console::print("\a"); break;
    case LineEditor::Event::kSubmit: {
        console::print("\n");
        const Command c = parse(editor.line());
        editor.clear();
        run(c);
        break;
    }
    case LineEditor::Event::kNone: break;
    }
}

void print_all_stats()
{
    const uint64_t now = arch::counter();
    console::print("statistics since boot:\n");
    for (size_t i = 0; i < vms::count(); i++) {
        vm_stats(*vms::at(i), now - shown_at, false);
    }
    cpu_stats(now, false);
}

} // namespace monitor
