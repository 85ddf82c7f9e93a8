//! The lab_provider stage: resolve the range's inventory into
//! `logs/lab_inventory_snapshot.json` (no secrets, deterministic, digest-pinned).

use pa_bundle::reason::LabProviderReason;
use pa_config::{LabProvider, RangeConfig};
use pa_stage::{StageContext, StageFailure, StageSuccess};
use serde_json::{Value, json};

/// Resolve the inventory of a range into the snapshot document.
pub fn snapshot(run_id: &str, range: &RangeConfig) -> Result<Value, StageFailure> {
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
    let mut assets: Vec<Value> = Vec::new();
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
        let mut o = json!({"asset_id": a.asset_id, "os": a.os, "role": a.role, "tags": tags});
        if let Some(h) = &a.hostname {
            o["hostname"] = json!(h);
        }
        if let Some(ip) = &a.ip {
            o["ip"] = json!(ip);
        }
        assets.push(o);
    }
    assets.sort_by(|x, y| x["asset_id"].as_str().cmp(&y["asset_id"].as_str()));
    let digest = pa_canon::jcs(&assets)
        .map(|b| pa_canon::sha256_prefixed(&b))
        .map_err(|e| {
            StageFailure::new(LabProviderReason::InventoryResolutionFailed, e.to_string())
        })?;
    Ok(json!({
        "contract_version": pa_bundle::CONTRACT_VERSION,
        "run_id": run_id,
        "provider": range.lab.provider.as_str(),
        "assets": assets,
        "inventory_sha256": digest,
    }))
}

/// The stage function.
pub fn run(ctx: &mut StageContext<'_>) -> Result<StageSuccess, StageFailure> {
    let range = ctx.range()?;
    let snap = snapshot(ctx.run.run_id(), &range)?;
    let n = snap["assets"].as_array().map_or(0, Vec::len);
    ctx.staging
        .write_json("logs/lab_inventory_snapshot.json", &snap)?;
    Ok(StageSuccess {
        summary: format!("{n} asset(s), provider {}", range.lab.provider.as_str()),
        ..Default::default()
    })
}
