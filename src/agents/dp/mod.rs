//! Dynamic programming on a known tabular model.
