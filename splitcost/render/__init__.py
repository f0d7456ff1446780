"""Everything a person reads: sentences, grids, rich tables, Markdown, JSON, CSV and figures.

Results come in as plain data; :func:`splitcost.render.registry.render` gives the text of a
result in a format it supports. Nothing else in splitcost writes prose or prints.
"""
