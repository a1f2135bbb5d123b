#include "kernel/loader/guest_fdt.hpp"

#include <libfdt.h>
#include <limits.h>
#include <string.h>

#include "platform/format.hpp"

using namespace guest_fdt;

namespace {

/// libfdt's sequential-write calls, stopping at the first failure so the
/// building code reads as a list of nodes and properties.
class Writer {
public:
    explicit Writer(void* fdt) : fdt_(fdt) {}

    int status() const { return status_; }

    /// Runs one libfdt call (returning 0 or a negative error) unless an earlier one failed.
    template <typename Call> void step(Call call)
    {
        if (status_ == 0) {
            const int result = call();
            status_ = result < 0 ? result : 0;
        }
    }

    void begin(const char* name)
    {
        step([&] { return fdt_begin_node(fdt_, name); });
    }
    void end()
    {
        step([&] { return fdt_end_node(fdt_); });
    }
    void empty(const char* name)
    {
        step([&] { return fdt_property(fdt_, name, nullptr, 0); });
    }
    void u32(const char* name, uint32_t value)
    {
        step([&] { return fdt_property_u32(fdt_, name, value); });
    }
    void u64(const char* name, uint64_t value)
    {
        step([&] { return fdt_property_u64(fdt_, name, value); });
    }
    void string(const char* name, const char* value)
    {
        step([&] { return fdt_property(fdt_, name, value, static_cast<int>(strlen(value) + 1)); });
    }
    /// A string list, as one literal with embedded NULs: "a\0b".
    template <size_t N> void strings(const char* name, const char (&list)[N])
    {
        step([&] { return fdt_property(fdt_, name, list, static_cast<int>(N)); });
    }
    /// Cells, each value as one big-endian 32-bit cell.
    template <size_t N> void cells(const char* name, const uint32_t (&values)[N])
    {
        fdt32_t raw[N];
        for (size_t i = 0; i < N; i++) {
            raw[i] = cpu_to_fdt32(values[i]);
        }
        step([&] { return fdt_property(fdt_, name, raw, static_cast<int>(sizeof raw)); });
    }
    void cell_array(const char* name, const uint32_t* values, size_t count)
    {
        fdt32_t raw[128];
        const size_t n = count < 128 ? count : 128;
        for (size_t i = 0; i < n; i++) {
            raw[i] = cpu_to_fdt32(values[i]);
        }
        step([&] { return fdt_property(fdt_, name, raw, static_cast<int>(n * sizeof raw[0])); });
    }
    /// A reg property of (address, size) pairs, two cells each (#address-cells = #size-cells = 2).
    template <size_t N> void reg(const uint64_t (&values)[N])
    {
        fdt32_t raw[2 * N];
        for (size_t i = 0; i < N; i++) {
            raw[2 * i] = cpu_to_fdt32(static_cast<uint32_t>(values[i] >> 32));
            raw[2 * i + 1] = cpu_to_fdt32(static_cast<uint32_t>(values[i]));
        }
        step([&] { return fdt_property(fdt_, "reg", raw, static_cast<int>(sizeof raw)); });
    }

    void* fdt() const { return fdt_; }

private:
    void* fdt_;
    int status_ = 0;
};

constexpr int kBadSpec = -FDT_ERR_BADVALUE;

const char* check_spec(const GuestFdtSpec& spec)
{
    if (spec.vcpus < 1 || spec.vcpus > limits::kVcpusPerVm) {
        return "guest DTB: vcpus must be 1 to 16";
    }
    if (spec.gic_version == 2 && spec.vcpus > limits::kVcpusPerGicv2Vm) {
        return "guest DTB: a VM with a GICv2 has 1 to 8 vCPUs";
    }
    if (spec.its_base != 0 && spec.gic_version != 3) {
        return "guest DTB: an ITS needs a GICv3";
    }
    if (spec.pci != nullptr && spec.pci->msi_its && spec.its_base == 0) {
        return "guest DTB: the PCIe host bridge's MSIs need an ITS";
    }
    if (spec.gic_version != 2 && spec.gic_version != 3) {
        return "guest DTB: gic_version must be 2 or 3";
    }
    if (spec.ram_size == 0) {
        return "guest DTB: the VM has no RAM";
    }
    for (size_t i = 0; spec.channels != nullptr && i < spec.channel_count; i++) {
        const GuestFdtChannel& c = spec.channels[i];
        if (c.name == nullptr || c.intid < 32 || c.intid > 1019 || c.shm_size == 0) {
            return "guest DTB: a channel needs a name, a region and an SPI";
        }
    }
    for (size_t i = 0; spec.virtio != nullptr && i < spec.virtio_count; i++) {
        if (spec.virtio[i].intid < 32 || spec.virtio[i].intid > 1019) {
            return "guest DTB: a virtio device needs an SPI";
        }
    }
    if (spec.initrd_end < spec.initrd_start || (spec.initrd_start != 0 && spec.initrd_end == spec.initrd_start)) {
        return "guest DTB: the initrd is empty or ends before it starts";
    }
    return nullptr;
}

void write_cpus(Writer& w, const GuestFdtSpec& spec)
{
    w.begin("cpus");
    w.u32("#address-cells", 1);
    w.u32("#size-cells", 0);
    for (uint32_t n = 0; n < spec.vcpus; n++) {
        char name[16];
        format(name, sizeof name, "cpu@%x", n);
        w.begin(name);
        w.string("device_type", "cpu");
        w.string("compatible", "arm,armv8");
        w.u32("reg", n); // MPIDR Aff0
        w.string("enable-method", "psci");
        w.end();
    }
    w.end();
}

void write_gic(Writer& w, const GuestFdtSpec& spec, uint32_t ppi_cpus)
{
    char name[48];
    format(name, sizeof name, "interrupt-controller@%lx", spec.gicd_base);
    w.begin(name);
    if (spec.gic_version == 2) {
        w.string("compatible", "arm,cortex-a15-gic");
        const uint64_t reg[] = {spec.gicd_base, spec.gicd_size, spec.gicc_base, spec.gicc_size};
        w.reg(reg);
    } else {
        w.string("compatible", "arm,gic-v3");
        const uint64_t reg[] = {spec.gicd_base, spec.gicd_size, spec.gicr_base, spec.gicr_size * spec.vcpus};
        w.reg(reg);
        w.u32("#redistributor-regions", 1);
    }
    w.u32("#interrupt-cells", 3);
    if (spec.pci != nullptr || spec.its_base != 0) {
        // Room for children (an ITS, a GICv2m frame); a PCIe bridge's
        // interrupt-map entries give two address cells for the GIC.
        w.u32("#address-cells", 2);
        w.u32("#size-cells", 2);
        w.empty("ranges");
    }
    w.empty("interrupt-controller");
    w.cells("interrupts", {kPpi, kMaintenancePpi, kLevelHigh | ppi_cpus});
    w.u32("phandle", kGicPhandle);
    if (spec.its_base != 0) {
        format(name, sizeof name, "its@%lx", spec.its_base);
        w.begin(name);
        w.string("compatible", "arm,gic-v3-its");
        w.empty("msi-controller");
        w.u32("#msi-cells", 1);
        const uint64_t its[] = {spec.its_base, kItsSize};
        w.reg(its);
        w.u32("phandle", kItsPhandle);
        w.end();
    }
    if (spec.pci != nullptr && spec.pci->msi_frame_size != 0) {
        format(name, sizeof name, "v2m@%lx", spec.pci->msi_frame_base);
        w.begin(name);
        w.string("compatible", "arm,gic-v2m-frame");
        w.empty("msi-controller");
        const uint64_t frame[] = {spec.pci->msi_frame_base, spec.pci->msi_frame_size};
        w.reg(frame);
        w.u32("arm,msi-base-spi", spec.pci->msi_first);
        w.u32("arm,msi-num-spis", spec.pci->msi_count);
        w.u32("phandle", kMsiFramePhandle);
        w.end();
    }
    w.end();
}

void write_timer(Writer& w, uint32_t ppi_cpus)
{
    const uint32_t flags = kLevelLow | ppi_cpus;
    w.begin("timer");
    w.string("compatible", "arm,armv8-timer");
    // In the binding's order: secure physical, non-secure physical, virtual, hypervisor.
    w.cells("interrupts", {kPpi, kSecurePhysTimerPpi, flags, kPpi, kPhysTimerPpi, flags, kPpi, kVirtTimerPpi, flags,
                           kPpi, kHypTimerPpi, flags});
    w.end();
}

void write_pmu(Writer& w, uint32_t ppi_cpus)
{
    w.begin("pmu");
    w.string("compatible", "arm,armv8-pmuv3");
    w.cells("interrupts", {kPpi, kPmuPpi, kLevelHigh | ppi_cpus});
    w.end();
}

void write_uart(Writer& w, const GuestFdtSpec& spec, const char* name)
{
    w.begin("apb-pclk");
    w.string("compatible", "fixed-clock");
    w.u32("#clock-cells", 0);
    w.u32("clock-frequency", kUartClockHz);
    w.string("clock-output-names", "clk24mhz");
    w.u32("phandle", kClockPhandle);
    w.end();

    w.begin(name);
    w.strings("compatible", "arm,pl011\0arm,primecell");
    const uint64_t reg[] = {spec.uart_base, kUartSize};
    w.reg(reg);
    w.cells("interrupts", {kSpi, spec.uart_spi, kLevelHigh});
    w.cells("clocks", {kClockPhandle, kClockPhandle});
    w.strings("clock-names", "uartclk\0apb_pclk");
    w.end();
}

/// Whether a NUL-separated compatible list names "arm,primecell".
void write_devices(Writer& w, const GuestFdtSpec& spec)
{
    for (size_t i = 0; spec.devices != nullptr && i < spec.device_count; i++) {
        const GuestFdtDevice& d = spec.devices[i];
        if (d.name == nullptr || d.compatible == nullptr || d.compatible_length == 0 ||
            d.compatible[d.compatible_length - 1] != '\0') {
            continue;
        }
        // Named by its host DTB path, the node keeps the host's name (e.g.
        // virtio_mmio@a003e00); else it has the configuration's.
        const char* slash = d.path != nullptr ? strrchr(d.path, '/') : nullptr;
        w.begin(slash != nullptr && slash[1] != '\0' ? slash + 1 : d.name);
        w.step(
            [&] { return fdt_property(w.fdt(), "compatible", d.compatible, static_cast<int>(d.compatible_length)); });
        const uint64_t reg[] = {d.base, d.size};
        w.reg(reg);
        if (d.intids.count != 0) {
            void* room = nullptr;
            const auto bytes = static_cast<int>(12 * d.intids.count);
            w.step([&] { return fdt_property_placeholder(w.fdt(), "interrupts", bytes, &room); });
            auto* cells = static_cast<fdt32_t*>(room);
            for (size_t n = 0; cells != nullptr && n < d.intids.count; n++) {
                cells[3 * n] = cpu_to_fdt32(kSpi);
                cells[3 * n + 1] = cpu_to_fdt32(d.intids[n] - 32);
                cells[3 * n + 2] = cpu_to_fdt32(d.edge ? kEdgeRising : kLevelHigh);
            }
        }
        if (d.dma_coherent) {
            w.step([&] { return fdt_property(w.fdt(), "dma-coherent", nullptr, 0); });
        }
        if (d.compatible_with("arm,primecell")) {
            w.cells("clocks", {kClockPhandle});
            w.string("clock-names", "apb_pclk");
            // Linux's AMBA bus reads the ID from the last 32 bytes of the
            // region, which a 0x200-byte PL011 (Raspberry Pi 4) does not
            // have there: the host DTB's ID stands in, as on the host.
            if (d.primecell_periphid != 0) {
                w.u32("arm,primecell-periphid", d.primecell_periphid);
            }
        }
        w.end();
    }
}

/// Each channel's region under /reserved-memory (no-map: never the
/// guest's RAM) and a "vireo,channel" node for its doorbell page that
/// points at it (docs/config.md, "Channels").
/// Opens node PREFIX@BASE with its compatible and one reg range: the
/// devices Vireo emulates at a single address.
void begin_device(Writer& w, const char* prefix, uint64_t base, uint64_t size, const char* compatible)
{
    char name[48];
    format(name, sizeof name, "%s@%lx", prefix, base);
    w.begin(name);
    w.string("compatible", compatible);
    const uint64_t reg[] = {base, size};
    w.reg(reg);
}

void write_channels(Writer& w, const GuestFdtSpec& spec)
{
    if (spec.channels == nullptr || spec.channel_count == 0) {
        return;
    }
    char name[64];
    w.begin("reserved-memory");
    w.u32("#address-cells", 2);
    w.u32("#size-cells", 2);
    w.empty("ranges");
    for (size_t i = 0; i < spec.channel_count; i++) {
        const GuestFdtChannel& c = spec.channels[i];
        format(name, sizeof name, "%s@%lx", c.name, c.shm_ipa);
        w.begin(name);
        const uint64_t reg[] = {c.shm_ipa, c.shm_size};
        w.reg(reg);
        w.empty("no-map");
        w.u32("phandle", kChannelPhandleBase + static_cast<uint32_t>(i));
        w.end();
    }
    w.end();
    for (size_t i = 0; i < spec.channel_count; i++) {
        const GuestFdtChannel& c = spec.channels[i];
        begin_device(w, "vireo-channel", c.doorbell_ipa, c.doorbell_size, "vireo,channel");
        w.cells("interrupts", {kSpi, c.intid - 32, kLevelHigh});
        w.u32("memory-region", kChannelPhandleBase + static_cast<uint32_t>(i));
        w.string("label", c.name);
        if (!c.writable) {
            w.empty("read-only");
        }
        w.end();
    }
}

void write_virtio(Writer& w, const GuestFdtSpec& spec)
{
    for (size_t i = 0; spec.virtio != nullptr && i < spec.virtio_count; i++) {
        const GuestFdtVirtio& d = spec.virtio[i];
        begin_device(w, "virtio_mmio", d.base, d.size, "virtio,mmio");
        w.cells("interrupts", {kSpi, d.intid - 32, kLevelHigh});
        w.empty("dma-coherent");
        w.end();
    }
}

void write_flash(Writer& w, const GuestFdtSpec& spec)
{
    for (size_t i = 0; spec.flash != nullptr && i < spec.flash_count; i++) {
        const GuestFdtFlash& f = spec.flash[i];
        begin_device(w, "flash", f.base, f.size, "cfi-flash");
        w.cells("bank-width", {kFlashBankWidth});
        w.end();
    }
}

/// The generic ECAM host bridge (Linux's pci-host-ecam-generic binding):
/// three PCI address cells (space code, then the 64-bit address), one
/// interrupt cell (the pin), interrupt-map entries matching device and pin.
void write_pci(Writer& w, const GuestFdtPci& pci)
{
    constexpr uint32_t kMemory32 = 0x02000000; // space code: 32-bit memory
    char name[32];
    format(name, sizeof name, "pcie@%lx", pci.ecam_base);
    w.begin(name);
    w.string("compatible", "pci-host-ecam-generic");
    w.string("device_type", "pci");
    const uint64_t reg[] = {pci.ecam_base, pci.ecam_size};
    w.reg(reg);
    w.cells("bus-range", {0, 0});
    w.u32("#address-cells", 3);
    w.u32("#size-cells", 2);
    w.u32("#interrupt-cells", 1);
    const auto hi = [](uint64_t v) { return static_cast<uint32_t>(v >> 32); };
    const auto lo = [](uint64_t v) { return static_cast<uint32_t>(v); };
    w.cells("ranges", {kMemory32, hi(pci.mmio_base), lo(pci.mmio_base), hi(pci.mmio_base), lo(pci.mmio_base),
                       hi(pci.mmio_size), lo(pci.mmio_size)});
    w.empty("dma-coherent");
    w.cells("interrupt-map-mask", {0xf800, 0, 0, 7});
    if (pci.msi_its) {
        w.cells("msi-map", {0, kItsPhandle, 0, 0x10000}); // DeviceID = requester ID
    } else if (pci.msi_frame_size != 0) {
        w.u32("msi-parent", kMsiFramePhandle);
    }
    uint32_t map[GuestFdtPci::kMaxIntx * 10];
    size_t n = 0;
    for (size_t i = 0; i < pci.intx_count; i++) {
        const GuestFdtPci::Intx& e = pci.intx[i];
        const uint32_t entry[] = {e.device << 11, 0, 0, e.pin, kGicPhandle, 0, 0, kSpi, e.intid - 32, kLevelHigh};
        for (uint32_t cell : entry) {
            map[n++] = cell;
        }
    }
    w.cell_array("interrupt-map", map, n);
    w.end();
}

} // namespace

uint8_t* guest_fdt::rng_seed(void* fdt)
{
    int len = 0;
    void* seed = fdt_getprop_w(fdt, fdt_path_offset(fdt, "/chosen"), "rng-seed", &len);
    return len == kRngSeedSize ? static_cast<uint8_t*>(seed) : nullptr;
}

int guest_fdt::build(const GuestFdtSpec& spec, void* buf, size_t size, const char*& error)
{
    error = buf == nullptr ? "guest DTB: no buffer" : check_spec(spec);
    if (error != nullptr) {
        return kBadSpec;
    }
    // GICv2 PPIs name the CPUs they reach (the GIC binding); GICv3 has no such field.
    const uint32_t ppi_cpus = spec.gic_version == 2 ? ((1u << spec.vcpus) - 1) << kGicv2CpuMaskShift : 0;
    char uart_name[32];
    char uart_path[40];
    format(uart_name, sizeof uart_name, "pl011@%lx", spec.uart_base);
    format(uart_path, sizeof uart_path, "/%s", uart_name);

    Writer w(buf);
    w.step([&] { return fdt_create(buf, size > INT_MAX ? INT_MAX : static_cast<int>(size)); });
    w.step([&] { return fdt_finish_reservemap(buf); });
    w.begin("");
    w.string("compatible", "vireo,virt");
    w.string("model", "Vireo virtual machine");
    w.u32("#address-cells", 2);
    w.u32("#size-cells", 2);
    w.u32("interrupt-parent", kGicPhandle);

    w.begin("chosen");
    if (spec.bootargs != nullptr) {
        w.string("bootargs", spec.bootargs);
    }
    w.string("stdout-path", uart_path);
    if (spec.initrd_end != 0) {
        w.u64("linux,initrd-start", spec.initrd_start);
        w.u64("linux,initrd-end", spec.initrd_end);
    }
    if (spec.rng_seed) {
        // Its bytes are written at each load (kernel/vm/build.cpp): a placeholder here.
        static constexpr uint8_t kPlaceholder[kRngSeedSize] = {};
        w.step([&] { return fdt_property(w.fdt(), "rng-seed", kPlaceholder, kRngSeedSize); });
    }
    if (spec.pci != nullptr) {
        w.u32("linux,pci-probe-only", 1);
    }
    w.end();

    w.begin("aliases");
    w.string("serial0", uart_path);
    w.end();

    char memory_name[32];
    format(memory_name, sizeof memory_name, "memory@%lx", spec.ram_base);
    w.begin(memory_name);
    w.string("device_type", "memory");
    const uint64_t memory_reg[] = {spec.ram_base, spec.ram_size};
    w.reg(memory_reg);
    w.end();

    write_cpus(w, spec);

    w.begin("psci");
    w.strings("compatible", "arm,psci-1.0\0arm,psci-0.2");
    w.string("method", "hvc");
    w.end();

    write_gic(w, spec, ppi_cpus);
    write_timer(w, ppi_cpus);
    if (spec.pmu) {
        write_pmu(w, ppi_cpus);
    }
    write_uart(w, spec, uart_name);
    write_devices(w, spec);
    write_channels(w, spec);
    write_virtio(w, spec);
    write_flash(w, spec);
    if (spec.pci != nullptr) {
        write_pci(w, *spec.pci);
    }

    w.end(); // root
    w.step([&] { return fdt_finish(buf); });
    if (w.status() == -FDT_ERR_NOSPACE) {
        error = "guest DTB: the buffer is too small";
        return w.status();
    }
    if (w.status() != 0) {
        error = fdt_strerror(w.status());
        return w.status();
    }
    return static_cast<int>(fdt_totalsize(buf));
}
