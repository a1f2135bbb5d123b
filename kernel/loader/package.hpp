// A Vireo package: named blobs (kernels, initramfs images, VM configs) in
// one file, which a boot loader hands to Vireo as its initrd (QEMU -initrd,
// U-Boot booti) so Vireo finds it through /chosen linux,initrd-start/end.
// scripts/mkpackage writes one; docs/config.md describes the format.
//
// Layout, all integers little-endian:
//   0x00  header (64 bytes): magic "VIREOPKG", u32 version (1), u32 entry
//         count, u64 package size in bytes, 40 bytes of zeros
//   0x40  entry table, 64 bytes per entry: name[48] (NUL-padded, at least
//         one NUL), u64 offset of the blob from the package start, u64 size
//   then  the blobs, each at a 4 KiB-aligned offset, after the table
//
// The package comes from outside Vireo, so open() checks all of it once:
// every entry lies inside the package, past the table, and apart from the
// others; every name is terminated and unique. Nothing is read outside
// [data, data + size) whatever the bytes say.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/loader/load_error.hpp"

/// One blob of a package; {nullptr, 0} when there is no such entry.
struct PackageBlob {
    const uint8_t* data = nullptr;
    size_t size = 0;
    bool found() const { return data != nullptr; }
};

class Package {
public:
    static constexpr char kMagic[8] = {'V', 'I', 'R', 'E', 'O', 'P', 'K', 'G'};
    static constexpr uint32_t kVersion = 1;
    static constexpr size_t kHeaderSize = 64;
    static constexpr size_t kEntrySize = 64;
    static constexpr size_t kNameSize = 48; // including the terminating NUL
    static constexpr size_t kMaxName = kNameSize - 1;
    static constexpr size_t kAlign = 4096;
    static constexpr size_t kMaxEntries = 256; // bounds open()'s pairwise overlap check

    /// Checks the package of `size` bytes at `data` and keeps a view of it
    /// (the bytes stay where they are). On failure `error` says what is
    /// wrong, the package stays empty and find() finds nothing.
    bool open(const void* data, size_t size, LoadError& error);

    /// The blob called `name`, or {nullptr, 0}.
    PackageBlob find(const char* name) const;

    size_t count() const { return count_; }
    /// Entry `index`'s name and blob (for listing what a package holds);
    /// "" and {nullptr, 0} out of range.
    const char* name(size_t index) const;
    PackageBlob blob(size_t index) const;

private:
    const uint8_t* entry(size_t index) const;

    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    size_t count_ = 0;
};
