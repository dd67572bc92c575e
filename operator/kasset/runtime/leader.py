"""Leader election on a Lease, with client-go's semantics (`k8s.io/client-go/tools/leaderelection`).

A replica takes the Lease when nobody holds it or when its holder has not renewed it for `lease_seconds` as
observed on this replica's own monotonic clock (no trust in other machines' clocks); the leader renews every
`retry_seconds` and gives up when no renewal succeeded for `renew_deadline_seconds`. A clean stop releases the
Lease (empty holder), so the standby takes over at its next try rather than after the Lease expires. With the
defaults (10 s, 7 s, 2 s) a killed leader is replaced within lease + retry = 12 s.

Does not: decide what leading means (the controller's `on_started`/`on_stopped` callbacks do).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from kasset.api.base import format_micro_timestamp
from kasset.k8s import ApiError, Conflict, NotFound
from kasset.k8s.lease import Leases

log = logging.getLogger("kasset.leader")


@dataclass(frozen=True)
class Timing:
    lease_seconds: float = 10.0
    renew_deadline_seconds: float = 7.0
    retry_seconds: float = 2.0


@dataclass
class Observed:
    """The Lease record as this replica last saw it change, and when (monotonic seconds)."""

    holder: str | None = None
    renew_time: str | None = None
    at: float = 0.0


def may_acquire(observed: Observed, *, me: str, now: float, lease_seconds: float) -> bool:
    """Free, ours, or not renewed for a whole lease duration as seen from here."""
    return not observed.holder or observed.holder == me or now >= observed.at + lease_seconds


def must_give_up(last_renewed: float, *, now: float, renew_deadline_seconds: float) -> bool:
    return now - last_renewed > renew_deadline_seconds


class LeaderElector:
    def __init__(self, leases: Leases, *, namespace: str, name: str, identity: str,
                 on_started: Callable[[], None], on_stopped: Callable[[], None], timing: Timing = Timing(),
                 clock: Callable[[], float] = time.monotonic):
        self.leases, self.namespace, self.name, self.identity = leases, namespace, name, identity
        self.on_started, self.on_stopped, self.timing, self.clock = on_started, on_stopped, timing, clock
        self.observed = Observed()
        self.leading = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, release: bool = True, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if release and self.leading.is_set():
            self._release()

    # -- the loop -------------------------------------------------------------------------------------------

    def _run(self) -> None:
        last_renewed = 0.0
        while not self._stop.is_set():
            if self._try_acquire_or_renew():
                last_renewed = self.clock()
                if not self.leading.is_set():
                    self.leading.set()
                    log.info("Became the leader (Lease %s/%s, identity %s)", self.namespace, self.name, self.identity)
                    self.on_started()
            elif self.leading.is_set() and must_give_up(last_renewed, now=self.clock(),
                                                         renew_deadline_seconds=self.timing.renew_deadline_seconds):
                log.error("Lost the leader Lease %s/%s: no renewal for %.0fs", self.namespace, self.name,
                          self.timing.renew_deadline_seconds)
                self.leading.clear()
                self.on_stopped()
                return
            self._stop.wait(self.timing.retry_seconds)

    def _try_acquire_or_renew(self) -> bool:
        try:
            lease = self._read()
        except ApiError as exc:
            log.warning("Reading Lease %s/%s failed: %s", self.namespace, self.name, exc)
            return False
        spec = lease.get("spec") or {}
        holder, renew_time = spec.get("holderIdentity"), spec.get("renewTime")
        if (holder, renew_time) != (self.observed.holder, self.observed.renew_time):
            self.observed = Observed(holder, renew_time, self.clock())
        if not may_acquire(self.observed, me=self.identity, now=self.clock(), lease_seconds=self.timing.lease_seconds):
            return False
        now = format_micro_timestamp(datetime.now(timezone.utc))
        taking = holder != self.identity
        lease["spec"] = {**spec, "holderIdentity": self.identity, "renewTime": now,
                         "leaseDurationSeconds": int(self.timing.lease_seconds),
                         "acquireTime": now if taking else spec.get("acquireTime", now),
                         "leaseTransitions": (spec.get("leaseTransitions") or 0) + (1 if taking and holder else 0)}
        try:
            written = self.leases.replace(self.namespace, lease)
        except ApiError as exc:  # a Conflict: another replica wrote first
            log.debug("Updating Lease %s/%s failed: %s", self.namespace, self.name, exc)
            return False
        self.observed = Observed(self.identity, written["spec"].get("renewTime"), self.clock())
        return True

    def _read(self) -> dict:
        try:
            return self.leases.get(self.namespace, self.name)
        except NotFound:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace}, "spec": {}}
            try:
                return self.leases.create(self.namespace, body)
            except Conflict:
                return self.leases.get(self.namespace, self.name)

    def _release(self) -> None:
        try:
            lease = self.leases.get(self.namespace, self.name)
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"] = {**lease["spec"], "holderIdentity": None, "leaseDurationSeconds": 1}
            self.leases.replace(self.namespace, lease)
            log.info("Released the leader Lease %s/%s", self.namespace, self.name)
        except ApiError as exc:
            log.warning("Releasing Lease %s/%s failed: %s", self.namespace, self.name, exc)
        finally:
            self.leading.clear()
