//! The neural backbone: hand-written f32 NCHW kernels on ndarray, each a
//! `forward`/`backward` pair checked against a slow, obvious reference.

pub mod attention;
pub mod loss;
pub mod margin;

// nn-a: kernels, layers, models, optimizers, safetensors, CLI.
pub mod act;
pub mod blocks;
pub mod cli;
pub mod conv;
pub mod init;
pub mod io;
pub mod linear;
pub mod mha;
pub mod model;
pub mod optim;
pub mod pool;
pub mod scalar;
pub mod spp;
#[cfg(test)]
pub(crate) mod testutil;
