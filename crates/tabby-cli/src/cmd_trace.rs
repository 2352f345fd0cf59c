//! `tabby trace`: one flow, explained (filled in with the engine).

use clap::Args as ClapArgs;

use crate::input::InputArgs;
use crate::Exit;

/// Decide one flow and explain it.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
}

pub fn run(_args: &Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`tabby trace` is not built yet")
}
