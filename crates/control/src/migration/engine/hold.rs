//! Strict-order holds: after a step that moves keys, the side they moved to is written but not
//! read until every group has read the other side up to a barrier taken once every client has
//! the new route (docs/seamless.md, "Strict order").

use super::*;

impl Engine {
    /// Strict order: once every group has read the old side up to the barrier, the held side is
    /// read again. The barrier covers every queue of the topic on that side; while any broker
    /// there is unheard, no barrier is taken and no hold is released.
    pub(super) async fn release_if_read(&self, m: &Migration, t: MigrationTopic) -> Result<(), EngineError> {
        let _step = self.steps.lock().await;
        // Another instance taking a step (or releasing this hold): the next round looks again.
        if self.take_lease().await.is_err() {
            return Ok(());
        }
        let released = self.release_under_lease(m, t).await;
        self.give_lease(matches!(released, Ok(true))).await;
        released.map(|_| ())
    }

    /// Whether the hold was released (the stage table changed).
    async fn release_under_lease(&self, m: &Migration, t: MigrationTopic) -> Result<bool, EngineError> {
        // Re-read under the lock: a step may have changed it since.
        let mut t = self.topic(m.id, &t.topic).await?;
        let Some(mut hold) = t.hold.clone() else { return Ok(false) };
        let clusters = self.clusters(m)?;
        let expected = self.store.migration_brokers(m.id).await?;
        if hold.barrier.is_none() {
            // The barrier counts once no client can still write the old side.
            let mut e = Evidence { route_warming_up: self.warming_up(), ..Evidence::default() };
            e.now_ms = Utc::now().timestamp_millis();
            (e.route_epoch, e.route_holders, e.topic_users) = evidence::route_view(&self.proxy, &t.topic);
            // Every instance of the fleet serves the hold, and every client of each has its route.
            self.add_fleet(m.id, &t, &mut e).await?;
            let settled = checks::route_settled(&e).passed && checks::fleet_applied(&e).passed;
            let epoch = e.route_epoch;
            // Settled on two ticks in a row: a send that picked its queue just before the client's
            // route changed has landed by then.
            let first_sight =
                self.settled_once.lock().expect("settled lock").insert((m.id, t.topic.clone(), epoch));
            if !settled || first_sight {
                if !settled {
                    self.settled_once.lock().expect("settled lock").remove(&(m.id, t.topic.clone(), epoch));
                }
                return Ok(false);
            }
            match evidence::take_barrier(&clusters, &t.topic, &hold, &expected).await {
                Ok(b) => {
                    hold.barrier = Some(b);
                    t.hold = Some(hold.clone());
                    self.store.update_migration_topic(m.id, &t).await?;
                }
                Err(why) => {
                    tracing::info!(topic = %t.topic, %why, "strict-order barrier not taken yet");
                    return Ok(false);
                }
            }
        }
        match evidence::hold_behind(&clusters, &t, &hold, &expected).await {
            Ok(behind) if behind.is_empty() => {
                t.hold = None;
                t.updated_at = Utc::now();
                self.store.update_migration_topic(m.id, &t).await?;
                self.record(m.id, released_transition(&t.topic, t.stage, &hold)).await?;
                tracing::info!(topic = %t.topic, side = %hold.write_only, "strict-order hold released");
                self.sync_routes(m.id).await?;
                return Ok(true);
            }
            Ok(_) => {}
            Err(why) => {
                tracing::info!(topic = %t.topic, %why, "strict-order hold kept: a queue cannot be read")
            }
        }
        Ok(false)
    }
}

/// The hold a strict-order topic at `from` takes after stepping to `to`: the side keys moved to is
/// held. Its barrier is taken later, once every client has the new route (until then producers may
/// still write the old side).
pub(super) fn hold_after(from: TopicPolicy, to: Stage) -> Option<Hold> {
    from.moves_keys(to).then(|| Hold {
        write_only: if to > from.stage { Side::Target } else { Side::Source },
        barrier: None,
        since: Utc::now(),
    })
}

/// A strict-order hold released at `stage`: Ferry's own entry in the history.
pub(super) fn released_transition(topic: &str, stage: Stage, hold: &Hold) -> Transition {
    Transition::new(topic, TransitionKind::Released, "ferry")
        .stages(Some(stage), Some(stage))
        .reason(format!("the {} is read again", hold.write_only))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_that_moves_keys_holds_the_side_they_moved_to() {
        use Stage::*;
        // Which steps move keys is the route's own rule (`TopicPolicy::moves_keys`, tabled there).
        for one_write_side in [false, true] {
            for from in Stage::ALL {
                for to in [from.next(), from.previous()].into_iter().flatten() {
                    let policy = TopicPolicy::at(from).one_write_side(one_write_side);
                    let hold = hold_after(policy, to);
                    assert_eq!(
                        hold.is_some(),
                        policy.moves_keys(to),
                        "{from} -> {to}, one side {one_write_side}"
                    );
                    if let Some(h) = hold {
                        let moved_to = if to > from { Side::Target } else { Side::Source };
                        assert_eq!(h.write_only, moved_to, "{from} -> {to}");
                        assert!(h.barrier.is_none(), "the barrier waits for every client");
                    }
                }
            }
        }
        let h = hold_after(TopicPolicy::at(DualRead), DualReadWrite).unwrap();
        let t = released_transition("orders", DualReadWrite, &h);
        assert_eq!(
            (t.kind, t.from, t.to, t.actor.as_str()),
            (TransitionKind::Released, Some(DualReadWrite), Some(DualReadWrite), "ferry")
        );
        assert_eq!(t.reason.as_deref(), Some("the target is read again"));
    }
}
