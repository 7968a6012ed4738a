//! Half (prepared) transactional messages still outstanding on a broker, per real topic. A migration
//! must not leave a source broker while some are: the broker may yet commit them into the topic
//! there, after a check-back to the producer.
//!
//! How brokers keep them (`broker/.../transaction/queue/TransactionalMessageBridge.java`,
//! `TransactionalMessageServiceImpl.java`, `TransactionalMessageUtil.java`; identical in what
//! follows at `rocketmq-all-4.9.8` and `rocketmq-all-5.3.3` unless said):
//!
//! - A half message is stored in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0, its real topic and queue in
//!   the `REAL_TOPIC` / `REAL_QID` properties (`parseHalfMessageInner`). 5.x also copies `UNIQ_KEY`
//!   into `__transactionId__`.
//! - Ending a transaction (commit or rollback) writes an op message tagged `d` to
//!   `RMQ_SYS_TRANS_OP_HALF_TOPIC` (same queue id) whose UTF-8 body names the half message's queue
//!   offset: one offset in 4.9 (`addRemoveTagInTransactionOp`), a `,`-terminated list in 5.x,
//!   written in batches every `transactionOpBatchInterval` (3 s) (`deletePrepareMessage`,
//!   `getOpMessage`, `TransactionalOpBatchService`). Not compressed in either.
//! - The check service (`check`) reads halves from the committed offset of group
//!   `CID_RMQ_SYS_TRANS` (`MixAll.CID_SYS_RMQ_TRANS`, same name in 5.3.3) on the half queue, and ops
//!   from that group's offset on the op queue. A half with an op is done; one due for a check-back
//!   is first written again at the end of the half queue (`putBackHalfMsgQueue`: a copy with the
//!   same properties, so the same `UNIQ_KEY`, which is also the transaction id the check-back
//!   carries, `AbstractTransactionalMessageCheckListener.sendCheckMessage`), then the group's half
//!   offset moves past the original. A later op names the copy's offset.
//!
//! So: a half message at or after the group's half offset, whose offset no op names, is one the
//! broker will still check back. Copies of one transaction count once, and the newest copy decides
//! (the broker keeps checking it).
//!
//! Reading changes nothing on the broker: QUERY_CONSUME_QUEUE (mqadmin `queryCq`) lists a queue's
//! entries and VIEW_MESSAGE_BY_ID reads each message at its commit-log offset
//! (`AdminBrokerProcessor.queryConsumeQueue`, `QueryMessageProcessor.viewMessageById`), with no
//! consumer group and no offset. PULL_MESSAGE cannot serve: a 4.9 broker makes the half topic's
//! config only at its first check round (`TransactionalMessageBridge.fetchMessageQueues`) and the
//! op topic's never, and PullMessageProcessor refuses a topic without one (TOPIC_NOT_EXIST), while
//! the store has the messages.

use std::collections::{BTreeMap, BTreeSet};

use ferry_remoting::request::RequestHeader;
use ferry_remoting::{RequestCode, ResponseCode};
use serde::Serialize;

use crate::client::Admin;
use crate::error::AdminError;
use crate::message::{decode_messages, StoredMessage, PROPERTY_UNIQ_KEY};

/// `TopicValidator.RMQ_SYS_TRANS_HALF_TOPIC`.
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// `TopicValidator.RMQ_SYS_TRANS_OP_HALF_TOPIC`.
pub const OP_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// `MixAll.CID_SYS_RMQ_TRANS`: the group whose offsets the check service keeps (4.9.8 and 5.3.3).
pub const CHECK_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// `RequestCode.QUERY_CONSUME_QUEUE` (321 in 4.9.8 and 5.3.3).
const QUERY_CONSUME_QUEUE: RequestCode = RequestCode(321);
/// `TransactionalMessageUtil.REMOVETAG` (4.9) / `REMOVE_TAG` (5.x).
const REMOVE_TAG: &str = "d";
/// `MessageConst.PROPERTY_REAL_TOPIC`.
const PROPERTY_REAL_TOPIC: &str = "REAL_TOPIC";
/// `TransactionalMessageUtil.TRANSACTION_ID` (5.x only).
const PROPERTY_TRANSACTION_ID: &str = "__transactionId__";
/// Consume-queue entries per QUERY_CONSUME_QUEUE.
const CQ_BATCH: i64 = 256;
/// VIEW_MESSAGE_BY_ID requests in flight.
const VIEW_CONCURRENCY: usize = 16;
/// More half or op messages than this to read on one queue: Ferry does not try.
const MAX_SCAN: usize = 500_000;

/// Outstanding half messages on one broker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum OutstandingHalves {
    /// Per real topic, the transactions still prepared (topics with none are absent).
    #[serde(rename_all = "camelCase")]
    Known { by_topic: BTreeMap<String, u64>, halves_read: usize, ops_read: usize },
    /// The broker does not let Ferry know (version, ACL, too many to read); why, in words.
    CannotTell { reason: String },
}

impl OutstandingHalves {
    /// Outstanding halves of `topic`; `None` when it cannot be told.
    pub fn of_topic(&self, topic: &str) -> Option<u64> {
        match self {
            OutstandingHalves::Known { by_topic, .. } => Some(by_topic.get(topic).copied().unwrap_or(0)),
            OutstandingHalves::CannotTell { .. } => None,
        }
    }
}

/// A half message as the decision needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HalfEntry {
    /// Its offset in the half queue.
    pub offset: i64,
    /// What copies of one transaction share: `UNIQ_KEY` (the transaction id of check-backs).
    pub transaction: String,
    pub real_topic: String,
}

impl HalfEntry {
    /// Without `UNIQ_KEY` (a client that sets none) the copies still share the born host and time
    /// and the body (`renewHalfMessageInner` copies them), which then stand in for it.
    pub fn of(m: &StoredMessage) -> HalfEntry {
        let transaction = m
            .property(PROPERTY_UNIQ_KEY)
            .or_else(|| m.property(PROPERTY_TRANSACTION_ID))
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}@{}#{:08x}", m.born_host, m.born_timestamp, m.body_crc));
        HalfEntry {
            offset: m.queue_offset,
            transaction,
            real_topic: m.property(PROPERTY_REAL_TOPIC).unwrap_or_default().to_string(),
        }
    }
}

/// The half offsets an op message names: its body split on `,` (`fillOpRemoveMap`). Entries that
/// are not numbers are skipped (Java reads them as -1, below any half offset).
pub fn op_half_offsets(body: &[u8]) -> Vec<i64> {
    String::from_utf8_lossy(body).split(',').filter_map(|s| s.trim().parse::<i64>().ok()).collect()
}

/// Every half offset the op messages name; ops with another tag are ignored, as the broker does.
pub fn removed_offsets(ops: &[StoredMessage]) -> BTreeSet<i64> {
    ops.iter().filter(|m| m.tags() == Some(REMOVE_TAG)).flat_map(|m| op_half_offsets(&m.body)).collect()
}

/// The decision: per real topic, the transactions whose newest copy at or after `check_offset`
/// has no op. Copies before `check_offset` were passed by the check service (done, re-put or
/// discarded) and do not count.
pub fn outstanding_by_topic(
    halves: &[HalfEntry],
    removed: &BTreeSet<i64>,
    check_offset: i64,
) -> BTreeMap<String, u64> {
    let mut newest: BTreeMap<&str, &HalfEntry> = BTreeMap::new();
    for h in halves.iter().filter(|h| h.offset >= check_offset) {
        let e = newest.entry(h.transaction.as_str()).or_insert(h);
        if h.offset > e.offset {
            *e = h;
        }
    }
    let mut by_topic = BTreeMap::new();
    for h in newest.values().filter(|h| !removed.contains(&h.offset)) {
        *by_topic.entry(h.real_topic.clone()).or_insert(0) += 1;
    }
    by_topic
}

/// Whether a broker version (`brokerVersionDesc`, `V4_9_8`) keeps halves the way read here:
/// 4.3.0 brought this store (`broker/.../transaction/queue/` first appears at rocketmq-all-4.3.0),
/// and 5.3.3 is the newest version checked.
pub fn version_supported(desc: &str) -> Result<(), String> {
    let parts: Vec<u32> =
        desc.trim_start_matches('V').split('_').take(2).filter_map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [4, minor] if *minor >= 3 => Ok(()),
        [5, _] => Ok(()),
        [4, _] | [3, _] => Err(format!("broker version {desc} predates the half-message store of 4.3.0")),
        _ => Err(format!("broker version {desc:?} is not one whose half-message store Ferry knows")),
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryConsumeQueueRequestHeader {
    topic: String,
    queue_id: i32,
    index: i64,
    count: i64,
}

impl RequestHeader for QueryConsumeQueueRequestHeader {
    const CODE: RequestCode = QUERY_CONSUME_QUEUE;
}

/// `QueryConsumeQueueResponseBody`: `queueData` from the index asked, min and max queue index.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ConsumeQueueBody {
    queue_data: Vec<ConsumeQueueEntry>,
    min_queue_index: i64,
    max_queue_index: i64,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ConsumeQueueEntry {
    physic_offset: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct ViewMessageRequestHeader {
    /// 5.x names the topic for its authorization (`@RocketMQResource`); 4.9 ignores it.
    topic: String,
    offset: i64,
}

impl RequestHeader for ViewMessageRequestHeader {
    const CODE: RequestCode = RequestCode::VIEW_MESSAGE_BY_ID;
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct GetMinOffsetRequestHeader {
    topic: String,
    queue_id: i32,
}

impl RequestHeader for GetMinOffsetRequestHeader {
    const CODE: RequestCode = RequestCode::GET_MIN_OFFSET;
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryConsumerOffsetRequestHeader {
    consumer_group: String,
    topic: String,
    queue_id: i32,
    /// 5.x: answer QUERY_NOT_FOUND rather than 0 for a queue the group never committed; 4.9
    /// ignores it (`ConsumerManageProcessor.queryConsumerOffset`).
    set_zero_if_not_found: bool,
}

impl RequestHeader for QueryConsumerOffsetRequestHeader {
    const CODE: RequestCode = RequestCode::QUERY_CONSUMER_OFFSET;
}

/// Reading stopped for a reason the caller reports as "cannot tell".
enum Stop {
    CannotTell(String),
    Failed(AdminError),
}

impl From<AdminError> for Stop {
    fn from(e: AdminError) -> Stop {
        match e {
            AdminError::Refused { code, ref remark, .. } if code == ResponseCode::NO_PERMISSION => {
                Stop::CannotTell(format!("{e} ({remark})"))
            }
            // Authentication was proved by the first call; a refusal now is about rights (4.9 ACL
            // answers both with an AclException).
            AdminError::AuthenticationFailed { .. } | AdminError::Unsupported { .. } => {
                Stop::CannotTell(e.to_string())
            }
            e => Stop::Failed(e),
        }
    }
}

impl Admin {
    /// Half messages still outstanding on one broker, per real topic (see the module docs). Errors
    /// are the broker's failures; what it does not let Ferry know is [`OutstandingHalves::CannotTell`].
    pub async fn outstanding_halves(&self, broker_addr: &str) -> Result<OutstandingHalves, AdminError> {
        let runtime = self.broker_runtime_info(broker_addr).await?;
        if let Some(desc) = runtime.get("brokerVersionDesc") {
            if let Err(reason) = version_supported(desc) {
                return Ok(OutstandingHalves::CannotTell { reason });
            }
        }
        match self.read_halves(broker_addr).await {
            Ok(r) => Ok(r),
            Err(Stop::CannotTell(reason)) => {
                tracing::info!(peer = broker_addr, %reason, "outstanding half messages cannot be told");
                Ok(OutstandingHalves::CannotTell { reason })
            }
            Err(Stop::Failed(e)) => Err(e),
        }
    }

    async fn read_halves(&self, broker_addr: &str) -> Result<OutstandingHalves, Stop> {
        // Halves only ever go to queue 0 (`parseHalfMessageInner`), ops to the same queue id.
        // The op offset first: should the check service move both in between, the half offset
        // read second is the newer one and the older op offset only means more ops to read.
        let op_offset = self.check_offset(broker_addr, OP_TOPIC, 0).await?;
        let check_offset = self.check_offset(broker_addr, HALF_TOPIC, 0).await?;
        let halves = self.read_queue(broker_addr, HALF_TOPIC, 0, check_offset.unwrap_or(0)).await?;
        let ops = self.read_queue(broker_addr, OP_TOPIC, 0, op_offset.unwrap_or(0)).await?;
        let start = check_offset.unwrap_or(0);
        let entries: Vec<HalfEntry> = halves.iter().map(HalfEntry::of).collect();
        let by_topic = outstanding_by_topic(&entries, &removed_offsets(&ops), start);
        tracing::debug!(
            peer = broker_addr,
            check_offset = start,
            halves = halves.len(),
            ops = ops.len(),
            ?by_topic,
            "half messages read"
        );
        Ok(OutstandingHalves::Known { by_topic, halves_read: halves.len(), ops_read: ops.len() })
    }

    /// `CID_RMQ_SYS_TRANS`'s committed offset on a queue; `None` when it never committed (the
    /// broker then starts from the queue's min offset, `TransactionalMessageBridge.fetchConsumeOffset`).
    async fn check_offset(&self, broker_addr: &str, topic: &str, queue_id: i32) -> Result<Option<i64>, Stop> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: CHECK_GROUP.to_string(),
            topic: topic.to_string(),
            queue_id,
            set_zero_if_not_found: false,
        };
        match self.call(broker_addr, header.to_frame()).await {
            Ok(r) => match r.header.field("offset").map(str::parse::<i64>) {
                Some(Ok(o)) if o >= 0 => Ok(Some(o)),
                _ => Err(Stop::Failed(AdminError::Protocol {
                    addr: broker_addr.to_string(),
                    detail: format!(
                        "QUERY_CONSUMER_OFFSET answered without an offset: {:?}",
                        r.header.ext_fields
                    ),
                })),
            },
            Err(AdminError::Refused { code, .. }) if code == ResponseCode::QUERY_NOT_FOUND => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every message of a queue from index `from` (or its min index, if later) to its end.
    async fn read_queue(
        &self,
        broker_addr: &str,
        topic: &str,
        queue_id: i32,
        from: i64,
    ) -> Result<Vec<StoredMessage>, Stop> {
        use futures::stream::{self, StreamExt, TryStreamExt};

        let mut offsets = Vec::new();
        let mut index = from.max(0);
        let mut moved_to_min = false;
        loop {
            let header =
                QueryConsumeQueueRequestHeader { topic: topic.into(), queue_id, index, count: CQ_BATCH };
            let response = match self.call(broker_addr, header.to_frame()).await {
                Ok(r) => r,
                // "0@T is not exist!": the store never had a message for this queue.
                Err(AdminError::Refused { code, .. }) if code == ResponseCode::SYSTEM_ERROR => break,
                Err(e) => return Err(e.into()),
            };
            if response.body.is_empty() {
                // No entry at `index` ("Index .. is not exist!"): past the end, or below the min
                // index (files deleted, or a queue that never was consumed from 0).
                if moved_to_min {
                    break;
                }
                let min = self.min_offset(broker_addr, topic, queue_id).await?;
                if min <= index {
                    break;
                }
                index = min;
                moved_to_min = true;
                continue;
            }
            let body: ConsumeQueueBody =
                crate::client::parse_body(broker_addr, QUERY_CONSUME_QUEUE, &response.body)?;
            if body.queue_data.is_empty() {
                break;
            }
            index += body.queue_data.len() as i64;
            offsets.extend(body.queue_data.iter().map(|e| e.physic_offset));
            if offsets.len() > MAX_SCAN {
                return Err(Stop::CannotTell(format!(
                    "more than {MAX_SCAN} messages to read in {topic} queue {queue_id} from index {from}"
                )));
            }
            if index >= body.max_queue_index {
                break;
            }
            tracing::trace!(
                peer = broker_addr,
                topic,
                index,
                min = body.min_queue_index,
                "consume queue page"
            );
        }
        let messages: Vec<Option<StoredMessage>> = stream::iter(offsets)
            .map(|offset| self.view_message(broker_addr, topic, offset))
            .buffered(VIEW_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(messages.into_iter().flatten().collect())
    }

    /// The message at a commit-log offset; `None` when the broker no longer has it (the check
    /// service skips such an entry too).
    async fn view_message(
        &self,
        broker_addr: &str,
        topic: &str,
        offset: i64,
    ) -> Result<Option<StoredMessage>, Stop> {
        let op = RequestCode::VIEW_MESSAGE_BY_ID;
        let header = ViewMessageRequestHeader { topic: topic.into(), offset };
        let response = match self.call(broker_addr, header.to_frame()).await {
            Ok(r) => r,
            Err(AdminError::Refused { code, .. }) if code == ResponseCode::SYSTEM_ERROR => {
                tracing::debug!(peer = broker_addr, topic, offset, "message no longer in the commit log");
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let mut msgs = decode_messages(&response.body).map_err(|e| {
            Stop::Failed(AdminError::UnreadableBody {
                addr: broker_addr.to_string(),
                op,
                detail: e.to_string(),
            })
        })?;
        match (msgs.pop(), msgs.is_empty()) {
            (Some(m), true) if m.topic == topic => Ok(Some(m)),
            (m, _) => Err(Stop::Failed(AdminError::Protocol {
                addr: broker_addr.to_string(),
                detail: format!(
                    "{op} at offset {offset} returned {} instead of one {topic} message",
                    m.map_or("nothing".to_string(), |m| format!("a {} message", m.topic))
                ),
            })),
        }
    }

    /// GET_MIN_OFFSET: only asked once QUERY_CONSUME_QUEUE showed the queue exists (a 4.9 broker
    /// would make an empty one in memory for a queue it does not have).
    async fn min_offset(&self, broker_addr: &str, topic: &str, queue_id: i32) -> Result<i64, Stop> {
        let header = GetMinOffsetRequestHeader { topic: topic.into(), queue_id };
        let r = self.call(broker_addr, header.to_frame()).await?;
        r.header.field("offset").and_then(|v| v.parse().ok()).ok_or_else(|| {
            Stop::Failed(AdminError::Protocol {
                addr: broker_addr.to_string(),
                detail: format!("GET_MIN_OFFSET answered without an offset: {:?}", r.header.ext_fields),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(offset: i64, tx: &str, topic: &str) -> HalfEntry {
        HalfEntry { offset, transaction: tx.into(), real_topic: topic.into() }
    }

    #[test]
    fn outstanding_halves_decided_as_the_check_service_would() {
        struct Case {
            name: &'static str,
            halves: Vec<HalfEntry>,
            ops: Vec<i64>,
            check_offset: i64,
            want: Vec<(&'static str, u64)>,
        }
        let cases = vec![
            Case { name: "nothing prepared", halves: vec![], ops: vec![], check_offset: 0, want: vec![] },
            Case {
                name: "three prepared, none ended, two topics",
                halves: vec![h(0, "a", "T"), h(1, "b", "T"), h(2, "c", "U")],
                ops: vec![],
                check_offset: 0,
                want: vec![("T", 2), ("U", 1)],
            },
            Case {
                name: "an op removes its half",
                halves: vec![h(0, "a", "T"), h(1, "b", "T")],
                ops: vec![1],
                check_offset: 0,
                want: vec![("T", 1)],
            },
            Case {
                name: "halves before the check offset were passed by the broker",
                halves: vec![h(0, "a", "T"), h(1, "b", "T"), h(2, "c", "T")],
                ops: vec![],
                check_offset: 2,
                want: vec![("T", 1)],
            },
            Case {
                name: "a re-put copy counts once with its original",
                halves: vec![h(3, "a", "T"), h(4, "b", "T"), h(9, "a", "T")],
                ops: vec![],
                check_offset: 3,
                want: vec![("T", 2)],
            },
            Case {
                name: "the copy ended: the original left behind does not count",
                halves: vec![h(3, "a", "T"), h(9, "a", "T")],
                ops: vec![9],
                check_offset: 3,
                want: vec![],
            },
            Case {
                name: "the original ended late but the copy is still checked: counts",
                halves: vec![h(3, "a", "T"), h(9, "a", "T")],
                ops: vec![3],
                check_offset: 3,
                want: vec![("T", 1)],
            },
            Case {
                name: "ops for offsets before the check offset change nothing",
                halves: vec![h(5, "a", "T")],
                ops: vec![1, 2, 4],
                check_offset: 5,
                want: vec![("T", 1)],
            },
            Case {
                name: "all ended by one 5.x batch op",
                halves: vec![h(5, "a", "T"), h(6, "b", "U"), h(7, "c", "T")],
                ops: vec![5, 6, 7],
                check_offset: 5,
                want: vec![],
            },
        ];
        for c in cases {
            let removed: BTreeSet<i64> = c.ops.iter().copied().collect();
            let got = outstanding_by_topic(&c.halves, &removed, c.check_offset);
            let want: BTreeMap<String, u64> = c.want.iter().map(|(t, n)| (t.to_string(), *n)).collect();
            assert_eq!(got, want, "{}", c.name);
        }
    }

    #[test]
    fn op_bodies_of_both_versions() {
        assert_eq!(op_half_offsets(b"17"), vec![17]); // 4.9: one offset
        assert_eq!(op_half_offsets(b"3,4,12,"), vec![3, 4, 12]); // 5.x: a batch, ','-terminated
        assert_eq!(op_half_offsets(b""), Vec::<i64>::new());
        assert_eq!(op_half_offsets(b"x,5"), vec![5]);
    }

    #[test]
    fn only_remove_tagged_ops_count() {
        let op = |tag: &str, body: &[u8]| StoredMessage {
            queue_id: 0,
            queue_offset: 0,
            commit_log_offset: 0,
            sys_flag: 0,
            body_crc: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:1".into(),
            store_timestamp: 0,
            topic: OP_TOPIC.into(),
            properties: [("TAGS".to_string(), tag.to_string())].into_iter().collect(),
            body: body.to_vec(),
        };
        let removed = removed_offsets(&[op("d", b"1"), op("x", b"2"), op("d", b"3,4,")]);
        assert_eq!(removed, [1, 3, 4].into_iter().collect());
    }

    #[test]
    fn versions_with_the_half_message_store() {
        for (desc, ok) in [
            ("V4_9_8", true),
            ("V4_3_0", true),
            ("V5_3_3", true),
            ("V5_0_0", true),
            ("V4_2_0", false),
            ("V3_5_8", false),
            ("V6_0_0", false),
            ("garbage", false),
        ] {
            assert_eq!(version_supported(desc).is_ok(), ok, "{desc}");
        }
    }

    #[test]
    fn a_half_without_uniq_key_is_keyed_by_what_its_copies_share() {
        let mut m = StoredMessage {
            queue_id: 0,
            queue_offset: 4,
            commit_log_offset: 100,
            sys_flag: 0,
            body_crc: 0xabc,
            born_timestamp: 1_700_000_000_000,
            born_host: "10.0.0.1:5000".into(),
            store_timestamp: 0,
            topic: HALF_TOPIC.into(),
            properties: [("REAL_TOPIC".to_string(), "T".to_string())].into_iter().collect(),
            body: vec![],
        };
        let original = HalfEntry::of(&m);
        m.queue_offset = 9;
        m.commit_log_offset = 900;
        let copy = HalfEntry::of(&m);
        assert_eq!(original.transaction, copy.transaction);
        assert_eq!(copy.real_topic, "T");
        m.properties.insert(PROPERTY_UNIQ_KEY.into(), "ABC".into());
        assert_eq!(HalfEntry::of(&m).transaction, "ABC");
    }
}
