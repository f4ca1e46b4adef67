"""Reporting's pure domain: read-model folds, bucket contributions, KPIs, reports, charts.

No I/O here: the projector (handlers) and the store do the talking.
"""
