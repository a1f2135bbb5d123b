// A NOR flash bank with the Intel/Sharp CFI command set (command set 0x0001,
// "Intel Extended"), laid out as QEMU virt's two flash banks are: a 32-bit
// bus of two interleaved x16 chips. Each chip sees every command on its own
// 16-bit lane, so commands arrive as `cmd | cmd << 16` (any lane's low byte
// is taken) and status, identifier and query replies come back on both
// lanes. Pure logic over the bank's bytes, host-tested; the kernel maps the
// bytes into the guest read-only while the bank is in read-array mode (reads
// then never trap) and unmaps them in every other mode (kernel/vm/regions.cpp).
//
// Implemented (the commands U-Boot's cfi_flash driver and EDK2's
// VirtNorFlashDxe issue):
//   0xff read array          0x70 read status        0x50 clear status
//   0x90 read identifier     0x98 CFI query          0x40/0x10 word program
//   0xe8 buffered program    0x20 + 0xd0 block erase 0x60 + 0x01/0xd0 block lock/unlock
// Programming only clears bits (new = old & data), as on NOR flash; erase
// sets a block to 0xff. Operations complete at once: status reads ready.
// Not implemented: erase/program suspend (0xb0), lock-down (0x2f is taken as
// a lock), protection registers (0xc0), chip erase, the "configuration"
// command (0x60 0x03), burst reads. An unknown command returns the bank to
// read-array mode and is counted (unknown_commands()) for the caller to log.
#pragma once

#include <stddef.h>
#include <stdint.h>

class CfiFlash {
public:
    static constexpr unsigned kBankWidth = 4;          // bytes on the bus: two x16 chips side by side
    static constexpr uint64_t kSectorSize = 256 << 10; // erase block of the bank (128 KiB per chip), as QEMU virt's
    static constexpr unsigned kBufferBytes = 512;      // write buffer of the bank (256 bytes per chip)
    static constexpr uint8_t kManufacturer = 0x89;     // Intel, as QEMU virt's banks report
    static constexpr uint8_t kDevice = 0x18;

    // Status register bits (per chip).
    static constexpr uint8_t kStatusReady = 0x80;
    static constexpr uint8_t kStatusEraseError = 0x20;
    static constexpr uint8_t kStatusProgramError = 0x10;
    static constexpr uint8_t kStatusLocked = 0x02;

    enum class Mode : uint8_t {
        ReadArray,
        ReadStatus,
        ReadId,
        Query,
        ProgramSetup,  // 0x40/0x10: the next write is the data
        EraseSetup,    // 0x20: the next write must be 0xd0
        LockSetup,     // 0x60: the next write is 0x01 (lock) or 0xd0 (unlock)
        BufferCount,   // 0xe8: the next write is the word count less one
        BufferData,    // collecting the words
        BufferConfirm, // all words in: the next write must be 0xd0
    };

    /// The bank's `size` bytes at `data` (size_ok(): whole sectors, 1 to
    /// 65536 of them, what the CFI table's one erase region can describe).
    /// `lock_bits` has a byte per sector (0: unlocked), kept by the caller.
    CfiFlash(uint8_t* data, uint64_t size, uint8_t* lock_bits) : data_(data), size_(size), locks_(lock_bits) {}
    CfiFlash() = default; // no bank yet: assign one before use

    static constexpr bool size_ok(uint64_t size)
    {
        return size != 0 && size % kSectorSize == 0 && size / kSectorSize <= 65536;
    }

    /// An access at `offset` of `size` bytes (1, 2, 4 or 8, naturally
    /// aligned). read() is only called outside read-array mode, or by
    /// instructions the stage 2 cannot serve; it serves every mode. False:
    /// outside the bank or misaligned (the guest gets an abort).
    bool read(uint64_t offset, unsigned size, uint64_t& value) const;
    bool write(uint64_t offset, unsigned size, uint64_t value);

    /// Back to read-array mode with the status cleared (a VM reset: the
    /// chips' reset pin follows the CPU's on QEMU virt). Contents stay.
    void reset();

    Mode mode() const { return mode_; }
    bool array_mode() const { return mode_ == Mode::ReadArray; }
    uint8_t status() const { return status_; }
    /// The bytes the last write() changed, [changed_begin, changed_end)
    /// (empty: none): the caller cleans them to the point of coherency.
    uint64_t changed_begin() const { return changed_begin_; }
    uint64_t changed_end() const { return changed_end_; }
    uint32_t unknown_commands() const { return unknown_; }

    /// The CFI query reply of one chip at query address `index` (0x10: 'Q').
    uint8_t query(unsigned index) const;

private:
    /// What each chip returns for a read at `offset` in the current mode
    /// (not read array).
    uint16_t chip_word(uint64_t offset) const;
    /// A naturally aligned access of 1, 2, 4 or 8 bytes inside the bank.
    bool in_bank(uint64_t offset, unsigned size) const;
    void command(uint8_t cmd);
    void program(uint64_t offset, unsigned size, uint64_t value);
    void changed(uint64_t begin, uint64_t end);
    bool locked(uint64_t offset) const { return locks_[offset / kSectorSize] != 0; }

    uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
    uint8_t* locks_ = nullptr;
    Mode mode_ = Mode::ReadArray;
    uint8_t status_ = kStatusReady;
    uint32_t unknown_ = 0;
    uint64_t changed_begin_ = 0;
    uint64_t changed_end_ = 0;
    // Buffered program: where the buffer sits in the bank, the words still
    // expected, and the data (0xff where nothing was written).
    uint64_t buffer_base_ = 0;
    uint32_t buffer_left_ = 0;
    bool buffer_error_ = false;
    uint8_t buffer_[kBufferBytes] = {};
};
