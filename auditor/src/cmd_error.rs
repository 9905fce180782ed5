//! What a failed command tells the user, and the exit code it ends with: 1 when the answer
//! is "no" (proven wrong), 2 when it could not be judged or the command was misused.

/// What a failed command tells the user, and the exit code it ends with.
#[derive(Debug)]
pub struct CmdError {
    /// The exit code: 1 "no", 2 cannot say.
    pub code: u8,
    /// The sentence the user reads.
    pub message: String,
}

impl CmdError {
    /// Bad input, I/O or usage: exit 2.
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            code: 2,
            message: message.to_string(),
        }
    }

    /// The command ran and the answer is "no" (invalid token, refused request): exit 1.
    pub fn negative(message: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
        }
    }
}
