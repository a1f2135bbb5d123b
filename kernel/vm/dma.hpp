// Which VM's memory each DMA stream reaches: Vireo's SMMUv3s (one driver
// each, platform/smmuv3.hpp), the streams it lets translate with a VM's
// stage 2, and the faults they report. Every stream no VM owns aborts,
// from before the first VM is built.
#pragma once

#include <stddef.h>
#include <stdint.h>

struct Platform;
class Vm;

namespace dma {

/// A stream on one SMMU: where a PCIe function's DMA goes through.
struct Stream {
    uint32_t smmu = 0; // index into Platform::smmu
    uint32_t sid = 0;
};

/// Boot CPU, after memory::init and before any VM is built: every SMMU
/// aborts all streams (GBPA, then abort STEs), its event and error
/// interrupts come to this CPU. Logs what it found.
void init(const Platform& platform);

/// Whether SMMU `smmu` translates for VMs (nullptr), or why not.
const char* unusable(uint32_t smmu);

/// From now on `stream` translates with `vm`'s stage 2 (its VMID and
/// tables): the device reaches the VM's RAM and what else the VM maps, at
/// the guest-physical addresses its guest programs. `device` names it in
/// fault reports ("00:02.0"). False if the SMMU cannot.
bool attach(const Stream& stream, Vm& vm, const char* device);
/// The stream aborts again (the VM stopped or restarts).
void detach(const Stream& stream);
/// After `vmid`'s stage 2 lost or changed a valid entry: every SMMU
/// forgets what it cached of it (TLBI, CMD_SYNC).
void invalidate(uint16_t vmid);

} // namespace dma
