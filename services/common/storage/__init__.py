"""Storage helpers on PyMongo's async API, inside what MongoDB and FerretDB 1.24 share:
single-document atomic updates, unique and compound indexes, simple aggregations."""
