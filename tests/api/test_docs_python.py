"""docs/python.md is a notebook session: every ```python block is executed in order in one namespace, and the
```text block that follows it must be exactly what the block prints.  The figures in the guide are therefore
the figures minsec computes today.  After a deliberate change of output, regenerate the guide with

    .venv/bin/python tests/api/test_docs_python.py --write
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "python.md"
BLOCK = re.compile(r"```python\n(?P<code>.*?)```\n(?:\n```text\n(?P<output>.*?)```\n)?", re.DOTALL)


def run(text: str) -> tuple[str, list[tuple[str, str, str]]]:
    """Execute the guide's snippets; return the guide with fresh outputs and (code, shown, printed) per block."""
    namespace: dict = {"__name__": "__docs__"}
    results = []

    def render(match: re.Match) -> str:
        code = match.group("code")
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(code, f"docs/python.md block {len(results) + 1}", "exec"), namespace)
        printed = buffer.getvalue()
        results.append((code, match.group("output") or "", printed))
        return f"```python\n{code}```\n" + (f"\n```text\n{printed}```\n" if printed else "")

    return BLOCK.sub(render, text), results


def test_every_snippet_runs_and_prints_what_the_guide_shows():
    _, results = run(GUIDE.read_text(encoding="utf-8"))
    assert len(results) >= 8
    for number, (code, shown, printed) in enumerate(results, 1):
        assert printed == shown, f"docs/python.md block {number} prints something else:\n{code}\n---\n{printed}"


if __name__ == "__main__":
    if "--write" in sys.argv:
        rendered, _ = run(GUIDE.read_text(encoding="utf-8"))
        GUIDE.write_text(rendered, encoding="utf-8")
        print(f"{GUIDE} regenerated")
