"""Per-asset event planning: shifts, maintenance, failure episodes, stops, HSE incidents, truth.

Everything that happens to an asset is decided here, up front and cheaply (a few hundred
events per asset-year); `signals.py` then renders the tag values that those events imply.
Times are float seconds since the simulation start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pipelines.simulate.plant import CONTRACTOR_CREW, DAY_SHIFT_START_H, Asset, crew_on_shift

H = 3600.0
DAY = 24 * H


@dataclass(frozen=True)
class Mechanism:
    """A failure mechanism: how long its precursor runs, how long the repair takes."""

    lead_h: tuple[float, float]  # precursor onset -> failure
    repair_h: tuple[float, float]
    reason_code: str
    reason: str


MECHANISMS: dict[str, Mechanism] = {
    "bearing_wear": Mechanism((12, 72), (6, 14), "BRG-FAIL", "bearing failure"),
    "overload_clogging": Mechanism((3, 12), (0.75, 3), "OVERLOAD-TRIP", "overload / choke trip"),
    "electrical_fault": Mechanism((6, 48), (2, 8), "ELEC-FAULT", "motor insulation fault"),
    "hydraulic_leak": Mechanism((6, 36), (2, 6), "HYD-LEAK", "hydraulic hose leak"),
    "engine_overheat": Mechanism((6, 24), (2, 6), "ENG-OVERHEAT", "engine overheating"),
}
SUDDEN: dict[str, Mechanism] = {
    "foreign_object": Mechanism((0, 0), (1, 4), "FOREIGN-OBJ", "uncrushable object"),
    "belt_tear": Mechanism((0, 0), (4, 12), "BELT-TEAR", "belt torn"),
    "liner_bolt_failure": Mechanism((0, 0), (4, 10), "LINER-BOLT", "liner bolt sheared"),
    "impeller_break": Mechanism((0, 0), (4, 10), "IMPELLER", "impeller broken"),
    "tyre_damage": Mechanism((0, 0), (2, 6), "TYRE", "tyre cut"),
    "rope_damage": Mechanism((0, 0), (3, 8), "ROPE", "hoist rope damaged"),
}

# Rates per asset per 30 days, and what becomes of a precursor episode. Documented in README.
EPISODES_PER_30D = 0.6
SUDDEN_PER_30D = 0.15
OUTCOMES = (("failure", 0.65), ("intervention", 0.2), ("self_resolved", 0.15))
HSE_PER_DAY = 0.005
HSE_DEGRADED_FACTOR = 8.0
HSE_CONTRACTOR_FACTOR = 2.0
HSE_MAINTENANCE_FACTOR = 2.0
DEGRADED_AT = 0.25  # degradation level from which an asset counts as degraded
RAMP_POWER = 1.25  # growth after onset accelerates: d = STEP + (1 - STEP) * progress ** POWER
ONSET_STEP = 0.2  # a defect appears as a step (a spall, a partial blockage), then grows
IDLE_PER_DAY = 0.5
STANDBY_PER_DAY = 0.12


@dataclass
class Episode:
    """A precursor episode: degradation from `onset`, ending in `outcome` at `end`."""

    asset_id: str
    mechanism: str
    onset: float
    end: float
    outcome: str  # failure | intervention | self_resolved | maintenance
    lead_s: float  # onset -> (would-be) failure
    amplitude: float = 1.0
    shape: str = "ramp"  # ramp: rises to failure; bump: rises and falls back

    def level(self, t: np.ndarray) -> np.ndarray:
        """Degradation 0..1 at times `t` (zero outside the episode)."""
        inside = (t >= self.onset) & (t < self.end)
        if self.shape == "bump":
            x = (t - self.onset) / max(self.end - self.onset, 1.0)
            d = self.amplitude * np.sin(np.pi * np.clip(x, 0, 1))
        else:
            x = (t - self.onset) / max(self.lead_s, 1.0)
            d = self.amplitude * (ONSET_STEP + (1 - ONSET_STEP) * np.clip(x, 0, 1) ** RAMP_POWER)
        return np.where(inside, d, 0.0)


@dataclass
class Interval:
    """A span in which the asset is not running."""

    start: float
    end: float
    state: str  # down | maintenance | idle | standby
    planned: bool
    reason_code: str
    reason: str
    cause: str  # failure | sudden | pm | intervention | stop | idle | standby


@dataclass
class AssetPlan:
    """Everything decided for one asset."""

    asset: Asset
    intervals: list[Interval] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    dispatch: list[dict] = field(default_factory=list)  # {"t", "event_id", "state", ...}
    incidents: list[dict] = field(default_factory=list)  # HSE incidents, {"t", ...}
    truth: list[dict] = field(default_factory=list)
    _times: np.ndarray | None = None
    _running: np.ndarray | None = None

    def running_at(self, t: np.ndarray) -> np.ndarray:
        """True where the asset is running at times `t`."""
        if self._times is None:
            self._times = np.array([e["t"] for e in self.dispatch])
            self._running = np.array([e["state"] == "running" for e in self.dispatch])
        idx = np.searchsorted(self._times, t, side="right") - 1
        return np.where(idx >= 0, self._running[np.clip(idx, 0, None)], True)

    def degradation(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """Mechanism -> degradation level at `t`, for the episodes that touch this window."""
        out: dict[str, np.ndarray] = {}
        lo, hi = float(t[0]), float(t[-1])
        for ep in self.episodes:
            if ep.end < lo or ep.onset > hi:
                continue
            level = ep.level(t)
            out[ep.mechanism] = np.maximum(out.get(ep.mechanism, 0.0), level)
        return out


def shift_index(abs_seconds: float) -> int:
    """Index of the 12-h shift containing an absolute UNIX time (06:00 / 18:00 changeovers)."""
    return math.floor((abs_seconds - DAY_SHIFT_START_H * H) / (12 * H))


def crew_at(start_epoch: float, t: float) -> str:
    """Crew on shift at simulation time t."""
    return crew_on_shift(shift_index(start_epoch + t))


def _poisson_times(rng: np.random.Generator, rate_per_s: float, horizon: float) -> list[float]:
    n = rng.poisson(rate_per_s * horizon)
    return sorted(rng.uniform(0, horizon, n).tolist())


def _free(intervals: list[Interval], start: float, end: float) -> bool:
    return all(iv.end <= start or iv.start >= end for iv in intervals)


@dataclass(frozen=True)
class Script:
    """A precursor episode decided in advance: degradation of `mechanism` from `onset`
    (simulated seconds) to a failure `lead_s` later. The demo scripts one so that its plant
    degrades soon after going live instead of whenever the seed says."""

    onset: float
    mechanism: str
    lead_s: float

    @property
    def failure(self) -> float:
        """When the scripted failure happens."""
        return self.onset + self.lead_s


def plan_asset(
    asset: Asset, seed: int, horizon: float, start_epoch: float, script: Script | None = None
) -> AssetPlan:
    """Decide every event of one asset over [0, horizon), with `script` among its candidates
    (it is placed like any other: a planned maintenance or an earlier episode can still pre-empt
    it, which the caller sees in the returned episodes)."""
    rng = np.random.default_rng([seed, asset.index, 1])
    kind = asset.kind
    plan = AssetPlan(asset)
    majors: list[Interval] = []

    # Planned maintenance on a calendar, starting at 07:00 on day shift.
    phase = rng.uniform(0, kind.pm_days)
    day0 = (start_epoch // DAY) * DAY - start_epoch  # midnight UTC at or before the start
    pm_day = phase
    while True:
        t = day0 + math.floor(pm_day) * DAY + 7 * H
        if t >= horizon:
            break
        if t >= 0:
            dur = rng.uniform(*kind.pm_hours) * H
            majors.append(
                Interval(
                    t,
                    t + dur,
                    "maintenance",
                    True,
                    f"PM-{kind.prefix}",
                    "planned maintenance",
                    "pm",
                )
            )
        pm_day += kind.pm_days

    # Precursor episodes and sudden failures, placed in time order without overlaps.
    candidates: list[tuple[float, str, str]] = []
    for t in _poisson_times(rng, EPISODES_PER_30D / (30 * DAY), horizon):
        candidates.append((t, "episode", str(rng.choice(kind.mechanisms))))
    for t in _poisson_times(rng, SUDDEN_PER_30D / (30 * DAY), horizon):
        candidates.append((t, "sudden", str(rng.choice(kind.sudden))))
    if script is not None:
        candidates.append((script.onset, "script", script.mechanism))
    candidates.sort()
    busy_until = 0.0
    for t, what, mech in candidates:
        # Drawn for every random candidate, so one rejection never shifts the random stream of
        # the candidates after it (a script draws nothing: it decides its own course).
        draws = rng.uniform(size=6) if what != "script" else None
        if t < busy_until:
            continue
        if what == "sudden":
            m = SUDDEN[mech]
            repair = (m.repair_h[0] + draws[0] * (m.repair_h[1] - m.repair_h[0])) * H
            if not _free(majors, t, t + repair):
                continue
            majors.append(Interval(t, t + repair, "down", False, m.reason_code, m.reason, "sudden"))
            plan.truth.append(
                {
                    "type": "incident",
                    "source": "dispatch",
                    "asset_id": asset.asset_id,
                    "t": t,
                    "mechanism": mech,
                    "precursor_onset": None,
                }
            )
            busy_until = t + repair
            continue
        m = MECHANISMS[mech]
        if what == "script":
            lead, outcome, repair = script.lead_s, "failure", sum(m.repair_h) / 2 * H
        else:
            lead = (
                math.exp(math.log(m.lead_h[0]) + draws[0] * math.log(m.lead_h[1] / m.lead_h[0])) * H
            )
            outcome = _pick(OUTCOMES, draws[1])
            repair = (m.repair_h[0] + draws[2] * (m.repair_h[1] - m.repair_h[0])) * H
        if outcome == "failure":
            end = t + lead
            stop = Interval(end, end + repair, "down", False, m.reason_code, m.reason, "failure")
            ep = Episode(asset.asset_id, mech, t, end, "failure", lead)
        elif outcome == "intervention":
            end = t + lead * (0.45 + 0.4 * draws[3])
            dur = (1 + 3 * draws[4]) * H
            stop = Interval(
                end,
                end + dur,
                "maintenance",
                True,
                f"INSPECT-{m.reason_code}",
                f"inspection: {m.reason} suspected",
                "intervention",
            )
            ep = Episode(asset.asset_id, mech, t, end, "intervention", lead)
        else:
            end = t + lead * (0.3 + 0.4 * draws[3])
            stop = None
            ep = Episode(
                asset.asset_id,
                mech,
                t,
                end,
                "self_resolved",
                lead,
                amplitude=0.35 + 0.25 * draws[4],
                shape="bump",
            )
        horizon_end = stop.end if stop else end
        if horizon_end > horizon:
            continue
        clash = [iv for iv in majors if iv.start < horizon_end and iv.end > t]
        if any(iv.cause != "pm" for iv in clash):
            continue
        pm_inside = [iv for iv in clash if iv.cause == "pm" and iv.start >= t]
        if pm_inside and (stop is None or pm_inside[0].start < stop.start):
            # Planned maintenance found the problem first: the episode ends there, no failure.
            ep.end = pm_inside[0].start
            ep.outcome = "maintenance"
            stop = None
        elif any(iv.start < t for iv in clash):
            continue  # the episode would start during maintenance
        plan.episodes.append(ep)
        if stop is not None:
            majors.append(stop)
        busy_until = (stop.end if stop else ep.end) + 6 * H
        if ep.outcome == "failure":
            plan.truth.append(
                {
                    "type": "incident",
                    "source": "dispatch",
                    "asset_id": asset.asset_id,
                    "t": ep.end,
                    "mechanism": mech,
                    "precursor_onset": ep.onset,
                }
            )
    majors.sort(key=lambda iv: iv.start)

    # Minor stops in the running gaps: short unplanned stops, idle and standby periods.
    minors: list[Interval] = []
    leak = [ep for ep in plan.episodes if ep.mechanism == "hydraulic_leak"]
    rate = kind.short_stops_per_day / DAY
    for t in _poisson_times(rng, rate * 4, horizon):  # thinned: 4x more inside leak episodes
        u, dur_u, reason_u = rng.uniform(size=3)
        in_leak = any(ep.onset <= t < ep.end for ep in leak)
        if u > (1.0 if in_leak else 0.25):
            continue
        dur = (5 + 20 * dur_u) * 60  # 5-25 min: below the 30-min incident threshold
        code = (
            "HYD-TOPUP"
            if in_leak and reason_u < 0.7
            else kind.short_stop_reasons[
                int(reason_u * len(kind.short_stop_reasons)) % len(kind.short_stop_reasons)
            ]
        )
        minors.append(Interval(t, t + dur, "down", False, code, "short operational stop", "stop"))
    for t in _poisson_times(rng, IDLE_PER_DAY / DAY, horizon):
        dur = (15 + 75 * rng.uniform()) * 60
        minors.append(Interval(t, t + dur, "idle", False, "NO-FEED", "waiting for feed", "idle"))
    for t in _poisson_times(rng, STANDBY_PER_DAY / DAY, horizon):
        dur = (1 + 3 * rng.uniform()) * H
        minors.append(Interval(t, t + dur, "standby", True, "NO-DEMAND", "no demand", "standby"))
    accepted: list[Interval] = []
    for iv in sorted(minors, key=lambda iv: iv.start):
        if (
            iv.end <= horizon
            and _free(majors, iv.start - 600, iv.end + 600)
            and _free(accepted, iv.start, iv.end)
        ):
            accepted.append(iv)
    plan.intervals = sorted(majors + accepted, key=lambda iv: iv.start)
    _dispatch_events(plan, start_epoch, horizon)
    _hse_incidents(plan, rng, start_epoch, horizon, seed)
    for ep in plan.episodes:
        plan.truth.append(
            {
                "type": "episode",
                "asset_id": asset.asset_id,
                "mechanism": ep.mechanism,
                "onset": ep.onset,
                "end": ep.end,
                "outcome": ep.outcome,
                "lead_h": round(ep.lead_s / H, 3),
            }
        )
    return plan


def _pick(choices: tuple[tuple[str, float], ...], u: float) -> str:
    acc = 0.0
    for name, p in choices:
        acc += p
        if u < acc:
            return name
    return choices[-1][0]


def _dispatch_events(plan: AssetPlan, start_epoch: float, horizon: float) -> None:
    asset = plan.asset
    seq = 0

    def event(t: float, state: str, planned: bool, code: str | None, reason: str | None) -> dict:
        nonlocal seq
        crew = crew_at(start_epoch, t)
        seq += 1
        return {
            "t": t,
            "event_id": f"{asset.asset_id}-{seq:06d}",
            "state": state,
            "planned": planned,
            "reason_code": code,
            "reason": reason,
            "crew": crew,
            "operator": f"op-{crew}{asset.index % 9 + 1}",
        }

    plan.dispatch.append(event(0.0, "running", False, None, None))
    for iv in plan.intervals:
        plan.dispatch.append(event(iv.start, iv.state, iv.planned, iv.reason_code, iv.reason))
        if iv.end < horizon:
            plan.dispatch.append(event(iv.end, "running", False, None, None))
        if iv.cause in ("failure", "sudden"):
            for truth in plan.truth:
                if truth.get("source") == "dispatch" and truth["t"] == iv.start:
                    truth["event_id"] = plan.dispatch[-2 if iv.end < horizon else -1]["event_id"]


HSE_KINDS = (
    ("near_miss", 0.7, (1, 3)),
    ("stop_work", 0.18, (2, 3)),
    ("injury", 0.06, (2, 4)),
    ("equipment_damage", 0.06, (2, 4)),
)


def _hse_incidents(
    plan: AssetPlan, rng: np.random.Generator, start_epoch: float, horizon: float, seed: int
) -> None:
    """Thinned Poisson process: likelier when degraded, in maintenance, on the contractor crew."""
    top = HSE_PER_DAY * HSE_DEGRADED_FACTOR * HSE_CONTRACTOR_FACTOR * HSE_MAINTENANCE_FACTOR
    times = _poisson_times(rng, top / DAY, horizon)
    n = 0
    for t in times:
        u = rng.uniform(size=4)
        factor = 1.0
        arr = np.array([t])
        episode = None
        for ep in plan.episodes:
            if ep.onset <= t < ep.end and ep.level(arr)[0] >= DEGRADED_AT:
                factor *= HSE_DEGRADED_FACTOR
                episode = ep
                break
        if any(iv.start <= t < iv.end and iv.state == "maintenance" for iv in plan.intervals):
            factor *= HSE_MAINTENANCE_FACTOR
        crew = crew_at(start_epoch, t)
        if crew == CONTRACTOR_CREW:
            factor *= HSE_CONTRACTOR_FACTOR
        if u[0] * top > HSE_PER_DAY * factor:
            continue
        kind, severities = _hse_kind(u[1])
        severity = int(severities[0] + math.floor(u[2] * (severities[1] - severities[0] + 1)))
        n += 1
        incident_id = f"hse-{seed}-{plan.asset.asset_id}-{n:04d}"
        plan.incidents.append(
            {
                "t": t,
                "incident_id": incident_id,
                "kind": kind,
                "severity": severity,
                "crew": crew,
                "description": f"{kind.replace('_', ' ')} during "
                f"{'degraded running' if episode else 'operation'}"
                f" (crew {crew})",
            }
        )
        plan.truth.append(
            {
                "type": "incident",
                "source": "hse",
                "asset_id": plan.asset.asset_id,
                "t": t,
                "incident_id": incident_id,
                "kind": kind,
                "mechanism": episode.mechanism if episode else None,
                "precursor_onset": episode.onset if episode else None,
            }
        )


def _hse_kind(u: float) -> tuple[str, tuple[int, int]]:
    acc = 0.0
    for kind, p, sev in HSE_KINDS:
        acc += p
        if u < acc:
            return kind, sev
    return HSE_KINDS[-1][0], HSE_KINDS[-1][2]
