//! The crate's error type.
//!
//! Every error that user input can cause is an [`Error::Input`]: one line that
//! names the file, the line and column or the key, and what would be valid.
//! The CLI maps it to exit code 2.

/// rlkit's error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad user input (a file, a flag, a value, an unwritable output
    /// directory). The message is one line, ready to print. Exit code 2.
    #[error("{}", one_line(.0))]
    Input(String),
    /// A failure that is not the user's fault (a bug, or the operating system
    /// failing under us). Exit code 1.
    #[error("{}", one_line(.0))]
    Internal(String),
}

/// The message on one line: a newline or other control character that came
/// from user input (a name, a `--set` value) is shown escaped (`\n`).
fn one_line(msg: &str) -> std::borrow::Cow<'_, str> {
    if !msg.chars().any(char::is_control) {
        return msg.into();
    }
    msg.chars()
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect::<String>()
        .into()
}

impl Error {
    /// Build an [`Error::Input`] from anything printable.
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }

    /// Build an [`Error::Internal`] from anything printable.
    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }

    /// The process exit code the CLI uses for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 2,
            Error::Internal(_) => 1,
        }
    }
}

/// Shorthand for `std::result::Result<T, rlkit::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    #[test]
    fn messages_stay_on_one_line() {
        let e = super::Error::input("exp.toml:1:8: name: `a\nb` is bad\t!");
        assert_eq!(e.to_string(), "exp.toml:1:8: name: `a\\nb` is bad\\t!");
        assert_eq!(super::Error::internal("plain").to_string(), "plain");
    }
}
