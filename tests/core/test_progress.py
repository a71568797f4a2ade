"""Progress bars: drawn on a terminal, never into a log file, never when the command is quiet."""

from __future__ import annotations

import io

import pytest
from tqdm import tqdm

from precursor.core.progress import no_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _drawn(file: io.StringIO, disable: bool | None) -> str:
    for _ in tqdm(range(3), desc="train", file=file, disable=disable):
        pass
    return file.getvalue()


def test_a_bar_is_drawn_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert "train" in _drawn(_Terminal(), no_bar())
    assert _drawn(io.StringIO(), no_bar()) == ""  # a log file, a pipe


def test_quiet_or_tqdm_disable_draws_nothing_even_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert _drawn(_Terminal(), no_bar(quiet=True)) == ""
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert _drawn(_Terminal(), no_bar()) == ""
