//! mc agents (see the issues that introduce them).
