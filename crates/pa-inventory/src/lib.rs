//! The lab_provider stage: resolve the range's inventory into
//! `logs/lab_inventory_snapshot.json` (no secrets, deterministic, digest-pinned).

use pa_bundle::reason::LabProviderReason;
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
    /// `sha256:` over the canonical asset list.
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
    let snap = snapshot(ctx.run.run_id(), &range)?;
    let n = snap.assets.len();
    ctx.staging
        .write_json("logs/lab_inventory_snapshot.json", &snap)?;
    Ok(StageSuccess {
        summary: format!("{n} asset(s), provider {}", range.lab.provider.as_str()),
        ..Default::default()
    })
}
