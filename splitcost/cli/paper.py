"""`splitcost paper`: the paper's Table 4 and Sec. 4.2 beside splitcost."""

from __future__ import annotations

from splitcost.cli.app import app
from splitcost.cli.options import (
    Format,
    check_format,
)
from splitcost.cli.output import output


@app.command()
def paper(fmt: Format = "table") -> None:
    """The paper's Table 4 and Sec. 4.2 beside what splitcost computes, with the reasons."""
    fmt = check_format(fmt, ("table", "json", "markdown"))
    from splitcost.paper import reproduce
    from splitcost.render import cells

    result = reproduce()
    output(fmt, result.to_dict, lambda: cells.paper_grid(result), result.summary)


