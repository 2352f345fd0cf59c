//! tabby-validate (skeleton)
