//! The `tabby` binary: parses arguments and hands over to `tabby_cli::run`.

fn main() -> std::process::ExitCode {
    tabby_cli::main_entry()
}
