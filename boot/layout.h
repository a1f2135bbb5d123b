/*
 * Memory-layout constants shared by the linker script, the assembly and C++.
 * Plain macros only: this file is included by the preprocessed linker script.
 */
#pragma once

#define VIREO_PAGE_SIZE 4096
#define VIREO_MAX_CPUS 16

/* Each CPU: an unmapped guard page, then its stack (grows down towards it). */
#define VIREO_STACK_SIZE (16 * 1024)
#define VIREO_STACK_SLOT (VIREO_STACK_SIZE + VIREO_PAGE_SIZE)

/* A small stack per CPU for the fatal-exception path, so a stack overflow
 * into the guard page can still be reported. */
#define VIREO_EXC_STACK_SIZE (4 * 1024)

/* The most build/vireo.bin may weigh (checked by tests/unit/image_test.cpp;
 * 160 KiB until channels and the emulated virtio network came, at 169 KiB;
 * 192 KiB until firmware guests' regions and CFI flash, guest debug and the
 * virtual PMU came, at 198 KiB; 224 KiB until the SMMUv3 driver and PCIe
 * functions came, at 239 KiB; 256 KiB until LPIs and the virtual ITS
 * came, at 255 KiB, with the host ITS driver for passed-through MSIs next;
 * 288 KiB until cache colouring and the EL2 window came, at 292 KiB).
 * Small enough that boot loaders and the Raspberry Pi firmware load it in a
 * blink, and that one person can audit every byte of it: the product holds
 * Vireo and nothing else (test guests come in test packages). */
#define VIREO_IMAGE_LIMIT (320 * 1024)

/* Image load alignment the arm64 boot protocol asks loaders for. */
#define VIREO_IMAGE_ALIGN (2 * 1024 * 1024)
