//! Data formats: CSV tables, TFRecord, safetensors.

pub mod table;
pub mod tensors;
