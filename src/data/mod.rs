//! Data formats: CSV tables, TFRecord (`tf.train.Example` records), trajectory
//! export, safetensors.

pub mod example;
pub mod table;
pub mod tensors;
pub mod tfrecord;
