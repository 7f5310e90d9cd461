"""Reading the runnable commands out of README.md and docs/*.md (for tests/docs/test_commands.py)."""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: fence info strings that mean a shell but are not run: write ```bash instead
SHELL_LIKE = {"sh", "shell", "console", "zsh", "shell-session", "terminal"}
FENCE = re.compile(r"^([ \t]*)```([^\n`]*)\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
#: a command quoted inline is a synopsis, not a runnable line, when it holds a placeholder
PLACEHOLDER = re.compile(r"[\[\]|…<>]|\.\.\.|(?:^|\s)[A-Z][A-Z0-9_]*(?:\.[a-z]+)?(?=\s|$)")


@dataclass(frozen=True)
class Block:
    page: Path
    index: int
    tags: tuple[str, ...]
    text: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}#{self.index}"


def doc_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def fenced_blocks(page: Path, strict: bool = False) -> list[Block]:
    """The ```bash blocks of a page, in order; with ``strict``, a shell-like fence that is not bash is an error."""
    out = []
    for match in FENCE.finditer(page.read_text()):
        info = match.group(2).split()
        if not info:
            continue
        if info[0] == "bash":
            out.append(Block(page, len(out) + 1, tuple(info[1:]), textwrap.dedent(match.group(3))))
        elif strict and info[0] in SHELL_LIKE:
            raise AssertionError(f"{page.name}: a ```{info[0]} block is not run by the docs test; write ```bash")
    return out


def inline_commands(page: Path) -> list[str]:
    """Complete commands quoted inline in a page's prose (outside fences): `trm …` and `python3 -m …` with a value
    or a file name among their words and no placeholder (a name such as `trm exact --json` is a reference)."""
    prose = FENCE.sub("", page.read_text())
    out = []
    for code in INLINE.findall(prose):
        code = code.strip()
        if (re.match(r"^(trm|python3 -m (trm|figures))\s", code) and not PLACEHOLDER.search(code)
                and re.search(r"\s(\d|[\w./-]+\.\w+\b)", code)):      # a value or a file: a command, not a name
            out.append(code)
    return out
