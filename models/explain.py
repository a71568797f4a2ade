"""What a risk score is explained by: LightGBM SHAP contributions summed per signal, and what a
feature summing up others (an extreme across tags, a count of deviating tags, an alarm count)
stands for credited to the tags and alarms it sums up, so that an operator is told something
they can look at."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import polars as pl

from models.event_features import ALARM_KINDS, ALARM_SOURCE
from models.features import DEVIATION_COUNTS


def signal_of(feature: str) -> str:
    """The signal or event family a feature explains: sig.vibration_mm_s.z_6h -> vibration_mm_s."""
    parts = feature.split(".")
    if parts[0] == "sig":  # sig.<tag>.<stat>: a tag's name may hold dots (FIC-101.PV)
        return feature[len("sig.") : feature.rindex(".")]
    if parts[0] == "alarm":
        return f"alarms:{parts[1]}"
    if parts[0] == ALARM_SOURCE:  # alarmsrc.<group>.<window>.<tag>: the tag that raised them
        return feature.split(".", 3)[3]
    if parts[0] == "disp":
        return f"dispatch:{parts[1]}"
    if parts[0] == "hse":
        return "hse_incidents"
    if parts[0] == "agg":
        # across the asset's tags; handed to the tags they stand for row by row (credit_parts)
        return "signals:all"
    return f"context:{parts[1]}"


_EXTREME = re.compile(r"agg\.(.+)_(max|min)")  # agg.z_6h_max: the largest z_6h of any tag
_ALARMS_ALL = re.compile(r"alarm\.all\.(.+)")  # alarm.all.1h: activations of every kind in 1 h


def _tags(columns: Iterable[str]) -> set[str]:
    """The tags that sig.<tag>.<stat> columns are about."""
    return {signal_of(c) for c in columns if c.startswith("sig.")}


def _shares(features: list[str], present: set[str]) -> list[tuple[int, str, float, list[str]]]:
    """The features that sum up others an explanation can hand on: (feature index, rule,
    threshold, the columns it sums up); rule is 'max' or 'min' for an extreme across tags,
    'above' for a count of deviating tags, 'sum' for an alarm count: to the tags that raised
    the alarms when the frame carries them (event_features.alarm_sources), else, for the alarms of
    every kind, to each kind."""
    tags = sorted(_tags(present))
    sources: dict[str, list[str]] = {}  # alarm.HI.1h -> alarmsrc.HI.1h.<tag> of every tag
    for c in sorted(present):
        if c.startswith(f"{ALARM_SOURCE}."):
            group, window = c.split(".", 3)[1:3]
            sources.setdefault(f"alarm.{group}.{window}", []).append(c)
    out = []
    for i, feature in enumerate(features):
        if (match := _EXTREME.fullmatch(feature)) is not None:
            stat = match.group(1)
            rule, limit, columns = match.group(2), 0.0, [f"sig.{t}.{stat}" for t in tags]
        elif feature in DEVIATION_COUNTS:
            stat, limit = DEVIATION_COUNTS[feature]
            rule, columns = "above", [f"sig.{t}.{stat}" for t in tags]
        elif feature in sources:
            rule, limit, columns = "sum", 0.0, sources[feature]
        elif (match := _ALARMS_ALL.fullmatch(feature)) is not None:
            rule, limit = "sum", 0.0
            columns = [f"alarm.{kind}.{match.group(1)}" for kind in ALARM_KINDS]
        else:
            continue
        columns = [c for c in columns if c in present]
        if columns:
            out.append((i, rule, limit, columns))
    return out


def _weights(values: np.ndarray, rule: str, limit: float) -> np.ndarray:
    """Each row's share of a summing-up feature per part: all of it to the tag holding an
    extreme, equal parts to the tags a count counts, to each tag or alarm kind its part of an
    alarm count; rows with no such part get none."""
    if rule == "above":
        parts = (np.nan_to_num(values, nan=-np.inf) > limit).astype(float)
    elif rule == "sum":
        parts = np.nan_to_num(values, nan=0.0)
    else:  # max / min: all of it to the extreme
        return _extreme_weights(values, rule)
    total = parts.sum(axis=1, keepdims=True)
    return np.divide(parts, total, out=np.zeros_like(parts), where=total > 0)


def _extreme_weights(values: np.ndarray, rule: str) -> np.ndarray:
    """One-hot on the tag holding each row's max or min; rows with no known tag get none."""
    weights = np.zeros_like(values)
    rows = np.arange(len(values))
    known = ~np.isnan(values).all(axis=1)
    fill = -np.inf if rule == "max" else np.inf
    filled = np.where(np.isnan(values), fill, values)
    pick = filled.argmax(axis=1) if rule == "max" else filled.argmin(axis=1)
    weights[rows[known], pick[known]] = 1.0
    return weights


def signal_contributions(
    frame: pl.DataFrame,
    features: list[str],
    shap: np.ndarray,
    kind_tags: dict[str, list[str]] | None = None,
) -> tuple[list[str], np.ndarray]:
    """Per-feature SHAP contributions summed per signal (signal_of), then what a summing-up
    feature stands for credited to its parts (credit_parts), then, given each kind's tags
    (kind_tags), what a tag the row's kind does not have contributed to the kind
    (credit_foreign_tags): the names and one column each."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(features):
        groups.setdefault(signal_of(name), []).append(i)
    names = list(groups)
    summed = np.column_stack([shap[:, idx].sum(axis=1) for idx in groups.values()])
    names, summed = credit_parts(frame, features, shap, names, summed)
    if kind_tags:
        names, summed = credit_foreign_tags(frame, features, kind_tags, names, summed)
    return names, summed


KIND = "ctx.kind"


def kind_tags(frame: pl.DataFrame, features: list[str]) -> dict[str, list[str]]:
    """The tags each asset kind has: those with a model feature known on any of its rows."""
    if KIND not in frame.columns:
        return {}
    first: dict[str, str] = {}  # tag -> one of its features
    for name in features:
        if name.startswith("sig."):
            first.setdefault(signal_of(name), name)
    if not first:
        return {}
    seen = frame.group_by(KIND).agg(
        pl.col(column).is_not_null().any().alias(tag) for tag, column in first.items()
    )
    out = {}
    for row in seen.iter_rows(named=True):
        if (kind := row.pop(KIND)) is not None:
            out[kind] = sorted(tag for tag, known in row.items() if known)
    return out


def credit_foreign_tags(
    frame: pl.DataFrame,
    features: list[str],
    kinds: dict[str, list[str]],
    names: list[str],
    summed: np.ndarray,
) -> tuple[list[str], np.ndarray]:
    """Move what a tag contributed on a row whose kind does not have it to 'context:kind': the
    booster reads a conveyor's missing crusher tags as 'this is a conveyor', which is the kind
    speaking, not a signal an operator could look at. Kinds unseen in training keep theirs."""
    if KIND not in frame.columns:
        return names, summed
    tags = _tags(features)
    tag_cols = [j for j, name in enumerate(names) if name in tags]
    if not tag_cols:
        return names, summed
    row_kinds = np.array(frame.get_column(KIND).to_list(), dtype=object)
    foreign = np.zeros((len(summed), len(tag_cols)), dtype=bool)  # row lacks that tag
    for kind, has in kinds.items():
        foreign[row_kinds == kind] = [names[j] not in has for j in tag_cols]
    to = signal_of(KIND)
    if to in names:
        names, summed = list(names), summed.copy()
    else:
        names, summed = [*names, to], np.column_stack([summed, np.zeros(len(summed))])
    cols = summed[:, tag_cols]
    summed[:, names.index(to)] += np.where(foreign, cols, 0.0).sum(axis=1)
    summed[:, tag_cols] = np.where(foreign, 0.0, cols)
    return names, summed


def credit_parts(
    frame: pl.DataFrame, features: list[str], shap: np.ndarray, names: list[str], summed: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Move each row's contribution of a feature that sums up others to what it sums up in that
    row, so that an explanation names something an operator can look at: an extreme across tags
    (agg.<stat>_max / _min) to the tag holding it, a count of deviating tags (agg.tags_*) in
    equal parts to the tags it counts (both off 'signals:all'), an alarm count (alarm.<group>.
    <window>) to the tags that raised its alarms by their share when the frame carries
    event_features.alarm_sources, else, for the count of every kind, to each kind by its share (off
    'alarms:<group>'). Sums are kept; what no part accounts for (no tag known, none deviating,
    no alarm) stays where it was."""
    shares = _shares(features, set(frame.columns))
    if not shares:
        return names, summed
    needed = sorted({c for *_, columns in shares for c in columns})
    matrix = frame.select(needed).cast(pl.Float64).to_numpy()  # one read for all of them
    where = {c: j for j, c in enumerate(needed)}
    credit: dict[str, np.ndarray] = {}
    for i, rule, limit, columns in shares:
        weights = _weights(matrix[:, [where[c] for c in columns]], rule, limit)
        source = signal_of(features[i])
        credit.setdefault(source, np.zeros(len(summed)))
        credit[source] -= shap[:, i] * weights.sum(axis=1)
        for k, column in enumerate(columns):
            if weights[:, k].any():
                part = signal_of(column)
                credit.setdefault(part, np.zeros(len(summed)))
                credit[part] += shap[:, i] * weights[:, k]
    names, summed = list(names), summed.copy()
    for name, amount in credit.items():
        if name in names:
            summed[:, names.index(name)] += amount
        else:
            names.append(name)
            summed = np.column_stack([summed, amount])
    return names, summed
