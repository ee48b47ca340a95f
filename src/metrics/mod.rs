//! Metrics for learned policies and values.
//!
//! - [`segmentation`]: a confusion matrix between two label maps and the
//!   segmentation scores PA, MPA, IoU per class, MIoU and FWIoU;
//! - [`policy`]: a greedy policy compared, as a label map whose classes are
//!   actions, with the optimal action sets of dynamic programming, and the
//!   value error ‖v_π − v*‖∞ of a policy, evaluated exactly.

pub mod policy;
pub mod segmentation;

pub use policy::{policy_confusion, policy_metrics, value_error, PolicyMetrics};
pub use segmentation::{ConfusionMatrix, Scores};
