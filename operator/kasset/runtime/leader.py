"""Leader election on a Lease, with client-go's semantics (`k8s.io/client-go/tools/leaderelection`).

A replica takes the Lease when nobody holds it or when its holder has not renewed it for `lease_seconds` as
observed on this replica's own monotonic clock (no trust in other machines' clocks); the leader renews every
`retry_seconds` and gives up when no renewal succeeded for `renew_deadline_seconds`. A clean stop releases the
Lease (empty holder), so the standby takes over at its next try rather than after the Lease expires. With the
defaults (10 s, 7 s, 2 s) a killed leader is replaced within lease + retry = 12 s.

Never two leaders, whatever the API server does: every Lease call is bounded (`Timing.call_timeout_seconds`,
passed to `Leases`), a renewal counts from the moment its attempt *started* (the others can only have seen it
later), and a guard thread of its own ends the leadership at `renewed_at + renew_deadline_seconds` even while a
call hangs. Since renew_deadline < lease, the leader stops before the others may take the Lease. An unexpected
exception is logged (with its traceback once), and the loop goes on.

Does not: decide what leading means (the controller's `on_started`/`on_stopped` callbacks do), or lead again
once it stopped leading (client-go's `Run` returns; the controller then exits the process).
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
#: Lease calls that fit in one renew deadline: an attempt (a read and a write) takes at most half of it, so a
#: second attempt still fits after a hung one.
CALLS_PER_DEADLINE = 4


@dataclass(frozen=True)
class Timing:
    """client-go's LeaderElectionConfig, in seconds: how long a Lease holds for the others, how long the leader
    keeps leading without a successful renewal, how often it tries. Requires retry < renew deadline < lease."""

    lease_seconds: float = 10.0
    renew_deadline_seconds: float = 7.0
    retry_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_seconds < self.renew_deadline_seconds < self.lease_seconds:
            raise ValueError(f"leader election needs 0 < retry < renew deadline < lease, got {self}")

    @property
    def call_timeout_seconds(self) -> float:
        """The most one Lease call may take."""
        return self.renew_deadline_seconds / CALLS_PER_DEADLINE


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
    """The renew deadline has come: at it, not after it."""
    return now - last_renewed >= renew_deadline_seconds


class LeaderElector:
    def __init__(self, leases: Leases, *, namespace: str, name: str, identity: str,
                 on_started: Callable[[], None], on_stopped: Callable[[], None], timing: Timing = Timing(),
                 clock: Callable[[], float] = time.monotonic):
        self.leases, self.namespace, self.name, self.identity = leases, namespace, name, identity
        self.on_started, self.on_stopped, self.timing, self.clock = on_started, on_stopped, timing, clock
        self.observed = Observed()
        self.leading = threading.Event()
        #: When the attempt behind the last successful renewal started (monotonic seconds).
        self.renewed_at: float | None = None
        #: Set once this replica stopped leading: it never leads again.
        self.ended = threading.Event()
        self._lock = threading.Lock()
        self._last_failure: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)
        self._guard = threading.Thread(target=self._guard_deadline, name="leader-deadline", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._guard.start()

    def stop(self, *, release: bool = True, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self._guard.join(timeout)
        if release and self.leading.is_set():
            self._release()

    # -- the loops ------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set() and not self.ended.is_set():
            self.try_once()
            self._stop.wait(self.timing.retry_seconds)

    def _guard_deadline(self) -> None:
        """Ends the leadership at its deadline, independently of the (possibly hung) elector thread."""
        while not self._stop.is_set() and not self.ended.is_set():
            self.enforce_deadline()
            self._stop.wait(self._until_deadline())

    def _until_deadline(self) -> float:
        if not self.leading.is_set() or self.renewed_at is None:
            return self.timing.retry_seconds  # less than a renew deadline: it wakes before the first one
        return max(0.0, self.renewed_at + self.timing.renew_deadline_seconds - self.clock())

    # -- one step of each -----------------------------------------------------------------------------------

    def try_once(self) -> None:
        """One attempt to acquire or renew the Lease; never raises."""
        started = self.clock()
        try:
            renewed = self._try_acquire_or_renew()
        except Exception as exc:  # a bug must not end the election and leave a leader that never gives up
            self._log_unexpected(exc)
            renewed = False
        else:
            self._last_failure = None
        self.enforce_deadline()  # the last renewal's deadline came while this attempt ran: it revives nothing
        if renewed and not self._expired(started):
            self._renewed(started)

    def enforce_deadline(self) -> bool:
        """Stop leading when the renew deadline has come; True when it stopped now."""
        with self._lock:
            if self.ended.is_set() or not self.leading.is_set() or not self._expired(self.renewed_at):
                return False
            self.leading.clear()
            self.ended.set()
        log.error("Stopped leading: no renewal of Lease %s/%s succeeded within %gs", self.namespace, self.name,
                  self.timing.renew_deadline_seconds)
        self.on_stopped()
        return True

    def _expired(self, renewed_at: float | None) -> bool:
        return renewed_at is None or must_give_up(renewed_at, now=self.clock(),
                                                  renew_deadline_seconds=self.timing.renew_deadline_seconds)

    def _renewed(self, started: float) -> None:
        with self._lock:
            if self.ended.is_set():
                return
            self.renewed_at = started
            if self.leading.is_set():
                return
            self.leading.set()
        log.info("Became the leader (Lease %s/%s, identity %s)", self.namespace, self.name, self.identity)
        self.on_started()

    def _log_unexpected(self, exc: Exception) -> None:
        """The traceback the first time, one line while the same failure repeats."""
        failure = f"{type(exc).__name__}: {exc}"
        if failure == self._last_failure:
            log.warning("Leader election failed again unexpectedly: %s", failure)
        else:
            log.exception("Leader election failed unexpectedly; trying again in %gs", self.timing.retry_seconds)
        self._last_failure = failure

    # -- the Lease ------------------------------------------------------------------------------------------

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
        lease["spec"] = self._claimed(spec)
        try:
            written = self.leases.replace(self.namespace, lease)
        except ApiError as exc:  # a Conflict (another replica wrote first) or the API server unreachable
            log.debug("Updating Lease %s/%s failed: %s", self.namespace, self.name, exc)
            return False
        self.observed = Observed(self.identity, written["spec"].get("renewTime"), self.clock())
        return True

    def _claimed(self, spec: dict) -> dict:
        """The Lease's spec with this replica as its holder, renewed now."""
        now = format_micro_timestamp(datetime.now(timezone.utc))
        holder = spec.get("holderIdentity")
        taking = holder != self.identity
        return {**spec, "holderIdentity": self.identity, "renewTime": now,
                "leaseDurationSeconds": int(self.timing.lease_seconds),
                "acquireTime": now if taking else spec.get("acquireTime", now),
                "leaseTransitions": (spec.get("leaseTransitions") or 0) + (1 if taking and holder else 0)}

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
