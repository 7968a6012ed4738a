//! The NameServer front: where clients now point. Routes of migrating topics are merged from both
//! clusters by stage; every other topic passes through as the source has it, broker addresses
//! replaced by relays. Other reads (topic lists, KV config) go to the source's NameServers
//! unchanged and their answers come back unchanged, so admin tools keep reading through Ferry;
//! writes (registering brokers, KV config, deleting topics) are refused.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use ferry_admin::{Admin, AdminError, AdminOptions};
use ferry_remoting::body::{ClusterInfo, TopicRouteData};
use ferry_remoting::code::{RequestCode, ResponseCode};
use ferry_remoting::frame;
use ferry_remoting::header::Flags;
use ferry_remoting::request::{GetRouteInfoRequestHeader, RequestHeader};
use ferry_remoting::{fastjson, Frame};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::limits::{self, Admission, Admitted, ClientQueue, FrameReader, PartialFrames, ReadError};

use crate::relay::{RelayError, RelayTable};
use crate::route::{self, RouteError, Side};
use crate::stage::{Stage, StageTable};

/// `MQVersion.Version.V4_9_4`: from this client version on, NameServers answer routes in
/// standard JSON (`ClientRequestProcessor` / `DefaultRequestProcessor.getRouteInfoByTopic`).
const V4_9_4: i32 = 401;

/// The clusters behind the front.
pub struct Upstreams {
    pub source: Admin,
    pub target: Option<Admin>,
}

impl Upstreams {
    /// NameServer lists (`host:port;host:port`). No credentials: routes are not access-controlled,
    /// and requests passed on must keep the client's own signature.
    pub fn new(source_namesrv: &str, target_namesrv: Option<&str>) -> Result<Upstreams, AdminError> {
        let options = AdminOptions { request_timeout: Duration::from_secs(5), ..AdminOptions::default() };
        Ok(Upstreams {
            source: Admin::new(source_namesrv, options.clone())?,
            target: target_namesrv.map(|t| Admin::new(t, options)).transpose()?,
        })
    }
}

/// One client's last route fetch of one topic.
#[derive(Clone, Debug, Serialize)]
pub struct RouteFetch {
    /// The client's address as the front saw it (its NameServer connection).
    pub client: String,
    #[serde(with = "crate::unix_millis")]
    pub at: SystemTime,
    /// The stage-table epoch the route was built from; 0 for a topic outside the migration.
    pub epoch: u64,
    pub stage: Option<Stage>,
    /// Time between this client's last two fetches of the topic: how often it re-reads routes
    /// (30 s by default in the Java and Go clients, `pollNameServerInterval`).
    #[serde(rename = "everyMs", with = "every_millis")]
    pub every: Option<Duration>,
}

mod every_millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }
}

/// Route fetches kept at most (topic x client connection): a stranger opening connections and
/// asking for made-up topics must not grow Ferry's memory without bound. Beyond it new pairs are
/// not recorded; the relays still see those clients, and `route-settled` waits for them.
const MAX_FETCHES: usize = 200_000;

/// Who asked for which topic's route, and what they were given: how the engine knows a stage
/// change has reached every client. A client is known by its open NameServer connection; when
/// that closes its fetches go (the client left, or asks again on a new connection).
#[derive(Default)]
pub struct RouteWatch {
    fetches: RwLock<HashMap<String, HashMap<String, RouteFetch>>>,
    /// Each migrating topic's last route per side, as merged from: what a strict-order hold keeps
    /// steady when a master leaves the NameServer's route (`route::keep_lost_brokers`).
    last: std::sync::Mutex<HashMap<(Side, String), TopicRouteData>>,
}

impl RouteWatch {
    /// Keeps `route` (of a migrating topic) for next time; under a strict-order hold, first puts
    /// back the brokers the previous one had and this one lost. Returns their names.
    pub(crate) fn steady(
        &self,
        side: Side,
        topic: &str,
        route: &mut TopicRouteData,
        held: bool,
    ) -> Vec<String> {
        let mut last = self.last.lock().expect("last routes lock");
        let key = (side, topic.to_string());
        let kept = match (held, last.get(&key)) {
            (true, Some(previous)) => route::keep_lost_brokers(route, previous),
            _ => Vec::new(),
        };
        last.insert(key, route.clone());
        kept
    }

    /// Forgets the last routes of topics no longer migrating.
    pub fn retain_topics(&self, migrating: impl Fn(&str) -> bool) {
        self.last.lock().expect("last routes lock").retain(|(_, topic), _| migrating(topic));
    }

    pub(crate) fn record(&self, topic: &str, mut fetch: RouteFetch) {
        let mut all = self.fetches.write().expect("route watch lock");
        let size: usize = all.values().map(HashMap::len).sum();
        let known = all.get(topic).and_then(|m| m.get(&fetch.client));
        if known.is_none() && size >= MAX_FETCHES {
            tracing::warn!(client = %fetch.client, %topic, "route fetch not recorded: {MAX_FETCHES} kept already");
            return;
        }
        if let Some(previous) = known {
            fetch.every = fetch.at.duration_since(previous.at).ok().or(previous.every);
        }
        all.entry(topic.to_string()).or_default().insert(fetch.client.clone(), fetch);
    }

    /// A client's NameServer connection closed: what it was given no longer tells anything.
    pub(crate) fn closed(&self, client: &str) {
        let mut all = self.fetches.write().expect("route watch lock");
        for fetches in all.values_mut() {
            fetches.remove(client);
        }
        all.retain(|_, fetches| !fetches.is_empty());
    }

    /// Every open client connection that fetched `topic`, however long ago, latest first.
    pub fn holders(&self, topic: &str) -> Vec<RouteFetch> {
        let all = self.fetches.read().expect("route watch lock");
        let mut holders: Vec<RouteFetch> =
            all.get(topic).into_iter().flat_map(|m| m.values()).cloned().collect();
        holders.sort_by_key(|f| std::cmp::Reverse(f.at));
        holders
    }

    /// Clients that fetched `topic` within `active_within`, latest first.
    pub fn recent(&self, topic: &str, active_within: Duration) -> Vec<RouteFetch> {
        let now = SystemTime::now();
        let mut recent = self.holders(topic);
        recent.retain(|f| now.duration_since(f.at).map(|d| d <= active_within).unwrap_or(true));
        recent
    }
}

#[cfg(test)]
mod watch_tests {
    use super::*;

    fn fetch(client: &str, at_secs: u64, epoch: u64) -> RouteFetch {
        RouteFetch {
            client: client.into(),
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(at_secs),
            epoch,
            stage: None,
            every: None,
        }
    }

    #[test]
    fn a_client_is_known_until_its_connection_closes_and_its_cadence_is_learnt() {
        let w = RouteWatch::default();
        w.record("orders", fetch("10.0.0.5:5000", 100, 1));
        w.record("orders", fetch("10.0.0.6:5000", 100, 1));
        assert_eq!(w.holders("orders")[0].every, None, "one fetch says nothing of the cadence");
        w.record("orders", fetch("10.0.0.5:5000", 130, 2));
        let h = w.holders("orders");
        assert_eq!(
            (h[0].client.as_str(), h[0].epoch, h[0].every),
            ("10.0.0.5:5000", 2, Some(Duration::from_secs(30)))
        );
        assert_eq!(h.len(), 2, "a fetch long ago is still a holder: it has not asked again");
        w.closed("10.0.0.6:5000");
        assert_eq!(w.holders("orders").len(), 1);
        w.closed("10.0.0.5:5000");
        assert!(w.holders("orders").is_empty());
        assert!(w.fetches.read().unwrap().is_empty(), "nothing kept of closed connections");
    }
}

pub(crate) struct FrontContext {
    pub stages: Arc<StageTable>,
    /// Admin clients of the targets topics name (see `StageTable::set_target`), by NameServer list.
    pub targets: std::sync::Mutex<HashMap<String, Arc<Admin>>>,
    pub relays: Arc<RelayTable>,
    pub upstreams: RwLock<Option<Arc<Upstreams>>>,
    pub watch: Arc<RouteWatch>,
    pub max_frame: usize,
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Open connections against [`crate::ProxyConfig::front_connections`].
    pub admission: Arc<Admission>,
    /// The frame timeout and the budget of large unfinished frames, the relays' own.
    pub partial: Arc<PartialFrames>,
    /// Bytes of answers queued toward one client at most.
    pub queue_bytes: usize,
}

impl FrontContext {
    fn target_admin(&self, namesrv: &str) -> Result<Arc<Admin>, AdminError> {
        let mut targets = self.targets.lock().expect("targets lock");
        if let Some(a) = targets.get(namesrv) {
            return Ok(a.clone());
        }
        let options = AdminOptions { request_timeout: Duration::from_secs(5), ..AdminOptions::default() };
        let admin = Arc::new(Admin::new(namesrv, options)?);
        targets.insert(namesrv.to_string(), admin.clone());
        Ok(admin)
    }
}

pub(crate) async fn serve(listener: TcpListener, ctx: Arc<FrontContext>) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = ctx.shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                // Over a cap: closed at once (dropped), logged by the admission now and then.
                let Ok(admitted) = ctx.admission.admit(peer) else { continue };
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(stream, peer, ctx.clone(), admitted));
            }
            Err(e) => {
                tracing::warn!(error = %e, "NameServer front accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Requests of one connection answered at once; reading pauses beyond that.
const MAX_REQUESTS_PER_CONNECTION: usize = 64;

#[derive(Debug, thiserror::Error)]
enum FrontError {
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("bad frame: {0}")]
    Codec(#[from] ferry_remoting::CodecError),
}

/// One client connection: requests read within the frame timeout and the budget of large frames,
/// answered concurrently (up to [`MAX_REQUESTS_PER_CONNECTION`]), answers queued within the
/// connection's bound in bytes.
async fn serve_connection(stream: TcpStream, peer: SocketAddr, ctx: Arc<FrontContext>, _admitted: Admitted) {
    let (mut r, mut w) = stream.into_split();
    let (queue, mut answers) = ClientQueue::new(ctx.queue_bytes);
    let writer = async move {
        while let Some(queued) = answers.recv().await {
            if w.write_all(&queued.bytes).await.is_err() {
                return;
            }
        }
    };
    let reader = async {
        let mut buf = BytesMut::with_capacity(limits::READ_BUFFER);
        let mut frames = FrameReader::new(ctx.partial.clone());
        let permits = Arc::new(Semaphore::new(MAX_REQUESTS_PER_CONNECTION));
        loop {
            let mut progressed = false;
            while let Some(request) = frame::decode(&mut buf, ctx.max_frame)? {
                progressed = true;
                if request.header.is_response() {
                    continue;
                }
                let permit = permits.clone().acquire_owned().await.expect("never closed");
                tokio::spawn(answer_request(ctx.clone(), peer, request, queue.clone(), permit));
            }
            if !frames.read_more(&mut r, &mut buf, progressed).await? {
                return Ok::<(), FrontError>(());
            }
        }
    };
    let ended = tokio::select! {
        r = reader => r,
        _ = writer => Ok(()),
        _ = ctx.shutdown.cancelled() => Ok(()),
    };
    ctx.watch.closed(&peer.to_string());
    match ended {
        Ok(()) => tracing::debug!(client = %peer, "NameServer-front connection closed"),
        Err(FrontError::Read(e @ ReadError::FrameTimeout { .. })) => {
            ctx.partial.log_timeout("NameServer front", &peer.to_string(), &e)
        }
        Err(e) => tracing::warn!(client = %peer, error = %e, "NameServer-front connection dropped"),
    }
}

async fn answer_request(
    ctx: Arc<FrontContext>,
    peer: SocketAddr,
    request: Frame,
    queue: ClientQueue,
    _permit: OwnedSemaphorePermit,
) {
    let opaque = request.header.opaque;
    let oneway = request.header.is_oneway();
    let code = request.header.request_code();
    let serialize_type = request.serialize_type;
    // On a task of its own, so that a panic answering is an error answer, not a lost one.
    let answered = tokio::spawn(async move { answer(&ctx, peer, request).await }).await;
    if oneway {
        return;
    }
    let mut response = answered.unwrap_or_else(|e| {
        Frame::response(ResponseCode::SYSTEM_ERROR, opaque).with_remark(format!("handler failed: {e}"))
    });
    response.header.opaque = opaque;
    response.header.flag.0 |= Flags::RESPONSE;
    // Answer in the encoding the peer used.
    response.serialize_type = serialize_type;
    match frame::encode_to_bytes(&response) {
        Ok(bytes) => {
            let _ = queue.send(bytes).await;
        }
        Err(e) => tracing::warn!(%code, error = %e, "NameServer-front answer cannot be encoded"),
    }
}

fn error(code: ResponseCode, remark: impl Into<String>) -> Frame {
    Frame::response(code, 0).with_remark(remark)
}

async fn answer(ctx: &FrontContext, peer: SocketAddr, request: Frame) -> Frame {
    let upstreams = ctx.upstreams.read().expect("upstreams lock").clone();
    let Some(up) = upstreams else {
        return error(
            ResponseCode::SYSTEM_ERROR,
            "Ferry has no source cluster yet: create a migration task (or set [source] in ferry.toml)",
        );
    };
    match request.header.request_code() {
        RequestCode::GET_ROUTEINFO_BY_TOPIC => route_answer(ctx, &up, peer, &request).await,
        RequestCode::GET_BROKER_CLUSTER_INFO => cluster_info_answer(ctx, &up, request).await,
        code if passes_through(code) => match up.source.forward_namesrv(request).await {
            Ok(response) => response,
            Err(e) => error(ResponseCode::SYSTEM_ERROR, format!("source NameServer: {e}")),
        },
        code => {
            tracing::warn!(client = %peer, %code, "NameServer-front request refused: not a read");
            error(
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                format!(
                    "Ferry's NameServer front passes on only what clients and tools read ({code} is not one): send \
                     it to the source's own NameServer"
                ),
            )
        }
    }
}

/// The NameServer requests that only read (`DefaultRequestProcessor` and `ClientRequestProcessor`
/// of apache/rocketmq's namesrv): the front passes these on to the source unchanged. Everything
/// else (REGISTER_BROKER, PUT_KV_CONFIG, DELETE_TOPIC_IN_NAMESRV, WIPE_WRITE_PERM_OF_BROKER ...)
/// changes a cluster and is refused: whoever reaches Ferry must not reach the source's NameServer
/// with writes through it.
fn passes_through(code: RequestCode) -> bool {
    matches!(
        code,
        RequestCode::GET_KV_CONFIG
            | RequestCode::GET_KVLIST_BY_NAMESPACE
            | RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER
            | RequestCode::GET_TOPICS_BY_CLUSTER
            | RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS
            | RequestCode::GET_UNIT_TOPIC_LIST
            | RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST
            | RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST
            | RequestCode::GET_NAMESRV_CONFIG
            | RequestCode::GET_BROKER_MEMBER_GROUP
    )
}

#[cfg(test)]
mod front_tests {
    use super::*;

    #[test]
    fn only_reads_pass_through_the_front() {
        for read in [
            RequestCode::GET_KV_CONFIG,
            RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            RequestCode::GET_TOPICS_BY_CLUSTER,
        ] {
            assert!(passes_through(read), "{read}");
        }
        for write in [
            RequestCode::REGISTER_BROKER,
            RequestCode::UNREGISTER_BROKER,
            RequestCode::BROKER_HEARTBEAT,
            RequestCode::PUT_KV_CONFIG,
            RequestCode::DELETE_KV_CONFIG,
            RequestCode::DELETE_TOPIC_IN_NAMESRV,
            RequestCode::REGISTER_TOPIC_IN_NAMESRV,
            RequestCode::WIPE_WRITE_PERM_OF_BROKER,
            RequestCode::ADD_WRITE_PERM_OF_BROKER,
            RequestCode::UPDATE_NAMESRV_CONFIG,
            RequestCode::QUERY_DATA_VERSION,
            RequestCode::SEND_MESSAGE_V2,
            RequestCode(424_242),
        ] {
            assert!(!passes_through(write), "{write}");
        }
    }
}

/// A route from one side's NameServers; `None` when the topic does not exist there.
async fn fetch_route(admin: &Admin, topic: &str) -> Result<Option<TopicRouteData>, AdminError> {
    let header =
        GetRouteInfoRequestHeader { topic: topic.to_string(), accept_standard_json_only: Some(true) };
    match admin.call_namesrv(header.to_frame()).await {
        Ok((addr, r)) => fastjson::from_slice(&r.body).map(Some).map_err(|e| AdminError::UnreadableBody {
            addr,
            op: RequestCode::GET_ROUTEINFO_BY_TOPIC,
            detail: e.to_string(),
        }),
        Err(AdminError::Refused { code, .. }) if code == ResponseCode::TOPIC_NOT_EXIST => Ok(None),
        Err(e) => Err(e),
    }
}

/// The topic whose route producers use to create topics (`TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`).
const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";

async fn route_answer(ctx: &FrontContext, up: &Upstreams, peer: SocketAddr, request: &Frame) -> Frame {
    let Some(topic) = request.header.field("topic").map(str::to_string) else {
        return error(ResponseCode::SYSTEM_ERROR, "the custom field <topic> is null");
    };
    let versioned = ctx.stages.get(&topic);
    // Every Java client keeps the route of the default topic key (producers look it up to create
    // topics, `DefaultMQProducerImpl.start`, and every client has an inner producer): once every
    // migrating topic is Direct it comes from the target, direct too, or it alone would hold
    // clients to the source's relays.
    let leaving = versioned.is_none() && topic == AUTO_CREATE_TOPIC_KEY && ctx.stages.all_direct();
    let need_target = versioned.is_some_and(|v| v.policy.stage != Stage::Initial);
    let source = if leaving || versioned.is_some_and(|v| v.policy.stage.done()) {
        Ok(None)
    } else {
        fetch_route(&up.source, &topic).await
    };
    let target = match (ctx.stages.target(&topic), &up.target, need_target) {
        (_, _, false) => Ok(None),
        (Some(namesrv), _, true) => match ctx.target_admin(&namesrv) {
            Ok(admin) => fetch_route(&admin, &topic).await,
            Err(e) => Err(e),
        },
        (None, Some(t), true) => fetch_route(t, &topic).await,
        (None, None, true) => Ok(None),
    };
    let (mut source, mut target) = match (source, target) {
        (Ok(s), Ok(t)) => (s, t),
        (Err(e), _) => return error(ResponseCode::SYSTEM_ERROR, format!("source NameServer: {e}")),
        (_, Err(e)) => return error(ResponseCode::SYSTEM_ERROR, format!("target NameServer: {e}")),
    };
    if versioned.is_none() && source.is_none() {
        match target_only_route(ctx, up, &topic).await {
            Ok(t) => target = t,
            Err(e) => return error(ResponseCode::SYSTEM_ERROR, format!("target NameServer: {e}")),
        }
    }
    // Target brokers whose names are also the source's are shown under their alias.
    if let Some(t) = target.as_mut() {
        route::rename(t, &|real| ctx.stages.target_alias(real));
    }
    if let Some(v) = versioned {
        let held = v.policy.write_only.is_some();
        for (side, route) in [(Side::Source, source.as_mut()), (Side::Target, target.as_mut())] {
            let kept = route.map(|r| ctx.watch.steady(side, &topic, r, held)).unwrap_or_default();
            if !kept.is_empty() {
                tracing::debug!(%topic, %side, brokers = ?kept, "strict-order hold: queues of a lost master kept in the route");
            }
        }
    }
    // Direct: the target's brokers as they are, no relay in between (names stay as clients know
    // them: a client keeps one address per broker name for all its topics).
    let direct = leaving || versioned.is_some_and(|v| v.policy.stage == Stage::Direct);
    let relayed_target = if direct { None } else { target.as_ref() };
    let relays = match relay_map(&ctx.relays, source.as_ref(), relayed_target) {
        Ok(r) => r,
        Err(e) => return error(ResponseCode::SYSTEM_ERROR, e.to_string()),
    };
    let mut relay = |side: Side, addr: &str| match relays.get(&(side, addr.to_string())) {
        Some(relay) => relay.clone(),
        None => addr.to_string(),
    };
    let route = match versioned {
        Some(v) => match route::merge(&topic, v.policy, source.as_ref(), target.as_ref(), &mut relay) {
            Ok(r) => r,
            Err(e @ RouteError::BrokerNameCollision { .. }) => {
                return error(ResponseCode::SYSTEM_ERROR, e.to_string())
            }
        },
        None => match (source.as_ref(), target.as_ref()) {
            (Some(s), _) => Some(route::pass_through(Side::Source, s, &mut relay)),
            (None, t) => t.map(|t| route::pass_through(Side::Target, t, &mut relay)),
        },
    };
    let Some(route) = route else {
        // The NameServer's own words (`ClientRequestProcessor.getRouteInfoByTopic`).
        return error(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("No topic route info in name server for the topic: {topic}"),
        );
    };
    ctx.watch.record(
        &topic,
        RouteFetch {
            client: peer.to_string(),
            at: SystemTime::now(),
            epoch: versioned.map_or(0, |v| v.epoch),
            stage: versioned.map(|v| v.policy.stage),
            every: None,
        },
    );
    let standard = request.header.version >= V4_9_4
        || request.header.field("acceptStandardJsonOnly").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let body = if standard { fastjson::to_vec(&route) } else { fastjson::to_vec_bare_int_keys(&route) };
    Frame::response(ResponseCode::SUCCESS, 0).with_body(body)
}

/// The route of a topic outside the migrations that the source does not have, from the front's
/// target: a topic only the target has, the one named after a target broker (every broker has
/// one, `TopicConfigManager`; the 5.x Proxy and clients find a broker's address by its route), or
/// after the target cluster. A target broker shown under an alias is looked up by its real name
/// (clients ask for the name they know). The target unreachable is an error only for an alias,
/// which certainly names a target broker; otherwise the topic is said not to exist, as the source
/// said.
async fn target_only_route(
    ctx: &FrontContext,
    up: &Upstreams,
    topic: &str,
) -> Result<Option<TopicRouteData>, AdminError> {
    let Some(target) = &up.target else { return Ok(None) };
    let real = ctx.stages.target_real_name(topic);
    match fetch_route(target, real.as_deref().unwrap_or(topic)).await {
        Ok(route) => Ok(route),
        Err(e) if real.is_some() => Err(e),
        Err(e) => {
            tracing::debug!(%topic, error = %e, "the source has no such topic and the target did not answer");
            Ok(None)
        }
    }
}

type RelayMap = HashMap<(Side, String), String>;

/// Relays for every broker address of the routes, opened before the route is built so that an
/// address is never handed out without a relay behind it.
fn relay_map(
    relays: &RelayTable,
    source: Option<&TopicRouteData>,
    target: Option<&TopicRouteData>,
) -> Result<RelayMap, RelayError> {
    let mut wanted = BTreeSet::new();
    for (side, route) in [(Side::Source, source), (Side::Target, target)] {
        for b in route.iter().flat_map(|r| &r.broker_datas) {
            for addr in b.broker_addrs.values() {
                wanted.insert((side, addr.clone()));
            }
        }
    }
    wanted.into_iter().map(|(side, addr)| relays.relay_for(side, &addr).map(|r| ((side, addr), r))).collect()
}

/// The source's cluster info, broker addresses replaced by relays: tools that look brokers up
/// this way reach them through Ferry too.
async fn cluster_info_answer(ctx: &FrontContext, up: &Upstreams, request: Frame) -> Frame {
    let response = match up.source.forward_namesrv(request).await {
        Ok(r) => r,
        Err(e) => return error(ResponseCode::SYSTEM_ERROR, format!("source NameServer: {e}")),
    };
    if response.header.response_code() != ResponseCode::SUCCESS {
        return response;
    }
    let mut info: ClusterInfo = match fastjson::from_slice(&response.body) {
        Ok(i) => i,
        Err(e) => return error(ResponseCode::SYSTEM_ERROR, format!("source cluster info: {e}")),
    };
    for b in info.broker_addr_table.values_mut() {
        for addr in b.broker_addrs.values_mut() {
            match ctx.relays.relay_for(Side::Source, addr) {
                Ok(r) => *addr = r,
                Err(e) => return error(ResponseCode::SYSTEM_ERROR, e.to_string()),
            }
        }
    }
    // As the NameServer writes it (`DefaultRequestProcessor.getBrokerClusterInfo`: plain encode).
    Frame::response(ResponseCode::SUCCESS, 0).with_body(fastjson::to_vec_bare_int_keys(&info))
}
