//! Running a ceremony, and the one way `kokuin keys` changes a keyring: alone while no quorum
//! governs it, as a ceremony once one does.

use super::ops::{after, carry_out, certificate_with};
use crate::cmd::CmdError;
use crate::cmd::keys::common::{open, usage};
use kokuin_server::ceremony::plan::{approve, approver_of, make};
use kokuin_server::ceremony::verify::check_approvals;
use kokuin_server::ceremony::{Approval, CeremonyRecord, Op, parse_plan, state_hash};
use kokuin_server::config::Config;
use kokuin_server::keyring::Keyring;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// `ceremony run`: the plan applies to the keyring as it is now, is unexpired, carries a quorum
/// of approvals by distinct officers in force, and makes exactly the keyring it hashed; then
/// what it does in tokens and files is done and the keyring, carrying the ceremony, saved.
pub fn run(
    config: &Path,
    text: &str,
    approvals: Vec<Approval>,
) -> Result<(Config, Keyring), CmdError> {
    let (cfg, store, ring) = open(config)?;
    under_dual_control(&ring)?;
    let plan = parse_plan(text).map_err(CmdError::usage)?;
    if plan.from_version != ring.version {
        return Err(CmdError::negative(format!(
            "the plan is for keyring version {}; the keyring is at version {} (a plan runs once)",
            plan.from_version, ring.version
        )));
    }
    let expires = humantime::parse_rfc3339(&plan.expires).map_err(usage)?;
    if SystemTime::now() > expires {
        return Err(CmdError::negative(format!(
            "the plan expired at {}",
            plan.expires
        )));
    }
    let record = CeremonyRecord {
        plan: text.to_string(),
        approvals,
    };
    let who = check_approvals(&record, &plan, &ring.officers, ring.quorum.unwrap_or(0))
        .map_err(|e| CmdError::negative(format!("not run: {e}")))?;
    let (mut next, _) = after(&cfg, &ring, &plan.ops, &plan.certificates)?;
    if state_hash(&next, &certificate_with(&cfg, &plan.certificates)) != plan.result_sha256 {
        return Err(CmdError::negative(
            "not run: the keyring this plan would make is not the one it describes (the plan or \
             the keyring changed since it was made)",
        ));
    }
    carry_out(&cfg, &next, &plan.ops, &plan.certificates)?;
    next.ceremonies = ring.ceremonies;
    next.ceremonies.push(record);
    store.save(&next).map_err(usage)?;
    out!(
        "ran ceremony {} (approved by {}): keyring version {}",
        plan.id,
        who.join(", "),
        next.version
    );
    Ok((cfg, next))
}

/// Makes the change `ops` (installing `certificates`, PEM by key name) to the keyring of
/// `config`: at once while it is not under dual control; under dual control, in dev mode only,
/// as a ceremony the dev officers approve (their keys are in the dev state directory, so the
/// dev tour's `kokuin keys` still works, and the log shows the ceremony). A production
/// keyring under dual control changes only through `kokuin ceremony`.
pub fn commit(
    config: &Path,
    ops: Vec<Op>,
    certificates: BTreeMap<String, String>,
) -> Result<(Config, Keyring), CmdError> {
    let (cfg, store, ring) = open(config)?;
    if ring.officers.is_empty() {
        let (mut next, _) = after(&cfg, &ring, &ops, &certificates)?;
        // Versions count ceremonies: `ceremony init` starts from version 0.
        next.version = ring.version;
        carry_out(&cfg, &next, &ops, &certificates)?;
        store.save(&next).map_err(usage)?;
        return Ok((cfg, next));
    }
    let Some(dir) = config.parent().filter(|_| cfg.dev) else {
        return Err(CmdError::usage(
            "the keyring is under dual control: plan the change with `kokuin ceremony plan`, \
             have a quorum of officers approve it, then `kokuin ceremony run` (docs/ceremonies.md)",
        ));
    };
    let text = plan_text(&cfg, &ring, ops, &certificates, Duration::from_secs(600))?;
    let plan = parse_plan(&text).map_err(CmdError::usage)?;
    let mut approvals = Vec::new();
    for n in 1..=kokuin_server::dev::DEV_OFFICERS {
        if approvals.len() as u64 >= u64::from(plan.needed) {
            break;
        }
        let (key, pass) = kokuin_server::dev::officer_files(dir, n);
        let Ok(pass) = super::officer_key::passphrase(&pass) else {
            continue;
        };
        let Ok(signer) = kokuin_hsm::SoftwareSigner::load_encrypted(&key, &pass, "officer") else {
            continue;
        };
        if let Some(who) = approver_of(&plan, &signer) {
            approvals.push(approve(&text, &who, &signer).map_err(CmdError::usage)?);
        }
    }
    out!(
        "dev mode: the dev officers approve the change as a ceremony (docs/ceremonies.md):\n{}",
        plan.operations.join("\n")
    );
    run(config, &text, approvals)
}

pub fn under_dual_control(ring: &Keyring) -> Result<(), CmdError> {
    if ring.officers.is_empty() {
        return Err(CmdError::usage(
            "the keyring is not under dual control: kokuin ceremony init first",
        ));
    }
    Ok(())
}

/// The plan file for `ops` on `ring` as it is now.
pub fn plan_text(
    cfg: &kokuin_server::config::Config,
    ring: &Keyring,
    ops: Vec<Op>,
    certificates: &BTreeMap<String, String>,
    valid_for: Duration,
) -> Result<String, CmdError> {
    let (after, words) = after(cfg, ring, &ops, certificates)?;
    make(
        ring,
        &after,
        ops,
        words,
        certificates.clone(),
        valid_for,
        &certificate_with(cfg, certificates),
    )
    .map_err(CmdError::usage)
}
