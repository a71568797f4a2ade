"""The operator console in headless Chromium (Debian's package, driven by Playwright): pages load
without console errors, a scorer-opened alert appears live and can be acknowledged, the Pareto
draws its bars and drills down to a stop's root cause and RCA, the register edit round-trips.
Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import psycopg
import pytest

from precursor.core.settings import Settings
from services.api.app import create_app
from services.predict.scorer import ScoredBatch, Scorer
from tests.api.seed import MODEL_VERSION, P01_ALERT, THRESHOLD, at, registered_champion
from tests.helpers import live_api, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="no Chromium here: `apt-get install chromium` (.ci/run installs it)",
    ),
]
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def base(api_settings) -> Iterator[str]:
    """The API (and so the console) over HTTP."""
    with live_api(create_app(api_settings)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One headless Chromium for the module."""
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, base, request):
    """A fresh page that records console errors; the test asserts there are none."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(base + "/")
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page, key: str) -> None:
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_selector("#who:has-text('tester')")


def score_through_the_scorer(
    api_db: str, asset: str, times: list, prob: list[float], criticality: int, contrib: list
) -> None:
    """Scores for one asset through the scorer's own path (rating, alert machine, persist,
    register feed, NOTIFY), each committed as it comes, as the live scorer would."""
    scorer = Scorer(Settings(database_url=api_db, data_dir="."))  # type: ignore[arg-type]
    scorer.version = MODEL_VERSION
    p = np.array(prob)
    lik = scorer.policy.matrix.likelihood(p, THRESHOLD)
    cons = np.full(len(p), criticality)
    rating = scorer.policy.matrix.rating(lik, cons)
    x = pl.DataFrame({"t": times, "asset_id": [asset] * len(times)})
    with psycopg.connect(api_db) as conn:
        scorer.advance_alerts(conn, ScoredBatch(x, p, lik, cons, rating, contrib).rows())
        conn.commit()


def test_every_page_loads_without_console_errors(page, keys, base, api_db: str) -> None:
    sign_in(page, keys["admin"])
    with psycopg.connect(api_db) as conn:
        entry = conn.execute("SELECT min(entry_id) FROM risk_register").fetchone()[0]
    views = {
        "alerts": "#alerts tbody tr",
        "forecast": "#heat .tile",
        "downtime": "#pareto .bar",
        "register": "#register tbody tr",
        "model": "#champion",
        "asset/P-01": "#signals svg",
        "stop/P01-6": "#deviations tbody tr",
        f"entry/{entry}": "#history tbody tr",
    }
    for view, ready in views.items():
        page.goto(f"{base}/#/{view}")
        page.wait_for_selector(ready)
        page.screenshot(path=str(ARTIFACTS / f"view-{view.split('/')[0]}.png"), full_page=True)
    assert page.errors == []
    # A contribution reads as the factor it multiplied the odds by: 0.8 log-odds is x2.2.
    page.goto(f"{base}/#/asset/P-01")
    page.wait_for_selector("#contributions .contrib")
    told = page.inner_text("#contributions .contrib:has-text('vibration')")
    assert "×2.2 odds" in told
    # ... and beside it what the tag itself did before the alert, as the API computed it.
    detail = page.evaluate(f"async () => api('/v1/alerts/{P01_ALERT}')")
    vib = next(d for d in detail["deviations"] if d["tag"] == "vibration")
    mean = float(format(vib["window_mean"], ".3g"))  # three significant digits, as shown
    sign = "+" if vib["level_z"] >= 0 else "-"
    assert f"6 h before: {mean:g} (usual " in told
    drift = vib["slope_z"]  # said only when it moved a standard deviation or more
    ending = (
        f"; {'rising' if drift > 0 else 'falling'} {abs(drift):.1f}σ across them)"
        if abs(drift) >= 1
        else ")"
    )
    assert f"{sign}{abs(vib['level_z']):.1f}σ{ending}" in told
    # The signal the alert named comes first, though "bearing_temp" sorts before it.
    assert [h.inner_text() for h in page.query_selector_all("#signals h4")] == [
        "vibration", "bearing_temp"
    ]  # fmt: skip
    # An open alert in the forecast leads to the asset page that explains it.
    page.goto(f"{base}/#/forecast")
    page.click("a.open-alert[href='#/asset/P-01']")
    page.wait_for_selector("#contributions .contrib")
    # Ratings carry text and a symbol, not colour alone.
    page.goto(f"{base}/#/alerts")
    assert "◆ high" in page.inner_text("#alerts") or "▲ critical" in page.inner_text("#alerts")


def test_alert_opened_by_the_scorer_appears_live_and_is_acknowledged(
    page, keys, api_db: str
) -> None:
    sign_in(page, keys["operator"])
    page.wait_for_selector("#alerts tbody tr")
    page.wait_for_selector("#live:has-text('live')")
    contrib = [
        [{"signal": "fan_vibration", "contribution": 0.6},
         {"signal": "context:kind", "contribution": 0.2},
         {"signal": "alarms:P1", "contribution": 0.1}]
    ]  # fmt: skip
    score_through_the_scorer(api_db, "F-01", [at(10) + timedelta(hours=1)], [0.3], 3, contrib)
    row = page.wait_for_selector("tr[data-alert^='F-01']", timeout=20_000)
    # A tag by its name; what no tag owns in words, its machine name on hover.
    assert row.query_selector("td:nth-child(6)").inner_text() == (
        "fan_vibration, asset kind, priority 1 alarms"
    )
    assert row.query_selector("span.signal[title='context:kind']").inner_text() == "asset kind"
    page.once("dialog", lambda d: d.accept("checking the fan"))
    row.query_selector("button.ack").click()
    page.wait_for_selector("tr[data-alert^='F-01']:has-text('acknowledged')")
    assert page.errors == []


def test_pareto_draws_bars_and_drills_down_to_root_cause_and_rca(page, keys, base) -> None:
    sign_in(page, keys["reliability"])
    page.goto(f"{base}/#/downtime")
    page.wait_for_selector("#pareto .bar")
    bars = page.query_selector_all("#pareto .bar")
    assert [b.get_attribute("data-key") for b in bars] == ["BEARING", "BELT", "SEAL", "ELEC"]
    heights = [float(b.get_attribute("height")) for b in bars]
    assert heights == sorted(heights, reverse=True) and heights[0] > 0
    bars[0].click()
    page.click("#stops a:has-text('P01-6')")
    page.wait_for_selector("#deviations tbody tr")
    first = page.inner_text("#deviations tbody tr:first-child")
    assert first.startswith("vibration")
    # In the tag's own units too: its mean before the stop against its usual.
    rc = page.evaluate("async () => api('/v1/downtime/P01-6/root-cause')")
    vib = rc["signals"][0]
    usual = f"{float(format(vib['baseline_mean'], '.3g')):g} ± "
    assert f"{float(format(vib['window_mean'], '.3g')):g}" in first and usual in first
    page.fill(".why input[placeholder=why]", "bearing overheated")
    page.fill(".why input[placeholder=because]", "grease line blocked")
    page.fill("textarea[name=tree]", "bearing failure\n  no lubrication\n    blocked line")
    page.click("#rca button[type=submit]")
    page.wait_for_selector("#rca-status:has-text('saved (revision 1)')")
    page.reload()
    page.wait_for_selector("#rca .muted:has-text('revision 1')")
    assert page.input_value(".why input[placeholder=because]") == "grease line blocked"
    assert "    blocked line" in page.input_value("textarea[name=tree]")
    assert page.errors == []


def test_register_edit_round_trips_with_history(page, keys, base) -> None:
    sign_in(page, keys["hse"])
    page.goto(f"{base}/#/register")
    page.wait_for_selector("#register tbody tr")
    page.click("#register tbody tr:first-child a")
    page.wait_for_selector("#entry")
    version = int(page.inner_text("#version"))
    page.fill("input[name=owner]", "Dana")
    page.select_option("select[name=status]", "assessed")
    page.click("#add-measure")
    page.fill(".measure input[placeholder=measure]", "vibration route weekly")
    page.click("#entry button[type=submit]")
    page.wait_for_selector(f"#version:has-text('{version + 1}')")
    page.reload()
    page.wait_for_selector("#entry")
    assert page.input_value("input[name=owner]") == "Dana"
    assert page.input_value("select[name=status]") == "assessed"
    assert page.input_value(".measure input[placeholder=measure]") == "vibration route weekly"
    assert 'owner: null → "Dana"' in page.inner_text("#history")
    # The alert that fed the entry leads to its asset page, where it is explained.
    asset = page.get_attribute("#entry a.alert-link", "href")
    page.click("#entry a.alert-link")
    page.wait_for_selector("#contributions .contrib")
    assert page.evaluate("location.hash") == asset
    assert page.errors == []


def test_a_bad_key_is_refused_at_sign_in(page) -> None:
    page.fill("#key", "prc_wrong")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error:has-text('unknown or revoked')")


def test_a_link_with_a_key_signs_in_and_takes_the_key_out_of_the_address(page, keys, base) -> None:
    # A new tab opened on the link, as `up --demo` prints it.
    tab = page.context.new_page()
    tab.on("pageerror", lambda e: page.errors.append(str(e)))
    tab.goto(f"{base}/#key={keys['hse']}")
    tab.wait_for_selector("#who:has-text('hse-tester')")
    tab.wait_for_selector("#alerts tbody tr")
    assert tab.evaluate("location.hash") == "#/alerts"
    tab.go_back()  # the page before the link (a blank tab), no entry holding the key
    assert tab.url == "about:blank"
    tab.close()
    tab = page.context.new_page()
    tab.goto(f"{base}/#key=prc_revoked")
    tab.wait_for_selector("#login-error:has-text('The key in that link is unknown or revoked')")
    assert tab.evaluate("location.hash") == "#/alerts"
    assert page.errors == []


def test_alert_list_leads_with_the_peak_a_closed_alert_reached(page, keys, api_db: str) -> None:
    with psycopg.connect(api_db) as conn:
        alert_id, peak, latest = conn.execute(
            "SELECT alert_id, peak_rating, rating FROM alerts "
            "WHERE asset_id = 'P-02' AND status = 'closed'"
        ).fetchone()
    assert (peak, latest) == ("high", "low")  # the seed's short spike, closed after cool-down
    sign_in(page, keys["admin"])
    row = page.wait_for_selector(f"tr[data-alert='{alert_id}']")
    assert row.query_selector("td.peak").inner_text().strip() == "◆ high"
    assert row.query_selector("td.latest").inner_text().startswith("○ low")
    # Filtered by peak: the alerts that went critical, the closed high one not among them.
    page.select_option("#peak", "critical")
    page.wait_for_selector(f"tr[data-alert='{alert_id}']", state="detached")
    peaks = {r.inner_text().strip() for r in page.query_selector_all("#alerts td.peak")}
    assert peaks == {"▲ critical"}
    page.select_option("#peak", "")
    page.wait_for_selector(f"tr[data-alert='{alert_id}']")
    assert page.errors == []


def test_an_open_alert_that_has_eased_says_since_when(page, keys, base, api_db) -> None:
    sign_in(page, keys["operator"])
    spans = ("P-02", at(9, 1), at(9, 3))
    pump = [{"signal": "discharge_pressure", "contribution": 0.7}]
    eased = {"closed_at": None, "status": "open", "rating": "low", "below_since": at(9, 2)}
    with _closed_alert(page, api_db, "P-02-20260310T010000Z", spans, pump, **eased):
        page.goto(f"{base}/#/alerts")
        row = page.wait_for_selector("tr[data-alert='P-02-20260310T010000Z']")
        since = f"{at(9, 2):%Y-%m-%d %H:%M}"
        assert row.query_selector("td:nth-child(3)").inner_text() == (
            f"open · below alert level since {since}"
        )
        assert row.query_selector("td.latest").inner_text().startswith("○ low")
        page.goto(f"{base}/#/asset/P-02")
        page.wait_for_selector("#contributions .easing")
        assert f"since {since}" in page.inner_text("#contributions")
    assert page.errors == []


def test_the_risk_trend_draws_the_level_the_assets_alert_opens_at(page, keys, base, api_db):
    with registered_champion(api_db):
        sign_in(page, keys["operator"])
        page.goto(f"{base}/#/asset/P-01")
        label = page.wait_for_selector("svg text.level")
        assert label.text_content() == "alert level 8.0 %"  # criticality 4: 0.8 p*
        # Drawn inside the chart.
        svg = page.query_selector("svg[aria-label=risk]").bounding_box()
        line = page.query_selector("svg line.level").bounding_box()
        assert svg["y"] < line["y"] < svg["y"] + svg["height"]
    assert page.errors == []


def test_charts_keep_their_labels_inside_and_break_lines_at_gaps(page, keys) -> None:
    sign_in(page, keys["admin"])
    # Long reason codes, as real plants have: every label must lie inside the drawing.
    outside = page.evaluate(
        """() => {
        const rows = Array.from({length: 24}, (_, i) => ({key: `OPERATOR-BREAK-${i}`,
          hours: 24 - i, count: 1, cumulative_share: (i + 1) / 24}));
        const box = document.createElement("div");
        box.style.width = "1400px";
        // and an alert level above every score, so that it tops the risk chart
        const t0 = Date.parse("2026-03-01T00:00:00Z");
        const points = [0, 1, 2].map((i) => [t0 + i * 9e5, 0.01 * i]);
        box.innerHTML = paretoChart(rows)
          + lineChart([{ points }], { levels: [{ y: 0.5, label: "alert level 50.0 %" }] });
        document.body.appendChild(box);
        return [...box.querySelectorAll("text")].filter((t) => {
          const svg = t.closest("svg").getBoundingClientRect(), r = t.getBoundingClientRect();
          return r.left < svg.left || r.right > svg.right || r.top < svg.top
            || r.bottom > svg.bottom;
        }).map((t) => t.textContent);
      }"""
    )
    assert outside == []
    # Scores every 15 min with six hours missing (the asset was down): two lines, not one.
    lines = page.evaluate(
        """() => {
        const t0 = Date.parse("2026-03-01T00:00:00Z"), q = 15 * 60 * 1000;
        const points = [0, 1, 2, 3, 28, 29, 30].map((i) => [t0 + i * q, 0.1 * (i % 3)]);
        const box = document.createElement("div");
        box.innerHTML = lineChart([{ points }]);
        return box.querySelectorAll("polyline").length;
      }"""
    )
    assert lines == 2


def test_reliability_records_an_alerts_outcome_where_it_reads_the_alert(
    page, keys, base, api_db: str
) -> None:
    sign_in(page, keys["reliability"])
    page.goto(f"{base}/#/asset/P-01")
    page.wait_for_selector("#outcome-now:has-text('No outcome recorded yet.')")
    page.select_option("#outcome select[name=outcome]", "false_alarm")
    page.fill("#outcome input[name=comment]", "vibration sensor loose")
    page.click("#outcome button[type=submit]")
    page.wait_for_selector("#outcome-now:has-text('false alarm')")
    with psycopg.connect(api_db) as conn:
        outcome, by = conn.execute(
            "SELECT outcome, outcome_by FROM alerts WHERE alert_id = %s", (P01_ALERT,)
        ).fetchone()
        comment = conn.execute(
            "SELECT payload->>'comment' FROM alert_events WHERE alert_id = %s "
            "AND kind = 'outcome' ORDER BY event_id DESC LIMIT 1",
            (P01_ALERT,),
        ).fetchone()[0]
    assert (outcome, by, comment) == ("false_alarm", "reliability-tester", "vibration sensor loose")
    page.goto(f"{base}/#/alerts")
    row = page.wait_for_selector(f"tr[data-alert='{P01_ALERT}']")
    assert "open · false alarm" in row.inner_text()
    assert page.errors == []


def test_an_operator_sees_an_alerts_outcome_but_cannot_record_it(page, keys, base) -> None:
    sign_in(page, keys["operator"])
    page.goto(f"{base}/#/asset/P-01")
    page.wait_for_selector("#outcome-now")
    assert page.query_selector("#outcome") is None


def test_hse_reads_the_kpis_over_the_plants_own_recent_days(page, keys, base, api_db) -> None:
    sign_in(page, keys["hse"])
    page.click("nav a[data-view=kpis]")
    page.wait_for_selector("#kpi-tiles .kpi")
    with psycopg.connect(api_db) as conn:
        newest, raised = conn.execute(
            "SELECT max(ts), (SELECT count(*) FROM alerts WHERE opened_at >= max(r.ts) - "
            "interval '30 days') FROM risk_scores r"
        ).fetchone()
    assert f"to the newest score ({newest:%Y-%m-%d %H:%M})" in page.inner_text("#main")
    tile = page.inner_text("#kpi-tiles .kpi:has-text('alerts raised') .value")
    assert int(tile) == raised > 0
    # Least reliable first, as the API computes MTBF for the same period.
    kpis = page.evaluate(
        "async () => api(`/v1/kpis?from=${encodeURIComponent(new Date(Date.parse("
        f"'{newest.isoformat()}') - 30 * 86400e3).toISOString())}}`)"
    )
    by_mtbf = sorted(
        kpis["assets"], key=lambda a: (a["mtbf_h"] is None, a["mtbf_h"] or 0, -a["short_stops"])
    )
    rows = page.query_selector_all("#reliability tbody tr td:first-child")
    shown = [r.inner_text() for r in rows]
    assert shown == [a["asset_id"] for a in by_mtbf]
    assert page.errors == []


def test_the_kpi_page_is_offered_only_to_roles_that_may_read_it(page, keys) -> None:
    sign_in(page, keys["operator"])
    assert not page.is_visible("nav a[data-view=kpis]")
    assert page.is_visible("nav a[data-view=forecast]")


@contextmanager
def _closed_alert(page, api_db: str, alert_id: str, spans: tuple, contributions: list, **extra):
    """A closed alert stored for the duration of a test, once the signed-in page's API lists
    it (a cached list is stale until the scorer's notification, sent here as it would be)."""
    asset, opened, closed = spans
    columns = {"alert_id": alert_id, "asset_id": asset, "opened_at": opened, "updated_at": closed,
               "closed_at": closed, "status": "closed", "rating": "low", "peak_rating": "high",
               "probability": 0.01, "model_version": MODEL_VERSION,
               "contributions": psycopg.types.json.Jsonb(contributions), **extra}  # fmt: skip
    with psycopg.connect(api_db) as conn:
        conn.execute(
            f"INSERT INTO alerts ({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})",
            list(columns.values()),
        )
        conn.execute("NOTIFY precursor_scores")
    try:
        listed = f"async () => (await api('/v1/alerts?asset_id={asset}&limit=10')).items"
        ids = lambda: [a["alert_id"] for a in page.evaluate(listed)]  # noqa: E731
        wait_for(lambda: alert_id in ids(), 30, "the API to list it")
        yield
    finally:
        with psycopg.connect(api_db) as conn:
            conn.execute("DELETE FROM alerts WHERE alert_id = %s", (alert_id,))
            conn.execute("NOTIFY precursor_scores")


def test_an_asset_page_lists_the_assets_earlier_alerts(page, keys, base, api_db) -> None:
    sign_in(page, keys["operator"])
    spans = ("P-01", at(2, 4), at(2, 10))
    hour = [{"signal": "context:hour", "contribution": 0.4}]
    with _closed_alert(page, api_db, "P-01-20260303T040000Z", spans, hour, outcome="false_alarm"):
        page.goto(f"{base}/#/asset/P-01")
        row = page.wait_for_selector("#earlier tbody tr")
        assert len(page.query_selector_all("#earlier tbody tr")) == 1
        cells = [c.inner_text().strip() for c in row.query_selector_all("td")]
        opened, closed = (f"{t:%Y-%m-%d %H:%M}" for t in spans[1:])
        assert cells == ["◆ high", opened, closed, "false alarm", "hour of day"]
        # The latest alert still leads the page.
        assert "opened 2026-03-09 03:45" in page.inner_text("#contributions")
    assert page.errors == []


def test_an_alert_is_explained_by_the_signals_that_moved_its_odds(page, keys, base, api_db):
    sign_in(page, keys["operator"])
    contributions = [{"signal": "bearing_temp", "contribution": 0.7},
                     {"signal": "context:hour", "contribution": 0.01}]  # fmt: skip
    spans = ("P-02", at(9), at(9, 6))
    with _closed_alert(page, api_db, "P-02-20260310T000000Z", spans, contributions):
        page.goto(f"{base}/#/asset/P-02")
        page.wait_for_selector("#contributions .contrib")
        shown = [c.inner_text() for c in page.query_selector_all("#contributions .contrib")]
        assert len(shown) == 1 and shown[0].startswith("bearing_temp")
        said = page.inner_text("#contributions")
        assert "and 1 more that moved the odds by less than 5 %" in said
    assert page.errors == []


def test_an_operator_acknowledges_on_the_asset_page(page, keys, base, api_db) -> None:
    with psycopg.connect(api_db) as conn:
        alert_id = conn.execute(
            "SELECT alert_id FROM alerts WHERE asset_id = 'C-01' AND status = 'open'"
        ).fetchone()[0]
    sign_in(page, keys["operator"])
    page.goto(f"{base}/#/asset/C-01")
    page.once("dialog", lambda d: d.accept("belt checked"))
    page.click("#ack-here")
    page.wait_for_selector("#acked:has-text('acknowledged by operator-tester')")
    assert page.inner_text("#acked").endswith(": belt checked")
    assert page.query_selector("#ack-here") is None
    with psycopg.connect(api_db) as conn:
        status, by = conn.execute(
            "SELECT status, acknowledged_by FROM alerts WHERE alert_id = %s", (alert_id,)
        ).fetchone()
    assert (status, by) == ("acknowledged", "operator-tester")
    assert page.errors == []


def test_the_asset_page_follows_its_alert_live_and_a_closing_is_told_by_its_peak(
    page, keys, base, api_db: str
) -> None:
    sign_in(page, keys["operator"])
    page.goto(f"{base}/#/asset/P-02")
    page.wait_for_selector("#live:has-text('live')")
    page.wait_for_selector("#contributions:has-text('closed')")  # the seed's closed spike
    # P-02 (criticality 2) at 3 p* is high for one score, then low past the 4 h cool-down.
    start = at(11)
    steps = [start + timedelta(minutes=15 * i) for i in range(18)]
    pressure = [{"signal": "discharge_pressure", "contribution": 0.9}]
    score_through_the_scorer(api_db, "P-02", steps[:1], [0.3], 2, [pressure])
    # The page it is on shows the new alert without being reloaded.
    opened = f"opened {start:%Y-%m-%d %H:%M}"
    page.wait_for_selector(f"#contributions:has-text('{opened}')", timeout=20_000)
    assert "◆ high at its peak" in page.inner_text("#contributions")
    assert "discharge_pressure" in page.inner_text("#contributions")
    score_through_the_scorer(api_db, "P-02", steps[1:], [0.01] * 17, 2, [None] * 17)
    page.wait_for_selector("#toast div:has-text('P-02: alert closed (peak high)')", timeout=20_000)
    page.wait_for_selector(f"#contributions:has-text('{opened}, closed')")
    assert page.errors == []


def test_the_model_page_says_what_the_champion_did_on_its_test_window(
    page, keys, base, api_db: str
) -> None:
    sign_in(page, keys["operator"])  # every role may read it
    page.click("nav a[data-view=model]")
    page.wait_for_selector("#champion:has-text('No model yet')")
    metrics = {"test.incidents": 7, "test.warned_1h": 3, "test.recall_at_1h": 3 / 7,
               "test.recall_at_1h_precursor": 0.75, "test.median_lead_h": 8.68,
               "test.false_alerts_per_asset_week": 0.176, "test.alerts_per_shift": 0.625,
               "test.pr_auc": 0.103, "baseline.threshold.incidents": 7,
               "baseline.threshold.warned_1h": 1, "baseline.threshold.recall_at_1h": 1 / 7,
               "baseline.threshold.median_lead_h": 24.6}  # fmt: skip
    with psycopg.connect(api_db) as conn:
        conn.execute(
            "INSERT INTO model_versions (version, champion, created_at, metrics, threshold) "
            "VALUES ('2', true, 1796695698554, %s, 0.112), ('1', false, 1796600000000, '{}', NULL)",
            (psycopg.types.json.Jsonb(metrics),),
        )
    try:
        page.goto(f"{base}/#/alerts")
        page.goto(f"{base}/#/model")
        page.wait_for_selector("#model-figures")
        assert "version 2, trained 2026-12-08 " in page.inner_text("#champion")
        assert "threshold of 11.2 %" in page.inner_text("#champion")
        rows = {
            r.query_selector("td").inner_text(): [
                c.inner_text() for c in r.query_selector_all("td")
            ]
            for r in page.query_selector_all("#model-figures tbody tr")
        }
        assert rows["incidents warned at least 1 h ahead"][1:] == [
            "3 of 7 (42.9 %)", "1 of 7 (14.3 %)", "–"
        ]  # fmt: skip
        assert rows["median lead (h)"][1:3] == ["8.7", "24.6"]
        assert rows["false alerts per asset-week"][1] == "0.18"
        versions = [r.inner_text().split("\t")[0] for r in page.query_selector_all("#versions tr")]
        assert versions[1:] == ["2 (champion)", "1"]
    finally:
        with psycopg.connect(api_db) as conn:
            conn.execute("DELETE FROM model_versions")
    assert page.errors == []
