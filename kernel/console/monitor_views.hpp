// The monitor's views of what goes on (docs/monitor.md): `net` (virtual
// networks and channels), `dev VM` (a VM's devices and their interrupts)
// and `top` (rates, refreshed every second), and the helpers they share
// with the commands in monitor.cpp.
#pragma once

#include <stdint.h>

#include "kernel/vm/vm.hpp"

namespace monitor {
namespace detail {

/// Tenths of a second in `ticks` of the counter, as "S.T".
struct Tenths {
    uint64_t whole, tenth;
};
Tenths seconds(uint64_t ticks);
/// A word-by-word copy of `v`'s statistics (its CPU keeps counting).
VcpuStats snapshot(const Vcpu& v);
uint64_t total_exits(const VcpuStats& s);
/// Ticks in Vireo, of every exit kind.
uint64_t vireo_ticks(const VcpuStats& s);
const char* vm_state(const Vm& vm);
/// The VM a name or start-order number names, or nullptr (and a line saying so).
Vm* find_vm(const char* word);

} // namespace detail

namespace views {

/// Every virtual network port and every channel member: traffic and trouble.
void net();
/// `vm`'s devices: addresses and interrupts, and how often each interrupt was injected.
void dev(Vm& vm);
/// Every VM's RAM as its stage 2 maps it, each page's colour checked
/// against the VM's colours (docs/config.md, "Cache colouring").
void colours();
/// Starts `top`: the view now and every second after, guest output held
/// back meanwhile, until stop_top().
void start_top();
void stop_top();
bool top_running();

} // namespace views
} // namespace monitor
