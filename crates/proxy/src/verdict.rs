//! What a relay does with one frame: pass it, refuse it, answer it in the broker's stead, or
//! replace the broker's answer. Decided by [`decide`] from the frame's code and the few header
//! fields it needs, the connection's side and the topic's policy; pure, so that every stage, side
//! and request is tested as a table (below). The relay (`relay.rs`) reads the frames, looks the
//! policy up, applies the verdict and does the counting.
//!
//! The relays enforce what routes say (`route::readable` / `route::writable`): a client acts on a
//! new route only at its next rebalance, up to 20 s later, so a stale client may still send or
//! pull where the stage no longer allows it.

use std::time::Duration;

use ferry_remoting::code::{RequestCode, ResponseCode};
use ferry_remoting::header::Header;
use ferry_remoting::Frame;

use crate::route::{self, Side};
use crate::stage::TopicPolicy;

/// How long a pull on a queue that may not be read waits before "no new message": like a long
/// poll with nothing, so that the client does not spin.
pub const HELD_PULL_PAUSE: Duration = Duration::from_secs(1);

/// The longest a POP waits on a side that is read but not written at the stage (the target in
/// DualRead, the source draining in CuttingOver): nothing new arrives there, and the 5.x Proxy
/// sends a gRPC SimpleConsumer's receive to one broker at a time, holding it for its poll time
/// (at least `grpcClientConsumerMinLongPollingTimeoutMillis`, 5 s): a long wait on the side that
/// gets nothing delays every message of the other (ReceiveMessageActivity L69-84 @ 5.3.3). The
/// SimpleConsumer takes the route's queues in turn, four of the unwritten side's per cycle: with
/// 1 s, a batch of 16 per receive could not keep up with 20 messages a second. Not zero: a
/// PushConsumer polls each broker in a loop of its own, which would then spin.
pub const UNWRITTEN_POP_POLL: Duration = Duration::from_millis(200);

/// What the relays tell apart among client requests; everything else passes as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A send; `v2` headers name fields `a` (producer group), `b` (topic) and so on.
    Send { v2: bool },
    /// `PULL_MESSAGE` and `LITE_PULL_MESSAGE`.
    Pull,
    /// `POP_MESSAGE` (5.x): the 5.x Proxy's gRPC consumers and remoting POP consumers. Its header
    /// names `topic`, `consumerGroup`, `invisibleTime`, `pollTime` and `bornTime`
    /// (remoting/.../header/PopMessageRequestHeader.java L31-48 @ rocketmq-all-5.3.3).
    Pop,
    /// Anything else: passes. Among them the follow-ups of a POP (ACK_MESSAGE, BATCH_ACK_MESSAGE,
    /// CHANGE_MESSAGE_INVISIBLETIME, CONSUMER_SEND_MSG_BACK), END_TRANSACTION and RECALL_MESSAGE:
    /// they go to the broker that handed the message out or holds it, whatever the stage, or the
    /// message would come back or stay (never refused by stage), and heartbeats, locks, offset
    /// commits...
    Other,
}

impl Op {
    pub fn of(code: RequestCode) -> Op {
        match code {
            RequestCode::SEND_MESSAGE_V2
            | RequestCode::SEND_BATCH_MESSAGE
            | RequestCode::SEND_REPLY_MESSAGE_V2 => Op::Send { v2: true },
            RequestCode::SEND_MESSAGE | RequestCode::SEND_REPLY_MESSAGE => Op::Send { v2: false },
            RequestCode::PULL_MESSAGE | RequestCode::LITE_PULL_MESSAGE => Op::Pull,
            RequestCode::POP_MESSAGE => Op::Pop,
            _ => Op::Other,
        }
    }

    /// The header fields naming a send's topic and producer group.
    pub fn send_fields(v2: bool) -> (&'static str, &'static str) {
        if v2 {
            ("b", "a")
        } else {
            ("topic", "producerGroup")
        }
    }
}

/// A client's request as the decision reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub code: RequestCode,
    /// The topic of a send, a pull or a POP (other requests are not looked at).
    pub topic: Option<&'a str>,
    /// A pull's `queueOffset`.
    pub queue_offset: Option<&'a str>,
    /// A POP's `invisibleTime`, `pollTime` and `bornTime` (milliseconds).
    pub pop: Option<PopFields<'a>>,
}

/// What an answer to a POP echoes or waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PopFields<'a> {
    pub invisible_time: Option<&'a str>,
    pub poll_time: Option<&'a str>,
    pub born_time: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub fn of(header: &'a Header) -> Request<'a> {
        let code = header.request_code();
        let mut r = Request { code, topic: None, queue_offset: None, pop: None };
        match Op::of(code) {
            Op::Send { v2 } => r.topic = header.field(Op::send_fields(v2).0),
            Op::Pull => (r.topic, r.queue_offset) = (header.field("topic"), header.field("queueOffset")),
            Op::Pop => {
                r.topic = header.field("topic");
                r.pop = Some(PopFields {
                    invisible_time: header.field("invisibleTime"),
                    poll_time: header.field("pollTime"),
                    born_time: header.field("bornTime"),
                });
            }
            Op::Other => {}
        }
        r
    }
}

/// What the relay kept of a request until the broker's answer, as far as the decision goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Awaited<'a> {
    /// A pull the broker may have held (long polling) while the stage changed.
    Pull { topic: &'a str, queue_offset: &'a str },
    /// A POP the broker may have held while the stage changed. Unlike a pull's, its messages are
    /// already handed out when the answer comes (the broker moved the group's offset and wrote
    /// its checkpoint: B/processor/PopMessageProcessor.java @ rocketmq-all-5.3.3), so they are
    /// passed whatever the stage: withheld, they would only come back after their invisible time.
    Pop { topic: &'a str },
    /// Any other request the relay keeps for counting or for the registry.
    Other,
}

/// One frame as the decision sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen<'a> {
    /// A request from the client, on its way to the broker.
    Request(Request<'a>),
    /// The broker's answer to a request the relay kept.
    Response { code: ResponseCode, awaited: Awaited<'a> },
    /// Requests the broker sends the client, the client's answers to them, and answers to
    /// requests the relay did not keep: they pass without a look.
    Unobserved,
}

impl<'a> Seen<'a> {
    /// The topic whose policy [`decide`] needs, if any: the caller looks it up (for an answer:
    /// now, not when the request went out).
    pub fn topic(&self) -> Option<&'a str> {
        match self {
            Seen::Request(r) => r.topic,
            Seen::Response { awaited: Awaited::Pull { topic, .. } | Awaited::Pop { topic }, .. } => {
                Some(topic)
            }
            _ => None,
        }
    }
}

/// What becomes of one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it on as it is.
    Forward,
    /// Keep the request from the broker and answer it at once with this code and remark.
    Refuse(ResponseCode, String),
    /// Keep the request from the broker and answer it after a pause.
    AnswerAfter(Duration, Answer),
    /// Pass this answer to the client instead of the broker's.
    Replace(Answer),
    /// Pass the POP on with its poll time cut to this.
    ShortenPoll(Duration),
}

/// An answer Ferry gives in the broker's stead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// PULL_NOT_FOUND, offsets unchanged: the client pulls again from where it was.
    NoNewMessage { queue_offset: String },
    /// What a broker answers a POP that found nothing within its poll time: POLLING_TIMEOUT with
    /// the four fields the client decodes even then (`popTime`, `invisibleTime`, `reviveQid`,
    /// `restNum`, all `@CFNotNull` in PopMessageResponseHeader.java L26-37; decoded in
    /// MQClientAPIImpl.processPopResponse L1050-1081 before it looks at the status, which the
    /// 5.x Proxy uses too), plus the empty offset infos (PopMessageProcessor L577-586 @
    /// rocketmq-all-5.3.3). `popTime` is the request's `bornTime`: the client reads it only from
    /// answers with messages.
    NoPopMessage { pop_time: String, invisible_time: String },
}

impl Answer {
    pub fn frame(&self, opaque: i32) -> Frame {
        match self {
            Answer::NoNewMessage { queue_offset } => Frame::response(ResponseCode::PULL_NOT_FOUND, opaque)
                .with_fields([
                    ("suggestWhichBrokerId", "0"),
                    ("nextBeginOffset", queue_offset.as_str()),
                    ("minOffset", "0"),
                    ("maxOffset", queue_offset.as_str()),
                ])
                .with_remark("Ferry: this queue is not read in the topic's current stage"),
            Answer::NoPopMessage { pop_time, invisible_time } => {
                Frame::response(ResponseCode::POLLING_TIMEOUT, opaque)
                    .with_fields([
                        ("popTime", pop_time.as_str()),
                        ("invisibleTime", invisible_time.as_str()),
                        ("reviveQid", "0"),
                        ("restNum", "0"),
                        ("startOffsetInfo", ""),
                        ("msgOffsetInfo", ""),
                    ])
                    .with_remark("Ferry: this topic is not read on this cluster in its current stage")
            }
        }
    }
}

impl Verdict {
    /// The frame Ferry sends the client for a verdict that answers (`None` for `Forward`), with
    /// the opaque of the request it stands for.
    pub fn frame(&self, opaque: i32) -> Option<Frame> {
        match self {
            Verdict::Forward | Verdict::ShortenPoll(_) => None,
            Verdict::Refuse(code, remark) => {
                Some(Frame::response(*code, opaque).with_remark(remark.as_str()))
            }
            Verdict::AnswerAfter(_, answer) | Verdict::Replace(answer) => Some(answer.frame(opaque)),
        }
    }
}

/// The decision. `policy` is the stage table's entry for [`Seen::topic`] (`None`: the topic is
/// not migrating, or the frame names none).
pub fn decide(seen: Seen<'_>, side: Side, policy: Option<TopicPolicy>) -> Verdict {
    match seen {
        Seen::Request(req) => match (Op::of(req.code), policy) {
            // A client with a stale route writing where the stage does not write: let it, if the
            // side is still read (the message is consumed; refusing would fail ordered, async and
            // oneway sends, which the Java producer does not retry). Refuse only where nobody reads
            // any more: the message would be stranded. The Java producer retries a synchronous
            // send on another queue on NO_PERMISSION.
            (Op::Send { .. }, Some(p)) if !route::writable(p, side) && !route::readable(p, side) => {
                Verdict::Refuse(
                    ResponseCode::NO_PERMISSION,
                    format!(
                        "Ferry: topic {} is not written on the {side} cluster at stage {}",
                        req.topic.unwrap_or_default(),
                        p.stage
                    ),
                )
            }
            (Op::Pull, Some(p)) if !route::readable(p, side) => Verdict::AnswerAfter(
                HELD_PULL_PAUSE,
                Answer::NoNewMessage { queue_offset: req.queue_offset.unwrap_or("0").to_string() },
            ),
            // A POP where the stage does not read: never forwarded (the broker would hand messages
            // out and move the group's offset), answered as a broker answers a POP that found
            // nothing, after the pause or the client's own poll time if shorter (the Proxy asks
            // again, round-robin over the brokers it sees readable).
            (Op::Pop, Some(p)) if !route::readable(p, side) => {
                let pop = req.pop.unwrap_or_default();
                let poll = pop.poll_time.and_then(|t| t.parse::<u64>().ok()).map(Duration::from_millis);
                Verdict::AnswerAfter(
                    poll.map_or(HELD_PULL_PAUSE, |p| p.min(HELD_PULL_PAUSE)),
                    Answer::NoPopMessage {
                        pop_time: pop.born_time.unwrap_or("0").to_string(),
                        invisible_time: pop.invisible_time.unwrap_or("0").to_string(),
                    },
                )
            }
            // A POP where the stage reads but nobody writes: nothing new to wait for.
            (Op::Pop, Some(p)) if !route::writable(p, side) => {
                let poll = req.pop.and_then(|pop| pop.poll_time).and_then(|t| t.parse::<u64>().ok());
                match poll.map(Duration::from_millis) {
                    Some(poll) if poll > UNWRITTEN_POP_POLL => Verdict::ShortenPoll(UNWRITTEN_POP_POLL),
                    _ => Verdict::Forward,
                }
            }
            _ => Verdict::Forward,
        },
        // The stage changed while the broker held the pull: these messages may not be read now;
        // the client asks again from the same offset.
        Seen::Response { code: ResponseCode::SUCCESS, awaited: Awaited::Pull { queue_offset, .. } }
            if policy.is_some_and(|p| !route::readable(p, side)) =>
        {
            Verdict::Replace(Answer::NoNewMessage { queue_offset: queue_offset.to_string() })
        }
        Seen::Response { .. } | Seen::Unobserved => Verdict::Forward,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::Stage;

    const TOPIC: &str = "orders";

    /// The operations of the table's columns, each as the relay would see it.
    const OPS: [&str; 15] = [
        "send", "batch", "pull", "held", "pop", "heldpop", "ack", "batchack", "chinv", "sendback", "endtx",
        "recall", "hb", "lock", "commit",
    ];

    fn request(code: RequestCode, fields: &[(&str, &str)]) -> Header {
        Frame::request(code).with_fields(fields.iter().copied()).header
    }

    /// One letter per verdict: F forward, S a POP forwarded with its poll time cut (a side read
    /// but not written), R refused with NO_PERMISSION, W answered "no new
    /// message" after the pause (never reaching the broker), X the broker's answer replaced by
    /// "no new message", P a POP answered "nothing found" (POLLING_TIMEOUT) after the pause.
    fn letter(v: &Verdict) -> char {
        match v {
            Verdict::Forward => 'F',
            Verdict::ShortenPoll(UNWRITTEN_POP_POLL) => 'S',
            Verdict::Refuse(ResponseCode::NO_PERMISSION, _) => 'R',
            Verdict::AnswerAfter(HELD_PULL_PAUSE, Answer::NoNewMessage { queue_offset })
                if queue_offset == "7" =>
            {
                'W'
            }
            Verdict::Replace(Answer::NoNewMessage { queue_offset }) if queue_offset == "7" => 'X',
            Verdict::AnswerAfter(HELD_PULL_PAUSE, Answer::NoPopMessage { pop_time, invisible_time })
                if pop_time == "1700000000000" && invisible_time == "60000" =>
            {
                'P'
            }
            other => panic!("unexpected verdict {other:?}"),
        }
    }

    fn verdict(op: &str, side: Side, policy: Option<TopicPolicy>) -> Verdict {
        let header = match op {
            "send" => request(RequestCode::SEND_MESSAGE_V2, &[("a", "pg"), ("b", TOPIC)]),
            "batch" => request(RequestCode::SEND_BATCH_MESSAGE, &[("a", "pg"), ("b", TOPIC)]),
            "pull" => request(RequestCode::PULL_MESSAGE, &[("topic", TOPIC), ("queueOffset", "7")]),
            // The broker held the pull and answers with messages under the row's policy.
            "held" => {
                let seen = Seen::Response {
                    code: ResponseCode::SUCCESS,
                    awaited: Awaited::Pull { topic: TOPIC, queue_offset: "7" },
                };
                return decide(seen, side, policy);
            }
            // As the 5.x Proxy sends it: all queues (-1), a long poll.
            "pop" => request(
                RequestCode::POP_MESSAGE,
                &[
                    ("consumerGroup", "cg"),
                    ("topic", TOPIC),
                    ("queueId", "-1"),
                    ("maxMsgNums", "32"),
                    ("invisibleTime", "60000"),
                    ("pollTime", "20000"),
                    ("bornTime", "1700000000000"),
                    ("initMode", "1"),
                ],
            ),
            // The broker held the POP and answers with messages under the row's policy.
            "heldpop" => {
                let seen =
                    Seen::Response { code: ResponseCode::SUCCESS, awaited: Awaited::Pop { topic: TOPIC } };
                return decide(seen, side, policy);
            }
            // The follow-ups of a POP, as the 5.x Proxy sends them (topic and group named).
            "ack" => request(
                RequestCode::ACK_MESSAGE,
                &[
                    ("consumerGroup", "cg"),
                    ("topic", TOPIC),
                    ("queueId", "0"),
                    ("offset", "7"),
                    ("extraInfo", "x"),
                ],
            ),
            "batchack" => request(RequestCode::BATCH_ACK_MESSAGE, &[]),
            "chinv" => request(
                RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
                &[
                    ("consumerGroup", "cg"),
                    ("topic", TOPIC),
                    ("queueId", "0"),
                    ("offset", "7"),
                    ("extraInfo", "x"),
                ],
            ),
            "sendback" => request(
                RequestCode::CONSUMER_SEND_MSG_BACK,
                &[("group", "cg"), ("originTopic", TOPIC), ("offset", "7"), ("delayLevel", "0")],
            ),
            "recall" => request(RequestCode::RECALL_MESSAGE, &[("producerGroup", "pg"), ("topic", TOPIC)]),
            "hb" => request(RequestCode::HEART_BEAT, &[]),
            "lock" => request(RequestCode::LOCK_BATCH_MQ, &[]),
            "commit" => request(
                RequestCode::UPDATE_CONSUMER_OFFSET,
                &[("consumerGroup", "cg"), ("topic", TOPIC), ("commitOffset", "9")],
            ),
            "endtx" => {
                request(RequestCode::END_TRANSACTION, &[("producerGroup", "pg"), ("commitOrRollback", "8")])
            }
            _ => unreachable!("{op}"),
        };
        let seen = Seen::Request(Request::of(&header));
        // The relay looks up only the topic the decision names.
        let policy = seen.topic().and(policy);
        decide(seen, side, policy)
    }

    fn row(policy: TopicPolicy, side: Side) -> String {
        OPS.iter().map(|op| letter(&verdict(op, side, Some(policy)))).collect()
    }

    #[test]
    fn every_stage_and_side_as_a_table() {
        use Side::{Source as S, Target as T};
        use Stage::*;
        let at = TopicPolicy::at;
        let hold = |stage, side| TopicPolicy::at(stage).held(Some(side));
        // Columns, in order: send, batch send, pull, a held pull answered with messages after the
        // stage changed to the row's, POP_MESSAGE (200050), a held POP answered with messages
        // after the stage changed, ACK_MESSAGE (200051), BATCH_ACK_MESSAGE (200151),
        // CHANGE_MESSAGE_INVISIBLETIME (200053), CONSUMER_SEND_MSG_BACK (36), END_TRANSACTION
        // (37), RECALL_MESSAGE (370), HEART_BEAT, LOCK_BATCH_MQ, UPDATE_CONSUMER_OFFSET.
        // A POP is read where a pull is (with a short poll where nobody writes); a held POP's
        // messages are already handed out and pass.
        // The follow-ups of handed-out messages, transactions and recalls go to the broker that
        // holds them whatever the stage; heartbeats, locks and offset commits name no queue the
        // stage closes.
        #[rustfmt::skip]
        let table: Vec<(TopicPolicy, Side, &str)> = vec![
            // policy                side  send batch pull held pop heldpop | follow-ups | hb lock commit
            (at(Initial),              S, "FFFFFFFFFFFFFFF"),
            (at(Initial),              T, "RRWXPFFFFFFFFFF"),
            (at(DualRead),             S, "FFFFFFFFFFFFFFF"),
            (at(DualRead),             T, "FFFFSFFFFFFFFFF"), // read-only: stale sends are still consumed
            (at(DualReadWrite),        S, "FFFFFFFFFFFFFFF"),
            (at(DualReadWrite),        T, "FFFFFFFFFFFFFFF"),
            (at(CuttingOver),          S, "FFFFSFFFFFFFFFF"), // read-only: stale sends are still consumed
            (at(CuttingOver),          T, "FFFFFFFFFFFFFFF"),
            (at(Completed),            S, "RRWXPFFFFFFFFFF"),
            (at(Completed),            T, "FFFFFFFFFFFFFFF"),
            // Direct: routes name the target's brokers; a client with an older route still
            // reaching a relay is treated as at Completed.
            (at(Direct),               S, "RRWXPFFFFFFFFFF"),
            (at(Direct),               T, "FFFFFFFFFFFFFFF"),
            // Strict-order holds: the held side is written, not read (and a read-only side held
            // is closed).
            (hold(Initial, S),         S, "FFWXPFFFFFFFFFF"),
            (hold(Initial, S),         T, "RRWXPFFFFFFFFFF"),
            (hold(Initial, T),         S, "FFFFFFFFFFFFFFF"),
            (hold(Initial, T),         T, "RRWXPFFFFFFFFFF"),
            (hold(DualRead, S),        S, "FFWXPFFFFFFFFFF"),
            (hold(DualRead, S),        T, "FFFFSFFFFFFFFFF"),
            (hold(DualRead, T),        S, "FFFFFFFFFFFFFFF"),
            (hold(DualRead, T),        T, "RRWXPFFFFFFFFFF"),
            (hold(DualReadWrite, S),   S, "FFWXPFFFFFFFFFF"),
            (hold(DualReadWrite, S),   T, "FFFFFFFFFFFFFFF"),
            (hold(DualReadWrite, T),   S, "FFFFFFFFFFFFFFF"),
            (hold(DualReadWrite, T),   T, "FFWXPFFFFFFFFFF"),
            (hold(CuttingOver, S),     S, "RRWXPFFFFFFFFFF"),
            (hold(CuttingOver, S),     T, "FFFFFFFFFFFFFFF"),
            (hold(CuttingOver, T),     S, "FFFFSFFFFFFFFFF"),
            (hold(CuttingOver, T),     T, "FFWXPFFFFFFFFFF"),
            (hold(Completed, S),       S, "RRWXPFFFFFFFFFF"),
            (hold(Completed, S),       T, "FFFFFFFFFFFFFFF"),
            (hold(Completed, T),       S, "RRWXPFFFFFFFFFF"),
            (hold(Completed, T),       T, "FFWXPFFFFFFFFFF"),
            (hold(Direct, S),          S, "RRWXPFFFFFFFFFF"),
            (hold(Direct, S),          T, "FFFFFFFFFFFFFFF"),
            (hold(Direct, T),          S, "RRWXPFFFFFFFFFF"),
            (hold(Direct, T),          T, "FFWXPFFFFFFFFFF"),
        ];
        let wrong: Vec<String> = table
            .iter()
            .filter_map(|(policy, side, want)| {
                let got = row(*policy, *side);
                (got != *want).then(|| format!("{policy:?} on the {side}: want {want}, got {got}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // Every policy is in the table, on both sides.
        assert_eq!(table.len(), Stage::ALL.len() * 3 * 2);
    }

    #[test]
    fn topics_outside_the_migration_pass_everywhere() {
        for side in [Side::Source, Side::Target] {
            for op in OPS {
                assert_eq!(verdict(op, side, None), Verdict::Forward, "{op} on the {side}");
            }
        }
    }

    #[test]
    fn a_held_pull_s_other_answers_pass() {
        let done = Some(TopicPolicy::at(Stage::Completed));
        let pull = Awaited::Pull { topic: TOPIC, queue_offset: "7" };
        for code in
            [ResponseCode::PULL_NOT_FOUND, ResponseCode::PULL_OFFSET_MOVED, ResponseCode::SYSTEM_ERROR]
        {
            let seen = Seen::Response { code, awaited: pull };
            assert_eq!(decide(seen, Side::Source, done), Verdict::Forward, "{code}");
        }
        let other = Seen::Response { code: ResponseCode::SUCCESS, awaited: Awaited::Other };
        assert_eq!(other.topic(), None);
        assert_eq!(decide(other, Side::Source, done), Verdict::Forward);
        assert_eq!(decide(Seen::Unobserved, Side::Source, done), Verdict::Forward);
    }

    #[test]
    fn headers_name_their_topic_by_code() {
        let v1 = request(RequestCode::SEND_MESSAGE, &[("producerGroup", "pg"), ("topic", TOPIC)]);
        assert_eq!(Request::of(&v1).topic, Some(TOPIC));
        let reply = request(RequestCode::SEND_REPLY_MESSAGE_V2, &[("a", "pg"), ("b", TOPIC)]);
        assert_eq!(Request::of(&reply).topic, Some(TOPIC));
        let lite = request(RequestCode::LITE_PULL_MESSAGE, &[("topic", TOPIC), ("queueOffset", "3")]);
        assert_eq!(
            Request::of(&lite),
            Request {
                code: RequestCode::LITE_PULL_MESSAGE,
                topic: Some(TOPIC),
                queue_offset: Some("3"),
                pop: None
            }
        );
        // Requests the relay does not steer are not even looked up.
        let commit = request(RequestCode::UPDATE_CONSUMER_OFFSET, &[("topic", TOPIC)]);
        assert_eq!(Request::of(&commit).topic, None);
        assert_eq!(RequestCode::POP_MESSAGE.0, 200_050);
        assert_eq!(RequestCode::ACK_MESSAGE.0, 200_051);
    }

    #[test]
    fn answers_say_why_and_keep_the_offset() {
        let done = Some(TopicPolicy::at(Stage::Completed));
        let send = verdict("send", Side::Source, done);
        let f = send.frame(12).unwrap();
        assert_eq!((f.header.response_code(), f.header.opaque), (ResponseCode::NO_PERMISSION, 12));
        assert_eq!(
            f.header.remark.as_deref(),
            Some("Ferry: topic orders is not written on the source cluster at stage Completed")
        );
        let pull = request(RequestCode::PULL_MESSAGE, &[("topic", TOPIC)]);
        let v = decide(Seen::Request(Request::of(&pull)), Side::Source, done);
        let f = v.frame(13).unwrap();
        assert_eq!(f.header.response_code(), ResponseCode::PULL_NOT_FOUND);
        assert!(f.header.is_response());
        assert_eq!(f.header.field("nextBeginOffset"), Some("0"), "no offset given: from 0");
        assert_eq!(f.header.field("maxOffset"), Some("0"));
        assert_eq!(Verdict::Forward.frame(1), None);
    }

    #[test]
    fn a_pop_where_the_stage_does_not_read_is_answered_as_a_broker_that_found_nothing() {
        let done = Some(TopicPolicy::at(Stage::Completed));
        let v = verdict("pop", Side::Source, done);
        let f = v.frame(21).unwrap();
        assert_eq!(f.header.response_code(), ResponseCode::POLLING_TIMEOUT);
        assert_eq!(f.header.response_code().0, 210);
        assert_eq!(f.header.opaque, 21);
        // Every @CFNotNull field of PopMessageResponseHeader, so that the client's decode passes.
        for (k, want) in [
            ("popTime", "1700000000000"),
            ("invisibleTime", "60000"),
            ("reviveQid", "0"),
            ("restNum", "0"),
            ("startOffsetInfo", ""),
            ("msgOffsetInfo", ""),
        ] {
            assert_eq!(f.header.field(k), Some(want), "{k}");
        }
        assert!(f.body.is_empty());
        // A short poll waits no longer than the client asked; a POP without one waits the pause.
        let short = request(
            RequestCode::POP_MESSAGE,
            &[("topic", TOPIC), ("pollTime", "300"), ("invisibleTime", "5000"), ("bornTime", "9")],
        );
        let v = decide(Seen::Request(Request::of(&short)), Side::Source, done);
        assert!(
            matches!(v, Verdict::AnswerAfter(d, Answer::NoPopMessage { .. }) if d == Duration::from_millis(300))
        );
        let bare = request(RequestCode::POP_MESSAGE, &[("topic", TOPIC)]);
        let v = decide(Seen::Request(Request::of(&bare)), Side::Source, done);
        let f = v.frame(1).unwrap();
        assert_eq!((f.header.field("popTime"), f.header.field("invisibleTime")), (Some("0"), Some("0")));
        // Where the stage reads, or outside any migration, a POP goes to the broker.
        assert_eq!(verdict("pop", Side::Target, done), Verdict::Forward);
        assert_eq!(verdict("pop", Side::Source, None), Verdict::Forward);
        // A held POP's other answers pass too.
        for code in [ResponseCode::POLLING_TIMEOUT, ResponseCode::POLLING_FULL, ResponseCode::SYSTEM_ERROR] {
            let seen = Seen::Response { code, awaited: Awaited::Pop { topic: TOPIC } };
            assert_eq!(decide(seen, Side::Source, done), Verdict::Forward, "{code}");
        }
    }
}
