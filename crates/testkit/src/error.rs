use std::fmt;

use crate::harness::ReceivedMessage;

/// What can go wrong while starting clusters or driving them with the harness.
#[derive(Debug)]
pub enum Error {
    /// `testkit/rocketmq.sh` failed: the command, its exit status and its output (the script prints
    /// the tail of the RocketMQ logs on a failed start).
    Script {
        command: String,
        status: Option<i32>,
        stdout: String,
        stderr: String,
    },
    /// A harness call failed (a send was refused, an admin operation failed, ...).
    Harness {
        command: String,
        status: Option<i32>,
        stderr: String,
    },
    /// `consume` timed out before the expected number of distinct messages arrived; `received`
    /// holds every delivery that did arrive.
    NotAllConsumed {
        expected: usize,
        received: Vec<ReceivedMessage>,
        stderr: String,
    },
    Io(std::io::Error),
    /// Output that could not be understood.
    Parse(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Script { command, status, stdout, stderr } => {
                write!(f, "`{command}` failed (exit status {status:?})")?;
                if !stdout.trim().is_empty() {
                    write!(f, "\n--- stdout\n{}", stdout.trim_end())?;
                }
                if !stderr.trim().is_empty() {
                    write!(f, "\n--- stderr\n{}", stderr.trim_end())?;
                }
                Ok(())
            }
            Error::Harness { command, status, stderr } => {
                write!(f, "harness `{command}` failed (exit status {status:?})\n{}", stderr.trim_end())
            }
            Error::NotAllConsumed { expected, received, stderr } => {
                let mut ids: Vec<&str> =
                    received.iter().filter(|m| m.consumed).map(|m| m.msg_id.as_str()).collect();
                ids.sort_unstable();
                ids.dedup();
                write!(
                    f,
                    "consumed {} distinct messages, expected {expected} ({} deliveries)\n{}",
                    ids.len(),
                    received.len(),
                    stderr.trim_end()
                )
            }
            Error::Io(e) => write!(f, "{e}"),
            Error::Parse(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}
