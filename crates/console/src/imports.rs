//! Metadata imports from the console, as `ferry import` does them: a document uploaded (Ferry's or
//! Apache's JSON, or an `.xlsx` workbook) or a migration's live source, planned against a target
//! cluster. A preview shows every item and what it would become, and every problem of the file
//! with its place, before anything is written; creating runs the plan as an import task whose
//! items are recorded as they finish. Also the empty `.xlsx` templates (`ferry template`).

use std::path::Path as FsPath;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use ferry_admin::{Admin, Cluster};
use ferry_control::migration::{ClusterEndpoint, Migration, MigrationId};
use ferry_control::{NewImportTask, TaskSummary};
use ferry_metadata::import::{
    self, Filter, ImportOptions, ImportPlan, ItemKind, Mode, PlanOnTargetError, Selection,
};
use ferry_metadata::xlsx::{self, CellProblem, Flavor, Problem, ReadOptions, XlsxError};
use ferry_metadata::{export_cluster, Document, ExportOptions, MetadataError};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, FileProblem};
use crate::handlers::{body, ApiResult};
use crate::plan_view::{group_facts, item_view, topic_facts, ItemView};
use crate::ApiState;

/// Items written to the target at once.
const CONCURRENCY: usize = 8;

/// A file as the console uploads it: its name (which tells a workbook from JSON, with its first
/// bytes) and its bytes in base64.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    name: String,
    content: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeName {
    /// Names keep their namespace.
    #[default]
    Cluster,
    /// Every name goes into `namespace`.
    Namespace,
}

/// What to import, from where, to where: the body of `POST /api/imports` and its preview.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportRequest {
    /// A document; or else `migration`.
    #[serde(default)]
    file: Option<Upload>,
    /// The live source of this migration (its target too, unless `target` is given).
    #[serde(default)]
    migration: Option<i64>,
    #[serde(default)]
    target: Option<ClusterEndpoint>,
    /// A workbook's bad rows are left out (and listed) instead of refusing it.
    #[serde(default)]
    valid_rows_only: bool,
    #[serde(default)]
    mode: ModeName,
    #[serde(default)]
    namespace: Option<String>,
    /// Source names (or `*` patterns) to import; absent means all, `[]` none.
    #[serde(default)]
    topics: Option<Vec<String>>,
    #[serde(default)]
    groups: Option<Vec<String>>,
    #[serde(default)]
    accounts: Option<Vec<String>>,
    /// Update items the target has with other settings (otherwise they fail).
    #[serde(default)]
    overwrite: bool,
}

fn filter(names: &Option<Vec<String>>) -> Filter {
    match names {
        None => Filter::All,
        Some(n) if n.is_empty() => Filter::None,
        Some(n) => Filter::Names(n.clone()),
    }
}

impl ImportRequest {
    fn options(&self) -> ApiResult<ImportOptions> {
        let mode = match self.mode {
            ModeName::Cluster => Mode::ToCluster,
            ModeName::Namespace => match self.namespace.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                Some(ns) => Mode::ToNamespace(ns.to_string()),
                None => return Err(ApiError::invalid("mode namespace: name the namespace")),
            },
        };
        Ok(ImportOptions {
            mode,
            selection: Selection {
                topics: filter(&self.topics),
                groups: filter(&self.groups),
                accounts: filter(&self.accounts),
            },
            overwrite: self.overwrite,
            ..ImportOptions::default()
        })
    }

    fn mode_label(&self) -> String {
        match (&self.mode, &self.namespace) {
            (ModeName::Namespace, Some(ns)) => format!("namespace:{}", ns.trim()),
            _ => "cluster".into(),
        }
    }
}

/// A document read from an upload or a live source.
pub(crate) struct SourceDocument {
    pub(crate) doc: Document,
    /// `topics.xlsx`, or `live:<namesrv>/<cluster> (migration N)`.
    label: String,
    /// `xlsx`, `json` (Ferry's) or `apache` (export.sh / exportMetadata), or `live`.
    format: &'static str,
    /// Rows left out of a workbook read with `validRowsOnly`.
    skipped: Vec<FileProblem>,
    warnings: Vec<String>,
}

fn problem_of(p: &Problem) -> FileProblem {
    let text = p.to_string();
    match p {
        Problem::Cell { sheet, row, column, .. } | Problem::DuplicateColumn { sheet, row, column, .. } => {
            let place = format!("{sheet}!{column}{row}");
            let problem = text.strip_prefix(&format!("{place}: ")).unwrap_or(&text).to_string();
            FileProblem { place, problem, row_only: p.is_row_problem() }
        }
        Problem::MissingColumn { sheet, .. } => {
            let problem = text.strip_prefix(&format!("{sheet}: ")).unwrap_or(&text).to_string();
            FileProblem { place: sheet.clone(), problem, row_only: false }
        }
        Problem::NoSheet { .. } => FileProblem { place: String::new(), problem: text, row_only: false },
    }
}

/// A file the console can show problem by problem: 400 with `problems`.
fn refused(summary: impl Into<String>, problems: Vec<FileProblem>) -> ApiError {
    let mut e = ApiError::invalid(summary);
    e.problems = problems;
    e
}

/// Why an upload was not read: its error (with every problem of the file, each placed), and
/// whether it is over one of the bounds Ferry reads files within.
pub(crate) struct Unread {
    error: ApiError,
    /// A cell beyond the rows or cells read, or a workbook unpacking past its limit: refused with
    /// a 400 even by a preview (there is nothing to show row by row).
    over_limit: bool,
}

impl From<ApiError> for Unread {
    fn from(error: ApiError) -> Unread {
        Unread { error, over_limit: false }
    }
}

/// Uploads parsed at once. Each is bounded (64 MiB unpacked, 1.5M cells), but a few of them side
/// by side should not take every core and that much memory each.
static PARSING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Reads an uploaded document on a blocking thread (decoding, unpacking and parsing a hostile
/// file must not hold up the async workers that answer every other request, nor the relays).
async fn read_upload(upload: Upload, valid_rows_only: bool) -> Result<SourceDocument, Unread> {
    let _permit = PARSING.acquire().await.map_err(|_| ApiError::internal("the upload parser is closed"))?;
    let name = upload.name.trim().to_string();
    match tokio::task::spawn_blocking(move || parse_upload(&upload, valid_rows_only)).await {
        Ok(read) => read,
        // A reader that panics on a file (calamine indexes shared strings unchecked, found by
        // fuzzing) refuses that file; the process and every other request go on.
        Err(e) if e.is_panic() => {
            tracing::error!(file = %name, "the reader panicked on an uploaded file");
            Err(ApiError::invalid(format!("{name}: the file could not be read (its reader failed on it)"))
                .into())
        }
        Err(e) => {
            tracing::error!(error = %e, "reading an uploaded file failed");
            Err(ApiError::internal(format!("reading the file failed: {e}")).into())
        }
    }
}

/// Reads an uploaded document: every problem of a bad one, each with its place, is in the error.
fn parse_upload(upload: &Upload, valid_rows_only: bool) -> Result<SourceDocument, Unread> {
    let name = upload.name.trim();
    let name = if name.is_empty() { "upload" } else { name };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(upload.content.trim())
        .map_err(|e| ApiError::invalid(format!("file.content is not base64: {e}")))?;
    if !xlsx::looks_like_xlsx(FsPath::new(name), &bytes) {
        if valid_rows_only {
            return Err(ApiError::invalid(format!(
                "validRowsOnly is for .xlsx workbooks; {name} is not one"
            ))
            .into());
        }
        let doc = Document::from_json(&bytes, name).map_err(|e| {
            let (place, problem) = match &e {
                MetadataError::Parse { location, detail, .. } => {
                    (location.clone().unwrap_or_default(), detail.clone())
                }
                other => (String::new(), other.to_string()),
            };
            refused(e.to_string(), vec![FileProblem { place, problem, row_only: false }])
        })?;
        let format = if doc.ferry.is_some() { "json" } else { "apache" };
        return Ok(SourceDocument {
            doc,
            label: name.to_string(),
            format,
            skipped: Vec::new(),
            warnings: Vec::new(),
        });
    }
    match xlsx::read_workbook(&bytes, name, ReadOptions { valid_rows_only }) {
        Ok(read) => Ok(SourceDocument {
            doc: read.document,
            label: name.to_string(),
            format: "xlsx",
            skipped: read.skipped.iter().map(problem_of).collect(),
            warnings: read.warnings,
        }),
        Err(e) => {
            let over_limit = over_limit(&e);
            let problems = match &e {
                XlsxError::Invalid { problems, .. } if over_limit => {
                    problems.iter().filter(|p| is_too_far(p)).map(problem_of).collect()
                }
                XlsxError::Invalid { problems, .. } => problems.iter().map(problem_of).collect(),
                _ => vec![FileProblem { place: String::new(), problem: e.to_string(), row_only: false }],
            };
            let summary = if over_limit {
                // `big.xlsx: Topics!XFD1048576: cell is beyond ...`: the sheet, the cell and the limit.
                let first = problems.first().map(|p| format!("{}: {}", p.place, p.problem));
                match first {
                    Some(p) if !p.starts_with(": ") => format!("{name}: {p}"),
                    _ => e.to_string(),
                }
            } else {
                e.to_string().lines().next().unwrap_or_default().to_string()
            };
            Err(Unread { error: refused(summary, problems), over_limit })
        }
    }
}

fn is_too_far(p: &Problem) -> bool {
    matches!(p, Problem::Cell { problem: CellProblem::TooFar(_), .. })
}

/// Whether a workbook was refused for a bound rather than for its content: a cell past the rows
/// or cells read (`Topics!XFD1048576`), or parts unpacking past [`xlsx::MAX_UNPACKED`].
fn over_limit(e: &XlsxError) -> bool {
    match e {
        XlsxError::Invalid { problems, .. } => problems.iter().any(is_too_far),
        // The only refusal of a readable ZIP before its sheets are looked at.
        XlsxError::Unreadable { detail, .. } => detail.starts_with("it unpacks to more than"),
        XlsxError::Write(_) => false,
    }
}

/// A migration's source, read live (only read, as `ferry export` does).
pub(crate) async fn read_live_source(m: &Migration) -> ApiResult<SourceDocument> {
    let admin = m.source.admin().map_err(|e| ApiError::cluster("source cluster", &e))?;
    let doc = export_cluster(&admin, &m.source.cluster, &ExportOptions::default(), &|_| {})
        .await
        .map_err(|e| ApiError::metadata("source cluster", &e))?;
    Ok(SourceDocument {
        doc,
        label: format!("live:{}/{} (migration {})", m.source.namesrv, m.source.cluster, m.id),
        format: "live",
        skipped: Vec::new(),
        warnings: Vec::new(),
    })
}

/// A plan against a live target, with what the target was read with.
pub(crate) struct Planned {
    pub admin: Admin,
    pub cluster: Cluster,
    pub target: ClusterEndpoint,
    pub plan: ImportPlan,
}

/// Reads the target (and its ACL when accounts are chosen and the document has some), then plans.
/// A task that cannot be planned at all is `invalid`.
pub(crate) async fn plan_on_target(
    doc: &Document,
    target: &ClusterEndpoint,
    options: &ImportOptions,
) -> ApiResult<Planned> {
    if target.namesrv.trim().is_empty() || target.cluster.trim().is_empty() {
        return Err(ApiError::invalid("target: namesrv and cluster are required"));
    }
    let admin = target.admin().map_err(|e| ApiError::cluster("target cluster", &e))?;
    let cluster =
        admin.cluster(target.cluster.trim()).await.map_err(|e| ApiError::cluster("target cluster", &e))?;
    let (_, plan) =
        import::plan_on_target(&admin, &cluster, doc, options, None).await.map_err(|e| match e {
            PlanOnTargetError::Target(e) | PlanOnTargetError::Acl(e) => {
                ApiError::metadata("target cluster", &e)
            }
            PlanOnTargetError::Plan(e) => ApiError::invalid(e.to_string()),
        })?;
    Ok(Planned { admin, cluster, target: target.clone(), plan })
}

/// The answer of a preview.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// Whether the file can be imported (with `validRowsOnly`, a workbook whose every problem is
    /// confined to a row is).
    valid: bool,
    /// The file's name, or the live source.
    source: String,
    format: Option<&'static str>,
    /// Everything wrong with the file, each with its place; rows left out with `validRowsOnly`.
    problems: Vec<FileProblem>,
    /// The first line of the error when the file is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_mapping: Option<String>,
    /// Namespaces the items land in.
    namespaces: Vec<String>,
    topics: Vec<ItemView>,
    groups: Vec<ItemView>,
    accounts: Vec<ItemView>,
}

fn preview_of(source: &SourceDocument, plan: &ImportPlan) -> Preview {
    let (topic_facts, group_facts) = (topic_facts(&source.doc), group_facts(&source.doc));
    let view = |kind: ItemKind| -> Vec<ItemView> {
        plan.items
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| item_view(i, &topic_facts, &group_facts))
            .collect()
    };
    let mut warnings = source.warnings.clone();
    warnings.extend(plan.warnings.iter().cloned());
    Preview {
        valid: true,
        source: source.label.clone(),
        format: Some(source.format),
        problems: source.skipped.clone(),
        error: None,
        warnings,
        queue_mapping: Some(plan.queue_mapping_explained.clone()),
        namespaces: plan.namespaces.iter().map(|n| n.name.clone()).collect(),
        topics: view(ItemKind::Topic),
        groups: view(ItemKind::Group),
        accounts: view(ItemKind::Account),
    }
}

/// The source document and the target of a request (its uploaded file taken out of it).
async fn resolve(
    state: &ApiState,
    req: &mut ImportRequest,
) -> Result<(SourceDocument, ClusterEndpoint), Unread> {
    let migration = match req.migration {
        Some(id) => Some(state.engine.migration(MigrationId(id)).await.map_err(ApiError::from)?),
        None => None,
    };
    let source = match (req.file.take(), &migration) {
        (Some(file), None) => read_upload(file, req.valid_rows_only).await?,
        (None, Some(m)) => read_live_source(m).await?,
        _ => {
            return Err(ApiError::invalid(
                "give the source: file (an uploaded document) or migration (its live source)",
            )
            .into())
        }
    };
    let target = match (&req.target, &migration) {
        (Some(t), _) => t.clone(),
        (None, Some(m)) => m.target.clone(),
        (None, None) => return Err(ApiError::invalid("target: namesrv and cluster are required").into()),
    };
    if target.access_key.is_some() != target.secret_key.is_some() {
        return Err(ApiError::invalid("target: give both accessKey and secretKey, or neither").into());
    }
    Ok((source, target))
}

/// `POST /api/imports/preview`: what an import would do, nothing written. A file with problems
/// is answered `200` with `valid: false` and every problem with its place; a file over one of
/// the bounds files are read within (a cell past row 100,000, parts unpacking past 64 MiB) is a
/// `400` naming the place and the bound.
pub async fn preview(State(state): State<ApiState>, bytes: Bytes) -> ApiResult<Json<Preview>> {
    let mut req: ImportRequest = body(&bytes)?;
    drop(bytes);
    let options = req.options()?;
    let file_name = req.file.as_ref().map(|f| f.name.clone()).unwrap_or_default();
    let (source, target) = match resolve(&state, &mut req).await {
        Ok(r) => r,
        Err(Unread { error: e, over_limit: false }) if !e.problems.is_empty() => {
            return Ok(Json(Preview {
                valid: false,
                source: file_name,
                format: None,
                problems: e.problems,
                error: Some(e.error),
                warnings: Vec::new(),
                queue_mapping: None,
                namespaces: Vec::new(),
                topics: Vec::new(),
                groups: Vec::new(),
                accounts: Vec::new(),
            }))
        }
        Err(u) => return Err(u.error),
    };
    let planned = plan_on_target(&source.doc, &target, &options).await?;
    let answer = preview_of(&source, &planned.plan);
    Ok(Json(answer))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    task: TaskSummary,
    /// Items planned; their results are recorded on the task as they finish.
    planned: usize,
}

/// `POST /api/imports`: plans (refusing a file with problems, naming each), records an import
/// task and runs it in the background: `201` with the task, whose items fill in as they finish.
pub async fn create(State(state): State<ApiState>, bytes: Bytes) -> ApiResult<Response> {
    let mut req: ImportRequest = body(&bytes)?;
    drop(bytes);
    let options = req.options()?;
    let mode = req.mode_label();
    let store = state.engine.store().clone();
    let (source, target) = resolve(&state, &mut req).await.map_err(|u| u.error)?;
    let planned = plan_on_target(&source.doc, &target, &options).await?;
    let task = store
        .create_import_task(NewImportTask {
            target_namesrv: planned.admin.namesrvs().join(";"),
            target_cluster: planned.cluster.name.clone(),
            source: source.label.clone(),
            mode,
        })
        .await?;
    let count = planned.plan.items.len();
    tracing::info!(%task, target = %planned.target.cluster, items = count, "import task started from the console");
    let summary = match store.task(task, None).await? {
        Some((summary, _)) => summary,
        None => return Err(ApiError::internal(format!("task {task} was not recorded"))),
    };
    run_in_background(store, task, planned);
    Ok((StatusCode::CREATED, Json(Created { task: summary, planned: count })).into_response())
}

/// Carries out a plan as task `task` in the background, each item recorded as it finishes.
fn run_in_background(store: ferry_control::Store, task: ferry_control::TaskId, planned: Planned) {
    tokio::spawn(async move {
        let (target, cluster, plan) = (&planned.admin, &planned.cluster, &planned.plan);
        match store.carry_out_import(task, target, cluster, plan, CONCURRENCY, &|_| {}).await {
            Ok((_, status)) => tracing::info!(%task, %status, "import task finished"),
            Err(e) => tracing::error!(%task, error = %e, "finishing the import task failed"),
        }
    });
}

/// `GET /api/templates/{file}`: an empty workbook to fill in, `4.x.xlsx` or `5.x.xlsx`.
pub async fn template(Path(file): Path<String>) -> ApiResult<Response> {
    let flavor: Flavor = file
        .strip_suffix(".xlsx")
        .ok_or_else(|| ApiError::not_found(format!("no template {file:?}: 4.x.xlsx or 5.x.xlsx")))?
        .parse()
        .map_err(|_| ApiError::not_found(format!("no template {file:?}: 4.x.xlsx or 5.x.xlsx")))?;
    let bytes = xlsx::template(flavor).map_err(|e| ApiError::internal(e.to_string()))?;
    let disposition = format!("attachment; filename=\"ferry-template-{}.xlsx\"", flavor.label());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
