"""The workflow's pure domain: cases, commands, deadlines, recurrence, 8D. No I/O.

Everything procedural (stages, transitions, guards, required fields, who may act,
deadlines, escalation, recurrence) comes from the site's rule file; nothing here names a
stage.
"""
