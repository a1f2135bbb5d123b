# Vireo: one Makefile, out-of-tree builds under build/.
#
#   make            build build/vireo.bin (and build/vireo.elf with symbols)
#   make run        set up, build, boot Vireo on QEMU virt (GIC=2|3 CPUS=N MEM=SIZE CPU=model)
#   make test       set up, build, run host unit tests then QEMU system tests
#   make debug      like run, but QEMU waits for gdb (see README.md)
#   make format / format-check / compile_commands.json / clean

# Every goal but the tree-hygiene ones needs the toolchain: install what is
# missing before any variable below asks the cross compiler for its paths.
NO_SETUP_GOALS := format format-check clean
ifneq ($(filter-out $(NO_SETUP_GOALS),$(or $(MAKECMDGOALS),all)),)
SETUP_STATUS := $(shell scripts/setup >&2; echo $$?)
ifneq ($(SETUP_STATUS),0)
$(error scripts/setup failed (see above); fix that and run make again)
endif
endif

Q := $(if $(V),,@)
quiet = $(if $(V),,@printf '  %-7s %s\n' $(1) $(2);)

BUILD ?= build
CROSS ?= aarch64-linux-gnu-

GIC ?= 3
CPUS ?= 4
MEM ?= 2G
CPU ?= cortex-a72
APPEND ?=
QEMU ?= qemu-system-aarch64

CC := $(CROSS)gcc
CXX := $(CROSS)g++
LD := $(CROSS)ld
OBJCOPY := $(CROSS)objcopy
READELF := $(CROSS)readelf

DEPS := $(BUILD)/deps
NEWLIB := $(DEPS)/newlib/aarch64-none-elf
LIBFDT := $(DEPS)/libfdt/usr
OBJ := $(BUILD)/obj
# One image for every board: the device tree it is handed says which.
IMAGE := $(BUILD)/vireo
ifneq ($(BOARD),)
$(warning BOARD=$(BOARD) is ignored: $(IMAGE).bin runs on QEMU virt, Raspberry Pi 4 and RK3588 alike (docs/boards.md))
endif

# --- the hypervisor image ----------------------------------------------------

SRCS_S := $(wildcard boot/*.S vcpu/*.S platform/*.S)
SRCS_CXX := $(wildcard kernel/*.cpp kernel/*/*.cpp kernel/*/*/*.cpp platform/*.cpp vcpu/*.cpp)
OBJS := $(SRCS_S:%.S=$(OBJ)/%.o) $(SRCS_CXX:%.cpp=$(OBJ)/%.o)

# Hypervisor code uses general-purpose registers only; newlib and libfdt
# (linked, not built here) use FP/SIMD, which boot/start.S leaves untrapped.
ARCHFLAGS := -march=armv8-a -mgeneral-regs-only -mstrict-align -mno-outline-atomics
INCLUDES := -I. -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
	-isystem $(NEWLIB)/include -isystem $(LIBFDT)/include
CPPFLAGS := $(INCLUDES) -MMD -MP
CXXFLAGS := -std=c++20 -O2 -g $(ARCHFLAGS) -ffreestanding -fno-exceptions -fno-rtti \
	-fno-threadsafe-statics -fno-use-cxa-atexit -fno-stack-protector -fpie \
	-ffunction-sections -fdata-sections -fno-common \
	-Wall -Wextra -Werror -Wconversion -Wold-style-cast -Wshadow
ASFLAGS := $(ARCHFLAGS) -g -fpie
LIBGCC := $(shell $(CC) -print-libgcc-file-name)
LIBS := $(NEWLIB)/lib/libc.a $(LIBFDT)/lib/aarch64-linux-gnu/libfdt.a $(LIBGCC)
LDFLAGS := -pie --no-dynamic-linker -z norelro -z noexecstack --gc-sections --build-id=none --no-warn-rwx-segments

.PHONY: all setup run debug check test unit systest stress bench fuzz fuzzers format format-check clean
all: $(IMAGE).bin compile_commands.json

setup:
	@true # scripts/setup ran when this Makefile was read

# memcpy and memset themselves: GCC would turn their loops into calls to them.
$(OBJ)/kernel/mem/copy.o: CXXFLAGS += -fno-tree-loop-distribute-patterns

$(OBJ)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(call quiet,CXX,$<)$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@
	@scripts/compdb-entry "$(CURDIR)" "$<" "$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@" $@.json

$(OBJ)/%.o: %.S
	@mkdir -p $(dir $@)
	$(call quiet,AS,$<)$(CC) $(CPPFLAGS) $(ASFLAGS) -c $< -o $@
	@scripts/compdb-entry "$(CURDIR)" "$<" "$(CC) $(CPPFLAGS) $(ASFLAGS) -c $< -o $@" $@.json

$(BUILD)/vireo.ld: linker/vireo.ld.S boot/layout.h
	@mkdir -p $(dir $@)
	$(call quiet,CPP,$<)$(CC) -E -P -x c -I. $< -o $@

# The image relocates itself (boot/start.S): only R_AARCH64_RELATIVE may remain.
$(IMAGE).elf: $(OBJS) $(BUILD)/vireo.ld
	$(call quiet,LD,$@)$(LD) $(LDFLAGS) -T $(BUILD)/vireo.ld -o $@ $(OBJS) --start-group $(LIBS) --end-group
	@bad=$$($(READELF) -rW $@ | awk '/^[0-9a-f]+ /{print $$3}' | grep -Ev '^R_AARCH64_(RELATIVE|NONE)$$' | sort -u); \
	if [ -n "$$bad" ]; then echo "error: $@ has relocations boot/start.S cannot apply: $$bad"; rm -f $@; exit 1; fi
	$(Q)scripts/check-fpsimd $(CROSS)objdump $@ || { rm -f $@; exit 1; }

$(IMAGE).bin: $(IMAGE).elf
	$(call quiet,OBJCOPY,$@)$(OBJCOPY) -O binary $< $@

# --- bare-metal test guests (guests/tests) ----------------------------------

# Each test guest is an arm64 Image (lib/image_head.S) that Vireo's loader
# takes like a Linux kernel from a test package (tests/configs/bare/*.dts);
# none of them is part of the hypervisor image.
GUEST_DIR := $(BUILD)/guests
GUEST_NAMES := $(basename $(notdir $(wildcard guests/tests/*.cpp)))
GUEST_LIB_OBJS := $(GUEST_DIR)/obj/lib/image_head.o $(GUEST_DIR)/obj/lib/crt0.o $(GUEST_DIR)/obj/lib/guest.o
GUEST_IMAGES := $(GUEST_NAMES:%=$(GUEST_DIR)/%.img)
GUEST_CXXFLAGS := -std=c++20 -O2 -g $(ARCHFLAGS) -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics \
	-fno-stack-protector -fno-pie -Wall -Wextra -Werror -Iguests/tests -nostdinc \
	-isystem $(shell $(CC) -print-file-name=include) -isystem $(NEWLIB)/include -isystem $(LIBFDT)/include -MMD -MP

$(GUEST_DIR)/obj/%.o: guests/tests/%.cpp
	@mkdir -p $(dir $@)
	$(call quiet,CXX,$<)$(CXX) $(GUEST_CXXFLAGS) -c $< -o $@
	@scripts/compdb-entry "$(CURDIR)" "$<" "$(CXX) $(GUEST_CXXFLAGS) -c $< -o $@" $@.json

$(GUEST_DIR)/obj/%.o: guests/tests/%.S
	@mkdir -p $(dir $@)
	$(call quiet,AS,$<)$(CC) $(ARCHFLAGS) -c $< -o $@

$(GUEST_DIR)/%.elf: $(GUEST_DIR)/obj/%.o $(GUEST_LIB_OBJS) guests/tests/lib/guest.ld
	$(call quiet,LD,$@)$(LD) -static -nostdlib --gc-sections --no-warn-rwx-segments -T guests/tests/lib/guest.ld \
		--defsym=__load_base=0x40000000 -e _image_head -o $@ $< $(GUEST_LIB_OBJS) \
		--start-group $(LIBFDT)/lib/aarch64-linux-gnu/libfdt.a $(NEWLIB)/lib/libc.a $(LIBGCC) --end-group

# rawboot is a plain binary linked at 0x40080000, as RTOS-style guests for
# QEMU virt are: no Image header, entered at its first byte.
$(GUEST_DIR)/rawboot.elf: $(GUEST_DIR)/obj/rawboot.o $(GUEST_DIR)/obj/lib/crt0.o $(GUEST_DIR)/obj/lib/guest.o guests/tests/lib/guest.ld
	$(call quiet,LD,$@)$(LD) -static -nostdlib --gc-sections --no-warn-rwx-segments -T guests/tests/lib/guest.ld \
		--defsym=__load_base=0x40080000 -e _start -o $@ $(filter %.o,$^) \
		--start-group $(LIBFDT)/lib/aarch64-linux-gnu/libfdt.a $(NEWLIB)/lib/libc.a $(LIBGCC) --end-group

$(GUEST_DIR)/%.img: $(GUEST_DIR)/%.elf
	$(call quiet,OBJCOPY,$@)$(OBJCOPY) -O binary $< $@

# The EL3 test firmware for SMC forwarding tests (booted with -bios).
FW_OBJS := $(GUEST_DIR)/obj/firmware/start.o $(GUEST_DIR)/obj/firmware/el3fw.o
$(GUEST_DIR)/obj/firmware/el3fw.o: GUEST_CXXFLAGS += -I. -isystem $(LIBFDT)/include
$(GUEST_DIR)/el3fw.elf: $(FW_OBJS) guests/tests/firmware/el3fw.ld
	$(call quiet,LD,$@)$(LD) -static -nostdlib --gc-sections --no-warn-rwx-segments -T guests/tests/firmware/el3fw.ld \
		-o $@ $(FW_OBJS) --start-group $(LIBFDT)/lib/aarch64-linux-gnu/libfdt.a $(NEWLIB)/lib/libc.a $(LIBGCC) --end-group
$(GUEST_DIR)/el3fw.bin: $(GUEST_DIR)/el3fw.elf
	$(call quiet,OBJCOPY,$@)$(OBJCOPY) -O binary $< $@
all: $(GUEST_DIR)/el3fw.bin

# --- Linux guests: initramfs, VM configurations, boot packages ------------

# A package (docs/config.md) holds a VM configuration and the images it
# names; `make run` and the system tests hand it to Vireo as QEMU's -initrd.
LINUX_IMAGE = $(firstword $(wildcard $(DEPS)/linux/boot/vmlinuz-*))
INITRAMFS := $(BUILD)/linux/initramfs.cpio
VM ?= guests/configs/linux.dts
CONFIG_DTS := $(wildcard guests/configs/*.dts tests/configs/*.dts)
# Test packages: bare-metal test guests and the configurations that run them.
BARE_DTS := $(wildcard tests/configs/bare/*.dts)
PACKAGES := $(CONFIG_DTS:%.dts=$(BUILD)/packages/%.pkg) $(BARE_DTS:%.dts=$(BUILD)/packages/%.pkg)
PACKAGE_INPUTS = linux=$(LINUX_IMAGE) initramfs=$(INITRAMFS) dtbinfo=$(GUEST_DIR)/dtbinfo.img

# /bin/counter (guests/linux/counter.S): the guest's virtual counter, for make bench.
GUEST_COUNTER := $(BUILD)/linux/counter
$(GUEST_COUNTER): guests/linux/counter.S
	@mkdir -p $(dir $@)
	$(call quiet,AS,$@)$(CROSS)gcc -nostdlib -static -Wl,--build-id=none -o $@ $<
$(INITRAMFS): guests/linux/init guests/linux/rcS guests/linux/inittab scripts/mkinitramfs $(DEPS)/busybox.version \
		$(DEPS)/linux.version $(GUEST_COUNTER)
	@mkdir -p $(dir $@)
	$(call quiet,CPIO,$@)scripts/mkinitramfs $@

# The Linux guest's ext4 disk as built (guests/configs/linux-disk.dts; the
# system tests boot copies of it). `make run` boots DISK, made from it once
# and then kept: what the guest writes there stays.
ROOTFS := $(BUILD)/linux/rootfs.ext4
DISK ?= $(BUILD)/linux/disk.img
$(ROOTFS): guests/linux/rcS guests/linux/inittab scripts/mkrootfs $(DEPS)/busybox.version
	@mkdir -p $(dir $@)
	$(call quiet,MKE2FS,$@)scripts/mkrootfs $@
$(DISK): | $(ROOTFS)
	cp --sparse=always $(ROOTFS) $@
# A distribution's disk (guests/configs/distro.dts, scripts/mkdistrodisk):
# GPT, GRUB on its EFI system partition, Debian's kernel and the initramfs
# on its ext4 root. DISTRO_DISK_BUILT is remade when its inputs change (the
# system tests boot copies of it); `make run` boots DISTRO_DISK, made from
# it once and then kept, like DISK.
DISTRO_DISK_BUILT := $(BUILD)/linux/distro-built.img
DISTRO_DISK ?= $(BUILD)/linux/distro.img
$(DISTRO_DISK_BUILT): scripts/mkdistrodisk scripts/mkrootfs guests/linux/rcS guests/linux/inittab $(INITRAMFS) \
		$(DEPS)/grub-arm64.version $(DEPS)/linux.version
	$(call quiet,MKDISK,$@)scripts/mkdistrodisk $@ $(LINUX_IMAGE) $(INITRAMFS)
$(DISTRO_DISK): | $(DISTRO_DISK_BUILT)
	cp --sparse=always $(DISTRO_DISK_BUILT) $@
all: $(DISTRO_DISK_BUILT)
# guests/configs/linux-pci.dts's NVMe disk for `make run`: 64 MiB of zeros
# (sparse), made once and then kept like DISK.
NVME ?= $(BUILD)/linux/nvme.img
$(NVME):
	@mkdir -p $(dir $@)
	truncate -s 64M $@
all: $(ROOTFS)

$(BUILD)/packages/%.dtb: %.dts
	@mkdir -p $(dir $@)
	$(call quiet,DTC,$<)dtc -q -I dts -O dtb -o $@ $<

$(BUILD)/packages/%.pkg: $(BUILD)/packages/%.dtb $(INITRAMFS) $(GUEST_DIR)/dtbinfo.img scripts/mkpackage
	@printf '%s' $*.dts > $(BUILD)/packages/$*.name
	$(call quiet,PACK,$@)scripts/mkpackage $@ config=$< config-name=$(BUILD)/packages/$*.name $(PACKAGE_INPUTS)

# Firmware guests (guests/configs/uboot.dts, edk2.dts) take Debian's U-Boot
# and EDK2 builds for QEMU virt from their packages as well.
UBOOT_BIN := $(DEPS)/uboot-qemu/usr/lib/u-boot/qemu_arm64/u-boot.bin
EDK2_FD := $(DEPS)/edk2/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
FIRMWARE_PACKAGES := $(BUILD)/packages/guests/configs/uboot.pkg $(BUILD)/packages/guests/configs/edk2.pkg
$(FIRMWARE_PACKAGES): PACKAGE_INPUTS += u-boot=$(UBOOT_BIN) edk2=$(EDK2_FD)
$(FIRMWARE_PACKAGES): $(UBOOT_BIN) $(EDK2_FD)
# The distribution's disk holds its kernel and initrd: the package only the firmware.
DISTRO_EDK2_PACKAGES := $(BUILD)/packages/guests/configs/distro.pkg $(BUILD)/packages/guests/configs/distro-pci.pkg
$(DISTRO_EDK2_PACKAGES): PACKAGE_INPUTS = edk2=$(EDK2_FD)
$(DISTRO_EDK2_PACKAGES): $(EDK2_FD)
$(BUILD)/packages/guests/configs/distro-uboot.pkg: PACKAGE_INPUTS = u-boot=$(UBOOT_BIN)
$(BUILD)/packages/guests/configs/distro-uboot.pkg: $(UBOOT_BIN)
$(BUILD)/packages/tests/configs/distro-beside-linux.pkg: PACKAGE_INPUTS += edk2=$(EDK2_FD)
$(BUILD)/packages/tests/configs/distro-beside-linux.pkg: $(EDK2_FD)
# make bench's interrupt latency beside two Linux VMs (scripts/bench-latency).
LATENCY_PACKAGES := $(BUILD)/packages/tests/configs/bench-latency.pkg \
	$(BUILD)/packages/tests/configs/bench-latency-direct.pkg
$(LATENCY_PACKAGES): PACKAGE_INPUTS += latency=$(GUEST_DIR)/latency.img
$(LATENCY_PACKAGES): $(GUEST_DIR)/latency.img
# A direct VM beside Linux (tests/system/direct.tests).
$(BUILD)/packages/tests/configs/direct-linux.pkg: PACKAGE_INPUTS += direct=$(GUEST_DIR)/direct.img
$(BUILD)/packages/tests/configs/direct-linux.pkg: $(GUEST_DIR)/direct.img
# A test package holds every test guest, entry NAME for guests/tests/NAME.cpp.
# A static pattern rule, so that make has no choice of rule for these: in
# an incremental -j build its implicit-rule search twice picked the generic
# package rule above for some of them (crowded-cpu and channel got Linux's
# entries and no test guests; the cause inside make was not pinned down).
BARE_PACKAGES := $(BARE_DTS:%.dts=$(BUILD)/packages/%.pkg)
$(BARE_PACKAGES): $(BUILD)/packages/tests/configs/bare/%.pkg: $(BUILD)/packages/tests/configs/bare/%.dtb $(GUEST_IMAGES) scripts/mkpackage
	@printf '%s' tests/configs/bare/$*.dts > $(BUILD)/packages/tests/configs/bare/$*.name
	$(call quiet,PACK,$@)scripts/mkpackage $@ config=$< config-name=$(BUILD)/packages/tests/configs/bare/$*.name \
		$(foreach g,$(GUEST_NAMES),$(g)=$(GUEST_DIR)/$(g).img)

all: $(PACKAGES)

# QEMU virt's own DTB (GICv3, 2 CPUs) with the redistributor region cut to
# CPU 0's frames: CPU 1 then has no redistributor (a system test, -dtb).
$(BUILD)/dtb/virt-gicv3-one-redistributor.dtb: Makefile
	@mkdir -p $(dir $@)
	$(call quiet,DUMPDTB,$@)$(QEMU) -M virt,virtualization=on,gic-version=3,dumpdtb=$@.full -cpu cortex-a72 -smp 2 \
		-m 1G -nographic >/dev/null 2>&1 && dtc -q -I dtb -O dts $@.full \
		| sed 's/reg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0x[0-9a-f]*>;/reg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0x20000>;/' \
		| dtc -q -I dts -O dtb -o $@ - && rm -f $@.full
all: $(BUILD)/dtb/virt-gicv3-one-redistributor.dtb

# QEMU virt's own DTB (GICv3, 4 CPUs) whose cpu@2 has an MPIDR no CPU has:
# PSCI CPU_ON refuses it, so cpu 2 fails to start and cpu 3 still comes
# online (a system test, -dtb).
$(BUILD)/dtb/virt-gicv3-cpu2-fails.dtb: Makefile
	@mkdir -p $(dir $@)
	$(call quiet,DUMPDTB,$@)$(QEMU) -M virt,virtualization=on,gic-version=3,dumpdtb=$@.tmp -cpu cortex-a72 -smp 4 \
		-m 1G -nographic >/dev/null 2>&1 && fdtput -t x $@.tmp /cpus/cpu@2 reg 0x7f && mv $@.tmp $@
all: $(BUILD)/dtb/virt-gicv3-cpu2-fails.dtb

# QEMU virt's own DTB (GICv3, SMMUv3) whose PCIe bridge's iommu-map-mask
# folds requester IDs 0x10 and 0x18 (00:02.0, 00:03.0) onto StreamID 0x10:
# two VMs may not share the stream (a system test, -dtb).
$(BUILD)/dtb/virt-gicv3-shared-stream.dtb: Makefile
	@mkdir -p $(dir $@)
	$(call quiet,DUMPDTB,$@)$(QEMU) -M virt,virtualization=on,gic-version=3,iommu=smmuv3,dumpdtb=$@.tmp -cpu cortex-a72 \
		-smp 2 -m 1G -nographic >/dev/null 2>&1 && fdtput -t x $@.tmp /pcie@10000000 iommu-map-mask 0xfff0 && mv $@.tmp $@
all: $(BUILD)/dtb/virt-gicv3-shared-stream.dtb

# QEMU virt's DTB whose /chosen names a boot package where none can be: in
# the PCIe window (not RAM) and over Vireo's own image (-kernel's 0x40200000).
$(BUILD)/dtb/virt-package-%.dtb: Makefile
	@mkdir -p $(dir $@)
	$(call quiet,DUMPDTB,$@)$(QEMU) -M virt,virtualization=on,gic-version=3,dumpdtb=$@.tmp -cpu cortex-a72 -smp 1 \
		-m 1G -nographic >/dev/null 2>&1 && \
		fdtput -t x $@.tmp /chosen linux,initrd-start 0 $(if $(filter %not-ram,$*),0x10000000,0x40210000) && \
		fdtput -t x $@.tmp /chosen linux,initrd-end 0 $(if $(filter %not-ram,$*),0x10100000,0x40220000) && mv $@.tmp $@
all: $(BUILD)/dtb/virt-package-not-ram.dtb $(BUILD)/dtb/virt-package-over-image.dtb

# Debian's Radxa ROCK 5B DTB adapted to QEMU virt (GICv3, 8 CPUs) where the
# machine differs: CPU MPIDRs, GIC addresses, serial2 as QEMU's PL011
# (scripts/adapt-rk3588-dtb; system tests, -dtb: tests/system/rk3588.tests).
# The -keep-mpidrs variant keeps the board's MPIDRs 0x0-0x700 for QEMU's
# CPUs 0, 16, ... 112 of -smp 113.
RK3588_ROCK5B_DTB = $(firstword $(wildcard $(DEPS)/linux-6.12/usr/lib/linux-image-*/rockchip/rk3588-rock-5b.dtb))
$(BUILD)/dtb/rk3588-rock-5b-on-qemu-virt.dtb: $(RK3588_ROCK5B_DTB) scripts/adapt-rk3588-dtb
	@mkdir -p $(dir $@)
	$(call quiet,ADAPT,$@)scripts/adapt-rk3588-dtb $< $@
$(BUILD)/dtb/rk3588-rock-5b-on-qemu-virt-keep-mpidrs.dtb: $(RK3588_ROCK5B_DTB) scripts/adapt-rk3588-dtb
	@mkdir -p $(dir $@)
	$(call quiet,ADAPT,$@)scripts/adapt-rk3588-dtb --keep-mpidrs $< $@
all: $(BUILD)/dtb/rk3588-rock-5b-on-qemu-virt.dtb $(BUILD)/dtb/rk3588-rock-5b-on-qemu-virt-keep-mpidrs.dtb

# --- the Raspberry Pi 4's SD card (docs/boards.md) ----------------------------

# make sdcard [SDCARD_VM=CONFIG.dts] [TFA=1]: the boot partition's files in
# build/sdcard; TFA=1 adds Debian's TF-A BL31 as the armstub.
SDCARD := $(BUILD)/sdcard
SDCARD_VM ?= guests/configs/linux.dts
RPI4_DTB = $(firstword $(wildcard $(DEPS)/linux/usr/lib/linux-image-*/broadcom/bcm2711-rpi-4-b.dtb))
TFA_BL31 := $(DEPS)/tf-a/usr/lib/arm-trusted-firmware/rpi4/bl31.bin
.PHONY: sdcard
sdcard: $(SDCARD)/config.txt
$(SDCARD)/config.txt: $(IMAGE).bin $(BUILD)/packages/$(SDCARD_VM:.dts=.pkg) scripts/mksdcard $(DEPS)/linux.version FORCE
	$(call quiet,SDCARD,$(SDCARD))scripts/mksdcard $(SDCARD) $(IMAGE).bin $(BUILD)/packages/$(SDCARD_VM:.dts=.pkg) \
		$(RPI4_DTB) $(if $(TFA),$(TFA_BL31))
.PHONY: FORCE
FORCE:

# Vireo behind TF-A on QEMU raspi4b (scripts/mkrpi4-tfa; tests/system/boards.tests).
TFA_DIR := $(BUILD)/rpi4-tfa
TFA_PACKAGES := linux=$(BUILD)/packages/guests/configs/linux.pkg fwquery=$(BUILD)/packages/tests/configs/bare/fwquery.pkg
$(TFA_DIR)/.done: scripts/mkrpi4-tfa $(TFA_BL31) $(DEPS)/linux.version $(BUILD)/packages/guests/configs/linux.pkg \
		$(BUILD)/packages/tests/configs/bare/fwquery.pkg
	$(call quiet,TF-A,$(TFA_DIR))scripts/mkrpi4-tfa $(TFA_DIR) $(TFA_BL31) $(RPI4_DTB) $(TFA_PACKAGES) poweroff=none
	@touch $@
all: $(TFA_DIR)/.done

compile_commands.json: $(OBJS)
	@scripts/compdb-merge $@ $(OBJS:%=%.json) $(UNIT_OBJS:%=%.json) $(BUILD)/host/tools/vireo_check.o.json $(GUEST_NAMES:%=$(GUEST_DIR)/obj/%.o.json)

# --- host unit tests ------------------------------------------------------

HOST_CXX ?= g++
UNIT_SRCS := $(wildcard tests/unit/*.cpp) platform/fdt_platform.cpp platform/fdt_pci.cpp platform/early_fdt.cpp platform/boot_place.cpp platform/uart.cpp platform/psci.cpp \
	vcpu/exit.cpp vcpu/inject.cpp vcpu/debug_rules.cpp kernel/base/chacha20.cpp kernel/mem/copy.cpp kernel/mem/page_table.cpp kernel/mem/phys_alloc.cpp kernel/mem/colour_pool.cpp \
	kernel/devices/calls/psci_vm.cpp kernel/devices/mmio/mmio_bus.cpp kernel/devices/mmio/test_device.cpp kernel/devices/mmio/forwarded.cpp kernel/devices/channel/doorbell.cpp \
	kernel/devices/virtio/virtqueue.cpp kernel/devices/virtio/virtio_net.cpp kernel/devices/virtio/net_switch.cpp kernel/devices/virtio/frame_pump.cpp kernel/devices/virtio/net_offload.cpp \
	kernel/devices/sysreg/sanitize_id.cpp kernel/devices/sysreg/debug_regs.cpp kernel/devices/pmu/pmu_model.cpp kernel/devices/gic/vgic_dist.cpp kernel/devices/gic/vgic_lpi.cpp kernel/devices/gic/vgic_its.cpp kernel/devices/uart/vpl011.cpp kernel/devices/flash/cfi_flash.cpp \
	kernel/devices/pci/config_space.cpp kernel/devices/pci/virtual_ecam.cpp $(wildcard kernel/loader/*.cpp)
UNIT_OBJS := $(UNIT_SRCS:%.cpp=$(BUILD)/host/%.o)
UNIT_DTS := $(wildcard tests/dts/*.dts)
UNIT_DTBS := $(UNIT_DTS:tests/dts/%.dts=$(BUILD)/host/dtb/%.dtb)
HOST_CXXFLAGS := -std=c++20 -O1 -g -I. -Wall -Wextra -Werror -Wconversion -Wshadow -MMD -MP \
	-DTEST_DTB_DIR='"$(CURDIR)/$(BUILD)/host/dtb"' -DTEST_DEPS_DIR='"$(CURDIR)/$(DEPS)"' -DVIREO_IMAGE_PATH='"$(CURDIR)/$(BUILD)/vireo.bin"' \
	-DTEST_SDCARD_DIR='"$(CURDIR)/$(BUILD)/sdcard"' \
	-fsanitize=address,undefined

$(BUILD)/host/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(call quiet,HOSTCXX,$<)$(HOST_CXX) $(HOST_CXXFLAGS) -c $< -o $@
	@scripts/compdb-entry "$(CURDIR)" "$<" "$(HOST_CXX) $(HOST_CXXFLAGS) -c $< -o $@" $@.json

$(BUILD)/host/dtb/%.dtb: tests/dts/%.dts
	@mkdir -p $(dir $@)
	$(call quiet,DTC,$<)dtc -q -I dts -O dtb -o $@ $<

# The image is an input too: tests/unit/image_test.cpp checks QEMU virt's.
$(BUILD)/unit-tests: $(UNIT_OBJS) $(UNIT_DTBS) $(BUILD)/vireo.bin $(SDCARD)/config.txt
	$(call quiet,HOSTLD,$@)$(HOST_CXX) -fsanitize=address,undefined -o $@ $(UNIT_OBJS) -lgtest -lgtest_main -lfdt -pthread

# --- vireo-check: a configuration checked on the host (tools/vireo_check.cpp) ---

CHECK_SRCS := tools/vireo_check.cpp $(wildcard kernel/loader/*.cpp) platform/fdt_platform.cpp platform/fdt_pci.cpp \
	platform/early_fdt.cpp platform/uart.cpp platform/psci.cpp
CHECK_OBJS := $(CHECK_SRCS:%.cpp=$(BUILD)/host/%.o)
$(BUILD)/host/vireo-check: $(CHECK_OBJS)
	$(call quiet,HOSTLD,$@)$(HOST_CXX) -fsanitize=address,undefined -o $@ $(CHECK_OBJS) -lfdt
all: $(BUILD)/host/vireo-check

# --- fuzzing (libFuzzer: clang's -fsanitize=fuzzer) ------------------------

# Each target is tests/fuzz/NAME.cpp and the sources it exercises, built for
# the host from the same files as the unit tests. `make fuzz` runs every
# target for FUZZ_SECONDS, starting from its corpus in tests/fuzz/corpus/NAME
# (new finds go to build/fuzz/corpus/NAME); `make test` replays each corpus.
FUZZ_CXX ?= clang++
FUZZ_SECONDS ?= 60
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_NAMES := $(basename $(notdir $(wildcard tests/fuzz/*.cpp)))
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_DIR)/%)
FUZZ_CXXFLAGS := -std=c++20 -O1 -g -I. -Wall -Wextra -Werror -Wno-format-security -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -MMD -MP
fuzz_srcs_exit_decode := vcpu/exit.cpp
fuzz_srcs_vgic_dist := kernel/devices/gic/vgic_dist.cpp
fuzz_srcs_vgic_its := kernel/devices/gic/vgic_its.cpp kernel/devices/gic/vgic_lpi.cpp
fuzz_srcs_vpl011 := kernel/devices/uart/vpl011.cpp
fuzz_srcs_cfi_flash := kernel/devices/flash/cfi_flash.cpp
fuzz_srcs_smmuv3_format :=
fuzz_srcs_pci_config := kernel/devices/pci/config_space.cpp kernel/devices/pci/virtual_ecam.cpp
fuzz_srcs_psci := kernel/devices/calls/psci_vm.cpp
fuzz_srcs_calls := kernel/devices/calls/calls.cpp kernel/devices/calls/psci_vm.cpp platform/psci.cpp \
	kernel/devices/channel/doorbell.cpp
fuzz_srcs_config := kernel/loader/config.cpp kernel/loader/channel_config.cpp
fuzz_srcs_package := kernel/loader/package.cpp
fuzz_srcs_image := kernel/loader/image.cpp
fuzz_srcs_early_fdt := platform/early_fdt.cpp platform/boot_place.cpp platform/fdt_platform.cpp platform/fdt_pci.cpp
fuzz_srcs_guest_fdt := kernel/loader/guest_fdt.cpp
fuzz_srcs_host_device := kernel/loader/host_device.cpp
fuzz_srcs_virtio_net := kernel/devices/virtio/virtqueue.cpp kernel/devices/virtio/virtio_net.cpp \
	kernel/devices/virtio/net_switch.cpp kernel/devices/virtio/frame_pump.cpp kernel/devices/virtio/net_offload.cpp

$(FUZZ_DIR)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(call quiet,FUZZCXX,$<)$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -c $< -o $@

define fuzz_target
$(FUZZ_DIR)/$(1): $(FUZZ_DIR)/obj/tests/fuzz/$(1).o $(patsubst %.cpp,$(FUZZ_DIR)/obj/%.o,$(fuzz_srcs_$(1)))
	$$(call quiet,FUZZLD,$$@)$(FUZZ_CXX) -fsanitize=fuzzer,address,undefined -o $$@ $$^ -lfdt
endef
$(foreach f,$(FUZZ_NAMES),$(eval $(call fuzz_target,$(f))))

fuzzers: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_NAMES); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$f; \
		echo "fuzz $$f: $(FUZZ_SECONDS) s"; \
		$(FUZZ_DIR)/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/$$f- $(FUZZ_DIR)/corpus/$$f tests/fuzz/corpus/$$f 2>&1 \
			| grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|.*invariant broken|SUMMARY)' \
			|| true; \
		test -z "$$(ls $(FUZZ_DIR)/$$f-crash-* $(FUZZ_DIR)/$$f-leak-* $(FUZZ_DIR)/$$f-timeout-* 2>/dev/null)" \
			|| { echo "fuzz $$f: FOUND a failing input: $$(ls $(FUZZ_DIR)/$$f-*-*)"; exit 1; }; \
	done

# --- running -------------------------------------------------------------

RUN_PACKAGE = $(BUILD)/packages/$(VM:%.dts=%).pkg
# The QEMU devices the shipped I/O configurations pass through to their VMs
# (scripts/qemu --disk, --net: virtio-mmio transports 31 and 30, at
# 0x0a003e00 and 0x0a003c00; --pci-disk, --pci-net, --pci-nvme: PCIe
# functions 00:01.0, 00:02.0 and 00:03.0 behind QEMU's SMMUv3). NET_PORT on
# 127.0.0.1 reaches the guest's port 80.
NET_PORT ?= 8080
QEMU_DEVICES_guests/configs/linux-disk.dts = --disk $(DISK)
QEMU_DEVICES_guests/configs/distro.dts = --disk $(DISTRO_DISK)
QEMU_DEVICES_guests/configs/distro-uboot.dts = --disk $(DISTRO_DISK)
QEMU_DEVICES_guests/configs/distro-pci.dts = --pci-disk $(DISTRO_DISK)
QEMU_DEVICES_guests/configs/linux-net.dts = --net $(NET_PORT)
QEMU_DEVICES_guests/configs/two-linux-io.dts = --disk $(DISK) --net $(NET_PORT)
QEMU_DEVICES_guests/configs/linux-pci.dts = --pci-disk $(DISK) --pci-net $(NET_PORT) --pci-nvme $(NVME)
QEMU_DEVICES_guests/configs/two-linux-pci.dts = --pci-disk $(DISK) --pci-net $(NET_PORT)
QEMU_DEVICES = $(QEMU_DEVICES_$(VM))
QEMU_RUN = scripts/qemu --gic $(GIC) --cpus $(CPUS) --mem $(MEM) --cpu $(CPU) $(if $(APPEND),--append "$(APPEND)") \
	--initrd $(RUN_PACKAGE) $(QEMU_DEVICES)
# The disk images those devices name, made before QEMU starts.
QEMU_IMAGES = $(filter $(DISK) $(DISTRO_DISK) $(NVME),$(QEMU_DEVICES))

run: all $(RUN_PACKAGE) $(QEMU_IMAGES)
	$(QEMU_RUN) $(IMAGE).bin

# `make check VM=guests/configs/NAME.dts`: vireo-check on a configuration,
# with its package and QEMU virt's DTB for the `make run` options.
check: $(BUILD)/host/vireo-check $(RUN_PACKAGE) $(QEMU_IMAGES)
	@scripts/qemu --gic $(GIC) --cpus $(CPUS) --mem $(MEM) --cpu $(CPU) $(QEMU_DEVICES) --dumpdtb $(BUILD)/check-board.dtb \
		$(IMAGE).bin 2>/dev/null
	$(BUILD)/host/vireo-check $(VM) --package $(RUN_PACKAGE) --board $(BUILD)/check-board.dtb

debug: all $(RUN_PACKAGE) $(QEMU_IMAGES)
	@echo "QEMU waits for gdb on :1234; in another terminal: gdb-multiarch -ex 'symbol-file $(IMAGE).elf -o 0x40200000' -ex 'target remote :1234'"
	$(QEMU_RUN) --gdb $(IMAGE).bin

test: format-check all $(BUILD)/unit-tests $(FUZZ_BINS) $(BUILD)/host/vireo-check
	@scripts/run-tests --unit $(BUILD)/unit-tests --fuzz $(FUZZ_DIR) --check $(BUILD)/host/vireo-check \
		--image $(IMAGE).bin tests/system/*.tests

bench: all
	@scripts/bench $(BUILD)

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

systest: all
	@scripts/run-tests --image $(IMAGE).bin tests/system/*.tests

# Longer runs (minutes): Linux timer loops. CI runs them after make test.
stress: all
	@scripts/run-tests --image $(IMAGE).bin tests/stress/*.tests

# --- tree hygiene ----------------------------------------------------------

FORMAT_FILES := $(shell git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/host $(BUILD)/fuzz $(BUILD)/guests $(BUILD)/vireo*.* $(BUILD)/vireo.ld $(BUILD)/unit-tests $(BUILD)/test-logs $(BUILD)/sdcard $(BUILD)/rpi4-tfa $(BUILD)/dtb compile_commands.json

.SECONDARY:

-include $(OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(CHECK_OBJS:.o=.d) $(wildcard $(FUZZ_DIR)/obj/*/*.d $(FUZZ_DIR)/obj/*/*/*.d $(FUZZ_DIR)/obj/*/*/*/*.d) $(GUEST_NAMES:%=$(GUEST_DIR)/obj/%.d) $(GUEST_DIR)/obj/lib/guest.d
