"""Golden output, as torchinfo's tests do: the rendered profile of the paper's MobileNetV3
backbone. Regenerate with SPLITCOST_UPDATE_GOLDEN=1 after a deliberate change, and read the
diff."""

from __future__ import annotations

import os
from pathlib import Path

from splitcost.network.profiler import profile
from splitcost.render.registry import Format, RenderOptions, render

GOLDEN = Path(__file__).parent / "data"


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SPLITCOST_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_profile_mobilenet_markdown() -> None:
    _check("profile_mobilenet.md", render(profile("mobilenet"), Format.MARKDOWN, RenderOptions(depth=2)))


def test_profile_resnet18_markdown() -> None:
    _check("profile_resnet18.md", render(profile("resnet18"), Format.MARKDOWN, RenderOptions(depth=2)))
