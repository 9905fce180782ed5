//! Checking ceremonies: the approvals of one plan, and a keyring's chain of ceremonies from
//! the officer set a node trusts to the keyring it is shown.

use crate::keyring::Keyring;
use kokuin_ceremony::CeremonyError;
pub use kokuin_ceremony::approvals::{Anchor, MIN_QUORUM, check_approvals, check_officers};
use kokuin_ceremony::plan::{Op, parse_plan};
use kokuin_ceremony::record::CeremonyRecord;

/// The anchor the first ceremony (`kokuin ceremony init`) gives, if its officers and quorum
/// are the ones `pinned` names.
pub fn bootstrap(ring: &Keyring, pinned: &str) -> Result<Anchor, CeremonyError> {
    let chain = |why: &str| CeremonyError::Chain(why.to_string());
    let first = ring.ceremonies.first().ok_or_else(|| {
        chain("the keyring carries no ceremony: it was not made by `kokuin ceremony init`")
    })?;
    let plan = parse_plan(&first.plan)?;
    if plan.ops != [Op::Init] || plan.from_version != 0 {
        return Err(chain("the keyring's first ceremony is not its init"));
    }
    if kokuin_ceremony::plan::officers_hash(&plan.officers, plan.quorum) != pinned {
        return Err(chain(
            "the keyring's first officers and quorum are not those tsa.officers pins",
        ));
    }
    check_officers(&plan.officers, plan.quorum)?;
    Ok(Anchor {
        version: 1,
        officers: plan.officers,
        quorum: plan.quorum,
        state: plan.result_sha256,
    })
}

/// Follows `ring`'s ceremonies from `from` to the keyring itself (whose state hash is
/// `state`): each must apply to the version before, carry its quorum of approvals by the
/// officers in force then, and the last must have made exactly this keyring. Returns the new
/// anchor and the ceremonies followed.
pub fn follow(
    ring: &Keyring,
    from: &Anchor,
    state: &str,
) -> Result<(Anchor, Vec<CeremonyRecord>), CeremonyError> {
    if ring.version < from.version {
        return Err(CeremonyError::Chain(format!(
            "the keyring is at version {}, older than version {} this node accepted: a rollback",
            ring.version, from.version
        )));
    }
    let mut cur = from.clone();
    let mut new = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for rec in &ring.ceremonies {
        let plan = parse_plan(&rec.plan)?;
        if !ids.insert(plan.id.clone()) {
            return Err(CeremonyError::Chain(format!(
                "ceremony {} appears twice: a replay",
                plan.id
            )));
        }
        if plan.from_version < cur.version {
            continue;
        }
        if plan.from_version != cur.version {
            return Err(CeremonyError::Chain(format!(
                "ceremony {} applies to version {}, but version {} is next",
                plan.id, plan.from_version, cur.version
            )));
        }
        if plan.ops.contains(&Op::Init) {
            return Err(CeremonyError::Chain(format!(
                "ceremony {}: a second init",
                plan.id
            )));
        }
        check_approvals(rec, &plan, &cur.officers, cur.quorum)
            .map_err(|e| CeremonyError::Chain(format!("ceremony {}: {e}", plan.id)))?;
        check_officers(&plan.officers, plan.quorum)
            .map_err(|e| CeremonyError::Chain(format!("ceremony {}: {e}", plan.id)))?;
        cur = Anchor {
            version: cur.version + 1,
            officers: plan.officers,
            quorum: plan.quorum,
            state: plan.result_sha256,
        };
        new.push(rec.clone());
    }
    if cur.version != ring.version {
        return Err(CeremonyError::Chain(format!(
            "the keyring says version {}; its ceremonies reach version {}",
            ring.version, cur.version
        )));
    }
    if ring.officers != cur.officers || ring.quorum != Some(cur.quorum) || cur.state != state {
        return Err(CeremonyError::Chain(format!(
            "the keyring at version {} is not the one its last ceremony made (changed without \
             a ceremony)",
            ring.version
        )));
    }
    Ok((cur, new))
}
