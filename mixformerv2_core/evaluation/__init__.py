"""Benchmark evaluation: metrics, dataset readers, the one-pass runner and reports (no ROS imports)."""
