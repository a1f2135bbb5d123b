// QEMU's educational PCI device "edu" (vendor 0x1234, device 0x11e8; QEMU's
// docs/specs/edu.rst): its BAR0 registers and its DMA engine, which copies
// up to 4 KiB between the device's buffer (at 0x40000 in the device's own
// address space) and bus addresses, 100 ms of QEMU's virtual time after it
// is started. It ignores errors of its transfers.
#pragma once

#include <stdint.h>

#include "gic.hpp"
#include "guest.hpp"

namespace guest::edu {

constexpr uint32_t kPciId = 0x11e81234; // Device ID << 16 | Vendor ID
constexpr uint32_t kIdentValue = 0x010000ed;
constexpr uint64_t kBarSize = 1u << 20;

constexpr uint64_t kIdent = 0x00;
constexpr uint64_t kLiveness = 0x04; // reads back the complement of what was written
constexpr uint64_t kIrqStatus = 0x24;
constexpr uint64_t kIrqRaise = 0x60; // ORs the value into the status, which raises INTx while non-zero
constexpr uint64_t kIrqAck = 0x64;   // clears those status bits
// The DMA registers take 32- and 64-bit accesses; a 32-bit write sets the whole register.
constexpr uint64_t kDmaSource = 0x80;
constexpr uint64_t kDmaDestination = 0x88;
constexpr uint64_t kDmaCount = 0x90;
constexpr uint64_t kDmaCommand = 0x98;
constexpr uint64_t kDmaStart = 1; // reads 1 while the transfer is under way
constexpr uint64_t kDmaToRam = 2; // else from RAM to the device
constexpr uint64_t kDmaInterrupt = 4;
constexpr uint32_t kDmaDone = 0x100; // the status bit kDmaInterrupt raises

constexpr uint64_t kBuffer = 0x40000;
constexpr uint64_t kBufferSize = 4096;

struct Device {
    uint64_t bar = 0;

    uint32_t r32(uint64_t reg) const { return *reinterpret_cast<volatile uint32_t*>(bar + reg); }
    void w32(uint64_t reg, uint32_t v) const { *reinterpret_cast<volatile uint32_t*>(bar + reg) = v; }
    uint64_t r64(uint64_t reg) const { return *reinterpret_cast<volatile uint64_t*>(bar + reg); }
    void w64(uint64_t reg, uint64_t v) const { *reinterpret_cast<volatile uint64_t*>(bar + reg) = v; }

    /// Starts a transfer of `count` bytes (`command`: kDmaToRam, kDmaInterrupt).
    void start(uint64_t source, uint64_t destination, uint64_t count, uint64_t command) const
    {
        // A guest with its MMU off accesses RAM as Device-nGnRnE (Arm ARM D8,
        // "The effects of disabling an address translation stage"): no cache
        // to clean, but accesses to different peripherals (RAM, the device)
        // are ordered only by a barrier. DSB, as Linux's wmb() before a
        // doorbell: the buffer is complete before the device is told.
        asm volatile("dsb sy" ::: "memory");
        w64(kDmaSource, source);
        w64(kDmaDestination, destination);
        w64(kDmaCount, count);
        w64(kDmaCommand, command | kDmaStart);
    }

    /// Whether the transfer under way ended within a second.
    bool wait() const
    {
        const uint64_t begin = counter();
        while ((r64(kDmaCommand) & kDmaStart) != 0) {
            if (counter() - begin > gic::frequency()) {
                return false;
            }
        }
        asm volatile("dsb sy" ::: "memory"); // our reads of RAM come after the device's writes
        return true;
    }

    bool dma(uint64_t source, uint64_t destination, uint64_t count, uint64_t command = 0) const
    {
        start(source, destination, count, command);
        return wait();
    }
    /// `count` bytes from `address` to the device's buffer, waited for.
    bool to_device(uint64_t address, uint64_t count = kBufferSize) const { return dma(address, kBuffer, count); }
    /// The device's buffer to `address`, waited for.
    bool to_ram(uint64_t address, uint64_t count = kBufferSize) const
    {
        return dma(kBuffer, address, count, kDmaToRam);
    }
};

} // namespace guest::edu
