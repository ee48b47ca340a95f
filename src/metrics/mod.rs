//! Metrics for learned policies and values.
