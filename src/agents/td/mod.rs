//! td agents (see the issues that introduce them).
