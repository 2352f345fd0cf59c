//! tabby-load (skeleton)
