"""Renderers: results in, text out. Nothing else in splitcost prints."""

FORMATS = ("table", "json", "csv", "markdown")
