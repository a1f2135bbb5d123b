#include "kernel/devices/timer/ptimer.hpp"

#include "kernel/devices/gic/vgic.hpp"
#include "platform/cpu.hpp"
#include "vcpu/vcpu.hpp"

namespace ptimer {
namespace {

using vcpu::sysreg_encoding;

constexpr uint32_t kTval = sysreg_encoding(3, 3, 14, 2, 0);
constexpr uint32_t kCtl = sysreg_encoding(3, 3, 14, 2, 1);
constexpr uint32_t kCval = sysreg_encoding(3, 3, 14, 2, 2);

} // namespace

bool owns(const vcpu::SysRegAccess& access)
{
    const uint32_t e = access.encoding();
    return e == kTval || e == kCtl || e == kCval;
}

Outcome access(Vcpu& v, const vcpu::SysRegAccess& access)
{
    PhysTimer& t = v.ptimer;
    const uint64_t now = arch::counter();
    const uint32_t e = access.encoding();
    if (access.read) {
        uint64_t value = 0;
        if (e == kCtl) {
            value = t.ctl | (t.met(now) ? PhysTimer::kIstatus : 0);
        } else if (e == kCval) {
            value = t.cval;
        } else {
            value = static_cast<uint32_t>(t.cval - now); // TVAL: CVAL - CNTPCT, 32 bits
        }
        v.set_reg(access.rt, value);
        return Outcome::Continue;
    }
    const uint64_t value = v.reg(access.rt);
    if (e == kCtl) {
        t.ctl = value & (PhysTimer::kEnable | PhysTimer::kImask); // ISTATUS is read-only
    } else if (e == kCval) {
        t.cval = value;
    } else {
        t.cval = now + static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(value))); // signed TVAL
    }
    update(v);
    return Outcome::Yield;
}

void update(Vcpu& v)
{
    if (v.vgic != nullptr) {
        vgic::set_private_level(v, kIntid, v.ptimer.asserted(arch::counter()));
    }
}

uint64_t deadline(const Vcpu& v)
{
    const PhysTimer& t = v.ptimer;
    return t.armed() && t.cval > arch::counter() ? t.cval : ~0ull;
}

} // namespace ptimer
