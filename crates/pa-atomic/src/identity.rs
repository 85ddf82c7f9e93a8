//! Action identity (SPEC §3 steps 6–8): the effective requirements, the identity-bearing
//! resolved inputs map and its `resolved_inputs_sha256`, and the `action_key` basis.
//!
//! * `resolved_inputs_sha256 = hex(sha256(JCS(map)))`, where the map is the resolved inputs
//!   (`$ATOMICS_ROOT` form, redacted by the caller's policy) plus, when given,
//!   `__pa_principal_alias_v1` (a string) and `__pa_action_requirements_v1` (the effective
//!   requirements, only when non-empty).
//! * `action_key = hex(sha256(JCS({"v":1, "engine", "technique_id", "engine_test_id",
//!   "parameters":{"resolved_inputs_sha256"}, "target_asset_id"})))`, the inner digest as bare
//!   hex (as the reference golden hashes it).
//!
//! Both digests are bare lowercase hex: the reference fixtures pin them that way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AtomicError;
use crate::model::AtomicTest;

/// Reserved key of the principal alias in the identity map.
pub const PRINCIPAL_ALIAS_KEY: &str = "__pa_principal_alias_v1";
/// Reserved key of the effective requirements in the identity map.
pub const REQUIREMENTS_KEY: &str = "__pa_action_requirements_v1";

/// `requirements.privilege`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Privilege {
    /// An ordinary user.
    User,
    /// An administrator (root, sudo).
    Admin,
    /// The system account.
    System,
}

impl Privilege {
    /// Parse the closed vocabulary `user | admin | system`.
    pub fn parse(s: &str) -> Result<Privilege, AtomicError> {
        match s {
            "user" => Ok(Privilege::User),
            "admin" => Ok(Privilege::Admin),
            "system" => Ok(Privilege::System),
            other => Err(AtomicError::InvalidPrivilege {
                value: other.to_string(),
            }),
        }
    }
}

/// Scenario requirement overrides (`plan.requirements`): a field that is present replaces the
/// derived one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequirementsOverride {
    /// `platform.os`.
    pub platform_os: Option<Vec<String>>,
    /// `privilege` (`user`, `admin`, `system`).
    pub privilege: Option<String>,
    /// `tools`.
    pub tools: Option<Vec<String>>,
}

/// Effective requirements in canonical form: arrays lowercased, deduplicated, sorted bytewise;
/// empty arrays omitted when serialized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// `platform.os`.
    pub platform_os: Vec<String>,
    /// `privilege`.
    pub privilege: Option<Privilege>,
    /// `tools`.
    pub tools: Vec<String>,
}

fn canonical(items: &[String]) -> Vec<String> {
    let mut v: Vec<String> = items
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    pa_canon::sort_bytewise(&mut v);
    v
}

impl Requirements {
    /// Derived from the test (SPEC §3 step 6): `platform.os` from `supported_platforms`, one
    /// tool from the executor; privilege is never derived.
    pub fn derived(test: &AtomicTest) -> Requirements {
        Requirements {
            platform_os: canonical(&test.supported_platforms),
            privilege: None,
            tools: vec![test.executor.name.tool_token().to_string()],
        }
    }

    /// The effective requirements: each field of `over` that is present replaces the derived
    /// one.
    pub fn effective(
        test: &AtomicTest,
        over: Option<&RequirementsOverride>,
    ) -> Result<Requirements, AtomicError> {
        Requirements::derived(test).overridden(over)
    }

    /// These requirements with each field of `over` that is present replacing its own.
    pub fn overridden(
        mut self,
        over: Option<&RequirementsOverride>,
    ) -> Result<Requirements, AtomicError> {
        if let Some(o) = over {
            if let Some(os) = &o.platform_os {
                self.platform_os = canonical(os);
            }
            if let Some(t) = &o.tools {
                self.tools = canonical(t);
            }
            if let Some(p) = &o.privilege {
                self.privilege = Some(Privilege::parse(p)?);
            }
        }
        Ok(self)
    }

    /// Whether nothing is required.
    pub fn is_empty(&self) -> bool {
        self.platform_os.is_empty() && self.tools.is_empty() && self.privilege.is_none()
    }

    /// The canonical JSON object (`{"platform":{"os":[..]},"privilege":..,"tools":[..]}`,
    /// empty members omitted).
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        if !self.platform_os.is_empty() {
            m.insert(
                "platform".into(),
                serde_json::json!({ "os": self.platform_os }),
            );
        }
        if let Some(p) = self.privilege {
            m.insert("privilege".into(), serde_json::json!(p));
        }
        if !self.tools.is_empty() {
            m.insert("tools".into(), serde_json::json!(self.tools));
        }
        Value::Object(m)
    }
}

/// The identity-bearing resolved inputs map (before hashing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityInputs {
    inputs: BTreeMap<String, String>,
    principal_alias: Option<String>,
    requirements: Option<Requirements>,
}

impl IdentityInputs {
    /// The map of resolved inputs alone (`$ATOMICS_ROOT` form); refuses the reserved keys.
    pub fn new(inputs: &BTreeMap<String, String>) -> Result<IdentityInputs, AtomicError> {
        if let Some(k) = inputs
            .keys()
            .find(|k| *k == PRINCIPAL_ALIAS_KEY || *k == REQUIREMENTS_KEY)
        {
            return Err(AtomicError::ReservedIdentityKey { key: k.clone() });
        }
        Ok(IdentityInputs {
            inputs: inputs.clone(),
            principal_alias: None,
            requirements: None,
        })
    }

    /// Embed the effective principal alias (`__pa_principal_alias_v1`).
    pub fn with_principal_alias(mut self, alias: &str) -> Self {
        self.principal_alias = Some(alias.to_string());
        self
    }

    /// Embed the effective requirements (`__pa_action_requirements_v1`), when non-empty.
    pub fn with_requirements(mut self, requirements: &Requirements) -> Self {
        self.requirements = (!requirements.is_empty()).then(|| requirements.clone());
        self
    }

    /// Apply the caller's redaction to every input value (`f(name, value)`), before hashing.
    pub fn redact(mut self, mut f: impl FnMut(&str, &str) -> String) -> Self {
        for (k, v) in self.inputs.iter_mut() {
            *v = f(k, v);
        }
        self
    }

    /// The resolved inputs (redacted when [`IdentityInputs::redact`] was applied).
    pub fn inputs(&self) -> &BTreeMap<String, String> {
        &self.inputs
    }

    /// The map that is hashed, as JSON.
    pub fn to_json(&self) -> Value {
        let mut m: serde_json::Map<String, Value> = self
            .inputs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if let Some(a) = &self.principal_alias {
            m.insert(PRINCIPAL_ALIAS_KEY.into(), Value::String(a.clone()));
        }
        if let Some(r) = &self.requirements {
            m.insert(REQUIREMENTS_KEY.into(), r.to_json());
        }
        Value::Object(m)
    }

    /// `resolved_inputs_sha256`: lowercase hex SHA-256 of the map's RFC 8785 bytes.
    pub fn sha256(&self) -> Result<String, AtomicError> {
        Ok(pa_canon::jcs_sha256_hex(&self.to_json())?)
    }
}

/// `parameters` of the action key basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasisParameters {
    /// The resolved inputs digest (bare hex).
    pub resolved_inputs_sha256: String,
}

/// `action_key_basis_v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionKeyBasis {
    /// Always 1.
    pub v: u32,
    /// `atomic` (the replay runner records other engines).
    pub engine: String,
    /// The ATT&CK technique id.
    pub technique_id: String,
    /// The Atomic test GUID.
    pub engine_test_id: String,
    /// The resolved inputs digest.
    pub parameters: BasisParameters,
    /// The lab asset the action targets.
    pub target_asset_id: String,
}

impl ActionKeyBasis {
    /// The basis of an action.
    pub fn new(
        engine: &str,
        technique_id: &str,
        engine_test_id: &str,
        resolved_inputs_sha256: &str,
        target_asset_id: &str,
    ) -> Self {
        ActionKeyBasis {
            v: 1,
            engine: engine.to_string(),
            technique_id: technique_id.to_string(),
            engine_test_id: engine_test_id.to_string(),
            parameters: BasisParameters {
                resolved_inputs_sha256: resolved_inputs_sha256.to_string(),
            },
            target_asset_id: target_asset_id.to_string(),
        }
    }

    /// `action_key`: lowercase hex SHA-256 of the basis' RFC 8785 bytes.
    pub fn action_key(&self) -> Result<String, AtomicError> {
        Ok(pa_canon::jcs_sha256_hex(self)?)
    }
}

/// `resolved_inputs_sha256` of plain resolved inputs (no alias, no requirements).
pub fn resolved_inputs_sha256(inputs: &BTreeMap<String, String>) -> Result<String, AtomicError> {
    IdentityInputs::new(inputs)?.sha256()
}

/// `action_key` of an action.
pub fn action_key(
    engine: &str,
    technique_id: &str,
    engine_test_id: &str,
    resolved_inputs_sha256: &str,
    target_asset_id: &str,
) -> Result<String, AtomicError> {
    ActionKeyBasis::new(
        engine,
        technique_id,
        engine_test_id,
        resolved_inputs_sha256,
        target_asset_id,
    )
    .action_key()
}

/// `command_material_v1` (SPEC §3 step 9): what an executor runs, redacted, with volatile
/// parts replaced by tokens; `command_sha256` is the bare hex SHA-256 of its RFC 8785 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandMaterial {
    /// Always 1.
    pub v: u32,
    /// The Atomic executor (`sh`, `bash`, `powershell`, ...).
    pub executor: String,
    /// The program run.
    pub executable: String,
    /// Its arguments, secrets redacted.
    pub argv_redacted: Vec<String>,
    /// The working directory (a token when it varies per run).
    pub cwd: String,
    /// Whether the command reads standard input.
    pub stdin_present: bool,
    /// The environment variables the runner sets for it, by name.
    pub env_refs: Vec<String>,
}

impl CommandMaterial {
    /// `command_sha256`: lowercase hex SHA-256 of the material's RFC 8785 bytes.
    pub fn sha256(&self) -> Result<String, AtomicError> {
        Ok(pa_canon::jcs_sha256_hex(self)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Executor, ExecutorName};

    fn test_with(platforms: &[&str], executor: &str) -> AtomicTest {
        AtomicTest {
            name: "t".into(),
            auto_generated_guid: Some("g".into()),
            description: None,
            supported_platforms: platforms.iter().map(|s| s.to_string()).collect(),
            input_arguments: BTreeMap::new(),
            dependency_executor_name: None,
            dependencies: Vec::new(),
            executor: Executor {
                name: ExecutorName::parse(executor),
                elevation_required: false,
                command: Default::default(),
                cleanup_command: Default::default(),
                steps: None,
            },
            line: 0,
        }
    }

    #[test]
    fn requirements_are_derived_overridden_and_canonical() {
        let t = test_with(&["macOS", "linux", "Linux"], "command_prompt");
        let d = Requirements::derived(&t);
        assert_eq!(d.platform_os, vec!["linux", "macos"]);
        assert_eq!(d.tools, vec!["cmd"]);
        assert_eq!(
            serde_json::to_string(&d.to_json()).unwrap(),
            r#"{"platform":{"os":["linux","macos"]},"tools":["cmd"]}"#
        );
        let o = RequirementsOverride {
            platform_os: Some(vec![]),
            privilege: Some("admin".into()),
            tools: Some(vec!["Curl".into(), "bash".into(), "curl".into()]),
        };
        let e = Requirements::effective(&t, Some(&o)).unwrap();
        assert_eq!(
            serde_json::to_string(&e.to_json()).unwrap(),
            r#"{"privilege":"admin","tools":["bash","curl"]}"#
        );
        let bad = RequirementsOverride {
            privilege: Some("root".into()),
            ..Default::default()
        };
        assert_eq!(
            Requirements::effective(&t, Some(&bad))
                .unwrap_err()
                .reason_code(),
            "config_schema_invalid"
        );
        assert_eq!(
            Requirements::derived(&test_with(&[], "pwsh")).tools,
            vec!["unknown_executor"]
        );
    }

    #[test]
    fn identity_map_embeds_alias_and_non_empty_requirements() {
        let inputs: BTreeMap<String, String> = [("b".to_string(), "2".to_string())].into();
        let plain = IdentityInputs::new(&inputs).unwrap();
        assert_eq!(
            plain.sha256().unwrap(),
            pa_canon::sha256_hex(br#"{"b":"2"}"#)
        );
        let full = plain
            .clone()
            .with_principal_alias("admin")
            .with_requirements(&Requirements::derived(&test_with(&["linux"], "sh")));
        assert_eq!(
            pa_canon::jcs_string(&full.to_json()).unwrap(),
            r#"{"__pa_action_requirements_v1":{"platform":{"os":["linux"]},"tools":["sh"]},"__pa_principal_alias_v1":"admin","b":"2"}"#
        );
        let empty = plain.clone().with_requirements(&Requirements::default());
        assert_eq!(empty, plain);
        let redacted = plain.redact(|_, _| "<REDACTED>".into());
        assert_eq!(redacted.inputs()["b"], "<REDACTED>");
        let clash: BTreeMap<String, String> =
            [(PRINCIPAL_ALIAS_KEY.to_string(), "x".to_string())].into();
        assert_eq!(
            IdentityInputs::new(&clash).unwrap_err().reason_code(),
            "reserved_input_key_collision"
        );
    }

    #[test]
    fn action_key_depends_on_every_basis_member() {
        let base = ("atomic", "T1059.001", "g", "0".repeat(64), "asset-1");
        let k = action_key(base.0, base.1, base.2, &base.3, base.4).unwrap();
        assert_eq!(k.len(), 64);
        let others = [
            action_key("recorded", base.1, base.2, &base.3, base.4),
            action_key(base.0, "T1059", base.2, &base.3, base.4),
            action_key(base.0, base.1, "h", &base.3, base.4),
            action_key(base.0, base.1, base.2, &"1".repeat(64), base.4),
            action_key(base.0, base.1, base.2, &base.3, "asset-2"),
        ];
        for o in others {
            assert_ne!(o.unwrap(), k);
        }
    }
}
