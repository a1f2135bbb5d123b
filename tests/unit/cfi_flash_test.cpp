// The CFI flash bank as U-Boot's cfi_flash driver and EDK2's VirtNorFlashDxe
// drive it: commands on both x16 lanes, replies on both lanes.
#include "kernel/devices/flash/cfi_flash.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

constexpr uint64_t kBank = 64ull << 20; // QEMU virt's flash1
constexpr uint64_t dual(uint8_t cmd) { return uint64_t{cmd} | uint64_t{cmd} << 16; }

struct Bank {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(kBank, 0xff);
    std::vector<uint8_t> locks = std::vector<uint8_t>(kBank / CfiFlash::kSectorSize, 0);
    CfiFlash flash{bytes.data(), kBank, locks.data()};

    uint32_t read32(uint64_t offset)
    {
        uint64_t v = 0;
        EXPECT_TRUE(flash.read(offset, 4, v));
        return static_cast<uint32_t>(v);
    }
    void cmd(uint64_t offset, uint8_t c) { ASSERT_TRUE(flash.write(offset, 4, dual(c))); }
};

TEST(CfiFlash, QueryRepliesQryOnBothLanesAtBankWordAddresses)
{
    Bank b;
    b.cmd(0x55 * 4, 0x98);
    EXPECT_FALSE(b.flash.array_mode());
    EXPECT_EQ(b.read32(0x10 * 4), 0x00510051u); // 'Q'
    EXPECT_EQ(b.read32(0x11 * 4), 0x00520052u); // 'R'
    EXPECT_EQ(b.read32(0x12 * 4), 0x00590059u); // 'Y'
    EXPECT_EQ(b.read32(0x13 * 4), 0x00010001u); // Intel/Sharp extended command set
    // U-Boot's x8 probe compares with 'Q' in every byte: that must not match.
    EXPECT_NE(b.read32(0x10 * 4), 0x51515151u);
    b.cmd(0, 0xff);
    EXPECT_TRUE(b.flash.array_mode());
    EXPECT_EQ(b.read32(0x10 * 4), 0xffffffffu);
}

TEST(CfiFlash, QueryGeometryDescribesTwoInterleavedChips)
{
    Bank b;
    // Each chip: 32 MiB (2^25), 256 blocks of 128 KiB, a 256-byte write buffer.
    EXPECT_EQ(b.flash.query(0x27), 25);
    EXPECT_EQ(b.flash.query(0x2a), 8);
    EXPECT_EQ(b.flash.query(0x2c), 1);
    EXPECT_EQ(b.flash.query(0x2d) | b.flash.query(0x2e) << 8, 255);
    EXPECT_EQ((b.flash.query(0x2f) | b.flash.query(0x30) << 8) * 256, 128 * 1024);
    // What U-Boot computes for the bank: size and sector times the two chips.
    EXPECT_EQ((1ull << b.flash.query(0x27)) * 2, kBank);
    EXPECT_EQ((b.flash.query(0x2f) | b.flash.query(0x30) << 8) * 256 * 2, CfiFlash::kSectorSize);
}

TEST(CfiFlash, ReadIdentifierGivesIntelIdsAndBlockLockStatus)
{
    Bank b;
    b.cmd(0, 0x90);
    EXPECT_EQ(b.read32(0), 0x00890089u);
    EXPECT_EQ(b.read32(4), 0x00180018u);
    EXPECT_EQ(b.read32(CfiFlash::kSectorSize * 3 + 8), 0u); // unlocked
    b.cmd(CfiFlash::kSectorSize * 3, 0x60);
    b.cmd(CfiFlash::kSectorSize * 3, 0x01);
    b.cmd(0, 0x90);
    EXPECT_EQ(b.read32(CfiFlash::kSectorSize * 3 + 8), 0x00010001u);
    EXPECT_EQ(b.read32(CfiFlash::kSectorSize * 4 + 8), 0u);
}

TEST(CfiFlash, WordProgramClearsBitsAndEndsInReadStatus)
{
    Bank b;
    b.cmd(0x1000, 0x40);
    ASSERT_TRUE(b.flash.write(0x1000, 4, 0x12345678));
    EXPECT_EQ(b.flash.mode(), CfiFlash::Mode::ReadStatus);
    EXPECT_EQ(b.read32(0x1000), 0x00800080u); // ready on both chips, anywhere in the bank
    EXPECT_EQ(b.read32(0x3000000), 0x00800080u);
    EXPECT_EQ(b.flash.changed_begin(), 0x1000u);
    EXPECT_EQ(b.flash.changed_end(), 0x1004u);
    b.cmd(0, 0xff);
    EXPECT_EQ(b.read32(0x1000), 0x12345678u);
    // Programming again can only clear more bits (NOR flash).
    b.cmd(0x1000, 0x10);
    ASSERT_TRUE(b.flash.write(0x1000, 4, 0xffff0000));
    b.cmd(0, 0xff);
    EXPECT_EQ(b.read32(0x1000), 0x12340000u);
}

TEST(CfiFlash, BlockEraseSetsTheWholeSectorAndOnlyIt)
{
    Bank b;
    b.bytes[CfiFlash::kSectorSize - 1] = 0;
    b.bytes[CfiFlash::kSectorSize] = 0;
    b.bytes[2 * CfiFlash::kSectorSize - 1] = 0;
    b.bytes[2 * CfiFlash::kSectorSize] = 0;
    b.cmd(CfiFlash::kSectorSize + 0x40, 0x20);
    b.cmd(CfiFlash::kSectorSize + 0x40, 0xd0);
    EXPECT_EQ(b.flash.status(), CfiFlash::kStatusReady);
    EXPECT_EQ(b.bytes[CfiFlash::kSectorSize - 1], 0);
    EXPECT_EQ(b.bytes[CfiFlash::kSectorSize], 0xff);
    EXPECT_EQ(b.bytes[2 * CfiFlash::kSectorSize - 1], 0xff);
    EXPECT_EQ(b.bytes[2 * CfiFlash::kSectorSize], 0);
    EXPECT_EQ(b.flash.changed_begin(), CfiFlash::kSectorSize);
    EXPECT_EQ(b.flash.changed_end(), 2 * CfiFlash::kSectorSize);
}

TEST(CfiFlash, EraseWithoutConfirmIsASequenceErrorUntilCleared)
{
    Bank b;
    b.bytes[0] = 0;
    b.cmd(0, 0x20);
    b.cmd(0, 0xff); // not 0xd0
    EXPECT_EQ(b.bytes[0], 0);
    EXPECT_EQ(b.read32(0), 0x00b000b0u); // ready, erase and program error
    b.cmd(0, 0x50);
    EXPECT_EQ(b.read32(0), 0x00800080u);
}

TEST(CfiFlash, LockedBlocksRefuseProgramAndEraseUntilUnlocked)
{
    Bank b;
    b.cmd(0, 0x60);
    b.cmd(0, 0x01);
    b.cmd(0, 0x40);
    ASSERT_TRUE(b.flash.write(0, 4, 0));
    EXPECT_EQ(b.flash.status(), CfiFlash::kStatusReady | CfiFlash::kStatusProgramError | CfiFlash::kStatusLocked);
    EXPECT_EQ(b.bytes[0], 0xff);
    b.cmd(0, 0x50);
    b.cmd(0, 0x60);
    b.cmd(0, 0xd0); // unlock
    b.cmd(0, 0x40);
    ASSERT_TRUE(b.flash.write(0, 4, 0));
    EXPECT_EQ(b.flash.status(), CfiFlash::kStatusReady);
    EXPECT_EQ(b.bytes[0], 0);
}

TEST(CfiFlash, BufferedProgramWritesTheWordsOnConfirm)
{
    Bank b;
    const uint64_t at = 0x40000 + 0x200;
    b.cmd(at, 0xe8);
    EXPECT_EQ(b.read32(at), 0x00800080u); // buffer available
    b.cmd(at, 3);                         // four words
    for (uint32_t i = 0; i < 4; i++) {
        ASSERT_TRUE(b.flash.write(at + 4 * i, 4, 0xa0a0a0a0u + i));
    }
    EXPECT_EQ(b.bytes[at], 0xff); // not before the confirm
    EXPECT_EQ(b.flash.mode(), CfiFlash::Mode::BufferConfirm);
    b.cmd(at, 0xd0);
    EXPECT_EQ(b.flash.status(), CfiFlash::kStatusReady);
    b.cmd(0, 0xff);
    for (uint32_t i = 0; i < 4; i++) {
        EXPECT_EQ(b.read32(at + 4 * i), 0xa0a0a0a0u + i);
    }
    EXPECT_EQ(b.read32(at + 16), 0xffffffffu);
}

TEST(CfiFlash, BufferedProgramRefusesCountsBeyondTheBufferAndWordsOutsideIt)
{
    Bank b;
    b.cmd(0, 0xe8);
    b.cmd(0, 0xff); // 256 words: more than 512 bytes
    EXPECT_EQ(b.flash.status() & 0x30, 0x30);
    b.cmd(0, 0x50);
    b.cmd(0, 0xe8);
    b.cmd(0, 1);
    ASSERT_TRUE(b.flash.write(0, 4, 0));
    ASSERT_TRUE(b.flash.write(CfiFlash::kBufferBytes, 4, 0)); // next buffer window
    b.cmd(0, 0xd0);
    EXPECT_EQ(b.flash.status() & 0x30, 0x30);
    EXPECT_EQ(b.bytes[0], 0xff);
}

TEST(CfiFlash, UnknownCommandsReturnToReadArrayAndAreCounted)
{
    Bank b;
    b.cmd(0, 0x70);
    b.cmd(0, 0xf0); // AMD reset, as U-Boot's probe sends: not counted
    EXPECT_TRUE(b.flash.array_mode());
    EXPECT_EQ(b.flash.unknown_commands(), 0u);
    b.cmd(0, 0x70);
    b.cmd(0, 0xc0);
    EXPECT_TRUE(b.flash.array_mode());
    EXPECT_EQ(b.flash.unknown_commands(), 1u);
}

TEST(CfiFlash, AccessesOutsideTheBankOrMisalignedAreRefused)
{
    Bank b;
    uint64_t v = 0;
    EXPECT_FALSE(b.flash.read(kBank, 4, v));
    EXPECT_FALSE(b.flash.read(kBank - 4, 8, v));
    EXPECT_FALSE(b.flash.read(2, 4, v));
    EXPECT_FALSE(b.flash.write(kBank, 4, 0xff));
    EXPECT_FALSE(b.flash.write(1, 2, 0xff));
    EXPECT_FALSE(b.flash.read(0, 3, v));
}

TEST(CfiFlash, EightByteStatusReadsCoverTwoBankWords)
{
    Bank b;
    b.cmd(0, 0x90);
    uint64_t v = 0;
    ASSERT_TRUE(b.flash.read(0, 8, v));
    EXPECT_EQ(v, 0x0018001800890089ull);
}

TEST(CfiFlash, ResetReturnsToReadArrayAndKeepsTheContents)
{
    Bank b;
    b.cmd(0, 0x40);
    ASSERT_TRUE(b.flash.write(0, 4, 0x11223344));
    b.flash.reset();
    EXPECT_TRUE(b.flash.array_mode());
    EXPECT_EQ(b.read32(0), 0x11223344u);
}

} // namespace
