//! Making plans and approvals (`kokuin ceremony`, and the dev state's first ceremony).

use super::verify::check_officers;
use super::{
    Approval, CeremonyRecord, Officer, Op, Plan, approval_message, officers_hash, sha256_hex,
    state_hash,
};
use crate::keyring::{KeyEntry, Keyring};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kokuin_ceremony::CeremonyError;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

fn now_text(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The plan file for changing `before` into `after` (whose version is `before`'s + 1): what it
/// does in words and in `ops`, who may approve, and the hash of `after`.
#[allow(clippy::too_many_arguments)] // one plan has that many parts
pub fn make(
    before: &Keyring,
    after: &Keyring,
    ops: Vec<Op>,
    operations: Vec<String>,
    certificates: BTreeMap<String, String>,
    valid_for: Duration,
    certificate: &dyn Fn(&KeyEntry) -> Option<Vec<u8>>,
) -> Result<String, CeremonyError> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| CeremonyError::Io(format!("no randomness: {e}")))?;
    let now = SystemTime::now();
    let plan = Plan {
        id: hex::encode(id),
        from_version: before.version,
        made: now_text(now),
        expires: now_text(now + valid_for),
        operations,
        ops,
        approvers: before.officers.clone(),
        needed: before.quorum.unwrap_or(0),
        officers: after.officers.clone(),
        quorum: after.quorum.unwrap_or(0),
        certificates,
        result_sha256: state_hash(after, certificate),
    };
    let body = toml::to_string_pretty(&plan)
        .map_err(|e| CeremonyError::Plan(format!("the plan cannot be written: {e}")))?;
    Ok(format!(
        "# Kokuin key ceremony plan. Officers approve this file's SHA-256 \
         (kokuin ceremony approve); it runs once, on keyring version {}, before {}.\n{body}",
        plan.from_version, plan.expires
    ))
}

/// Puts `ring` under dual control: `officers`, `quorum`, version 1, and the init ceremony
/// that says so. Returns the hash every node's configuration pins (`tsa.officers`).
pub fn init(
    ring: &mut Keyring,
    officers: Vec<Officer>,
    quorum: u32,
    certificate: &dyn Fn(&KeyEntry) -> Option<Vec<u8>>,
) -> Result<String, CeremonyError> {
    if ring.version != 0 || !ring.officers.is_empty() || !ring.ceremonies.is_empty() {
        return Err(CeremonyError::Chain(
            "the keyring is already under dual control".into(),
        ));
    }
    check_officers(&officers, quorum)?;
    let before = ring.clone();
    ring.version = 1;
    ring.officers = officers.clone();
    ring.quorum = Some(quorum);
    let names: Vec<String> = officers
        .iter()
        .map(|o| format!("{} ({})", o.name, o.role))
        .collect();
    let text = make(
        &before,
        ring,
        vec![Op::Init],
        vec![format!(
            "put the keyring under dual control: officers {}; {quorum} approvals needed",
            names.join(", ")
        )],
        BTreeMap::new(),
        Duration::from_secs(86_400),
        certificate,
    )?;
    ring.ceremonies.push(CeremonyRecord {
        plan: text,
        approvals: Vec::new(),
    });
    Ok(officers_hash(&officers, quorum))
}

/// An officer as the keyring names them: `name`, `role`, and `key`'s public key.
pub fn officer(
    name: &str,
    role: &str,
    key: &dyn kokuin_hsm::Signer,
) -> Result<Officer, CeremonyError> {
    let der = der::Encode::to_der(key.public_key())
        .map_err(|e| CeremonyError::Officers(format!("officer {name}'s public key: {e}")))?;
    Ok(Officer {
        name: name.to_string(),
        role: role.to_string(),
        public_key: STANDARD.encode(der),
    })
}

/// The approver of `plan` whose key `key` is, if any.
pub fn approver_of(plan: &Plan, key: &dyn kokuin_hsm::Signer) -> Option<String> {
    let der = der::Encode::to_der(key.public_key()).ok()?;
    let b64 = STANDARD.encode(der);
    plan.approvers
        .iter()
        .find(|o| o.public_key == b64)
        .map(|o| o.name.clone())
}

/// `officer`'s approval of the plan file `plan_text`, signed by their `key` now.
pub fn approve(
    plan_text: &str,
    officer: &str,
    key: &dyn kokuin_hsm::Signer,
) -> Result<Approval, CeremonyError> {
    let plan_sha256 = sha256_hex(plan_text.as_bytes());
    let time = now_text(SystemTime::now());
    let sig = key
        .sign(&approval_message(&plan_sha256, officer, &time))
        .map_err(|e| CeremonyError::Io(format!("{officer}'s key cannot sign: {e}")))?;
    Ok(Approval {
        officer: officer.to_string(),
        time,
        plan_sha256,
        algorithm: key.algorithm().name(),
        signature: STANDARD.encode(sig),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ceremony::state_hash;
    use crate::ceremony::verify::{bootstrap, follow};
    use kokuin_hsm::{KeyType, SoftwareSigner};

    fn no_certs(_: &crate::keyring::KeyEntry) -> Option<Vec<u8>> {
        None
    }

    #[test]
    fn a_chain_is_followed_from_its_pin_and_nothing_else_is() {
        let keys: Vec<SoftwareSigner> = (0..3)
            .map(|_| SoftwareSigner::generate(KeyType::P256, "o").unwrap())
            .collect();
        let officers: Vec<Officer> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| officer(&format!("o{i}"), "custodian", k).unwrap())
            .collect();
        let mut ring = Keyring::default();
        let pin = init(&mut ring, officers.clone(), 2, &no_certs).unwrap();
        let start = bootstrap(&ring, &pin).unwrap();
        assert!(bootstrap(&ring, "sha256:00").is_err(), "another pin");
        // A quorum change approved by two officers.
        let mut after = ring.clone();
        after.version = 2;
        after.quorum = Some(3);
        after.ceremonies.clear();
        let text = make(
            &ring,
            &after,
            vec![Op::Quorum { quorum: 3 }],
            vec!["3 approvals".into()],
            Default::default(),
            std::time::Duration::from_secs(60),
            &no_certs,
        )
        .unwrap();
        let approvals = vec![
            approve(&text, "o0", &keys[0]).unwrap(),
            approve(&text, "o1", &keys[1]).unwrap(),
        ];
        after.ceremonies = ring.ceremonies.clone();
        after.ceremonies.push(CeremonyRecord {
            plan: text.clone(),
            approvals: approvals.clone(),
        });
        let state = state_hash(&after, &no_certs);
        let (now, new) = follow(&after, &start, &state).unwrap();
        assert_eq!((now.version, now.quorum, new.len()), (2, 3, 1));
        // Changed by hand after the ceremony: its state is not the one the ceremony made.
        let mut edited = after.clone();
        edited.quorum = Some(2);
        assert!(follow(&edited, &start, &state_hash(&edited, &no_certs)).is_err());
        // Rolled back to version 1 after a node accepted version 2.
        assert!(follow(&ring, &now, &state_hash(&ring, &no_certs)).is_err());
        // One approval short, or an approval signed by another officer's key.
        let mut short = after.clone();
        short.ceremonies[1].approvals.truncate(1);
        assert!(follow(&short, &start, &state).is_err());
        let mut forged = after.clone();
        forged.ceremonies[1].approvals[1] = approve(&text, "o1", &keys[2]).unwrap();
        assert!(follow(&forged, &start, &state).is_err());
        // The same ceremony twice: a replay.
        let mut twice = after.clone();
        twice.ceremonies.push(twice.ceremonies[1].clone());
        assert!(follow(&twice, &start, &state).is_err());
    }
}
