//! Helpers shared by the commands.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

/// The workspace root (the parent of xtask's manifest directory).
pub(crate) fn workspace_root() -> PathBuf {
    ferrokafka_tests::paths::workspace_root()
}

/// The cargo that runs us (`$CARGO`), or `cargo` from `PATH`.
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root());
    cmd
}

/// Runs a command with inherited stdio; `Ok(true)` when it exits successfully.
pub(crate) fn status(cmd: &mut Command) -> Result<bool> {
    let st = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    Ok(st.success())
}

/// Takes the value of `--name VALUE` or `--name=VALUE` out of `args`.
pub(crate) fn take_option(args: &mut Vec<String>, name: &str) -> Result<Option<String>> {
    let prefix = format!("{name}=");
    if let Some(i) = args.iter().position(|a| a == name) {
        anyhow::ensure!(i + 1 < args.len(), "{name} needs a value");
        let value = args.remove(i + 1);
        args.remove(i);
        return Ok(Some(value));
    }
    if let Some(i) = args.iter().position(|a| a.starts_with(&prefix)) {
        let value = args.remove(i)[prefix.len()..].to_string();
        return Ok(Some(value));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::take_option;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn options_are_taken_in_both_spellings() {
        let mut a = args(&["x", "--port", "9000", "y"]);
        assert_eq!(
            take_option(&mut a, "--port").unwrap().as_deref(),
            Some("9000")
        );
        assert_eq!(a, args(&["x", "y"]));
        let mut b = args(&["--seconds=5", "t"]);
        assert_eq!(
            take_option(&mut b, "--seconds").unwrap().as_deref(),
            Some("5")
        );
        assert_eq!(b, args(&["t"]));
        let mut c = args(&["t"]);
        assert_eq!(take_option(&mut c, "--seconds").unwrap(), None);
        let mut d = args(&["--port"]);
        assert!(take_option(&mut d, "--port").is_err());
    }
}
