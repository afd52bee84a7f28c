"""Measuring with torch: timing, statistics, device facts and peaks, shared by the benchmark and the smoke test."""
