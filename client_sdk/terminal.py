"""Reading several hidden lines from the terminal (the recovery code, pasted as printed).

`getpass` reads one line, and flushes whatever else is waiting on the terminal when it turns echo
off and on again: of a recovery code pasted as its six printed rows it keeps the first row and
throws away the other five. `read_hidden_lines` turns echo off once, reads line after line until
the caller has enough (or an empty line, or end of input), and turns echo back on without
flushing.
"""

from __future__ import annotations

import sys
import termios
from collections.abc import Callable


def read_hidden_lines(prompt: str, enough: Callable[[str], bool]) -> str:
    """Show `prompt` on stderr and read lines from the terminal on stdin without echoing them,
    until `enough(text read so far)`, an empty line after some text, or end of input."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    hidden = termios.tcgetattr(fd)
    hidden[3] &= ~termios.ECHO
    # As getpass does: input typed before the prompt appeared is not taken for the answer.
    termios.tcsetattr(fd, termios.TCSAFLUSH, hidden)
    text = ""
    try:
        sys.stderr.write(prompt)
        sys.stderr.flush()
        while not enough(text):
            line = sys.stdin.readline()
            if not line or (not line.strip() and text.strip()):
                break
            text += line
    finally:
        # TCSADRAIN, not TCSAFLUSH: lines pasted after the code stay for whoever reads next.
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        sys.stderr.write("\n")
        sys.stderr.flush()
    return text
