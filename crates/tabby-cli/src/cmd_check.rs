//! `tabby check`: the first command a newcomer runs (filled in with the engine).

use clap::Args as ClapArgs;

use crate::input::InputArgs;
use crate::Exit;

/// Validate, then summarise what the policies do.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
}

pub fn run(_args: &Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`tabby check` is not built yet")
}
