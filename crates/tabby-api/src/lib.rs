//! tabby-api (skeleton)
