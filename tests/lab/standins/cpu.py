"""What KubeVirt's node-labeller reads from libvirt, for a fake host: CPU models, features, machine types.

The real labeller (``pkg/virt-handler/node-labeller/node_labeller.go``,
``prepareLabels``) asks libvirt's domain capabilities which named CPU models
are usable on the host, which features its host-model CPU has, and which
machine types QEMU offers; a fake node has no libvirt, so this table answers
for the models the lab's topologies name. Model chains follow QEMU's CPU
model order (an Icelake host also runs Skylake guests); the machine types
are those of the QEMU that KubeVirt's virt-launcher image ships (CentOS
Stream 9), aliases included, since the labeller labels every ``<machine>``
name of the capabilities.
"""
from __future__ import annotations

# Older models each CPU model can also run, in QEMU's order.
CPU_MODEL_CHAINS = [
    ["Nehalem", "Westmere", "SandyBridge", "IvyBridge", "Haswell-noTSX", "Broadwell-noTSX", "Skylake-Client",
     "Skylake-Server", "Cascadelake-Server", "Icelake-Server", "SapphireRapids"],
    ["Opteron_G3", "Opteron_G4", "Opteron_G5", "EPYC", "EPYC-Rome", "EPYC-Milan", "EPYC-Genoa"],
]
# host-model CPU features libvirt reports beyond the named model, as the labeller labels them
# (cpu-feature.node.kubevirt.io/<f>, host-model-required-features.node.kubevirt.io/<f>).
HOST_MODEL_FEATURES = {
    "Intel": ["vmx", "ss", "hypervisor", "tsc_adjust", "md-clear", "stibp", "arch-capabilities", "ssbd", "xsaves",
              "pdpe1gb", "ibpb", "ibrs", "amd-stibp", "amd-ssbd", "rdctl-no", "skip-l1dfl-vmentry", "pschange-mc-no"],
    "AMD": ["svm", "hypervisor", "x2apic", "tsc-deadline", "tsc_adjust", "stibp", "ssbd", "cmp_legacy", "ibpb",
            "ibrs", "amd-stibp", "amd-ssbd", "virt-ssbd", "lbrv", "tsc-scale", "vmcb-clean", "flushbyasid",
            "pause-filter", "pfthreshold", "xsaves"],
}
DEFAULT_MACHINE_TYPES = ["q35", "pc-q35-rhel9.6.0", "pc-q35-rhel9.4.0", "pc-q35-rhel9.2.0", "pc-q35-rhel9.0.0",
                         "pc-q35-rhel8.6.0", "pc-q35-rhel8.5.0", "pc-q35-rhel8.4.0", "pc-q35-rhel8.3.0",
                         "pc-q35-rhel8.2.0", "pc-q35-rhel8.1.0", "pc-q35-rhel8.0.0", "pc-q35-rhel7.6.0",
                         "pc", "pc-i440fx-rhel7.6.0"]
TSC_FREQUENCY_HZ = 2095077000


def base_model(model: str) -> str:
    for suffix in ("-noTSX-IBRS", "-IBRS", "-IBPB"):
        model = model.removesuffix(suffix)
    return model


def cpu_models(model: str) -> list[str]:
    """The host's model plus the older models of its family (IBRS/noTSX variants map to their base)."""
    base = base_model(model)
    models = [model]
    for chain in CPU_MODEL_CHAINS:
        if base in chain:
            models += [m for m in chain[: chain.index(base) + 1] if m != model]
    return models


def vendor(model: str) -> str:
    return "AMD" if model.startswith(("EPYC", "Opteron")) else "Intel"


def labeller_labels(model: str, machine_types: list[str] | None = None) -> dict[str, str]:
    """The labels node_labeller.go prepareLabels sets for a host of this CPU model."""
    labels: dict[str, str] = {}
    features = HOST_MODEL_FEATURES[vendor(model)]
    for feature in features:
        labels[f"cpu-feature.node.kubevirt.io/{feature}"] = "true"
        labels[f"host-model-required-features.node.kubevirt.io/{feature}"] = "true"
    for name in cpu_models(model):
        labels[f"cpu-model.node.kubevirt.io/{name}"] = "true"
        # getKnownCpuModels: the models a host-model guest started here may be migrated as.
        labels[f"cpu-model-migration.node.kubevirt.io/{name}"] = "true"
    for machine in machine_types or DEFAULT_MACHINE_TYPES:
        labels[f"machine-type.node.kubevirt.io/{machine}"] = "true"
    labels["cpu-timer.node.kubevirt.io/tsc-frequency"] = str(TSC_FREQUENCY_HZ)
    labels["cpu-timer.node.kubevirt.io/tsc-scalable"] = "true"
    labels[f"cpu-vendor.node.kubevirt.io/{vendor(model)}"] = "true"
    labels[f"host-model-cpu.node.kubevirt.io/{model}"] = "true"
    for feature in ("base", "frequencies", "ipi", "reenlightenment", "reset", "runtime", "synic", "synictimer",
                    "time", "tlbflush", "vpindex"):
        labels[f"hyperv.node.kubevirt.io/{feature}"] = "true"
    return labels


def is_labeller_label(key: str) -> bool:
    """node_labeller.go isNodeLabellerLabel: the prefixes the labeller owns (and removes when stale)."""
    return key.startswith(("cpu-feature.node.kubevirt.io/", "cpu-model.node.kubevirt.io/",
                           "cpu-model-migration.node.kubevirt.io/", "cpu-timer.node.kubevirt.io/",
                           "hyperv.node.kubevirt.io/", "host-model-cpu.node.kubevirt.io/",
                           "host-model-required-features.node.kubevirt.io/", "machine-type.node.kubevirt.io/",
                           "cpu-vendor.node.kubevirt.io/", "node-labeller.kubevirt.io/obsolete-host-model"))
