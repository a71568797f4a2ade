"""The simulated plant's equipment: asset kinds, their tags, units, baselines and alarm limits."""

from __future__ import annotations

from dataclasses import dataclass, field

AMBIENT = "ambient"  # a tag whose resting value follows the site's air temperature


@dataclass(frozen=True)
class Tag:
    """One control-system tag of an asset kind.

    Value while running is `idle + (full - idle) * load`, plus noise; `off` while stopped (a
    number, or AMBIENT). A positive `tau_min` makes the tag a temperature that lags its target.
    """

    name: str
    off: float | str
    idle: float
    full: float
    noise: float
    tau_min: float = 0.0
    hi: float | None = None
    hihi: float | None = None
    lo: float | None = None
    lolo: float | None = None


@dataclass(frozen=True)
class Kind:
    """An equipment type: tags, failure mechanisms, and how often things happen to it."""

    name: str
    prefix: str
    tags: tuple[Tag, ...]
    mechanisms: tuple[str, ...]  # failure mechanisms with a precursor
    sudden: tuple[str, ...]  # failure modes with none
    pm_days: float  # planned-maintenance interval
    pm_hours: tuple[float, float]
    short_stops_per_day: float
    short_stop_reasons: tuple[str, ...]
    criticality: int
    area: str
    load: str = "steady"  # steady | haul_cycle | lifts
    extra: dict = field(default_factory=dict)

    def tag(self, name: str) -> Tag:
        """The tag called `name`."""
        return next(t for t in self.tags if t.name == name)

    @property
    def tag_names(self) -> list[str]:
        """Tag names in emission order."""
        return [t.name for t in self.tags]


KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind(
            "cone_crusher",
            "CR",
            (
                Tag("vibration_mm_s", 0.3, 1.8, 3.2, 0.25, hi=7.1, hihi=11.0),
                Tag("bearing_temp_c", AMBIENT, 45, 60, 0.6, 45, hi=82, hihi=92),
                Tag("winding_temp_c", AMBIENT, 55, 85, 0.8, 30, hi=120, hihi=135),
                Tag("motor_current_a", 0.0, 60, 210, 6.0, hi=265, hihi=295),
                Tag("hydraulic_pressure_bar", 0.0, 60, 95, 2.5, hi=140, hihi=160),
                Tag("oil_temp_c", AMBIENT, 38, 47, 0.4, 60, hi=62),
                Tag("feed_rate_tph", 0.0, 0, 650, 25.0),
            ),
            ("bearing_wear", "overload_clogging", "electrical_fault"),
            ("foreign_object",),
            14,
            (6, 10),
            0.8,
            ("BLOCKED-CHUTE", "E-STOP", "TRAMP-METAL"),
            5,
            "crushing",
        ),
        Kind(
            "belt_conveyor",
            "CV",
            (
                Tag("vibration_mm_s", 0.2, 1.2, 2.2, 0.2, hi=4.5, hihi=7.1),
                Tag("bearing_temp_c", AMBIENT, 35, 42, 0.5, 40, hi=70, hihi=80),
                Tag("winding_temp_c", AMBIENT, 40, 65, 0.7, 30, hi=110, hihi=125),
                Tag("motor_current_a", 0.0, 45, 140, 5.0, hi=178, hihi=195),
                Tag("belt_speed_m_s", 0.0, 3.5, 3.5, 0.02, lo=3.2, lolo=3.0),
                Tag("load_tph", 0.0, 0, 900, 35.0),
            ),
            ("bearing_wear", "overload_clogging", "electrical_fault"),
            ("belt_tear",),
            21,
            (4, 8),
            0.6,
            ("SPILLAGE", "BELT-MISALIGN", "E-STOP"),
            4,
            "conveying",
        ),
        Kind(
            "ball_mill",
            "ML",
            (
                Tag("vibration_mm_s", 0.5, 2.5, 4.0, 0.3, hi=7.1, hihi=11.0),
                Tag("bearing_temp_c", AMBIENT, 48, 62, 0.5, 60, hi=76, hihi=85),
                Tag("winding_temp_c", AMBIENT, 60, 95, 0.8, 40, hi=130, hihi=145),
                Tag("motor_current_a", 0.0, 150, 420, 8.0, hi=490, hihi=520),
                Tag("lube_pressure_bar", 0.0, 2.8, 2.8, 0.05, lo=2.2, lolo=1.8),
                Tag("oil_temp_c", AMBIENT, 40, 48, 0.4, 60, hi=60),
                Tag("mill_load_pct", 0.0, 0, 38, 1.2, hi=46),
            ),
            ("bearing_wear", "overload_clogging", "electrical_fault"),
            ("liner_bolt_failure",),
            28,
            (8, 12),
            0.2,
            ("FEED-INTERRUPT", "E-STOP"),
            5,
            "grinding",
        ),
        Kind(
            "slurry_pump",
            "PP",
            (
                Tag("vibration_mm_s", 0.3, 2.0, 3.5, 0.3, hi=7.1, hihi=11.0),
                Tag("bearing_temp_c", AMBIENT, 40, 50, 0.5, 40, hi=80, hihi=90),
                Tag("winding_temp_c", AMBIENT, 50, 80, 0.7, 30, hi=120, hihi=135),
                Tag("motor_current_a", 0.0, 35, 95, 3.0, hi=118, hihi=130),
                Tag("discharge_pressure_bar", 0.0, 2.0, 6.5, 0.2, hi=9.5, hihi=11.0),
                Tag("flow_m3_h", 0.0, 0, 520, 15.0, lo=300),
                Tag("speed_rpm", 0.0, 980, 980, 5.0),
            ),
            ("bearing_wear", "overload_clogging", "electrical_fault"),
            ("impeller_break",),
            14,
            (4, 8),
            0.4,
            ("SUMP-LOW", "GLAND-WATER", "E-STOP"),
            4,
            "flotation",
        ),
        Kind(
            "haul_truck",
            "HT",
            (
                Tag("engine_temp_c", AMBIENT, 80, 92, 0.8, 15, hi=106, hihi=112),
                Tag("hydraulic_pressure_bar", 0.0, 170, 190, 3.0, lo=150, lolo=135),
                Tag("hydraulic_oil_temp_c", AMBIENT, 50, 65, 0.6, 30, hi=85, hihi=95),
                Tag("oil_pressure_bar", 0.0, 2.5, 4.2, 0.1, lo=2.0, lolo=1.5),
                Tag("payload_t", 0.0, 0, 220, 5.0),
                Tag("speed_kmh", 0.0, 0, 25, 2.0),
            ),
            ("hydraulic_leak", "engine_overheat"),
            ("tyre_damage",),
            10,
            (3, 5),
            1.5,
            ("WAIT-SHOVEL", "DUMP-QUEUE", "OPERATOR-BREAK"),
            3,
            "mine",
            load="haul_cycle",
        ),
        Kind(
            "overhead_crane",
            "OC",
            (
                Tag("vibration_mm_s", 0.1, 0.8, 1.8, 0.15, hi=4.5, hihi=7.1),
                Tag("motor_temp_c", AMBIENT, 45, 65, 0.6, 20, hi=100, hihi=115),
                Tag("motor_current_a", 0.0, 10, 75, 3.0, hi=96, hihi=108),
                Tag("brake_temp_c", AMBIENT, 35, 55, 0.8, 10, hi=120),
                Tag("load_t", 0.0, 0, 20, 0.5),
            ),
            ("bearing_wear", "electrical_fault"),
            ("rope_damage",),
            30,
            (4, 8),
            0.5,
            ("E-STOP", "AREA-CLEARANCE"),
            3,
            "workshop",
            load="lifts",
        ),
    ]
}

# The order in which a plant is filled with kinds: a concentrator has more conveyors and pumps
# than mills, and a fleet of trucks.
MIX = (
    "belt_conveyor",
    "slurry_pump",
    "haul_truck",
    "cone_crusher",
    "belt_conveyor",
    "haul_truck",
    "ball_mill",
    "slurry_pump",
    "overhead_crane",
    "haul_truck",
)

SITE = "north-concentrator"
CREWS = ("A", "B", "C", "D")
CONTRACTOR_CREW = "D"
DAY_SHIFT_START_H = 6  # shifts run 06:00-18:00 and 18:00-06:00


@dataclass(frozen=True)
class Asset:
    """One simulated asset."""

    index: int
    asset_id: str
    kind: Kind

    def registry_record(self) -> dict:
        """The asset registry row (assets table) for this asset."""
        return {
            "asset_id": self.asset_id,
            "name": f"{self.kind.name.replace('_', ' ')} {self.asset_id}",
            "kind": self.kind.name,
            "site": SITE,
            "area": self.kind.area,
            "criticality": self.kind.criticality,
            "attributes": {"simulated": True, "tags": self.kind.tag_names},
        }


def roster(n_assets: int) -> list[Asset]:
    """The plant's assets: kinds in MIX order, numbered per kind (CV-01, CV-02...)."""
    counts: dict[str, int] = {}
    out = []
    for i in range(n_assets):
        kind = KINDS[MIX[i % len(MIX)]]
        counts[kind.name] = counts.get(kind.name, 0) + 1
        out.append(Asset(i, f"{kind.prefix}-{counts[kind.name]:02d}", kind))
    return out


def crew_on_shift(shift_index: int) -> str:
    """Crew working 12-h shift number `shift_index` (a 4-crew rotation over days and nights)."""
    day = shift_index // 2
    night = shift_index % 2
    return CREWS[(day + 2 * night) % 4]
