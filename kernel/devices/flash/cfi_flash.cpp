#include "kernel/devices/flash/cfi_flash.hpp"

#include <string.h>

namespace {

// Commands (Intel/Sharp command set; CFI publication 100, JEDEC JESD68).
constexpr uint8_t kCmdReadArray = 0xff;
constexpr uint8_t kCmdAmdReset = 0xf0; // U-Boot's probe tries it first: a reset to read array here too
constexpr uint8_t kCmdReadStatus = 0x70;
constexpr uint8_t kCmdClearStatus = 0x50;
constexpr uint8_t kCmdReadId = 0x90;
constexpr uint8_t kCmdQuery = 0x98;
constexpr uint8_t kCmdProgram = 0x40;
constexpr uint8_t kCmdProgramAlt = 0x10;
constexpr uint8_t kCmdBufferedProgram = 0xe8;
constexpr uint8_t kCmdBlockErase = 0x20;
constexpr uint8_t kCmdLockSetup = 0x60;
constexpr uint8_t kCmdConfirm = 0xd0; // erase and buffered-program confirm, block unlock
constexpr uint8_t kCmdLock = 0x01;
constexpr uint8_t kCmdLockDown = 0x2f;

// An operation that did not get the command that should follow (a
// "command sequence error": both error bits).
constexpr uint8_t kSequenceError = CfiFlash::kStatusEraseError | CfiFlash::kStatusProgramError;

constexpr unsigned kChips = 2;
constexpr uint64_t kChipSector = CfiFlash::kSectorSize / kChips;

constexpr unsigned log2(uint64_t v)
{
    unsigned n = 0;
    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

} // namespace

uint8_t CfiFlash::query(unsigned index) const
{
    const uint64_t blocks = size_ / kSectorSize; // per chip, as per bank
    switch (index) {
    case 0x10: return 'Q';
    case 0x11: return 'R';
    case 0x12: return 'Y';
    case 0x13: return 0x01; // primary command set: Intel/Sharp extended
    case 0x15: return 0x31; // its extended table, at 0x31
    case 0x1b: return 0x45; // Vcc 4.5-5.5 V, no Vpp
    case 0x1c: return 0x55;
    case 0x1f: return 0x07; // typical word program 2^7 us
    case 0x20: return 0x07; // typical buffer program 2^7 us
    case 0x21: return 0x0a; // typical block erase 2^10 ms
    case 0x23:              // maximum times: 2^4 the typical ones
    case 0x24:
    case 0x25: return 0x04;
    case 0x27: return static_cast<uint8_t>(log2(size_ / kChips)); // chip size 2^N bytes
    case 0x28: return 0x01;                                       // interface: x16 only
    case 0x2a: return static_cast<uint8_t>(log2(kBufferBytes / kChips));
    case 0x2c: return 0x01; // one erase region of equal blocks:
    case 0x2d: return static_cast<uint8_t>((blocks - 1) & 0xff);
    case 0x2e: return static_cast<uint8_t>((blocks - 1) >> 8);
    case 0x2f: return static_cast<uint8_t>((kChipSector / 256) & 0xff); // block size / 256
    case 0x30: return static_cast<uint8_t>((kChipSector / 256) >> 8);
    case 0x31: return 'P';
    case 0x32: return 'R';
    case 0x33: return 'I';
    case 0x34: return '1'; // extended table version 1.0
    case 0x35: return '0';
    case 0x3b: return 0x01; // block status register: lock bit
    case 0x3d: return 0x50; // Vcc optimum 5.0 V
    default: return 0;      // unlisted fields: none, not supported
    }
}

bool CfiFlash::in_bank(uint64_t offset, unsigned size) const
{
    return (size == 1 || size == 2 || size == 4 || size == 8) && offset % size == 0 && offset < size_ &&
           size <= size_ - offset;
}

uint16_t CfiFlash::chip_word(uint64_t offset) const
{
    // Chip-word address within the block: the bus address over the bank width.
    const uint64_t index = (offset % kSectorSize) / kBankWidth;
    switch (mode_) {
    case Mode::ReadId:
        if (index == 0) {
            return kManufacturer;
        }
        if (index == 1) {
            return kDevice;
        }
        return index == 2 && locked(offset) ? 1 : 0; // block lock status
    case Mode::Query: return index < 0x100 ? query(static_cast<unsigned>(index)) : 0;
    default: return status_; // status, and the "buffer available" status after 0xe8
    }
}

bool CfiFlash::read(uint64_t offset, unsigned size, uint64_t& value) const
{
    if (!in_bank(offset, size)) {
        return false;
    }
    if (mode_ == Mode::ReadArray) {
        value = 0;
        memcpy(&value, data_ + offset, size); // little-endian host and guest
        return true;
    }
    // Both chips in the same mode: each lane carries its chip's word.
    uint8_t bytes[8] = {};
    for (unsigned i = 0; i < size; i++) {
        const uint64_t at = offset + i;
        const uint16_t word = chip_word(at & ~uint64_t{kBankWidth - 1});
        bytes[i] = static_cast<uint8_t>(word >> (8 * (at % 2)));
    }
    value = 0;
    memcpy(&value, bytes, size);
    return true;
}

void CfiFlash::changed(uint64_t begin, uint64_t end)
{
    if (changed_begin_ == changed_end_) {
        changed_begin_ = begin;
        changed_end_ = end;
        return;
    }
    changed_begin_ = begin < changed_begin_ ? begin : changed_begin_;
    changed_end_ = end > changed_end_ ? end : changed_end_;
}

void CfiFlash::program(uint64_t offset, unsigned size, uint64_t value)
{
    if (locked(offset)) {
        status_ |= kStatusProgramError | kStatusLocked;
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        data_[offset + i] &= static_cast<uint8_t>(value >> (8 * i)); // NOR programming only clears bits
    }
    changed(offset, offset + size);
}

void CfiFlash::command(uint8_t cmd)
{
    switch (cmd) {
    case kCmdReadArray:
    case kCmdAmdReset: mode_ = Mode::ReadArray; return;
    case kCmdReadStatus: mode_ = Mode::ReadStatus; return;
    case kCmdClearStatus: status_ = kStatusReady; return;
    case kCmdReadId: mode_ = Mode::ReadId; return;
    case kCmdQuery: mode_ = Mode::Query; return;
    case kCmdProgram:
    case kCmdProgramAlt: mode_ = Mode::ProgramSetup; return;
    case kCmdBlockErase: mode_ = Mode::EraseSetup; return;
    case kCmdLockSetup: mode_ = Mode::LockSetup; return;
    case kCmdBufferedProgram: mode_ = Mode::BufferCount; return; // the buffer is free at once: status reads ready
    case kCmdConfirm: mode_ = Mode::ReadStatus; return;          // resume: nothing is ever suspended
    default:
        unknown_++;
        mode_ = Mode::ReadArray;
        return;
    }
}

bool CfiFlash::write(uint64_t offset, unsigned size, uint64_t value)
{
    if (!in_bank(offset, size)) {
        return false;
    }
    changed_begin_ = changed_end_ = 0;
    const auto cmd = static_cast<uint8_t>(value); // lane 0's command; the other chip's is the same
    const uint64_t sector = offset - offset % kSectorSize;
    switch (mode_) {
    case Mode::ProgramSetup:
        program(offset, size, value);
        mode_ = Mode::ReadStatus;
        return true;
    case Mode::EraseSetup:
        if (cmd != kCmdConfirm) {
            status_ |= kSequenceError;
        } else if (locked(sector)) {
            status_ |= kStatusEraseError | kStatusLocked;
        } else {
            memset(data_ + sector, 0xff, kSectorSize);
            changed(sector, sector + kSectorSize);
        }
        mode_ = Mode::ReadStatus;
        return true;
    case Mode::LockSetup:
        if (cmd == kCmdLock || cmd == kCmdLockDown) {
            locks_[sector / kSectorSize] = 1;
        } else if (cmd == kCmdConfirm) {
            locks_[sector / kSectorSize] = 0;
        } else {
            status_ |= kSequenceError;
        }
        mode_ = Mode::ReadStatus;
        return true;
    case Mode::BufferCount: {
        const uint32_t words = (cmd & 0xffu) + 1u;
        if (words > kBufferBytes / kBankWidth) {
            status_ |= kSequenceError;
            mode_ = Mode::ReadStatus;
            return true;
        }
        buffer_left_ = words;
        buffer_error_ = false;
        buffer_base_ = ~uint64_t{0}; // set by the first data word
        memset(buffer_, 0xff, sizeof buffer_);
        mode_ = Mode::BufferData;
        return true;
    }
    case Mode::BufferData: {
        if (buffer_base_ == ~uint64_t{0}) {
            buffer_base_ = offset - offset % kBufferBytes;
        }
        if (offset < buffer_base_ || offset + size > buffer_base_ + kBufferBytes) {
            buffer_error_ = true; // a word outside the buffer's window
        } else {
            for (unsigned i = 0; i < size; i++) {
                buffer_[offset - buffer_base_ + i] &= static_cast<uint8_t>(value >> (8 * i));
            }
        }
        if (--buffer_left_ == 0) {
            mode_ = Mode::BufferConfirm;
        }
        return true;
    }
    case Mode::BufferConfirm:
        if (cmd != kCmdConfirm || buffer_error_) {
            status_ |= kSequenceError;
        } else if (locked(buffer_base_)) {
            status_ |= kStatusProgramError | kStatusLocked;
        } else {
            for (unsigned i = 0; i < kBufferBytes; i++) {
                data_[buffer_base_ + i] &= buffer_[i];
            }
            changed(buffer_base_, buffer_base_ + kBufferBytes);
        }
        mode_ = Mode::ReadStatus;
        return true;
    case Mode::ReadArray:
    case Mode::ReadStatus:
    case Mode::ReadId:
    case Mode::Query: command(cmd); return true;
    }
    return true;
}

void CfiFlash::reset()
{
    mode_ = Mode::ReadArray;
    status_ = kStatusReady;
    buffer_left_ = 0;
}
