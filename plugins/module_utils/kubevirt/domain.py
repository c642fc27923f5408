# -*- coding: utf-8 -*-
# Copyright: (c) 2026, ovirt_kubevirt.bridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The domain: CPU and NUMA, memory, resources, machine type, firmware, clock and features."""
from __future__ import annotations

import functools
from typing import Any, Dict, Mapping, Optional

from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.common.errors import InputError
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.domxml.placeholders import parse_placeholder
from ansible_collections.ovirt_kubevirt.bridge.plugins.module_utils.kubevirt.translation import TranslationBase, integer, quantity_kib

try:
    import zoneinfo
except ImportError:  # Python < 3.9
    zoneinfo = None  # type: ignore[assignment]

HYPERV_FEATURES = {
    "relaxed": "relaxed", "vapic": "vapic", "spinlocks": "spinlocks", "vpindex": "vpindex", "runtime": "runtime",
    "synic": "synic", "stimer": "synictimer", "reset": "reset", "vendor_id": "vendorid", "frequencies": "frequencies",
    "reenlightenment": "reenlightenment", "tlbflush": "tlbflush", "ipi": "ipi", "evmcs": "evmcs",
}
TIMER_NAMES = {"rtc": "rtc", "pit": "pit", "hpet": "hpet", "hypervclock": "hyperv", "kvmclock": "kvm"}
TICK_POLICIES = ("delay", "catchup", "merge", "discard")
# virt-api's memory-hotplug rules (pkg/liveupdate/memory/memory.go, ValidateLiveUpdateMemory, v1.6 to v1.9),
# checked on every VM with maxGuest under the LiveUpdate rollout strategy, the default from v1.6.
HOTPLUG_MIN_GUEST_KIB = 1024 * 1024
# libvirt's arch to KubeVirt's spec.architecture; virt-api refuses any other (vmi-create-admitter.go, per-arch settings).
KUBEVIRT_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "s390x": "s390x"}
HOTPLUG_BLOCK_KIB = 2 * 1024
HOTPLUG_1G_HUGEPAGES_BLOCK_KIB = 1024 * 1024


def memory_hotplug_refusal(guest_kib: int, max_kib: int, hugepage_kib: Optional[int], arch: str,
                           guest_mapping_passthrough: bool) -> Optional[str]:
    """Why virt-api would refuse ``maxGuest`` for this memory, in ValidateLiveUpdateMemory's order; None if it admits it."""
    if guest_mapping_passthrough:
        return "memory hotplug is not compatible with NUMA guest mapping passthrough"
    block = HOTPLUG_1G_HUGEPAGES_BLOCK_KIB if hugepage_kib == HOTPLUG_1G_HUGEPAGES_BLOCK_KIB else HOTPLUG_BLOCK_KIB
    if guest_kib % block:
        return f"the memory ({quantity_kib(guest_kib)}) is not {quantity_kib(block)}-aligned"
    if max_kib % block:
        return f"the max memory ({quantity_kib(max_kib)}) is not {quantity_kib(block)}-aligned"
    if arch != "x86_64":
        return f"memory hotplug is only available for x86_64 VMs, not {arch}"
    if guest_kib < HOTPLUG_MIN_GUEST_KIB:
        return f"memory hotplug needs at least 1Gi of memory, and the VM has {quantity_kib(guest_kib)}"
    return None


@functools.lru_cache(maxsize=None)
def _timezone_database() -> bool:
    try:
        zoneinfo.ZoneInfo("UTC")
    except Exception:  # pylint: disable=broad-except  # no tz database on this host
        return False
    return True


def _known_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone KubeVirt will accept (Windows names are not)."""
    if zoneinfo is None or not _timezone_database():  # no way to ask: trust the shape of IANA names
        return "/" in name or name in ("UTC", "GMT")
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True


class DomainPart(TranslationBase):
    """The domain: CPU and NUMA, memory, resources, machine type, firmware, clock and features."""

    def domain(self, devices: Dict[str, Any]) -> Dict[str, Any]:
        c = self.config
        cpu = self.cpu()
        domain: Dict[str, Any] = {
            "cpu": cpu,
            "memory": self.memory(cpu),
            "firmware": self.firmware(),
            "clock": self.clock(),
            "features": self.features(),
            "devices": devices,
        }
        machine = self.machine_type()
        if machine:
            domain["machine"] = {"type": machine}
        resources = self.resources(cpu, domain["memory"])
        if resources:
            domain["resources"] = resources
        if c.io_threads:
            domain["ioThreadsPolicy"] = "shared" if c.io_threads == 1 else "auto"
            if c.io_threads > 1:
                self.concerns.add(
                    "cpu.io_threads", "info",
                    f"oVirt gave the VM {c.io_threads} I/O threads; KubeVirt allocates them itself (ioThreadsPolicy auto).",
                    kept_by_domxml=True,
                )
        return domain

    def cpu(self) -> Dict[str, Any]:
        c = self.config
        request = self.scheduling.get("cpu_request") or {}
        cores = int(request.get("cores") or (c.topology.cores if c.topology else 1))
        threads = int(request.get("threads") or (c.topology.threads if c.topology else 1))
        vcpus = int(request.get("vcpus") or c.vcpus)
        max_vcpus = int(request.get("max_vcpus") or c.vcpu_ceiling)
        if min(cores, threads, vcpus) < 1:
            raise InputError(f"the CPU request ({vcpus} vCPUs, {cores} cores, {threads} threads) needs counts of at least 1")
        if vcpus % (cores * threads):
            self.concerns.add(
                "cpu.topology_changed", "warning",
                f"{vcpus} vCPUs do not fill whole sockets of {cores} core(s) x {threads} thread(s); the guest gets {vcpus} single-core sockets.",
                kept_by_domxml=True,
            )
            cores = threads = 1
        cpu: Dict[str, Any] = {"sockets": vcpus // (cores * threads), "cores": cores, "threads": threads}
        if max_vcpus > vcpus:
            cpu["maxSockets"] = max(max_vcpus // (cores * threads), cpu["sockets"])
        if c.cpu.mode in ("host-passthrough", "host-model"):
            cpu["model"] = c.cpu.mode
        elif c.cpu.model:
            cpu["model"] = c.cpu.model
        if c.cpu.features:
            cpu["features"] = [{"name": f.name, "policy": f.policy or "require"} for f in c.cpu.features]
        dedicated = bool(request.get("dedicated", bool(c.cpu_tune.vcpu_pins)))
        if dedicated:
            cpu["dedicatedCpuPlacement"] = True
            if c.cpu_tune.vcpu_pins:
                self.concerns.add(
                    "cpu.pinning", "info",
                    "CPU pinning becomes dedicated CPU placement: KubeVirt picks the host CPUs; the oVirt cpusets are not kept.",
                    kept_by_domxml=True,
                )
            if c.cpu_tune.emulator_pin:
                cpu["isolateEmulatorThread"] = True
        self.numa(cpu, dedicated)
        if request.get("shares") is not None:
            self.concerns.add(
                "cpu.shares", "info",
                f"CPU shares {request['shares']} are not carried; Kubernetes CPU requests weigh the pod instead.",
                kept_by_domxml=True,
            )
        return cpu

    def numa(self, cpu: Dict[str, Any], dedicated: bool) -> None:
        numa = self.scheduling.get("numa") or {}
        nodes = numa.get("nodes") or []
        if len(nodes) > 1:
            if dedicated and (self.scheduling.get("memory_request") or {}).get("hugepage_size_kib"):
                cpu["numa"] = {"guestMappingPassthrough": {}}
                self.concerns.add(
                    "cpu.numa", "info",
                    f"The guest's {len(nodes)} NUMA cells are replaced by KubeVirt's mapping of the host NUMA cells it runs on.",
                    kept_by_domxml=True,
                )
            else:
                self.concerns.add(
                    "cpu.numa", "warning",
                    f"The guest's {len(nodes)} NUMA cells are not carried: KubeVirt mirrors NUMA only for dedicated CPUs with hugepages.",
                    kept_by_domxml=True,
                )
        if numa.get("nodeset") or (numa.get("tune_mode") and len(nodes) > 1):
            self.concerns.add(
                "cpu.numa_tune", "warning",
                f"NUMA tuning ({numa.get('tune_mode')} on host nodes {numa.get('nodeset')}) is not carried.",
                kept_by_domxml=True,
            )

    def memory(self, cpu: Mapping[str, Any]) -> Dict[str, Any]:
        c = self.config
        request = self.scheduling.get("memory_request") or {}
        memory: Dict[str, Any] = {"guest": quantity_kib(c.memory_kib)}
        max_kib = request.get("max_memory_kib", c.max_memory_kib)
        hugepage = request.get("hugepage_size_kib", c.hugepage_size_kib)
        if max_kib and max_kib > c.memory_kib:
            refusal = memory_hotplug_refusal(c.memory_kib, max_kib, hugepage, c.arch,
                                             "guestMappingPassthrough" in (cpu.get("numa") or {}))
            if refusal is None:
                memory["maxGuest"] = quantity_kib(max_kib)
            else:
                # Without maxGuest the VM is admitted under every rollout strategy; it only loses memory hotplug.
                self.concerns.add(
                    "memory.hotplug", "warning",
                    f"The max memory ({quantity_kib(max_kib)}) is not carried, so the VM cannot hotplug memory in "
                    f"KubeVirt: {refusal}, and virt-api refuses maxGuest then. It runs with its {quantity_kib(c.memory_kib)}; "
                    "to keep memory hotplug, give it at least 1Gi of memory, in 2Mi steps (1Gi steps with 1Gi hugepages).",
                )
        if hugepage:
            memory["hugepages"] = {"pageSize": quantity_kib(hugepage)}
            if c.memory_kib % hugepage:
                self.concerns.add(
                    "memory.hugepages_unaligned", "critical",
                    f"The memory ({quantity_kib(c.memory_kib)}) is not a whole number of its {quantity_kib(hugepage)} "
                    "hugepages, and virt-api refuses that. Make the memory a multiple of the page size in oVirt.",
                )
        if c.current_memory_kib is not None and c.current_memory_kib != c.memory_kib:
            self.concerns.add(
                "memory.balloon_target", "info",
                f"The balloon target ({c.current_memory_kib} KiB) is not carried; the guest starts with all its memory.",
            )
        return memory

    def resources(self, cpu: Mapping[str, Any], memory: Mapping[str, Any]) -> Dict[str, Any]:
        resources: Dict[str, Any] = {}
        request = self.scheduling.get("memory_request") or {}
        guaranteed = request.get("guaranteed_kib")
        if "hugepages" in memory:
            # Hugepages back all the guest memory and cannot be overcommitted. virt-api checks the request against
            # the page size, and v1.6 and v1.7 read only the request (validateHugepagesMemoryRequests), so state it.
            resources["requests"] = {"memory": quantity_kib(self.config.memory_kib)}
            if guaranteed and guaranteed < self.config.memory_kib:
                self.concerns.add(
                    "memory.guaranteed", "info",
                    f"The guaranteed memory ({quantity_kib(guaranteed)}) is not carried: hugepages reserve all "
                    f"{quantity_kib(self.config.memory_kib)} of the guest memory.",
                )
        elif guaranteed and guaranteed < self.config.memory_kib:
            # Kubernetes requests are what oVirt calls guaranteed memory: the rest is overcommitted.
            resources["requests"] = {"memory": quantity_kib(guaranteed)}
        limit = (self.scheduling.get("cpu_request") or {}).get("limit_millicores")
        if limit:
            if cpu.get("dedicatedCpuPlacement"):
                # With dedicated CPUs virt-api admits only whole CPUs, one per vCPU (validateCpuPinning).
                self.concerns.add(
                    "cpu.limit", "info",
                    f"The CPU limit ({limit}m) is not carried: with dedicated placement each vCPU has a whole host CPU.",
                )
            else:
                resources["limits"] = {"cpu": f"{limit}m"}
        return resources

    def architecture(self) -> str:
        """KubeVirt's name for the VM's architecture; stated, so a cluster with another default does not change it."""
        arch = self.config.arch
        if arch in KUBEVIRT_ARCHITECTURES:
            return KUBEVIRT_ARCHITECTURES[arch]
        self.concerns.add(
            "architecture.unsupported", "critical",
            f"The VM's architecture {arch} is not one KubeVirt runs ({', '.join(sorted(KUBEVIRT_ARCHITECTURES))}); "
            "virt-api refuses it. Keep the VM in a legacy cluster.",
        )
        return arch

    def machine_type(self) -> Optional[str]:
        machine = self.config.machine_type
        if not machine or machine == "q35" or machine.startswith("pc-q35"):
            return machine
        self.concerns.add(
            "machine.changed", "warning",
            f"Machine type {machine} (i440fx) is not offered by KubeVirt; the VM gets q35, "
            "so the guest sees a new chipset (PCIe, AHCI instead of IDE).",
            kept_by_domxml=True,
        )
        return "q35"

    def firmware(self) -> Dict[str, Any]:
        c = self.config
        firmware: Dict[str, Any] = {"uuid": c.uuid}
        serial = c.sysinfo.get("serial")
        if serial and parse_placeholder(serial) is None:
            firmware["serial"] = serial
        elif serial:
            self.concerns.add("firmware.serial", "info", "The SMBIOS serial was the oVirt host's (HOST-SERIAL:); KubeVirt generates one.")
        if c.firmware.type == "uefi":
            firmware["bootloader"] = {"efi": {"secureBoot": c.firmware.secure_boot}}
            self.concerns.add("firmware.nvram", "info", "UEFI variables (NVRAM) are not carried; boot entries are re-created on first boot.")
        else:
            firmware["bootloader"] = {"bios": {"useSerial": True} if c.firmware.bios_serial else {}}
        if c.firmware.boot_menu:
            self.concerns.add("firmware.boot_menu", "info", "The BIOS boot menu is not offered by KubeVirt.", kept_by_domxml=True)
        if c.kernel_boot is not None:
            self.concerns.add(
                "firmware.kernel_boot", "warning",
                f"Direct kernel boot from host paths ({c.kernel_boot.kernel}) is not carried: KubeVirt boots kernels from container images only.",
            )
        return firmware

    def clock(self) -> Dict[str, Any]:
        clock_config = self.config.clock
        clock: Dict[str, Any] = {}
        timezone = clock_config.timezone
        if timezone and _known_timezone(timezone):
            clock["timezone"] = timezone
        else:
            clock["utc"] = {"offsetSeconds": clock_config.adjustment_seconds} if clock_config.adjustment_seconds else {}
            if timezone:
                self.concerns.add(
                    "clock.timezone", "info",
                    f"Time zone {timezone!r} is not an IANA name (a Windows one?); "
                    f"the guest keeps its offset of {clock_config.adjustment_seconds} s from UTC.",
                )
        timers: Dict[str, Any] = {}
        for timer in clock_config.timers:
            name = TIMER_NAMES.get(timer.name)
            if name is None:
                continue
            settings: Dict[str, Any] = {}
            if timer.present is not None:
                settings["present"] = timer.present
            if timer.tickpolicy in TICK_POLICIES and name in ("rtc", "pit", "hpet"):
                settings["tickPolicy"] = timer.tickpolicy
            timers[name] = settings
        if timers:
            clock["timer"] = timers
        return clock

    def features(self) -> Dict[str, Any]:
        f = self.config.features
        features: Dict[str, Any] = {"acpi": {} if f.acpi else {"enabled": False}}
        if f.apic:
            features["apic"] = {}
        if f.smm or (self.config.firmware.type == "uefi" and self.config.firmware.secure_boot):
            features["smm"] = {}
        hyperv: Dict[str, Any] = {}
        for name, attrs in f.hyperv.items():
            target = HYPERV_FEATURES.get(name)
            if target is None:
                self.concerns.add("features.hyperv", "info", f"Hyper-V enlightenment {name!r} has no KubeVirt setting.", kept_by_domxml=True)
                continue
            setting: Dict[str, Any] = {} if attrs.get("state", "on") == "on" else {"enabled": False}
            if target == "spinlocks" and attrs.get("retries"):
                setting["spinlocks"] = max(integer(attrs["retries"], "Hyper-V spinlocks retries"), 4096)
            if target == "vendorid" and attrs.get("value"):
                setting["vendorid"] = attrs["value"]
            hyperv[target] = setting
        if hyperv:
            features["hyperv"] = hyperv
        if f.vmcoreinfo:
            self.concerns.add(
                "features.vmcoreinfo", "info",
                "The vmcoreinfo device (kernel crash dumps with KASLR) has no KubeVirt setting.",
                kept_by_domxml=True,
            )
        return features
