//! Reading and writing tensors as safetensors (little-endian F32, row-major).
//!
//! Network weights are stored under their full names `layers.<i>.<param>`
//! in PyTorch layouts, so `model.load_state_dict(safetensors.torch.load_file(p))`
//! on an equivalent PyTorch module with the same names loads them directly.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use ndarray::ArrayD;
use safetensors::{Dtype, SafeTensors};

use crate::{Error, Result};

/// Read every tensor of a safetensors file as `f32`: F32 as is, F64 rounded to
/// f32; any other dtype (F16, BF16, integers) is rejected with a message naming
/// the file and the tensor. A file whose bytes and values would exceed the
/// memory budget ([`crate::util::check_mem`]) is refused before it is read.
pub fn read_tensors(path: &Path) -> Result<BTreeMap<String, ArrayD<f32>>> {
    // The file's bytes and its values as f32 are held at once (F64 halves).
    if let Ok(meta) = std::fs::metadata(path) {
        crate::util::check_mem(
            meta.len().saturating_mul(2),
            &format!("{}: reading {} bytes of tensors", path.display(), meta.len()),
        )?;
    }
    let bytes = std::fs::read(path).map_err(|e| Error::input(format!("{}: cannot read: {e}", path.display())))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::input(format!("{}: not a valid safetensors file: {e}", path.display())))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            Dtype::F64 => data
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
                .collect(),
            other => {
                return Err(Error::input(format!(
                    "{}: tensor `{name}` has dtype {other:?}; rlkit reads F32 (or F64) tensors",
                    path.display()
                )))
            }
        };
        let arr = ArrayD::from_shape_vec(view.shape().to_vec(), values)
            .map_err(|e| Error::input(format!("{}: tensor `{name}`: {e}", path.display())))?;
        out.insert(name, arr);
    }
    Ok(out)
}

/// Take the tensor `name` out of `tensors` read from `path`, with a one-line
/// error listing what the file holds if it is missing.
pub fn take_tensor(tensors: &mut BTreeMap<String, ArrayD<f32>>, name: &str, path: &Path) -> Result<ArrayD<f32>> {
    tensors.remove(name).ok_or_else(|| {
        let have: Vec<&str> = tensors.keys().map(|s| s.as_str()).take(8).collect();
        Error::input(format!(
            "{}: no tensor named `{name}` (the file holds: {})",
            path.display(),
            if have.is_empty() { "nothing".to_string() } else { have.join(", ") }
        ))
    })
}

/// Write named `f32` tensors to `path` atomically, with metadata `format = pt`.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("rlkit-io-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let p = dir.join("t.safetensors");
/// let t = ndarray::ArrayD::from_shape_vec(vec![2, 3], (0..6).map(|v| v as f32).collect()).unwrap();
/// rlkit::nn::io::write_tensors(&p, &[("x".to_string(), t.clone())]).unwrap();
/// assert_eq!(rlkit::nn::io::read_tensors(&p).unwrap()["x"], t);
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn write_tensors(path: &Path, tensors: &[(String, ArrayD<f32>)]) -> Result<()> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, a)| {
            let data: Vec<u8> = a.as_standard_layout().iter().flat_map(|v| v.to_le_bytes()).collect();
            (n.clone(), a.shape().to_vec(), data)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(n, s, d)| {
            safetensors::tensor::TensorView::new(Dtype::F32, s.clone(), d)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::internal(format!("safetensors view `{n}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta: HashMap<String, String> = [("format".to_string(), "pt".to_string())].into();
    let buf = safetensors::serialize(views, Some(meta)).map_err(|e| Error::internal(format!("safetensors: {e}")))?;
    crate::util::atomic_write(path, &buf)
}
