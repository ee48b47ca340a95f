//! Data formats: CSV, TFRecord, safetensors.
