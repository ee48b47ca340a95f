//! The neural backbone: hand-written f32 NCHW kernels on ndarray, each a
//! `forward`/`backward` pair checked against a slow, obvious reference.

pub mod attention;
pub mod loss;
pub mod margin;
