//! Whole-cluster analyses (reachability, diff).
