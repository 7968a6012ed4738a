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

/// What the relays tell apart among client requests; everything else passes as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A send; `v2` headers name fields `a` (producer group), `b` (topic) and so on.
    Send { v2: bool },
    /// `PULL_MESSAGE` and `LITE_PULL_MESSAGE`.
    Pull,
    /// Anything else: passes (POP, ACK, heartbeats, locks, offset commits, end-transaction...).
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
    /// The topic of a send or a pull (other requests are not looked at).
    pub topic: Option<&'a str>,
    /// A pull's `queueOffset`.
    pub queue_offset: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub fn of(header: &'a Header) -> Request<'a> {
        let code = header.request_code();
        let (topic, queue_offset) = match Op::of(code) {
            Op::Send { v2 } => (header.field(Op::send_fields(v2).0), None),
            Op::Pull => (header.field("topic"), header.field("queueOffset")),
            Op::Other => (None, None),
        };
        Request { code, topic, queue_offset }
    }
}

/// What the relay kept of a request until the broker's answer, as far as the decision goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Awaited<'a> {
    /// A pull the broker may have held (long polling) while the stage changed.
    Pull { topic: &'a str, queue_offset: &'a str },
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
            Seen::Response { awaited: Awaited::Pull { topic, .. }, .. } => Some(topic),
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
}

/// An answer Ferry gives in the broker's stead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// PULL_NOT_FOUND, offsets unchanged: the client pulls again from where it was.
    NoNewMessage { queue_offset: String },
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
        }
    }
}

impl Verdict {
    /// The frame Ferry sends the client for a verdict that answers (`None` for `Forward`), with
    /// the opaque of the request it stands for.
    pub fn frame(&self, opaque: i32) -> Option<Frame> {
        match self {
            Verdict::Forward => None,
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
    const OPS: [&str; 10] = ["send", "batch", "pull", "held", "pop", "ack", "hb", "lock", "commit", "endtx"];

    fn request(code: RequestCode, fields: &[(&str, &str)]) -> Header {
        Frame::request(code).with_fields(fields.iter().copied()).header
    }

    /// One letter per verdict: F forward, R refused with NO_PERMISSION, W answered "no new
    /// message" after the pause (never reaching the broker), X the broker's answer replaced by
    /// "no new message".
    fn letter(v: &Verdict) -> char {
        match v {
            Verdict::Forward => 'F',
            Verdict::Refuse(ResponseCode::NO_PERMISSION, _) => 'R',
            Verdict::AnswerAfter(HELD_PULL_PAUSE, Answer::NoNewMessage { queue_offset })
                if queue_offset == "7" =>
            {
                'W'
            }
            Verdict::Replace(Answer::NoNewMessage { queue_offset }) if queue_offset == "7" => 'X',
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
            "pop" => request(RequestCode::POP_MESSAGE, &[("consumerGroup", "cg"), ("topic", TOPIC)]),
            "ack" => request(RequestCode::ACK_MESSAGE, &[("consumerGroup", "cg"), ("topic", TOPIC)]),
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
        let hold = |stage, side| TopicPolicy { stage, write_only: Some(side) };
        // Columns, in order: send, batch send, pull, a held pull answered with messages after the
        // stage changed to the row's, POP_MESSAGE (200050), ACK_MESSAGE (200051), HEART_BEAT,
        // LOCK_BATCH_MQ, UPDATE_CONSUMER_OFFSET, END_TRANSACTION.
        // POP, ACK, heartbeats, locks, offset commits and end-transaction always pass: 5.x POP
        // consumers cannot be steered by routes (the no-pop-consumers check guards DualRead), and
        // the others name no queue the stage closes.
        #[rustfmt::skip]
        let table: Vec<(TopicPolicy, Side, &str)> = vec![
            // policy                side  send, batch, pull, held, pop, ack, hb, lock, commit, endtx
            (at(Initial),              S, "FFFFFFFFFF"),
            (at(Initial),              T, "RRWXFFFFFF"),
            (at(DualRead),             S, "FFFFFFFFFF"),
            (at(DualRead),             T, "FFFFFFFFFF"), // read-only: stale sends are still consumed
            (at(DualReadWrite),        S, "FFFFFFFFFF"),
            (at(DualReadWrite),        T, "FFFFFFFFFF"),
            (at(CuttingOver),          S, "FFFFFFFFFF"), // read-only: stale sends are still consumed
            (at(CuttingOver),          T, "FFFFFFFFFF"),
            (at(Completed),            S, "RRWXFFFFFF"),
            (at(Completed),            T, "FFFFFFFFFF"),
            // Direct: routes name the target's brokers; a client with an older route still
            // reaching a relay is treated as at Completed.
            (at(Direct),               S, "RRWXFFFFFF"),
            (at(Direct),               T, "FFFFFFFFFF"),
            // Strict-order holds: the held side is written, not read (and a read-only side held
            // is closed).
            (hold(Initial, S),         S, "FFWXFFFFFF"),
            (hold(Initial, S),         T, "RRWXFFFFFF"),
            (hold(Initial, T),         S, "FFFFFFFFFF"),
            (hold(Initial, T),         T, "RRWXFFFFFF"),
            (hold(DualRead, S),        S, "FFWXFFFFFF"),
            (hold(DualRead, S),        T, "FFFFFFFFFF"),
            (hold(DualRead, T),        S, "FFFFFFFFFF"),
            (hold(DualRead, T),        T, "RRWXFFFFFF"),
            (hold(DualReadWrite, S),   S, "FFWXFFFFFF"),
            (hold(DualReadWrite, S),   T, "FFFFFFFFFF"),
            (hold(DualReadWrite, T),   S, "FFFFFFFFFF"),
            (hold(DualReadWrite, T),   T, "FFWXFFFFFF"),
            (hold(CuttingOver, S),     S, "RRWXFFFFFF"),
            (hold(CuttingOver, S),     T, "FFFFFFFFFF"),
            (hold(CuttingOver, T),     S, "FFFFFFFFFF"),
            (hold(CuttingOver, T),     T, "FFWXFFFFFF"),
            (hold(Completed, S),       S, "RRWXFFFFFF"),
            (hold(Completed, S),       T, "FFFFFFFFFF"),
            (hold(Completed, T),       S, "RRWXFFFFFF"),
            (hold(Completed, T),       T, "FFWXFFFFFF"),
            (hold(Direct, S),          S, "RRWXFFFFFF"),
            (hold(Direct, S),          T, "FFFFFFFFFF"),
            (hold(Direct, T),          S, "RRWXFFFFFF"),
            (hold(Direct, T),          T, "FFWXFFFFFF"),
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
            Request { code: RequestCode::LITE_PULL_MESSAGE, topic: Some(TOPIC), queue_offset: Some("3") }
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
}
