//! Named f64 arrays in safetensors files (`weights/<agent>_seed<k>.safetensors`).
//!
//! ```
//! use rlkit::data::tensors::{read_f64_tensors, write_f64_tensors};
//! let dir = std::env::temp_dir().join(format!("rlkit-doc-tensors-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let p = dir.join("w.safetensors");
//! write_f64_tensors(&p, &[("w".into(), vec![2, 2], vec![1.0, 2.0, 3.0, 4.5])]).unwrap();
//! let back = read_f64_tensors(&p).unwrap();
//! assert_eq!(back["w"], (vec![2, 2], vec![1.0, 2.0, 3.0, 4.5]));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::{Error, Result};

/// Tensors by name: (shape, row-major values).
pub type TensorMap = BTreeMap<String, (Vec<usize>, Vec<f64>)>;

/// Write `(name, shape, values)` triples as little-endian F64 tensors, atomically.
/// Tensors are stored in name order, so the file is reproducible.
pub fn write_f64_tensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<f64>)]) -> Result<()> {
    let mut sorted: Vec<&(String, Vec<usize>, Vec<f64>)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let bytes: Vec<Vec<u8>> =
        sorted.iter().map(|t| t.2.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()).collect();
    let mut views = Vec::new();
    for (t, b) in sorted.iter().zip(&bytes) {
        let n: usize = t.1.iter().product();
        if n != t.2.len() {
            return Err(Error::internal(format!(
                "tensor `{}`: shape {:?} does not hold {} values",
                t.0,
                t.1,
                t.2.len()
            )));
        }
        let view = safetensors::tensor::TensorView::new(Dtype::F64, t.1.clone(), b)
            .map_err(|e| Error::internal(format!("safetensors: {e}")))?;
        views.push((t.0.clone(), view));
    }
    let buf = safetensors::serialize(views, None).map_err(|e| Error::internal(format!("safetensors: {e}")))?;
    crate::util::atomic_write(path, &buf)
}

/// Read every F64 or F32 tensor of a safetensors file as f64.
pub fn read_f64_tensors(path: &Path) -> Result<TensorMap> {
    let bytes = std::fs::read(path).map_err(|e| Error::input(format!("{}: cannot read: {e}", path.display())))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::input(format!("{}: not a safetensors file: {e}", path.display())))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let data = view.data();
        let values: Vec<f64> = match view.dtype() {
            Dtype::F64 => data
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect(),
            Dtype::F32 => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64).collect(),
            other => {
                return Err(Error::input(format!(
                    "{}: tensor `{name}` has dtype {other:?}; rlkit reads F64 and F32",
                    path.display()
                )))
            }
        };
        out.insert(name, (view.shape().to_vec(), values));
    }
    Ok(out)
}
