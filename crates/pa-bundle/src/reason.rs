//! The closed reason-code catalog (SPEC §2, ADR-0005 of the public spec), as typed enums
//! per stage, plus the few codes this project adds (docs/adr/0002-reason-codes.md).

use crate::stage::Stage;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! catalog {
    ($(#[$m:meta])* $name:ident { $($var:ident => $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($var),* }
        impl $name {
            /// Every code of this catalog.
            pub const ALL: &'static [$name] = &[$($name::$var),*];
            /// The wire form of the code.
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $s),* } }
            /// Parse the wire form.
            pub fn parse(s: &str) -> Option<$name> { match s { $($s => Some($name::$var),)* _ => None } }
        }
    };
}

catalog! {
    /// Codes any stage may use.
    CommonReason {
        RedactionPolicyError => "redaction_policy_error",
        ConfigSchemaInvalid => "config_schema_invalid",
        ContractValidationFailed => "contract_validation_failed",
        InputMissing => "input_missing",
        IntegrationCredentialsMissing => "integration_credentials_missing",
        IntegrationCredentialsInvalid => "integration_credentials_invalid",
        IntegrationCredentialsLeaked => "integration_credentials_leaked",
        LockAcquisitionFailed => "lock_acquisition_failed",
        StorageIoError => "storage_io_error",
        BlockedByUpstreamFailure => "blocked_by_upstream_failure",
        // Project additions (ADR-0002): the driver's view of a stage process.
        StageBinaryNotFound => "stage_binary_not_found",
        StageProcessFailed => "stage_process_failed",
        StageInterrupted => "stage_interrupted",
    }
}

catalog! {
    /// lab_provider codes.
    LabProviderReason {
        InventoryResolutionFailed => "inventory_resolution_failed",
        AssetIdCollision => "asset_id_collision",
        InvalidInventoryFormat => "invalid_inventory_format",
        ProviderApiError => "provider_api_error",
        UnstableAssetIdResolution => "unstable_asset_id_resolution",
        PartialConnectivity => "partial_connectivity",
        ConnectivityCheckError => "connectivity_check_error",
    }
}

catalog! {
    /// runner codes.
    RunnerReason {
        TargetConnectionAddressMissing => "target_connection_address_missing",
        UnstableAssetIdResolution => "unstable_asset_id_resolution",
        PlanTypeReserved => "plan_type_reserved",
        InteractivePromptBlocked => "interactive_prompt_blocked",
        PlanExpansionLimit => "plan_expansion_limit",
        InvalidPostureMode => "invalid_posture_mode",
        ExecutorNotFound => "executor_not_found",
        DisallowedRuntimeSelfUpdate => "disallowed_runtime_self_update",
        GroundTruthWriteFailed => "ground_truth_write_failed",
        ActionKeyCollision => "action_key_collision",
        InvalidLifecycleTransition => "invalid_lifecycle_transition",
        UnsafeRerunBlocked => "unsafe_rerun_blocked",
        CleanupInvocationFailed => "cleanup_invocation_failed",
        PrepareFailed => "prepare_failed",
        ExecuteFailed => "execute_failed",
        RevertFailed => "revert_failed",
        TeardownFailed => "teardown_failed",
        CleanupVerificationFailed => "cleanup_verification_failed",
        ActionTimeout => "action_timeout",
        DriftDetected => "drift_detected",
        ReconcileFailed => "reconcile_failed",
        // Project additions (ADR-0010): live labs.
        LocalExecutionNotAllowed => "local_execution_not_allowed",
        TargetUnreachable => "target_unreachable",
        CaptureSetupFailed => "capture_setup_failed",
    }
}

catalog! {
    /// telemetry codes.
    TelemetryReason {
        RequiredSourceMissing => "required_source_missing",
        SourceNotImplemented => "source_not_implemented",
        BaselineProfileMissing => "baseline_profile_missing",
        BaselineProfileInvalid => "baseline_profile_invalid",
        BaselineProfileNotMet => "baseline_profile_not_met",
        CollectorStartupFailed => "collector_startup_failed",
        CheckpointStoreCorrupt => "checkpoint_store_corrupt",
        AgentHeartbeatMissing => "agent_heartbeat_missing",
        ClockOffsetExceeded => "clock_offset_exceeded",
        ClockOffsetUnmeasurable => "clock_offset_unmeasurable",
        DiskFreeSpaceInsufficient => "disk_free_space_insufficient",
        DiskMetricsMissing => "disk_metrics_missing",
        ResourceBudgetsUnconfigured => "resource_budgets_unconfigured",
        ResourceMetricsMissing => "resource_metrics_missing",
        EpsTargetNotMet => "eps_target_not_met",
        EgressCanaryUnconfigured => "egress_canary_unconfigured",
        EgressProbeUnavailable => "egress_probe_unavailable",
        EgressViolation => "egress_violation",
        RawXmlUnavailable => "raw_xml_unavailable",
        CheckpointLoss => "checkpoint_loss",
        PublisherMetadataUnavailable => "publisher_metadata_unavailable",
        UnixSourceOverlapActive => "unix_source_overlap_active",
        WinlogRawMissing => "winlog_raw_missing",
        WinlogRenderingDetected => "winlog_rendering_detected",
        WinlogXmlParseFailed => "winlog_xml_parse_failed",
        WinlogCanaryMismatch => "winlog_canary_mismatch",
        // Project additions (ADR-0010): live audit capture.
        CaptureSessionMissing => "capture_session_missing",
        AuditLogUnavailable => "audit_log_unavailable",
        AuditEventsLost => "audit_events_lost",
        CaptureCanaryMissing => "capture_canary_missing",
    }
}

catalog! {
    /// normalization codes.
    NormalizationReason {
        MappingProfileInvalid => "mapping_profile_invalid",
        OcsfSchemaMismatch => "ocsf_schema_mismatch",
        EventIdGenerationFailed => "event_id_generation_failed",
        PayloadTooLargeWithoutRawPreservation => "payload_too_large_without_raw_preservation",
        NormalizedStoreIncompatible => "normalized_store_incompatible",
        TimestampParseFailed => "timestamp_parse_failed",
        UnmappedSourceType => "unmapped_source_type",
        MissingCoreField => "missing_core_field",
        Tier1CoverageBelowGate => "tier1_coverage_below_gate",
        NormalizedStoreReused => "normalized_store_reused",
    }
}

catalog! {
    /// validation codes.
    ValidationReason {
        CriteriaPackError => "criteria_pack_error",
        GroundTruthMissing => "ground_truth_missing",
        TimeWindowError => "time_window_error",
        CriteriaQueryFailed => "criteria_query_failed",
        RunTimeout => "run_timeout",
        DiskLimitExceeded => "disk_limit_exceeded",
        MemoryLimitExceeded => "memory_limit_exceeded",
        OomKilled => "oom_killed",
    }
}

catalog! {
    /// detection codes.
    DetectionReason {
        BridgeMappingPackInvalid => "bridge_mapping_pack_invalid",
        BackendDriverFailed => "backend_driver_failed",
        SigmaRulesetLoadFailed => "sigma_ruleset_load_failed",
        DetectionBudgetExceeded => "detection_budget_exceeded",
        DetectionBudgetMetricsMissing => "detection_budget_metrics_missing",
        // Project additions (ADR-0019, `--engine duckdb`): the SQL engine is not installed; the
        // normalized store's layout is not one the SQL compiler knows.
        SqlEngineUnavailable => "sql_engine_unavailable",
        SqlStoreIncompatible => "sql_store_incompatible",
        // `--engine spark`: the hits given are not the output of this rule set's Spark script
        // over this store.
        SqlResultsMismatch => "sql_results_mismatch",
    }
}

catalog! {
    /// scoring codes.
    ScoringReason {
        SummaryWriteFailed => "summary_write_failed",
        ScoringSummaryInvalid => "scoring_summary_invalid",
        JoinIncompleteness => "join_incompleteness",
        JoinPartial => "join_partial",
        // Project addition (scoring.thresholds substage): a threshold gate is not met.
        ThresholdViolated => "threshold_violated",
    }
}

catalog! {
    /// reporting codes.
    ReportingReason {
        ReportWriteFailed => "report_write_failed",
        HtmlRenderError => "html_render_error",
        BaselineMissing => "baseline_missing",
        BaselineIncompatible => "baseline_incompatible",
        RegressionCompareFailed => "regression_compare_failed",
        ThresholdsNotMet => "thresholds_not_met",
    }
}

catalog! {
    /// signing codes.
    SigningReason {
        SigningKeyUnavailable => "signing_key_unavailable",
        SignatureWriteFailed => "signature_write_failed",
        SignatureVerificationFailed => "signature_verification_failed",
    }
}

/// A reason code from the closed catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReasonCode {
    Common(CommonReason),
    LabProvider(LabProviderReason),
    Runner(RunnerReason),
    Telemetry(TelemetryReason),
    Normalization(NormalizationReason),
    Validation(ValidationReason),
    Detection(DetectionReason),
    Scoring(ScoringReason),
    Reporting(ReportingReason),
    Signing(SigningReason),
}

impl ReasonCode {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Common(c) => c.as_str(),
            ReasonCode::LabProvider(c) => c.as_str(),
            ReasonCode::Runner(c) => c.as_str(),
            ReasonCode::Telemetry(c) => c.as_str(),
            ReasonCode::Normalization(c) => c.as_str(),
            ReasonCode::Validation(c) => c.as_str(),
            ReasonCode::Detection(c) => c.as_str(),
            ReasonCode::Scoring(c) => c.as_str(),
            ReasonCode::Reporting(c) => c.as_str(),
            ReasonCode::Signing(c) => c.as_str(),
        }
    }

    /// Whether a stage may record this code.
    pub fn allowed_for(self, stage: Stage) -> bool {
        matches!(
            (self, stage),
            (ReasonCode::Common(_), _)
                | (ReasonCode::LabProvider(_), Stage::LabProvider)
                | (ReasonCode::Runner(_), Stage::Runner)
                | (ReasonCode::Telemetry(_), Stage::Telemetry)
                | (ReasonCode::Normalization(_), Stage::Normalization)
                | (ReasonCode::Validation(_), Stage::Validation)
                | (ReasonCode::Detection(_), Stage::Detection)
                | (ReasonCode::Scoring(_), Stage::Scoring)
                | (ReasonCode::Reporting(_), Stage::Reporting)
                | (ReasonCode::Signing(_), Stage::Signing)
        )
    }

    /// Parse a code as recorded by `stage`: common codes first, then the stage's own.
    pub fn parse_for(stage: Stage, s: &str) -> Option<ReasonCode> {
        if let Some(c) = CommonReason::parse(s) {
            return Some(ReasonCode::Common(c));
        }
        match stage {
            Stage::LabProvider => LabProviderReason::parse(s).map(ReasonCode::LabProvider),
            Stage::Runner => RunnerReason::parse(s).map(ReasonCode::Runner),
            Stage::Telemetry => TelemetryReason::parse(s).map(ReasonCode::Telemetry),
            Stage::Normalization => NormalizationReason::parse(s).map(ReasonCode::Normalization),
            Stage::Validation => ValidationReason::parse(s).map(ReasonCode::Validation),
            Stage::Detection => DetectionReason::parse(s).map(ReasonCode::Detection),
            Stage::Scoring => ScoringReason::parse(s).map(ReasonCode::Scoring),
            Stage::Reporting => ReportingReason::parse(s).map(ReasonCode::Reporting),
            Stage::Signing => SigningReason::parse(s).map(ReasonCode::Signing),
        }
    }

    /// Every code of the catalog, in wire form, sorted and deduplicated.
    pub fn all_codes() -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        v.extend(CommonReason::ALL.iter().map(|c| c.as_str()));
        v.extend(LabProviderReason::ALL.iter().map(|c| c.as_str()));
        v.extend(RunnerReason::ALL.iter().map(|c| c.as_str()));
        v.extend(TelemetryReason::ALL.iter().map(|c| c.as_str()));
        v.extend(NormalizationReason::ALL.iter().map(|c| c.as_str()));
        v.extend(ValidationReason::ALL.iter().map(|c| c.as_str()));
        v.extend(DetectionReason::ALL.iter().map(|c| c.as_str()));
        v.extend(ScoringReason::ALL.iter().map(|c| c.as_str()));
        v.extend(ReportingReason::ALL.iter().map(|c| c.as_str()));
        v.extend(SigningReason::ALL.iter().map(|c| c.as_str()));
        v.sort_unstable();
        v.dedup();
        v
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<CommonReason> for ReasonCode {
    fn from(c: CommonReason) -> Self {
        ReasonCode::Common(c)
    }
}

macro_rules! from_stage {
    ($($t:ident => $v:ident),*) => { $(impl From<$t> for ReasonCode { fn from(c: $t) -> Self { ReasonCode::$v(c) } })* };
}
from_stage!(LabProviderReason => LabProvider, RunnerReason => Runner, TelemetryReason => Telemetry,
    NormalizationReason => Normalization, ValidationReason => Validation, DetectionReason => Detection,
    ScoringReason => Scoring, ReportingReason => Reporting, SigningReason => Signing);

impl Serialize for ReasonCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Deserialization without a stage context resolves the first catalog holding the code.
impl<'de> Deserialize<'de> for ReasonCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Stage::ALL
            .into_iter()
            .find_map(|st| ReasonCode::parse_for(st, &s))
            .ok_or_else(|| serde::de::Error::custom(format!("unknown reason code {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_scoped() {
        for st in Stage::ALL {
            for code in ReasonCode::all_codes() {
                if let Some(rc) = ReasonCode::parse_for(st, code) {
                    assert_eq!(rc.as_str(), code);
                    assert!(rc.allowed_for(st));
                }
            }
        }
        assert!(ReasonCode::parse_for(Stage::Detection, "prepare_failed").is_none());
        assert!(ReasonCode::parse_for(Stage::Runner, "prepare_failed").is_some());
        assert!(ReasonCode::parse_for(Stage::Scoring, "input_missing").is_some());
        assert!(!ReasonCode::Runner(RunnerReason::PrepareFailed).allowed_for(Stage::Detection));
    }

    #[test]
    fn serde_uses_wire_form() {
        let rc = ReasonCode::from(DetectionReason::SigmaRulesetLoadFailed);
        let s = serde_json::to_string(&rc).unwrap();
        assert_eq!(s, "\"sigma_ruleset_load_failed\"");
        let back: ReasonCode = serde_json::from_str(&s).unwrap();
        assert_eq!(back, rc);
        assert!(serde_json::from_str::<ReasonCode>("\"made_up\"").is_err());
    }
}
