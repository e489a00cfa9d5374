//! `hrsync completions SHELL` prints a completion script and `hrsync man --dir DIR` writes
//! the man pages (hrsync(1) and one per subcommand), both made from the command-line
//! definition itself so they never fall behind it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionShell};
use crate::error::CommandResult;
use crate::report::write::{write_named, Privacy};

/// Prints the completion script for `shell` on standard output.
pub fn completions(shell: CompletionShell) -> CommandResult {
    let shell = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "hrsync", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .context("cannot write the completion script")?;
    Ok(0)
}

/// Writes `hrsync.1` and `hrsync-<subcommand>.1` for every visible subcommand into `dir`.
pub fn man(dir: &Path) -> CommandResult {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cli = Cli::command();
    // Building first fills in what the pages show (version, global flags on subcommands).
    cli.build();
    write_page(dir, "hrsync", cli.clone())?;
    let pages = cli
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help");
    for sub in pages {
        let name = format!("hrsync-{}", sub.get_name());
        // Titled by the page's name, used as typed: `hrsync apply`.
        let page = sub
            .clone()
            .display_name(&name)
            .bin_name(format!("hrsync {}", sub.get_name()));
        write_page(dir, &name, page)?;
    }
    Ok(0)
}

/// Renders one page and writes it as `<name>.1`.
fn write_page(dir: &Path, name: &str, cmd: clap::Command) -> anyhow::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .title(name)
        .source(format!("hrsync {}", env!("CARGO_PKG_VERSION")))
        .render(&mut page)
        .with_context(|| format!("cannot render the man page {name}"))?;
    write_named(&dir.join(format!("{name}.1")), &page, Privacy::Shareable)?;
    Ok(())
}
