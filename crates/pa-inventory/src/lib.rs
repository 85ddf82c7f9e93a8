//! The lab_provider stage: resolve the range's inventory into
//! `logs/lab_inventory_snapshot.json` (no secrets, deterministic, digest-pinned).
//!
//! Providers: `replay` (the recorded hosts, nothing probed), `local` (this host, probed:
//! name, OS release, kernel, privileges, auditd presence, version and state) and `ssh` (a
//! static inventory in range.yaml, each host probed over the system ssh client: the
//! `lab_provider.connectivity` substage records which hosts answered).

pub mod probe;

use pa_bundle::reason::LabProviderReason;
use pa_bundle::{FailMode, Stage, StageOutcome};
use pa_config::{LabProvider, RangeConfig};
use pa_stage::{StageContext, StageFailure, StageSuccess};
use serde::{Deserialize, Serialize};

/// `logs/lab_inventory_snapshot.json`: the resolved hosts, without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventorySnapshot {
    /// The bundle contract version.
    pub contract_version: String,
    /// The run.
    pub run_id: String,
    /// The lab provider (`local`, `ssh`, `replay`).
    pub provider: String,
    /// The assets, sorted by id.
    pub assets: Vec<InventoryAsset>,
    /// `sha256:` over the canonical asset list as configured (probed facts excluded).
    pub inventory_sha256: String,
}

/// One host of an [`InventorySnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryAsset {
    /// The asset id the scenario targets.
    pub asset_id: String,
    /// Operating system family.
    pub os: String,
    /// Role in the range.
    pub role: String,
    /// Tags, sorted bytewise.
    pub tags: Vec<String>,
    /// Host name, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Address, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// SSH port, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// SSH user, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// What probing the host found (live providers; absent for replay and for a host that
    /// did not answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<probe::HostFacts>,
}

/// Resolve the inventory of a range into the snapshot document.
pub fn snapshot(run_id: &str, range: &RangeConfig) -> Result<InventorySnapshot, StageFailure> {
    let fail = |m: String| StageFailure::new(LabProviderReason::InvalidInventoryFormat, m);
    if range.lab.provider != LabProvider::Replay && range.lab.assets.is_empty() {
        return Err(StageFailure::new(
            LabProviderReason::InventoryResolutionFailed,
            "inputs/range.yaml: lab.assets is empty: a live lab needs at least one asset"
                .to_string(),
        ));
    }
    if range.lab.provider == LabProvider::Local && range.lab.assets.len() != 1 {
        return Err(fail(format!(
            "inputs/range.yaml: the local provider has exactly one asset (this host), found {}",
            range.lab.assets.len()
        )));
    }
    let mut assets: Vec<InventoryAsset> = Vec::new();
    for a in &range.lab.assets {
        let id_ok = !a.asset_id.is_empty()
            && a.asset_id.len() <= 64
            && a.asset_id
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && a.asset_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !id_ok {
            return Err(fail(format!(
                "inputs/range.yaml: lab.assets: asset_id {:?} must match [a-z0-9][a-z0-9._-]{{0,63}}",
                a.asset_id
            )));
        }
        if range.lab.provider == LabProvider::Ssh && a.ip.is_none() && a.hostname.is_none() {
            return Err(fail(format!(
                "inputs/range.yaml: lab.assets[{}]: an ssh asset needs ip or hostname",
                a.asset_id
            )));
        }
        let mut tags = a.tags.clone();
        pa_canon::sort_bytewise(&mut tags);
        assets.push(InventoryAsset {
            asset_id: a.asset_id.clone(),
            os: a.os.clone(),
            role: a.role.clone(),
            tags,
            hostname: a.hostname.clone(),
            ip: a.ip.clone(),
            port: a.port,
            user: a.user.clone(),
            facts: None,
        });
    }
    assets.sort_by(|x, y| x.asset_id.cmp(&y.asset_id));
    let digest = pa_canon::jcs(&assets)
        .map(|b| pa_canon::sha256_prefixed(&b))
        .map_err(|e| {
            StageFailure::new(LabProviderReason::InventoryResolutionFailed, e.to_string())
        })?;
    Ok(InventorySnapshot {
        contract_version: pa_bundle::CONTRACT_VERSION.to_owned(),
        run_id: run_id.to_owned(),
        provider: range.lab.provider.as_str().to_owned(),
        assets,
        inventory_sha256: digest,
    })
}

/// The stage function.
pub fn run(ctx: &mut StageContext<'_>) -> Result<StageSuccess, StageFailure> {
    let range = ctx.range()?;
    let mut snap = snapshot(ctx.run.run_id(), &range)?;
    let n = snap.assets.len();
    let mut substages = Vec::new();
    let mut summary = format!("{n} asset(s), provider {}", range.lab.provider.as_str());
    if range.lab.provider != LabProvider::Replay {
        let base = ctx.range_base_dir();
        let mut unreachable = Vec::new();
        for asset in &mut snap.assets {
            let Some(conf) = range
                .lab
                .assets
                .iter()
                .find(|a| a.asset_id == asset.asset_id)
            else {
                continue;
            };
            let facts = pa_exec::executor_for(&range, &base, conf, pa_exec::Purpose::Read)
                .map_err(|e| e.to_string())
                .and_then(|exec| probe::probe(exec.as_ref()));
            match facts {
                Ok(f) => {
                    if f.auditd.installed && f.auditd.running == Some(false) {
                        tracing::warn!(asset = %asset.asset_id, "auditd is installed but not running");
                    }
                    asset.facts = Some(f);
                }
                Err(e) => {
                    tracing::warn!(asset = %asset.asset_id, "not reachable: {e}");
                    unreachable.push(format!("{}: {e}", asset.asset_id));
                }
            }
        }
        if range.lab.provider == LabProvider::Local && !unreachable.is_empty() {
            return Err(StageFailure::new(
                LabProviderReason::InventoryResolutionFailed,
                format!("this host could not be probed: {}", unreachable.join("; ")),
            ));
        }
        if range.lab.provider == LabProvider::Ssh {
            let outcome = if unreachable.is_empty() {
                StageOutcome::success(Stage::LabProvider)
            } else {
                StageOutcome::failed(
                    Stage::LabProvider,
                    FailMode::WarnAndSkip,
                    LabProviderReason::PartialConnectivity.into(),
                )
                .with_message(format!(
                    "{} of {n} host(s) did not answer: {}",
                    unreachable.len(),
                    unreachable.join("; ")
                ))
            };
            substages.push(StageOutcome {
                stage: "lab_provider.connectivity".into(),
                ..outcome
            });
            summary.push_str(&format!(", {} of {n} reachable", n - unreachable.len()));
        }
    }
    ctx.staging
        .write_json("logs/lab_inventory_snapshot.json", &snap)?;
    Ok(StageSuccess {
        summary,
        substages,
        ..Default::default()
    })
}
