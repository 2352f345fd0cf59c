//! tabby-eval (skeleton)
