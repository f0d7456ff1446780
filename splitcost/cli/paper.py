"""`splitcost paper`: the paper's Table 4 and Sec. 4.2 beside splitcost."""

from __future__ import annotations

from splitcost.cli.app import app
from splitcost.cli.options import command
from splitcost.cli.output import show
from splitcost.render.registry import Format


@command(app, result="splitcost.studies.paper:PaperResult")
def paper(fmt: Format = Format.TABLE) -> None:
    """The paper's Table 4 and Sec. 4.2 beside what splitcost computes, with the reasons."""
    from splitcost.studies.paper import reproduce

    show(reproduce(), fmt)
