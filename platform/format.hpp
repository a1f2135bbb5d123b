// Formatting into a buffer through newlib's vsnprintf. Use this, not
// snprintf: newlib's variadic snprintf is built with FP/SIMD registers
// (its prologue saves q0-q7), and Vireo must not touch those while a
// guest's FP/SIMD state is live in them (scripts/check-fpsimd enforces it).
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

__attribute__((format(printf, 3, 4))) inline int format(char* out, size_t size, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    const int n = vsnprintf(out, size, fmt, args);
    va_end(args);
    return n;
}
