"""Progress bars draw on a terminal only, so redirected logs hold no carriage-return updates."""

from __future__ import annotations

import io

from facedata.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def drawn(stream: io.StringIO, *, show: bool) -> str:
    for _ in progress_bar(range(3), show=show, file=stream, desc="work", mininterval=0):
        pass
    return stream.getvalue()


def test_a_terminal_gets_the_bar():
    assert "work: 100%" in drawn(Terminal(), show=True)


def test_a_pipe_or_log_file_gets_none():
    assert drawn(io.StringIO(), show=True) == ""


def test_show_false_draws_nowhere():
    assert drawn(Terminal(), show=False) == ""
