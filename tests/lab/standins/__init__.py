"""Stand-ins for what the real-KubeVirt lab cannot run: virt-handler on fake nodes, the kubelet's part
in a launcher's end, a volume provisioner and CDI's importer (``python -m standins``)."""
