#include "kernel/devices/uart/vpl011.hpp"

namespace {

// Register offsets (DDI 0183, 3.2).
constexpr uint64_t kDr = 0x000;
constexpr uint64_t kRsr = 0x004;
constexpr uint64_t kFr = 0x018;
constexpr uint64_t kIlpr = 0x020;
constexpr uint64_t kIbrd = 0x024;
constexpr uint64_t kFbrd = 0x028;
constexpr uint64_t kLcrH = 0x02c;
constexpr uint64_t kCr = 0x030;
constexpr uint64_t kIfls = 0x034;
constexpr uint64_t kImsc = 0x038;
constexpr uint64_t kRis = 0x03c;
constexpr uint64_t kMis = 0x040;
constexpr uint64_t kIcr = 0x044;
constexpr uint64_t kDmacr = 0x048;
constexpr uint64_t kId = 0xfe0;

// FR bits.
constexpr uint32_t kFrRxfe = 1u << 4;
constexpr uint32_t kFrRxff = 1u << 6;
constexpr uint32_t kFrTxfe = 1u << 7;

// UARTPeriphID0-3 (PL011 r1p5) and UARTPCellID0-3.
constexpr uint8_t kIds[8] = {0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

constexpr uint32_t kInterrupts = 0x7ff;

} // namespace

void VirtualPl011::reset()
{
    const Sink sink = sink_;
    const LineChanged line = line_changed_;
    void* const context = context_;
    *this = VirtualPl011{};
    connect(sink, line, context);
}

void VirtualPl011::update_line()
{
    if (irq_line() != line_) {
        line_ = !line_;
        if (line_changed_ != nullptr) {
            line_changed_(context_, line_);
        }
    }
}

bool VirtualPl011::receive(uint8_t byte)
{
    if (count_ == kFifo) {
        return false;
    }
    fifo_[(head_ + count_) % kFifo] = byte;
    count_++;
    ris_ |= kRx | kRxTimeout;
    update_line();
    return true;
}

bool VirtualPl011::read(uint32_t, uint64_t offset, unsigned size, uint64_t& value)
{
    // 32-bit registers; narrower reads see the low bits (the driver uses
    // byte reads of DR on some configurations).
    if (size > 4 || offset % 4 != 0) {
        return false;
    }
    uint32_t v = 0;
    switch (offset) {
    case kDr:
        if (count_ > 0) {
            v = fifo_[head_];
            head_ = (head_ + 1) % kFifo;
            count_--;
        }
        if (count_ == 0) {
            ris_ &= ~(kRx | kRxTimeout);
        }
        break;
    case kRsr: v = 0; break;
    case kFr: v = kFrTxfe | (count_ == 0 ? kFrRxfe : 0) | (count_ == kFifo ? kFrRxff : 0); break;
    case kIlpr: v = ilpr_; break;
    case kIbrd: v = ibrd_; break;
    case kFbrd: v = fbrd_; break;
    case kLcrH: v = lcr_h_; break;
    case kCr: v = cr_; break;
    case kIfls: v = ifls_; break;
    case kImsc: v = imsc_; break;
    case kRis: v = ris_; break;
    case kMis: v = ris_ & imsc_; break;
    case kDmacr: v = dmacr_; break;
    default:
        if (offset >= kId && offset < kId + 0x20) {
            v = kIds[(offset - kId) / 4];
        }
        break; // reserved registers read as zero
    }
    value = v;
    update_line();
    return true;
}

bool VirtualPl011::write(uint32_t, uint64_t offset, unsigned size, uint64_t value)
{
    if (size > 4 || offset % 4 != 0) {
        return false;
    }
    const auto v = static_cast<uint32_t>(value);
    switch (offset) {
    case kDr:
        if (sink_ != nullptr) {
            sink_(context_, static_cast<char>(v & 0xff));
        }
        ris_ |= kTx; // sent at once: the transmitter is empty again
        break;
    case kRsr: break; // clears errors: there are none
    case kIlpr: ilpr_ = v & 0xff; break;
    case kIbrd: ibrd_ = v & 0xffff; break;
    case kFbrd: fbrd_ = v & 0x3f; break;
    case kLcrH: lcr_h_ = v & 0xff; break;
    case kCr: cr_ = v & 0xff87; break;
    case kIfls: ifls_ = v & 0x3f; break;
    case kImsc: imsc_ = v & kInterrupts; break;
    case kIcr: ris_ &= ~(v & kInterrupts); break;
    case kDmacr: dmacr_ = v & 0x7; break;
    default: break; // read-only and reserved registers ignore writes
    }
    update_line();
    return true;
}
