"""The README's Configuration, Commands, HTTP API and Metrics sections agree with the code:
every setting with its real default, every command and subcommand, every API operation with its
query parameters and roles, every metric with its labels; nothing they name is missing."""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

from fastapi.dependencies.models import Dependant

from precursor.cli.main import build_parser
from precursor.core.settings import ENV_PREFIX, Settings
from services.api.app import ROUTERS, create_app

README = Path(__file__).resolve().parents[2] / "README.md"
SETTINGS = {
    ENV_PREFIX + name.upper(): field.default for name, field in Settings.model_fields.items()
}
VARIABLE = re.compile(rf"`({ENV_PREFIX}[A-Z0-9_]+)`")
SUFFIX = re.compile(r"`(_[A-Z0-9_]+)`")  # `_ALARMS` in the PRECURSOR_TOPIC_SIGNALS row
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def _rows(title: str) -> list[list[str]]:
    """The cells of each table body row in a section (header and rule rows dropped)."""
    rows = []
    for line in _section(title).splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows[1:]


def _config_rows() -> list[tuple[list[str], str]]:
    """(the variables a Configuration row names, its default cell)."""
    out = []
    for cells in _rows("Configuration"):
        named = VARIABLE.findall(cells[0])
        family = named[0].removeprefix(ENV_PREFIX).split("_")[0]
        for suffix in SUFFIX.findall(cells[2]):
            # `_ALARMS` beside PRECURSOR_TOPIC_SIGNALS is PRECURSOR_TOPIC_ALARMS: the setting of
            # the row's family (TOPIC, KAFKA) that ends so.
            matches = [
                v for v in SETTINGS if v.startswith(ENV_PREFIX + family) and v.endswith(suffix)
            ]
            assert len(matches) == 1, f"{suffix} in the {named[0]} row names {matches}"
            named.append(matches[0])
        out.append((named, cells[1]))
    return out


def _same(documented: str, default: object) -> bool:
    if isinstance(default, bool) or default is None:
        return False  # these are documented in words (off, unset), never as a value
    if isinstance(default, int | float):
        try:
            return float(documented) == float(default)
        except ValueError:
            return False
    return documented == str(default)


def test_every_setting_is_in_the_configuration_table_and_nothing_else_is() -> None:
    listed = [v for named, _ in _config_rows() for v in named]
    assert sorted(set(listed)) == sorted(listed), "a variable listed twice"
    assert set(listed) == set(SETTINGS), (
        f"missing: {sorted(set(SETTINGS) - set(listed))}, "
        f"not settings: {sorted(set(listed) - set(SETTINGS))}"
    )


def test_the_configuration_table_gives_each_default_as_the_code_has_it() -> None:
    for named, cell in _config_rows():
        values = re.findall(r"`([^`]+)`", cell)
        if not values:
            # Documented in words ("unset: embedded", "off", "sqlite under the data dir").
            for variable in named:
                assert SETTINGS[variable] in (None, False), (variable, cell)
            continue
        # A row such as API_HOST / API_PORT gives one value per variable, in order; the
        # variables a row names only in its meaning (`_ALARMS`) give theirs there.
        for variable, value in zip(named, values, strict=False):
            assert _same(value, SETTINGS[variable]), (variable, value, SETTINGS[variable])


def test_every_variable_the_readme_names_is_a_setting() -> None:
    named = set(re.findall(rf"\b{ENV_PREFIX}[A-Z][A-Z0-9_]*\b", README.read_text()))
    assert named <= set(SETTINGS), sorted(named - set(SETTINGS))


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its words: 'up', 'bench score', 'apikey create', ..."""
    found = {}

    def walk(parser: argparse.ArgumentParser, words: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[f"{words} {name}".strip()] = sub
                    walk(sub, f"{words} {name}")

    walk(build_parser(), "")
    return found


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for action in parser._actions for s in action.option_strings}


def test_every_command_is_in_the_commands_table() -> None:
    table = " ".join(cells[0] for cells in _rows("Commands"))
    for words in _commands():
        # A subcommand after the first in a row is written without `precursor` (`apikey list`).
        assert re.search(rf"\b{re.escape(words)}\b", table), f"`precursor {words}` is not listed"


def test_every_option_the_commands_table_names_exists() -> None:
    commands = _commands()
    for first, meaning in _rows("Commands"):
        named = [w for w in commands if re.search(rf"`(precursor )?{re.escape(w)}\b", first)]
        assert named, f"no command in the row {first!r}"
        offered = set().union(*(_options(commands[w]) for w in named))
        for option in OPTION.findall(first + " " + meaning):
            assert option in offered, f"{option} is no option of {named}"


def _api_rows() -> dict[tuple[str, str], tuple[set[str], str, str]]:
    """(method, path with {} for each path parameter) -> (query parameters, roles, meaning)."""
    rows = {}
    for first, roles, meaning in _rows("HTTP API"):
        methods = ["GET"]
        for piece in first.split(" · "):
            listed = re.match(r"((?:[A-Z]+, )*[A-Z]+) ", piece)
            if listed:  # else the methods of the piece before (GET `/healthz` · `/readyz`)
                methods = listed.group(1).split(", ")
            target = re.search(r"`(/[^`]*)`", piece).group(1)
            path, _, query = target.partition("?")
            params = {pair.split("=")[0] for pair in query.split("&") if pair}
            for method in methods:
                rows[method, re.sub(r"\{[^}]*\}", "{}", path)] = (params, roles, meaning)
    return rows


def _operations() -> dict[tuple[str, str], tuple[set[str], set[str] | None]]:
    """(method, path) -> (query parameters, the roles the route requires; None: any key)."""
    schema = create_app(Settings()).openapi()
    required = {}
    for router in ROUTERS:
        for route in router.routes:
            for method in route.methods:
                required[method, route.path] = _required_roles(route.dependant)
    found = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            found[method.upper(), re.sub(r"\{[^}]*\}", "{}", path)] = (
                query,
                required[method.upper(), path],
            )
    return found


def _required_roles(dependant: Dependant) -> set[str] | None:
    for dependency in dependant.dependencies:
        # services.api.deps.require(*roles) returns a closure over the roles it lets through.
        call = dependency.call
        roles = (
            inspect.getclosurevars(call).nonlocals.get("roles")
            if inspect.isfunction(call)
            else None
        )
        if roles:
            return set(roles)
        inner = _required_roles(dependency)
        if inner:
            return inner
    return None


def test_every_api_operation_is_in_the_api_table_with_its_query_parameters() -> None:
    documented = _api_rows()
    operations = _operations()
    missing = sorted(set(operations) - set(documented))
    assert not missing, f"not in the HTTP API table: {missing}"
    for key, (query, _) in operations.items():
        listed, _, meaning = documented[key]
        if not listed:  # a path given bare names its query parameters in its meaning, if any
            listed = {q for q in query if f"?{q}=" in meaning}  # the stream's ?after=
        assert listed == query, (key, listed, query)


def test_the_api_table_names_only_operations_that_exist() -> None:
    operations = _operations()
    app_paths = {r.path for r in create_app(Settings()).routes if hasattr(r, "path")}
    for method, path in _api_rows():
        if path.startswith("/v1/"):
            assert (method, path) in operations, f"{method} {path} does not exist"
        else:
            assert path in app_paths, f"{path} does not exist"


def test_the_api_table_gives_each_operation_its_roles() -> None:
    documented = _api_rows()
    for key, (_, required) in _operations().items():
        cell = documented[key][1]
        if cell.startswith("read any, write "):
            cell = "any" if key[0] == "GET" else cell.removeprefix("read any, write ")
        expected = None if cell == "any" else set(cell.split(", "))
        assert required == expected, (key, cell, required)


def test_the_metrics_section_names_every_metric_with_its_labels() -> None:
    from prometheus_client.metrics import MetricWrapperBase

    from precursor.core import metrics

    exported = {}
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            family = metric.describe()[0]
            name = family.name + ("_total" if family.type == "counter" else "")
            exported[name] = set(metric._labelnames)
    documented = {
        name: set(filter(None, labels.split(",")))
        for name, labels in re.findall(
            r"`(precursor_[a-z0-9_]+)(?:\{([a-z_,]*)\})?`", _section("Metrics")
        )
    }
    assert documented == exported
