//! Why a plan, an officer set, a ceremony or a chain of them does not hold. Each is a sentence
//! a custodian or an assessor reads as it is.

/// Why dual control refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// Not a plan, or a plan that cannot be used (too large, an expiry that is not a time).
    #[error("{0}")]
    Plan(String),
    /// An officer set that cannot approve: a quorum under two, too few officers for it, a
    /// name twice, a key that is not one.
    #[error("{0}")]
    Officers(String),
    /// The plan names other approvers or another quorum than those in force.
    #[error("the plan names other approvers or another quorum than those in force")]
    OtherApprovers,
    /// Fewer valid approvals than the quorum, and why each that did not count did not.
    #[error("{counted} valid approval(s), {needed} needed{}", because(.why))]
    Quorum {
        /// Approvals that verified.
        counted: usize,
        /// The quorum.
        needed: u32,
        /// Each approval that did not count: who, and why.
        why: Vec<String>,
    },
    /// A keyring whose ceremonies do not lead, one by one, from what this node trusts to it.
    #[error("{0}")]
    Chain(String),
    /// A ceremony recorded in an audit log that does not hold (named in the sentence).
    #[error("{0}")]
    Log(String),
    /// An officer's key or approval that cannot be made or read (a key file, a passphrase, a
    /// token), or a file of the ceremony that cannot be read or written.
    #[error("{0}")]
    Io(String),
}

fn because(why: &[String]) -> String {
    if why.is_empty() {
        String::new()
    } else {
        format!(" ({})", why.join("; "))
    }
}
