//! Checking a ceremony's approvals, and an officer set that can give them: the same checks
//! on a node that follows a keyring and in an auditor's reading of the log.

use crate::error::CeremonyError;
use crate::plan::{Plan, approval_message, sha256_hex};
use crate::record::{CeremonyRecord, Officer};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::Decode as _;

/// The officers and quorum in force at a keyring version, and the state hash there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// The keyring version.
    pub version: u64,
    /// Who approves from here.
    pub officers: Vec<Officer>,
    /// How many approvals a change needs from here.
    pub quorum: u32,
    /// `state_hash` of the keyring at this version.
    pub state: String,
}

/// The smallest quorum there is: dual control means two.
pub const MIN_QUORUM: u32 = 2;

/// An officer set that can approve: distinct names, parseable keys, at least
/// [`MIN_QUORUM`] approvals needed and at least that many officers to give them.
pub fn check_officers(officers: &[Officer], quorum: u32) -> Result<(), CeremonyError> {
    if quorum < MIN_QUORUM {
        return Err(CeremonyError::Officers(format!(
            "a quorum of {quorum}: dual control needs at least {MIN_QUORUM}"
        )));
    }
    if (officers.len() as u64) < u64::from(quorum) {
        return Err(CeremonyError::Officers(format!(
            "{} officer(s) cannot give the {quorum} approvals the quorum needs",
            officers.len()
        )));
    }
    let mut names = std::collections::HashSet::new();
    for o in officers {
        if !names.insert(o.name.as_str()) {
            return Err(CeremonyError::Officers(format!(
                "officer {:?} twice",
                o.name
            )));
        }
        spki(o)?;
    }
    Ok(())
}

fn spki(o: &Officer) -> Result<spki::SubjectPublicKeyInfoOwned, CeremonyError> {
    STANDARD
        .decode(&o.public_key)
        .ok()
        .and_then(|d| spki::SubjectPublicKeyInfoOwned::from_der(&d).ok())
        .ok_or_else(|| {
            CeremonyError::Officers(format!(
                "officer {}: the public key is not a SubjectPublicKeyInfo",
                o.name
            ))
        })
}

/// The officers whose approvals of `record` count, when they are at least `quorum`; else why
/// not, each approval that did not count with its reason.
pub fn check_approvals(
    record: &CeremonyRecord,
    plan: &Plan,
    officers: &[Officer],
    quorum: u32,
) -> Result<Vec<String>, CeremonyError> {
    if plan.approvers != officers || plan.needed != quorum {
        return Err(CeremonyError::OtherApprovers);
    }
    let plan_hash = sha256_hex(record.plan.as_bytes());
    let expires = humantime::parse_rfc3339(&plan.expires).map_err(|_| {
        CeremonyError::Plan(format!(
            "the plan's expiry {:?} is not a time",
            plan.expires
        ))
    })?;
    let mut counted: Vec<String> = Vec::new();
    let mut why = Vec::new();
    for a in &record.approvals {
        let who = &a.officer;
        let Some(o) = officers.iter().find(|o| &o.name == who) else {
            why.push(format!("{who}: not an officer in force"));
            continue;
        };
        if a.plan_sha256 != plan_hash {
            why.push(format!("{who}: an approval of another plan"));
            continue;
        }
        if counted.contains(who) {
            why.push(format!("{who}: approved twice; counted once"));
            continue;
        }
        match humantime::parse_rfc3339(&a.time) {
            Ok(t) if t <= expires => {}
            Ok(_) => {
                why.push(format!("{who}: approved after the plan expired"));
                continue;
            }
            Err(_) => {
                why.push(format!("{who}: the approval's time is not a time"));
                continue;
            }
        }
        let verified = (|| {
            let alg = kokuin_hsm::SignatureAlgorithm::from_name(&a.algorithm)
                .ok_or("an unknown algorithm")?
                .algorithm_identifier()
                .map_err(|_| "an unknown algorithm")?;
            let sig = STANDARD.decode(&a.signature).map_err(|_| "not base64")?;
            let key = spki(o).map_err(|_| "no key")?;
            kokuin_hsm::verify_signature(
                &key,
                &alg,
                None,
                &approval_message(&plan_hash, who, &a.time),
                &sig,
            )
            .map_err(|_| "the signature does not verify")
        })();
        match verified {
            Ok(()) => counted.push(who.clone()),
            Err(e) => why.push(format!("{who}: {e}")),
        }
    }
    if (counted.len() as u64) < u64::from(quorum) {
        return Err(CeremonyError::Quorum {
            counted: counted.len(),
            needed: quorum,
            why,
        });
    }
    Ok(counted)
}
