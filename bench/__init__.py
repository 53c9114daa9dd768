"""wsnb benchmarks: ``make bench`` (``python -m bench``)."""
