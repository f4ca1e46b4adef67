"""The survey service's pure decisions (no I/O): who is surveyed and why, when campaigns
run, how answers are scored and banded, when an answer is late, which results need an
action and whether the last ones worked, signed invitation links, scorecards and
internal samples."""
