"""What the command line prints: plain lines, tables, JSON, times, sizes and progress bars.

Names, titles and usernames come from other people and from the server: they are printed as
plain text, never read as rich markup, and control characters in them are shown as U+FFFD so
they cannot steer the terminal.
"""

from __future__ import annotations

import contextlib
import json
import locale
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rich.cells import cell_len
from rich.console import Console

# `:name:` in a name is no emoji code either.
out = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)

# C0 and C1 control characters, DEL: a name from someone else must not steer the terminal.
CONTROLS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)], "\ufffd")

NAME_CELLS = 40  # the widest a name or title is shown in a table; --json has it whole


def plain(text: str, console: Console = out) -> None:
    """Print a line literally: no markup, no highlighting (it may hold names from others)."""
    console.print(text, markup=False, highlight=False)


def date_format(lc_time: str) -> str:
    """The date as the locale `lc_time` writes it (`%x`), or 2026-11-28 where no locale is
    chosen (C, POSIX: `%x` would be the American 11/28/26)."""
    unset = lc_time.split(".")[0].split("@")[0] in ("", "C", "POSIX")
    return "%Y-%m-%d" if unset else "%x"


DATE_FORMAT = "%Y-%m-%d"  # `use_the_users_date_format` sets the user's: date_format(LC_TIME)


def use_the_users_date_format() -> None:
    """Dates as the user writes them (LC_ALL, LC_TIME, LANG); C if theirs is not installed."""
    global DATE_FORMAT
    with contextlib.suppress(locale.Error):
        DATE_FORMAT = date_format(locale.setlocale(locale.LC_TIME, ""))


def when(ts: int) -> str:
    """A time on this computer's clock (its time zone), the date as the user's locale writes
    it; any value the server or a signed grant carries prints without error."""
    if not ts:
        return "-"
    try:
        local = datetime.fromtimestamp(ts, UTC).astimezone()
        return local.strftime(f"{DATE_FORMAT} %H:%M")
    except (OverflowError, OSError, ValueError):
        return "after 9999-12-31" if ts > 0 else "before 0001-01-01"


def size_text(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def shorten(text: str, cells: int = NAME_CELLS) -> str:
    """`text` in at most `cells` cells on screen: its start, an ellipsis, and its last few
    characters (a file name keeps its extension)."""
    if (len(text) if text.isascii() else cell_len(text)) <= cells:
        return text
    tail = ""
    for char in reversed(text[-10:]):
        if cell_len(char + tail) > cells // 4:
            break
        tail = char + tail
    room = cells - 1 - cell_len(tail)
    head = ""
    for char in text:
        if cell_len(head + char) > room:
            break
        head += char
    return f"{head}\u2026{tail}"


class Columns:
    """A plain table: each column padded to its widest cell, nothing wrapped or styled.

    Every cell prints literally (names come from other people: no markup, and control
    characters shown as U+FFFD). Plain because a listing may have ten thousand rows, which
    rich's Table lays out in 15 seconds and squeezes into the terminal's width. The columns
    named in `names` hold names and titles, which may be long (a file name up to 255
    characters, a title 1024): they are shortened to NAME_CELLS with an ellipsis, so that one
    long name does not widen the whole table."""

    def __init__(self, *header: str, names: tuple[str, ...] = ()) -> None:
        self.rows: list[list[str]] = [list(header)]
        self.short = [column in names for column in header]

    def add_row(self, *values: object) -> None:
        cells = (str(v).translate(CONTROLS) for v in values)
        self.rows.append([shorten(c) if s else c for c, s in zip(cells, self.short, strict=True)])

    def print(self) -> None:
        # Width on screen: wide characters (地震.jpg) take two cells; ASCII is the fast path.
        shown = [[len(c) if c.isascii() else cell_len(c) for c in row] for row in self.rows]
        widths = [max(row[i] for row in shown) for i in range(len(shown[0]))]

        def line(row: list[str], lengths: list[int]) -> str:
            padded = (c + " " * (w - n) for c, n, w in zip(row, lengths, widths, strict=True))
            return "  ".join(padded).rstrip() + "\n"

        sys.stdout.write("".join(map(line, self.rows, shown)))


def print_json(data: Any) -> None:
    """A list prints one item per line: readable, and each line goes through the C encoder
    (`indent` would use the pure-Python one, half a second for 10,000 documents). Not rich's
    highlighted JSON either, for the same reason."""
    if isinstance(data, list):
        items = ",\n".join(json.dumps(item, ensure_ascii=False) for item in data)
        sys.stdout.write(f"[\n{items}\n]\n" if items else "[]\n")
    else:
        sys.stdout.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


@contextmanager
def transfer_bars() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """Progress bars on stderr: `bar(label, total)` returns the callback for one transfer.
    Only on a terminal: elsewhere (a script, a log file) they would leave an empty line."""
    if not err.is_terminal:
        yield lambda label, total: lambda done: None
        return
    # Imported here: only a transfer on a terminal shows bars (start-up time, issue 21).
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
    ) as bars:

        def bar(label: str, total: int) -> Callable[[int], None]:
            task = bars.add_task(label, total=total or None)
            return lambda done: bars.update(task, completed=done)

        yield bar
