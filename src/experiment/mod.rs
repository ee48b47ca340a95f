//! Experiment configuration schema, runner and sweeps.
