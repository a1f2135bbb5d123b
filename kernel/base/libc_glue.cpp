// What newlib-nano and libfdt need from the environment. Vireo has no files,
// no heap and no processes: these say so instead of pretending.
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "kernel/base/panic.hpp"
#include "kernel/mem/bulk.hpp"

#undef errno
extern "C" int errno;

extern "C" {

// Stack protector (Debian's libfdt.a is built with it). Set from the counter
// at boot by stack_guard_init(), before libfdt runs.
uintptr_t __stack_chk_guard = 0x595e9fbd94fda766ULL;

[[noreturn]] void __stack_chk_fail() { panic("stack smashing detected"); }

void* _sbrk(ptrdiff_t)
{
    errno = ENOMEM;
    return reinterpret_cast<void*>(-1);
}
int _write(int, const void*, size_t)
{
    errno = ENOSYS;
    return -1;
}
int _read(int, void*, size_t)
{
    errno = ENOSYS;
    return -1;
}
int _close(int)
{
    errno = ENOSYS;
    return -1;
}
int _fstat(int, struct stat*)
{
    errno = ENOSYS;
    return -1;
}
int _isatty(int) { return 0; }
long _lseek(int, long, int)
{
    errno = ENOSYS;
    return -1;
}
int _getpid() { return 1; }
int _kill(int, int)
{
    errno = ENOSYS;
    return -1;
}
// Ours, not newlib-nano's byte-at-a-time ones (kernel/mem/copy.cpp). The
// linker takes these and never pulls newlib's from libc.a; libfdt's and
// newlib's own calls come here too.
void* memcpy(void* dst, const void* src, size_t size)
{
    bulk::copy(dst, src, size);
    return dst;
}
void* memmove(void* dst, const void* src, size_t size)
{
    bulk::move(dst, src, size);
    return dst;
}
void* memset(void* dst, int byte, size_t size)
{
    bulk::fill(dst, static_cast<uint8_t>(byte), size);
    return dst;
}

[[noreturn]] void _exit(int status) { panic("exit(%d) called", status); }
[[noreturn]] void abort() { panic("abort() called"); }

} // extern "C"

void stack_guard_init(uint64_t seed)
{
    // Called before any function built with -fstack-protector is on the stack.
    __stack_chk_guard ^= seed * 0x9e3779b97f4a7c15ULL;
}
