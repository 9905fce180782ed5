//! The ceremonies an audit log records, checked again from the log alone (`kokuin audit
//! verify`, `kokuin audit report`): the first is an init, whose officers and quorum the
//! assessor compares with the pin in the nodes' configuration; each after it applies to the
//! version the one before left and carries a quorum of valid approvals by the officers in
//! force at that point. A node records every ceremony it follows, so the same ceremony may
//! appear again (after a restart, from the pin); it must then be the same plan. The record
//! is written here too ([`event`]), so that what is written and what is read are one format.

use crate::approvals::{Anchor, check_approvals, check_officers};
use crate::error::CeremonyError;
use crate::plan::{Op, officers_hash, parse_plan, sha256_hex};
use crate::record::{Approval, CeremonyRecord};
use std::collections::HashMap;

/// The audit record of a ceremony a node followed: everything needed to verify its
/// approvals again from the log alone. A ceremony that cannot be recorded whole is an error,
/// never a record with empty fields: a node does not follow what it cannot record.
pub fn event(rec: &CeremonyRecord) -> Result<kokuin_audit::Event, CeremonyError> {
    let plan = parse_plan(&rec.plan)?;
    let approvals = serde_json::to_string(&rec.approvals).map_err(|e| {
        CeremonyError::Io(format!("the ceremony's approvals cannot be recorded: {e}"))
    })?;
    Ok(kokuin_audit::Event::new(kokuin_audit::kind::CEREMONY)
        .with("id", plan.id.as_str())
        .with("plan_sha256", sha256_hex(rec.plan.as_bytes()))
        .with("from_version", plan.from_version)
        .with("operations", plan.operations.join("; "))
        .with(
            "approved_by",
            rec.approvals
                .iter()
                .map(|a| a.officer.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )
        .with("plan", rec.plan.clone())
        .with("approvals", approvals))
}

/// The ceremonies of one log, checked in order.
#[derive(Default)]
pub struct InLog {
    anchor: Option<Anchor>,
    seen: HashMap<String, String>,
    /// Distinct ceremonies checked.
    pub ceremonies: u64,
    /// The hash of the first officers and quorum (`tsa.officers`), once an init is seen.
    pub pin: Option<String>,
}

impl InLog {
    /// Checks one `key.ceremony` record's fields; the error says which ceremony and why.
    pub fn add(
        &mut self,
        fields: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Result<(), CeremonyError> {
        let text = |k: &str| fields.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        let plan_text = text("plan");
        let plan = parse_plan(plan_text).map_err(|e| CeremonyError::Log(e.to_string()))?;
        let id = plan.id.clone();
        let approvals: Vec<Approval> = serde_json::from_str(text("approvals")).map_err(|_| {
            CeremonyError::Log(format!("ceremony {id}: its approvals are not readable"))
        })?;
        let sha = sha256_hex(plan_text.as_bytes());
        if let Some(before) = self.seen.get(&id) {
            return if *before == sha {
                Ok(())
            } else {
                Err(CeremonyError::Log(format!(
                    "ceremony {id} is recorded with two different plans"
                )))
            };
        }
        let next = if plan.ops == [Op::Init] {
            if self.anchor.is_some() || plan.from_version != 0 {
                return Err(CeremonyError::Log(format!("ceremony {id}: a second init")));
            }
            check_officers(&plan.officers, plan.quorum)
                .map_err(|e| CeremonyError::Log(format!("ceremony {id} (init): {e}")))?;
            self.pin = Some(officers_hash(&plan.officers, plan.quorum));
            1
        } else {
            let cur = self.anchor.as_ref().ok_or_else(|| {
                CeremonyError::Log(format!("ceremony {id} is recorded before any init"))
            })?;
            if plan.from_version != cur.version {
                return Err(CeremonyError::Log(format!(
                    "ceremony {id} applies to keyring version {}, but the log is at version {}",
                    plan.from_version, cur.version
                )));
            }
            let rec = CeremonyRecord {
                plan: plan_text.to_string(),
                approvals,
            };
            check_approvals(&rec, &plan, &cur.officers, cur.quorum)
                .map_err(|e| CeremonyError::Log(format!("ceremony {id}: {e}")))?;
            check_officers(&plan.officers, plan.quorum)
                .map_err(|e| CeremonyError::Log(format!("ceremony {id}: {e}")))?;
            cur.version + 1
        };
        self.anchor = Some(Anchor {
            version: next,
            officers: plan.officers,
            quorum: plan.quorum,
            state: plan.result_sha256,
        });
        self.seen.insert(id, sha);
        self.ceremonies += 1;
        Ok(())
    }
}
