//! Margin heads.
