//! The neural backbone: hand-written f32 NCHW kernels on ndarray, each a
//! `forward`/`backward` pair checked against a slow, obvious reference.

// nn-a: kernels, layers, models, optimizers, safetensors, CLI.
pub mod conv;
pub mod mha;
pub mod scalar;
#[cfg(test)]
pub(crate) mod testutil;
