//! tabby command line
