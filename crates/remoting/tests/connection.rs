//! The async connection against a scripted peer on loopback: responses matched by opaque out of
//! order, timeouts, oneway, peer-initiated requests, and a peer that sends garbage.

use std::sync::Arc;
use std::time::Duration;

use ferry_remoting::codec::FrameCodec;
use ferry_remoting::{ConnectOptions, Connection, Error, Frame, RequestCode, RequestHandler, ResponseCode};
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_util::codec::Framed;

#[tokio::test]
async fn concurrent_requests_are_matched_by_opaque_even_when_answered_out_of_order() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(s, FrameCodec::default());
        let mut held = Vec::new();
        while let Some(Ok(req)) = framed.next().await {
            held.push(req);
            if held.len() == 3 {
                // Answer in reverse order, echoing the request's "n" field in the remark.
                for req in held.drain(..).rev() {
                    let n = req.header.field("n").unwrap().to_string();
                    framed
                        .send(Frame::response(ResponseCode::SUCCESS, req.header.opaque).with_remark(n))
                        .await
                        .unwrap();
                }
            }
        }
    });
    let conn = Connection::connect(&addr, ConnectOptions::default()).await.unwrap();
    let calls = (0..3).map(|n| {
        let f = Frame::request(RequestCode::GET_BROKER_CLUSTER_INFO).with_fields([("n", n.to_string())]);
        conn.request(f, Duration::from_secs(5))
    });
    let responses = futures::future::join_all(calls).await;
    for (n, r) in responses.into_iter().enumerate() {
        assert_eq!(r.unwrap().header.remark.as_deref(), Some(n.to_string().as_str()));
    }
}

#[tokio::test]
async fn a_request_without_answer_times_out_and_names_the_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(s, FrameCodec::default());
        while framed.next().await.is_some() {}
    });
    let conn = Connection::connect(&addr, ConnectOptions::default()).await.unwrap();
    let err =
        conn.request(Frame::request(RequestCode::GET_BROKER_CLUSTER_INFO), Duration::from_millis(100)).await;
    match err {
        Err(e @ Error::Timeout { .. }) => assert!(e.to_string().contains(&addr), "{e}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_address_is_reported_as_such() {
    // Bind then drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let err = Connection::connect(&addr, ConnectOptions::default()).await.err().unwrap();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&addr));
}

struct Echo;

impl RequestHandler for Echo {
    fn handle(&self, request: Frame) -> BoxFuture<'static, Option<Frame>> {
        Box::pin(
            async move { Some(Frame::response(ResponseCode::SUCCESS, 0).with_body(request.body.clone())) },
        )
    }
}

#[tokio::test]
async fn peer_initiated_requests_reach_the_handler_and_oneway_gets_no_answer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let peer = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(s, FrameCodec::default());
        // The client's oneway arrives first and must not be answered.
        let oneway = framed.next().await.unwrap().unwrap();
        assert!(oneway.header.is_oneway());
        let mut call = Frame::request(RequestCode::GET_CONSUMER_RUNNING_INFO).with_body(&b"ping"[..]);
        call.header.opaque = 42;
        framed.send(call).await.unwrap();
        let answer = framed.next().await.unwrap().unwrap();
        assert!(answer.header.is_response());
        assert_eq!(answer.header.opaque, 42);
        assert_eq!(answer.body.as_ref(), b"ping");
    });
    let options = ConnectOptions { handler: Some(Arc::new(Echo)), ..ConnectOptions::default() };
    let conn = Connection::connect(&addr, options).await.unwrap();
    conn.oneway(Frame::request(RequestCode::UNREGISTER_CLIENT)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), peer).await.unwrap().unwrap();
}

#[tokio::test]
async fn garbage_from_the_peer_closes_the_connection_and_fails_pending_requests() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.write_all(&[0xff; 16]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let conn = Connection::connect(&addr, ConnectOptions::default()).await.unwrap();
    let err =
        conn.request(Frame::request(RequestCode::GET_BROKER_CLUSTER_INFO), Duration::from_secs(3)).await;
    // The waiting request learns why the connection ended, and later calls fail at once.
    assert!(
        matches!(err, Err(Error::Codec { source: ferry_remoting::CodecError::FrameTooLarge { .. }, .. })),
        "{err:?}"
    );
    assert!(conn.is_closed());
    let started = std::time::Instant::now();
    let again =
        conn.request(Frame::request(RequestCode::GET_BROKER_CLUSTER_INFO), Duration::from_secs(3)).await;
    assert!(matches!(again, Err(Error::Codec { .. })), "{again:?}");
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(conn.oneway(Frame::request(RequestCode::UNREGISTER_CLIENT)).await.is_err());
}

#[tokio::test]
async fn a_late_response_is_dropped_and_cancelled_requests_leave_nothing_pending() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(s, FrameCodec::default());
        while let Some(Ok(req)) = framed.next().await {
            // "slow" requests are answered after the caller gave up.
            if req.header.field("slow").is_some() {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let reply = Frame::response(ResponseCode::SUCCESS, req.header.opaque).with_remark("done");
            framed.send(reply).await.unwrap();
        }
    });
    let conn = Connection::connect(&addr, ConnectOptions::default()).await.unwrap();
    let slow = Frame::request(RequestCode::GET_BROKER_CLUSTER_INFO).with_fields([("slow", "1")]);
    let err = conn.request(slow.clone(), Duration::from_millis(50)).await;
    assert!(matches!(err, Err(Error::Timeout { .. })), "{err:?}");
    assert_eq!(conn.pending_requests(), 0, "a timed-out request leaves no waiter");

    // A request future dropped before its answer (as try_join! does) leaves no waiter either.
    let cancelled =
        tokio::time::timeout(Duration::from_millis(50), conn.request(slow, Duration::from_secs(5))).await;
    assert!(cancelled.is_err());
    assert_eq!(conn.pending_requests(), 0);

    // Late answers arrive and are dropped; the connection keeps serving.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let ok = conn.request(Frame::request(RequestCode::GET_BROKER_CLUSTER_INFO), Duration::from_secs(2)).await;
    assert_eq!(ok.unwrap().header.remark.as_deref(), Some("done"));
}

#[tokio::test]
async fn peer_requests_without_handler_get_not_supported_in_the_peers_encoding() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let peer = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(s, FrameCodec::default());
        let mut call = Frame::request(RequestCode::CHECK_TRANSACTION_STATE);
        call.serialize_type = ferry_remoting::SerializeType::RocketMq;
        call.header.opaque = 9;
        framed.send(call).await.unwrap();
        framed.next().await.unwrap().unwrap()
    });
    let _conn = Connection::connect(&addr, ConnectOptions::default()).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), peer).await.unwrap().unwrap();
    assert_eq!(answer.header.response_code(), ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(answer.header.opaque, 9);
    assert_eq!(answer.serialize_type, ferry_remoting::SerializeType::RocketMq);
}

#[tokio::test]
async fn a_frame_that_cannot_be_encoded_fails_only_its_own_call() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(s, FrameCodec::default());
        while let Some(Ok(req)) = framed.next().await {
            framed.send(Frame::response(ResponseCode::SUCCESS, req.header.opaque)).await.unwrap();
        }
    });
    let conn = Connection::connect(&addr, ConnectOptions::default()).await.unwrap();
    let mut pop = Frame::request(RequestCode::POP_MESSAGE);
    pop.serialize_type = ferry_remoting::SerializeType::RocketMq;
    let err = conn.request(pop, Duration::from_secs(2)).await;
    assert!(matches!(err, Err(Error::Codec { .. })), "{err:?}");
    assert!(!conn.is_closed());
    conn.request_ok(Frame::request(RequestCode::GET_BROKER_CLUSTER_INFO), Duration::from_secs(2))
        .await
        .unwrap();
}
