//! sa agents (see the issues that introduce them).
