"""Storage a fake cluster cannot have: a volume provisioner and CDI's importer.

* ``Provisioner`` plays an external provisioner (the sig-storage
  ``external-provisioner`` protocol): the real PV controller marks a claim of
  the lab's StorageClass with ``volume.kubernetes.io/storage-provisioner``;
  this creates the PersistentVolume with a ``claimRef``, and the real PV
  controller binds the two. Released volumes of the Delete policy go away.
* ``Importer`` plays CDI's DataVolume controller and importer pod: for each
  DataVolume it creates the claim CDI would (``<dv name>``, owned by the
  DataVolume), then moves the DataVolume through ``ImportScheduled`` and
  ``ImportInProgress`` to ``Succeeded`` after the topology's
  ``import_delay_s``. The next ``fail_imports`` imports fail as CDI shows a
  failing importer: ``Running=False`` with reason ``Error`` while the
  importer pod restarts, which virt-controller reports as ``DataVolumeError``
  (``pkg/storage/types/dv.go`` ``HasDataVolumeErrors``).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable

from labkube.informer import Informer, Obj, Store, WorkQueue, obj_key, run_worker
from labkube.objects import deep, meta, now_time, parse_iso, spec, status
from labkube.rest import DATAVOLUMES, PVCS, PVS, ApiError, Kube
from standins.budgets import Budgets

LOG = logging.getLogger("standins")

PROVISIONER = "lab.ovirt-kubevirt.io/local"
STORAGE_CLASS = "lab-local"
PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner"


class Provisioner:
    def __init__(self, kube: Kube, stop: threading.Event) -> None:
        self.kube, self.stop = kube, stop
        self.claims, self.volumes = Store("pvcs"), Store("pvs")
        self.queue = WorkQueue()
        self.claims.on_change(lambda old, new: self.queue.add(("pvc", obj_key(new or old or {}))))
        self.volumes.on_change(lambda old, new: self.queue.add(("pv", obj_key(new or old or {}))))

    def start(self) -> None:
        Informer(self.kube, PVCS, self.claims, self.stop).start()
        Informer(self.kube, PVS, self.volumes, self.stop).start()
        threading.Thread(target=run_worker, args=(self.queue, self.stop, self._sync, "provisioner"),
                         name="provisioner", daemon=True).start()

    def _sync(self, item: Hashable) -> None:
        kind, key = item  # type: ignore[misc]
        if kind == "pvc":
            self._provision(key)
        else:
            self._reclaim(key)

    def _provision(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None or spec(claim).get("volumeName") or meta(claim).get("deletionTimestamp"):
            return
        if (meta(claim).get("annotations") or {}).get(PROVISIONER_ANNOTATION) != PROVISIONER:
            return  # the PV controller has not handed it to us (another class, or not yet)
        name = f"pvc-{meta(claim)['uid']}"
        if self.volumes.get(name) is not None:
            return
        size = ((spec(claim).get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        volume = {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": spec(claim).get("accessModes") or ["ReadWriteOnce"],
                "volumeMode": spec(claim).get("volumeMode") or "Filesystem",
                "storageClassName": spec(claim).get("storageClassName"),
                "persistentVolumeReclaimPolicy": "Delete",
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta(claim)["namespace"],
                             "name": meta(claim)["name"], "uid": meta(claim)["uid"]},
                "hostPath": {"path": f"/var/lib/lab-volumes/{name}", "type": "DirectoryOrCreate"},
            },
        }
        try:
            self.volumes.upsert(self.kube.create(PVS, None, volume))
        except ApiError as err:
            if err.status != 409:
                raise
        LOG.info("provisioned %s for %s (%s)", name, key, size)

    def _reclaim(self, name: str) -> None:
        volume = self.volumes.get(name)
        if volume is None or status(volume).get("phase") != "Released":
            return
        if (meta(volume).get("annotations") or {}).get("pv.kubernetes.io/provisioned-by") != PROVISIONER:
            return
        if spec(volume).get("persistentVolumeReclaimPolicy") == "Delete":
            self.kube.delete(PVS, None, name)


class Importer:
    def __init__(self, kube: Kube, budgets: Budgets, import_delay_s: float, stop: threading.Event) -> None:
        self.kube, self.budgets, self.delay, self.stop = kube, budgets, import_delay_s, stop
        self.dvs = Store("datavolumes")
        self.queue = WorkQueue()
        self.dvs.on_change(lambda old, new: self.queue.add(obj_key(new or old or {})))

    def start(self) -> None:
        Informer(self.kube, DATAVOLUMES, self.dvs, self.stop).start()
        threading.Thread(target=run_worker, args=(self.queue, self.stop, lambda key: self._sync(str(key)), "importer"),
                         name="importer", daemon=True).start()

    def _sync(self, key: str) -> None:
        dv = self.dvs.get(key)
        if dv is None or meta(dv).get("deletionTimestamp"):
            return
        phase = status(dv).get("phase") or ""
        if phase in ("Succeeded", "Failed"):
            return
        if not phase:
            self._create_claim(dv)
            self._set(dv, "ImportScheduled", "N/A", bound=True, running=("False", "Pending", ""))
            self.queue.add_after(key, 0.1)
            return
        if phase == "ImportScheduled":
            self._set(dv, "ImportInProgress", "0.00%", bound=True, running=("True", "Pod is running", ""))
            self.queue.add_after(key, self.delay)
            return
        started = _since(dv, "Running")
        if time.time() < started + self.delay:
            self.queue.add_after(key, started + self.delay - time.time())
            return
        if self.budgets.decide(f"import/{meta(dv)['uid']}", "fail_imports"):
            message = ("Unable to process data: Unable to transfer source data to target file: unable to read "
                       "source: HTTP request errored: 404 Not Found (lab fault fail_imports)")
            self._set(dv, "ImportInProgress", "N/A", bound=True, running=("False", "Error", message), restarts=1)
            return
        self._set(dv, "Succeeded", "100.0%", bound=True, running=("False", "Completed", ""), ready=True)
        LOG.info("datavolume %s imported", key)

    def _create_claim(self, dv: Obj) -> None:
        """The claim CDI makes for a DataVolume: its name, owned by it, from spec.pvc or spec.storage."""
        source = spec(dv).get("pvc") or spec(dv).get("storage") or {}
        claim = {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": meta(dv)["name"], "namespace": meta(dv)["namespace"],
                         "labels": {"app": "containerized-data-importer", "app.kubernetes.io/component": "storage"},
                         "annotations": {"cdi.kubevirt.io/storage.import.endpoint": "lab"},
                         "ownerReferences": [{"apiVersion": DATAVOLUMES.api_version, "kind": "DataVolume",
                                              "name": meta(dv)["name"], "uid": meta(dv)["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]},
            "spec": {
                # The StorageProfile's defaults when spec.storage leaves them out.
                "accessModes": source.get("accessModes") or ["ReadWriteOnce"],
                "volumeMode": source.get("volumeMode") or "Filesystem",
                "resources": source.get("resources") or {"requests": {"storage": "1Gi"}},
                **({"storageClassName": source["storageClassName"]} if source.get("storageClassName") else {}),
            },
        }
        try:
            self.kube.create(PVCS, meta(dv)["namespace"], claim)
        except ApiError as err:
            if err.status != 409:
                raise

    def _set(self, dv: Obj, phase: str, progress: str, bound: bool, running: tuple[str, str, str],
             ready: bool = False, restarts: int = 0) -> None:
        new = deep(dv)
        now = now_time()
        st = status(new)
        if "status" not in new:
            new["status"] = st
        old = {c.get("type"): c for c in st.get("conditions") or []}

        def condition(ctype: str, value: str, reason: str, message: str = "") -> Obj:
            previous = old.get(ctype) or {}
            same = previous.get("status") == value
            return {"type": ctype, "status": value, "reason": reason, "message": message,
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": previous.get("lastTransitionTime") if same else now}

        st.update(phase=phase, progress=progress, claimName=meta(dv)["name"], restartCount=restarts)
        st["conditions"] = [
            condition("Bound", "True" if bound else "False", "Bound" if bound else "Pending",
                      f"PVC {meta(dv)['name']} Bound" if bound else ""),
            condition("Ready", "True" if ready else "False", "" if ready else "TransferRunning"),
            condition("Running", running[0], running[1], running[2]),
        ]
        self.dvs.upsert(self.kube.replace(DATAVOLUMES, new, sub="status"))


def _since(dv: Obj, ctype: str) -> float:
    for cond in status(dv).get("conditions") or []:
        if cond.get("type") == ctype:
            return parse_iso(cond.get("lastTransitionTime")) or time.time()
    return time.time()
