//! Errors as the API answers them: a status code and `{"error": "...", "kind": "..."}`, plus the
//! check report when a step is blocked. `kind` is stable for scripts (`ferry migrate` maps it to
//! exit codes); `error` is for people.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_admin::AdminError;
use ferry_control::migration::{CheckReport, EngineError};
use ferry_control::StoreError;
use ferry_metadata::MetadataError;
use serde::{Deserialize, Serialize};

/// What went wrong, in the API's vocabulary (`ferry migrate` reads it back for its exit codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 400: the request is malformed or names something impossible.
    Invalid,
    /// 400: the NameServer knows no cluster of that name.
    UnknownCluster,
    /// 401: no valid credentials.
    Unauthorized,
    /// 403: a console session's change without its CSRF token.
    Forbidden,
    /// 404: no such migration, topic, task or endpoint.
    NotFound,
    /// 409: a health check blocks the step (the body carries the report).
    Blocked,
    /// 409: the step is not allowed where the migration or topic stands.
    Refused,
    /// 502: a NameServer or broker did not answer.
    Unreachable,
    /// 502: a cluster refused Ferry's ACL credentials.
    AuthenticationFailed,
    /// 502: a cluster answered with an error.
    ClusterError,
    /// 500: Ferry itself failed (its store, for instance).
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::Invalid | ErrorKind::UnknownCluster => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Blocked | ErrorKind::Refused => StatusCode::CONFLICT,
            ErrorKind::Unreachable | ErrorKind::AuthenticationFailed | ErrorKind::ClusterError => {
                StatusCode::BAD_GATEWAY
            }
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ApiError {
    pub error: String,
    pub kind: ErrorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<CheckReport>,
    /// What is wrong with an uploaded metadata file, each with its place.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<FileProblem>,
}

/// One problem of an uploaded metadata file: where (`Topics!C7`, `line 3, column 5`) and what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileProblem {
    /// The place as a spreadsheet or editor shows it; empty when the file as a whole is wrong.
    pub place: String,
    pub problem: String,
    /// Confined to one row of a workbook: reading only the valid rows gets past it.
    pub row_only: bool,
}

impl ApiError {
    pub fn new(kind: ErrorKind, error: impl Into<String>) -> ApiError {
        ApiError { error: error.into(), kind, report: None, problems: Vec::new() }
    }

    pub fn invalid(error: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Invalid, error)
    }

    pub fn not_found(error: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::NotFound, error)
    }

    pub fn unauthorized(error: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Unauthorized, error)
    }

    pub fn forbidden(error: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Forbidden, error)
    }

    pub fn internal(error: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Internal, error)
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }
}

fn admin_kind(e: &AdminError) -> ErrorKind {
    match e {
        AdminError::Unreachable { .. } | AdminError::Timeout { .. } | AdminError::ConnectionLost { .. } => {
            ErrorKind::Unreachable
        }
        AdminError::AuthenticationFailed { .. } => ErrorKind::AuthenticationFailed,
        AdminError::UnknownCluster { .. } => ErrorKind::UnknownCluster,
        AdminError::NoNameServer | AdminError::AclFile { .. } => ErrorKind::Invalid,
        _ => ErrorKind::ClusterError,
    }
}

impl ApiError {
    /// A failure of one cluster, named by its role (`source cluster`, `target cluster`).
    pub fn cluster(role: &str, e: &AdminError) -> ApiError {
        ApiError::new(admin_kind(e), format!("{role}: {e}"))
    }

    /// A failure reading or planning metadata on a cluster, named by its role.
    pub fn metadata(role: &str, e: &MetadataError) -> ApiError {
        match e {
            MetadataError::Admin(a) => ApiError::cluster(role, a),
            MetadataError::NoMaster { .. } => ApiError::new(ErrorKind::ClusterError, format!("{role}: {e}")),
            _ => ApiError::invalid(e.to_string()),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let kind = match &e {
            EngineError::Store(s) => return ApiError::from(StoreErrorRef(s)).with_message(e.to_string()),
            EngineError::Source(a) | EngineError::Target(a) => admin_kind(a),
            EngineError::NotFound(_)
            | EngineError::TopicNotFound { .. }
            | EngineError::InstanceNotFound(_) => ErrorKind::NotFound,
            EngineError::Invalid(_) => ErrorKind::Invalid,
            EngineError::Blocked { report, .. } => {
                return ApiError {
                    error: e.to_string(),
                    kind: ErrorKind::Blocked,
                    report: Some(report.clone()),
                    problems: Vec::new(),
                }
            }
            EngineError::Metadata(_) => ErrorKind::Internal,
            _ if e.is_refusal() => ErrorKind::Refused,
            _ => ErrorKind::Internal,
        };
        ApiError::new(kind, e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::from(StoreErrorRef(&e))
    }
}

struct StoreErrorRef<'a>(&'a StoreError);

impl From<StoreErrorRef<'_>> for ApiError {
    fn from(StoreErrorRef(e): StoreErrorRef<'_>) -> ApiError {
        let kind = match e {
            StoreError::TaskNotFound { .. } | StoreError::MigrationNotFound { .. } => ErrorKind::NotFound,
            _ => ErrorKind::Internal,
        };
        ApiError::new(kind, e.to_string())
    }
}

impl ApiError {
    fn with_message(mut self, error: String) -> ApiError {
        self.error = error;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), error = %self.error, "API request failed");
        } else {
            tracing::debug!(status = status.as_u16(), error = %self.error, "API request refused");
        }
        let mut response = (status, Json(self)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"ferry\""));
        }
        response
    }
}
