"""One module per result type: its grid, its CSV columns, and the views it registers."""
