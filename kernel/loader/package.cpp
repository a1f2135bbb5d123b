#include "kernel/loader/package.hpp"

#include <string.h>

#include "kernel/loader/bytes.hpp"

namespace {

// Header fields.
constexpr size_t kVersionAt = 8;
constexpr size_t kCountAt = 12;
constexpr size_t kSizeAt = 16;
// Entry fields, after the name.
constexpr size_t kOffsetAt = Package::kNameSize;
constexpr size_t kBlobSizeAt = Package::kNameSize + 8;

/// Length of the name at `name`, kNameSize if it has no NUL.
size_t name_length(const uint8_t* name)
{
    size_t length = 0;
    while (length < Package::kNameSize && name[length] != 0) {
        length++;
    }
    return length;
}

bool printable(uint8_t c) { return c > ' ' && c <= '~'; }

struct Entry {
    const char* name;
    uint64_t offset;
    uint64_t size;
};

Entry decode(const uint8_t* entry)
{
    return {reinterpret_cast<const char*>(entry), bytes::load_le64(entry + kOffsetAt),
            bytes::load_le64(entry + kBlobSizeAt)};
}

} // namespace

bool Package::open(const void* data, size_t size, LoadError& error)
{
    *this = Package{};
    const auto* package = static_cast<const uint8_t*>(data);
    if (package == nullptr || size < kHeaderSize) {
        return fail(error, "not a Vireo package: %lu bytes, shorter than the %lu-byte header",
                    package != nullptr ? size : 0, kHeaderSize);
    }
    if (memcmp(package, kMagic, sizeof kMagic) != 0) {
        return fail(error, "not a Vireo package (no VIREOPKG magic at offset 0)");
    }
    const uint32_t version = bytes::load_le32(package + kVersionAt);
    if (version != kVersion) {
        return fail(error, "Vireo package version %u; this Vireo reads version %u", version, kVersion);
    }
    // The header's size is the package's; what a loader passes may be rounded up.
    const uint64_t declared = bytes::load_le64(package + kSizeAt);
    if (declared > size) {
        return fail(error, "Vireo package truncated: its header says %lu bytes, only %lu are there", declared, size);
    }
    const uint32_t count = bytes::load_le32(package + kCountAt);
    if (count > kMaxEntries) {
        return fail(error, "Vireo package has %u entries; at most %lu are allowed", count, kMaxEntries);
    }
    const uint64_t table_end = kHeaderSize + uint64_t{count} * kEntrySize;
    if (table_end > declared) {
        return fail(error, "Vireo package's entry table (%u entries, up to 0x%lx) runs past its end (%lu bytes)", count,
                    table_end, declared);
    }
    for (size_t i = 0; i < count; i++) {
        const uint8_t* raw = package + kHeaderSize + i * kEntrySize;
        const size_t length = name_length(raw);
        if (length == kNameSize) {
            return fail(error, "Vireo package entry %lu: name not NUL-terminated within %lu bytes", i, kNameSize);
        }
        if (length == 0) {
            return fail(error, "Vireo package entry %lu: empty name", i);
        }
        for (size_t c = 0; c < length; c++) {
            if (!printable(raw[c])) {
                return fail(error, "Vireo package entry %lu: name byte %lu is 0x%02x, not printable ASCII", i, c,
                            raw[c]);
            }
        }
        const Entry e = decode(raw);
        if (e.offset % kAlign != 0) {
            return fail(error, "Vireo package entry '%s': offset 0x%lx is not 4 KiB-aligned", e.name, e.offset);
        }
        if (e.offset < table_end) {
            return fail(error, "Vireo package entry '%s': offset 0x%lx lies in the header or entry table (up to 0x%lx)",
                        e.name, e.offset, table_end);
        }
        if (e.offset > declared || e.size > declared - e.offset) {
            return fail(error, "Vireo package entry '%s': 0x%lx bytes at 0x%lx run past the package's end (0x%lx)",
                        e.name, e.size, e.offset, declared);
        }
        for (size_t j = 0; j < i; j++) {
            const Entry other = decode(package + kHeaderSize + j * kEntrySize);
            if (strcmp(other.name, e.name) == 0) {
                return fail(error, "Vireo package entries %lu and %lu are both named '%s'", j, i, e.name);
            }
            const bool apart = e.size == 0 || other.size == 0 || e.offset + e.size <= other.offset ||
                               other.offset + other.size <= e.offset;
            if (!apart) {
                return fail(error, "Vireo package entries '%s' and '%s' overlap", other.name, e.name);
            }
        }
    }
    data_ = package;
    size_ = declared;
    count_ = count;
    return true;
}

const uint8_t* Package::entry(size_t index) const
{
    return index < count_ ? data_ + kHeaderSize + index * kEntrySize : nullptr;
}

const char* Package::name(size_t index) const
{
    const uint8_t* raw = entry(index);
    return raw != nullptr ? reinterpret_cast<const char*>(raw) : "";
}

PackageBlob Package::blob(size_t index) const
{
    const uint8_t* raw = entry(index);
    if (raw == nullptr) {
        return {};
    }
    // open() checked every entry against size_; checked again so a package
    // changed behind our back still cannot make us read outside it.
    const Entry e = decode(raw);
    if (e.offset > size_ || e.size > size_ - e.offset) {
        return {};
    }
    return {data_ + e.offset, static_cast<size_t>(e.size)};
}

PackageBlob Package::find(const char* name) const
{
    for (size_t i = 0; name != nullptr && i < count_; i++) {
        if (strncmp(this->name(i), name, kNameSize) == 0) {
            return blob(i);
        }
    }
    return {};
}
