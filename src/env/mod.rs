//! Gridworld environments and finite MDPs.
