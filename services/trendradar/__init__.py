"""Trend radar: monthly counts per region, protected with differential privacy (docs/trendradar.md)."""
