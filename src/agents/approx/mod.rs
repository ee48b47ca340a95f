//! approx agents (see the issues that introduce them).
