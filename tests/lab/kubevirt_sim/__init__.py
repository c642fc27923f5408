"""A KubeVirt simulator for the test lab.

One process plays virt-controller, virt-handler, virt-api and the scheduler
against a real kube-apiserver with KubeVirt's CRDs: it registers the topology's
hosts as Nodes, runs VirtualMachines as VirtualMachineInstances (placement,
phases, status, events), performs migrations, injects the topology's faults,
and serves the subresources.kubevirt.io API through the aggregator.
Run it with ``python -m kubevirt_sim --help`` (PYTHONPATH=tests/lab).
"""
