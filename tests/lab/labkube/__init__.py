"""The lab's own small Kubernetes client: a JSON REST client and a watch-fed informer.

Shared by every lab component written in Python (the KubeVirt simulator, the
virt-handler and storage stand-ins, labctl's installer).
"""
