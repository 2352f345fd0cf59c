//! tabby-selector (skeleton)
