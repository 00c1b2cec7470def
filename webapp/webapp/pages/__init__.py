"""One module per page (or per group of pages not built yet)."""
