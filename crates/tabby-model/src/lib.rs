//! tabby-model (skeleton)
