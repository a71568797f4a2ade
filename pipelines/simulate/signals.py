"""Renders an asset's tag values and alarms for a window of time, vectorised with numpy.

State that must flow from one window into the next (noise, thermal lag, active alarms) is kept
on the renderer, so a simulation rendered day by day equals one rendered in a single piece.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from pipelines.simulate.plant import AMBIENT, Asset, Tag
from pipelines.simulate.scenario import DAY, AssetPlan

NOISE_PHI = 0.7  # sample-to-sample correlation of measurement noise
LOAD_PHI = 0.9
DEADBAND = 0.01  # alarm hysteresis as a share of the limit: small, so alarms chatter

# How each mechanism moves tags at degradation d in 0..1: ("mul", k): value * (1 + k d);
# ("add", k): target + k d (temperatures, before their thermal lag).
EFFECTS: dict[str, dict[str, tuple[str, float]]] = {
    "bearing_wear": {
        "vibration_mm_s": ("mul", 1.8),
        "bearing_temp_c": ("add", 22.0),
        "motor_temp_c": ("add", 14.0),
    },
    "overload_clogging": {
        "motor_current_a": ("mul", 0.45),
        "hydraulic_pressure_bar": ("mul", 0.45),
        "mill_load_pct": ("mul", 0.25),
        "discharge_pressure_bar": ("mul", 0.4),
        "flow_m3_h": ("mul", -0.35),
        "load_tph": ("mul", 0.15),
        "feed_rate_tph": ("mul", -0.2),
        "bearing_temp_c": ("add", 4.0),
        "winding_temp_c": ("add", 15.0),  # an overloaded motor heats its windings
    },
    "electrical_fault": {"winding_temp_c": ("add", 20.0), "motor_temp_c": ("add", 18.0)},
    "hydraulic_leak": {
        "hydraulic_pressure_bar": ("mul", -0.25),
        "hydraulic_oil_temp_c": ("add", 10.0),
    },
    "engine_overheat": {"engine_temp_c": ("add", 24.0), "oil_pressure_bar": ("mul", -0.2)},
}
TRIP_TAG = {
    "bearing_wear": "vibration_mm_s",
    "overload_clogging": "motor_current_a",
    "electrical_fault": "motor_current_a",
    "hydraulic_leak": "hydraulic_pressure_bar",
    "engine_overheat": "engine_temp_c",
}


# A developing insulation fault spikes the motor current now and then, and each spike trips the
# protection relay's FAULT input (AssetRenderer._spikes, _tag, _alarms).
SPIKING_MECHANISM = "electrical_fault"
SPIKED_TAG = "motor_current_a"


def precursor_evidence(mechanism: str) -> set[str]:
    """The explanation names (models.explain.signal_of) that point at a mechanism's precursor:
    the tags it moves (EFFECTS) and, for the spiking mechanism, the tag it spikes and the FAULT
    alarms those trip. pipelines.bench.quality checks what alerts said at their opening
    against this."""
    extra = {SPIKED_TAG, "alarms:FAULT"} if mechanism == SPIKING_MECHANISM else set()
    return set(EFFECTS.get(mechanism, {})) | extra


PRIORITY = {"HIHI": 1, "LOLO": 1, "TRIP": 1, "FAULT": 2, "HI": 3, "LO": 3}


def ambient(abs_seconds: np.ndarray) -> np.ndarray:
    """Site air temperature: a daily cycle (peak 15:00 UTC) on a yearly one, in deg C."""
    day_frac = (abs_seconds % DAY) / DAY
    year_frac = (abs_seconds / (365.25 * DAY)) % 1.0
    return (
        16 + 7 * np.sin(2 * np.pi * (day_frac - 9 / 24)) + 6 * np.sin(2 * np.pi * (year_frac - 0.3))
    )


class AssetRenderer:
    """Tag values and alarms of one asset, window after window."""

    def __init__(
        self, asset: Asset, plan: AssetPlan, seed: int, interval_s: float, start_epoch: float
    ):
        self.asset = asset
        self.kind = asset.kind
        self.plan = plan
        self.interval = interval_s
        self.start_epoch = start_epoch
        self.rng = np.random.default_rng([seed, asset.index, 2])
        n = len(self.kind.tags)
        self.noise_zi = np.zeros((n, 1))
        self.load_zi = np.zeros(1)
        self.lag_last: list[float | None] = [None] * n
        self.alarm_on: dict[tuple[str, str], bool] = {}
        self.phase = self.rng.uniform(0, 2 * np.pi)
        # Each asset runs a little above or below its kind's nominal values.
        self.scale = 1 + 0.05 * self.rng.standard_normal(n)

    def render(self, t: np.ndarray) -> tuple[np.ndarray, list[tuple]]:
        """Values [tags x samples] at sim times `t`; alarms as (t, tag, kind, prio, state, code)."""
        n = t.size
        abs_t = self.start_epoch + t
        running = self.plan.running_at(t)
        amb = ambient(abs_t)
        load = self._load(t, abs_t, running)
        degr = self.plan.degradation(t)
        white = self.rng.standard_normal((len(self.kind.tags), n))
        noise, self.noise_zi = lfilter(
            [1 - NOISE_PHI], [1, -NOISE_PHI], white, axis=1, zi=self.noise_zi * 1.0
        )
        spikes = self._spikes(degr.get(SPIKING_MECHANISM), running, n)
        values = np.empty((len(self.kind.tags), n))
        for i, tag in enumerate(self.kind.tags):
            values[i] = self._tag(i, tag, load, running, amb, degr, noise[i], spikes)
        alarms = self._alarms(t, values, running, spikes)
        return np.round(values, 3), alarms

    # -- pieces --------------------------------------------------------------------------------

    def _load(self, t: np.ndarray, abs_t: np.ndarray, running: np.ndarray) -> np.ndarray:
        white = self.rng.standard_normal(t.size)
        ar, self.load_zi = lfilter(
            [math.sqrt(1 - LOAD_PHI**2)], [1, -LOAD_PHI], white, zi=self.load_zi
        )
        if self.kind.load == "haul_cycle":
            cycle = ((abs_t / 60.0 + self.phase * 10) % 36.0) / 36.0
            load = np.select([cycle < 0.45, cycle < 0.55, cycle < 0.95], [1.0, 0.3, 0.5], 0.3)
        elif self.kind.load == "lifts":
            lifting = self.rng.uniform(size=t.size) < 0.35
            load = np.where(lifting, self.rng.uniform(0.3, 1.0, t.size), 0.05)
        else:
            daily = 0.08 * np.sin(2 * np.pi * abs_t / DAY + self.phase)
            load = np.clip(0.82 + daily + 0.05 * ar, 0.3, 1.0)
        return np.where(running, load, 0.0)

    def _spikes(self, level: np.ndarray | None, running: np.ndarray, n: int) -> np.ndarray:
        """Multiplier on motor current: intermittent spikes while an electrical fault develops."""
        u = self.rng.uniform(size=n)
        size = self.rng.uniform(1.35, 1.7, n)
        if level is None:
            return np.ones(n)
        p = np.where(level > 0, 0.02 + 0.3 * level, 0.0)
        return np.where((u < p) & running, size, 1.0)

    def _tag(
        self,
        i: int,
        tag: Tag,
        load: np.ndarray,
        running: np.ndarray,
        amb: np.ndarray,
        degr: dict[str, np.ndarray],
        noise: np.ndarray,
        spikes: np.ndarray,
    ) -> np.ndarray:
        scale = self.scale[i]
        on = (tag.idle + (tag.full - tag.idle) * load) * scale
        if tag.name in ("belt_speed_m_s", "speed_rpm", "lube_pressure_bar"):
            on = np.full(load.size, tag.full * scale)
        off = amb if tag.off == AMBIENT else np.full(load.size, float(tag.off))
        adds = np.zeros(load.size)
        muls = np.ones(load.size)
        noise_gain = np.ones(load.size)
        for mech, level in degr.items():
            effect = EFFECTS.get(mech, {}).get(tag.name)
            if effect is None:
                continue
            how, k = effect
            if how == "add":
                adds += k * level
            else:
                muls *= 1 + k * level
            if mech == "bearing_wear" and tag.name == "vibration_mm_s":
                noise_gain += 1.5 * level
        if tag.off == AMBIENT:
            on = on + 0.4 * (amb - 16)  # hot afternoons run hotter
        if tag.name == SPIKED_TAG:
            muls = muls * spikes
        target = np.where(running, on * muls + adds, off)
        if tag.tau_min > 0:
            a = math.exp(-self.interval / (tag.tau_min * 60))
            last = self.lag_last[i] if self.lag_last[i] is not None else float(target[0])
            value, _ = lfilter([1 - a], [1, -a], target, zi=[a * last])
            self.lag_last[i] = float(value[-1])
        else:
            value = target
        sigma = tag.noise * np.where(running, noise_gain, 0.15)
        out = value + sigma * noise * 2.0  # the AR filter shrinks variance; 2x restores ~sigma
        if tag.off != AMBIENT and tag.off == 0.0:
            out = np.where(running, out, np.abs(out))  # stopped pumps read ~0, never negative
        return out

    def _alarms(
        self, t: np.ndarray, values: np.ndarray, running: np.ndarray, spikes: np.ndarray
    ) -> list[tuple]:
        out: list[tuple] = []
        for i, tag in enumerate(self.kind.tags):
            for kind, limit, above in (
                ("HI", tag.hi, True),
                ("HIHI", tag.hihi, True),
                ("LO", tag.lo, False),
                ("LOLO", tag.lolo, False),
            ):
                if limit is None:
                    continue
                out += self._hysteresis(t, values[i], running, tag.name, kind, limit, above)
        if SPIKED_TAG in self.kind.tag_names:
            # A developing insulation fault trips the protection relay's fault input briefly.
            for j in np.flatnonzero(spikes > 1.0):
                out.append((float(t[j]), SPIKED_TAG, "FAULT", 2, "active", "EF-INS"))
                if j + 1 < t.size:
                    out.append((float(t[j + 1]), SPIKED_TAG, "FAULT", 2, "cleared", "EF-INS"))
        return out

    def _hysteresis(
        self,
        t: np.ndarray,
        v: np.ndarray,
        running: np.ndarray,
        tag: str,
        kind: str,
        limit: float,
        above: bool,
    ) -> list[tuple]:
        band = abs(limit) * DEADBAND
        on = v > limit if above else v < limit
        off = v < limit - band if above else v > limit + band
        state = np.full(v.size, np.nan)
        state[on] = 1.0
        state[off] = 0.0
        state[~running] = 0.0  # alarms are suppressed while the asset is stopped
        prev = 1.0 if self.alarm_on.get((tag, kind)) else 0.0
        filled = np.concatenate([[prev], state])
        idx = np.where(~np.isnan(filled), np.arange(filled.size), 0)
        np.maximum.accumulate(idx, out=idx)
        filled = filled[idx]
        change = np.flatnonzero(np.diff(filled))
        self.alarm_on[(tag, kind)] = bool(filled[-1])
        prio = PRIORITY[kind]
        return [
            (float(t[j]), tag, kind, prio, "active" if filled[j + 1] else "cleared", None)
            for j in change
        ]
