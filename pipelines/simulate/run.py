"""Runs a simulation: plans every asset, renders day by day, emits messages to a sink."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson

from pipelines.simulate.plant import Asset, roster
from pipelines.simulate.scenario import DAY, AssetPlan, H, Script, plan_asset
from pipelines.simulate.signals import TRIP_TAG, AssetRenderer
from pipelines.simulate.sinks import Sink

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)  # fixed, so a seed alone reproduces a plant
# A scripted degradation fails this long after its onset: within bearing wear's 12-72 h, and
# short enough that the demo (60x) shows the warning and the failure within half an hour.
SCRIPT_LEAD_H = 18.0
SCRIPT_SEARCH_H = 48.0  # how far past the hour asked for a script may move to find a free asset


@dataclass(frozen=True)
class SimConfig:
    """What to simulate."""

    seed: int = 7
    assets: int = 40
    days: float = 30.0
    interval_s: int = 60
    start: datetime = DEFAULT_START
    degrade_at_h: float | None = None  # script one asset's degradation from this hour on

    @property
    def horizon(self) -> float:
        """Simulated seconds."""
        return self.days * DAY

    @property
    def samples_per_asset(self) -> int:
        """Snapshots each asset emits."""
        return int(self.horizon // self.interval_s)


def rfc3339(start_epoch: float, t: float) -> str:
    """Simulation time -> '2026-01-01T00:05:00Z' (whole seconds, UTC)."""
    return datetime.fromtimestamp(round(start_epoch + t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Simulation:
    """A planned plant, ready to be rendered."""

    def __init__(self, config: SimConfig):
        self.config = config
        self.start_epoch = config.start.timestamp()
        self.assets: list[Asset] = roster(config.assets)
        self.plans: list[AssetPlan] = [
            plan_asset(a, config.seed, config.horizon, self.start_epoch) for a in self.assets
        ]
        self.scripted: tuple[str, Script] | None = None  # (asset id, its script)
        if config.degrade_at_h is not None:
            self.scripted = self._script(config.degrade_at_h * H)

    def _script(self, earliest: float) -> tuple[str, Script]:
        """Give the most critical asset that can take it a bearing-wear (or its kind's first)
        precursor episode failing SCRIPT_LEAD_H after its onset, at `earliest` or, when every
        asset is busy then (maintenance, another episode), at the first whole hour after
        (within SCRIPT_SEARCH_H) when one is free."""
        lead = SCRIPT_LEAD_H * H
        if earliest < 0 or earliest + lead + DAY > self.config.horizon:  # a day to repair
            raise ValueError(
                f"cannot script a degradation at hour {earliest / H:g}: it needs "
                f"{SCRIPT_LEAD_H + 24:g} h before the {self.config.days:g} simulated days end"
            )
        order = sorted(range(len(self.assets)), key=lambda i: -self.assets[i].kind.criticality)
        for onset in np.arange(earliest, earliest + SCRIPT_SEARCH_H * H, H):
            if onset + lead + DAY > self.config.horizon:
                break
            for i in order:
                asset = self.assets[i]
                mechs = asset.kind.mechanisms
                mech = "bearing_wear" if "bearing_wear" in mechs else mechs[0]
                script = Script(float(onset), mech, lead)
                plan = plan_asset(
                    asset, self.config.seed, self.config.horizon, self.start_epoch, script
                )
                if any(e.onset == onset and e.outcome == "failure" for e in plan.episodes):
                    self.plans[i] = plan
                    return asset.asset_id, script
        raise ValueError(
            f"cannot script a degradation from hour {earliest / H:g}: every asset is in "
            f"maintenance or already degrading for the {SCRIPT_SEARCH_H:g} h after"
        )

    def registry(self) -> list[dict]:
        """The asset registry records."""
        return [a.registry_record() for a in self.assets]

    def ground_truth(self) -> list[dict]:
        """Every incident (with mechanism and precursor onset or null) and every episode."""
        out = []
        for plan in self.plans:
            for rec in plan.truth:
                row = dict(rec)
                for key in ("t", "onset", "end", "precursor_onset"):
                    if row.get(key) is not None:
                        row["ts" if key == "t" else key] = rfc3339(self.start_epoch, row[key])
                row.pop("t", None)
                out.append(row)
        out.sort(key=lambda r: (r.get("ts") or r.get("onset"), r["asset_id"], r["type"]))
        return out

    def emit(
        self,
        sink: Sink,
        *,
        pace_from: float | None = None,
        speed: float = 1.0,
        progress: Callable[[int], None] | None = None,
        stop: Callable[[], bool] | None = None,
        send_from: float = 0.0,
    ) -> float:
        """Render and send everything; returns the sim time of the last snapshot sent (a stop
        can end it early). From sim time `pace_from` on, emission follows the wall clock at
        `speed` x real time (the live demo); before it, as fast as possible. Before sim time
        `send_from` nothing is sent (a resumed plant): it is still rendered, because each day's
        signals carry on from the day before."""
        cfg = self.config
        renderers = [
            AssetRenderer(a, p, cfg.seed, cfg.interval_s, self.start_epoch)
            for a, p in zip(self.assets, self.plans, strict=True)
        ]
        per_day = max(1, int(DAY // cfg.interval_s))  # a day of snapshots per render
        total = cfg.samples_per_asset
        wall0 = None
        sent_to = send_from
        for first in range(0, total, per_day):
            if stop is not None and stop():  # each day, so a stop need not wait for a backfill
                return sent_to
            idx = np.arange(first, min(first + per_day, total))
            t = idx * float(cfg.interval_s)
            lo, hi = float(t[0]), float(t[-1]) + cfg.interval_s
            rendered = [r.render(t) for r in renderers]
            events = self._events(lo, hi, rendered)
            stamps = [rfc3339(self.start_epoch, x) for x in t]
            columns = [
                (a.asset_id, a.kind.tag_names, v.T.tolist())
                for a, (v, _) in zip(self.assets, rendered, strict=True)
            ]
            e = 0
            for j, ts in enumerate(stamps):
                now = t[j]
                while e < len(events) and events[e][0] <= now:
                    at, stream, key, msg = events[e]
                    if at >= send_from:
                        sink.send(stream, key, msg)
                    e += 1
                if now < send_from:
                    if progress is not None:
                        progress(len(columns))
                    continue
                if pace_from is not None and now >= pace_from:
                    if wall0 is None:
                        wall0 = time.monotonic() - (now - pace_from) / speed
                    delay = wall0 + (now - pace_from) / speed - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    if stop is not None and stop():
                        return sent_to
                for asset_id, names, rows in columns:
                    sink.send(
                        "signals",
                        asset_id,
                        {
                            "asset_id": asset_id,
                            "ts": ts,
                            "signals": dict(zip(names, rows[j], strict=True)),
                        },
                    )
                sent_to = float(now)
                if progress is not None:
                    progress(len(columns))
            for at, stream, key, msg in events[e:]:
                if at >= send_from:
                    sink.send(stream, key, msg)
        return sent_to

    def _events(self, lo: float, hi: float, rendered: list) -> list[tuple]:
        """Dispatch, alarm and HSE messages with lo <= t < hi, in time order."""
        out: list[tuple] = []
        for asset, plan, (_, alarms) in zip(self.assets, self.plans, rendered, strict=True):
            aid = asset.asset_id
            for ev in plan.dispatch:
                if lo <= ev["t"] < hi:
                    msg = {
                        "event_id": ev["event_id"],
                        "asset_id": aid,
                        "ts": rfc3339(self.start_epoch, ev["t"]),
                        "state": ev["state"],
                        "planned": ev["planned"],
                        "reason_code": ev["reason_code"],
                        "reason": ev["reason"],
                        "crew": ev["crew"],
                        "operator": ev["operator"],
                    }
                    out.append((ev["t"], "dispatch", aid, msg))
            for iv in plan.intervals:
                if iv.cause not in ("failure", "sudden"):
                    continue
                # The protection trips when the asset fails and resets when it is repaired.
                tag = TRIP_TAG.get(_mechanism_of(plan, iv.start)) or asset.kind.tag_names[0]
                for when, state in ((iv.start, "active"), (iv.end, "cleared")):
                    if lo <= when < hi:
                        out.append(
                            (
                                when,
                                "alarms",
                                aid,
                                {
                                    "asset_id": aid,
                                    "ts": rfc3339(self.start_epoch, when),
                                    "tag": tag,
                                    "kind": "TRIP",
                                    "priority": 1,
                                    "state": state,
                                    "code": iv.reason_code,
                                },
                            )
                        )
            for when, tag, kind, prio, state, code in alarms:
                msg = {
                    "asset_id": aid,
                    "ts": rfc3339(self.start_epoch, when),
                    "tag": tag,
                    "kind": kind,
                    "priority": prio,
                    "state": state,
                }
                if code:
                    msg["code"] = code
                out.append((when, "alarms", aid, msg))
            for inc in plan.incidents:
                if lo <= inc["t"] < hi:
                    out.append(
                        (
                            inc["t"],
                            "incidents",
                            aid,
                            {
                                "incident_id": inc["incident_id"],
                                "asset_id": aid,
                                "ts": rfc3339(self.start_epoch, inc["t"]),
                                "kind": inc["kind"],
                                "severity": inc["severity"],
                                "description": inc["description"],
                            },
                        )
                    )
        out.sort(key=lambda x: (x[0], x[1], x[2], orjson.dumps(x[3])))
        return out


def _mechanism_of(plan: AssetPlan, failure_t: float) -> str | None:
    for ep in plan.episodes:
        if ep.outcome == "failure" and ep.end == failure_t:
            return ep.mechanism
    return None


def write_jsonl(path: Path, records: list[dict]) -> None:
    """One JSON object per line."""
    with open(path, "wb") as fh:
        for rec in records:
            fh.write(orjson.dumps(rec) + b"\n")
