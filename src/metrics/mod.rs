//! Metrics for learned policies and values.
//!
//! - [`segmentation`]: a confusion matrix between two label maps and the
//!   segmentation scores PA, MPA, IoU per class, MIoU and FWIoU;
//! - [`policy`]: a greedy policy compared, as a label map whose classes are
//!   actions, with given optimal action sets, and the value error ‖v_π − v*‖∞.
//!
//! Metrics take plain data (labels, sets, masks, value vectors) and know no
//! agent; `rlkit::agents::dp::policy_metrics` computes them for a model.

pub mod policy;
pub mod segmentation;

pub use policy::{policy_confusion, value_error, PolicyMetrics};
pub use segmentation::{ConfusionMatrix, Scores};
