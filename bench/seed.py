"""Seed of a benchmark's source cluster: the broker's own topics.json / subscriptionGroup.json (as
ferry_testkit::SeedConfig writes them), plus expected.json for the benchmark's checks.

    python3 bench/seed.py PROFILE OUT_DIR N_TOPICS N_GROUPS

Deterministic, varied settings; a profile says which (every Nth: i % N == 0):

export (bench/export.sh)
  topics  bench-topic-NNNNN, every 5th namespaced (ns1%.., ns2%.., ns3%..); write queues cycle
          1,2,4,8,16,3,6; every 11th reads 2x its write queues; every 9th ordered; every 17th
          read-only (perm 4), every 19th write-only (perm 2).
  groups  bench-group-NNNNN, every 4th namespaced; retryMaxTimes cycle 16,0,1,3,5,10,32;
          every 23rd 2 retry queues; every 15th broadcast; every 8th consumeMessageOrderly (5.x).
import (bench/import.sh): all inside the import's default queue range 3..16 (so ferry fits
nothing and both tools write the same numbers)
  topics  import-topic-NNNN, every 5th namespaced; write queues cycle 4,8,16,3,6,12,5,10; every
          11th reads 16; every 50th ordered; every 23rd read-only (perm 4).
  groups  import-group-NNNN, every 4th namespaced; retryMaxTimes cycle 16,3,0,5,10,32; every 23rd
          2 retry queues; every 15th broadcast. The other fields are what `mqadmin updateSubGroup`
          writes by default, so the baseline writes the same configs with its flags.
"""
import json
import os
import sys

PROFILES = {
    "export": {
        "topic": "bench-topic-%05d",
        "group": "bench-group-%05d",
        "queues": [1, 2, 4, 8, 16, 3, 6],
        "read": lambda i, write: write * 2 if i % 11 == 0 else write,
        "perm": lambda i: 4 if i % 17 == 0 else 2 if i % 19 == 0 else 6,
        "order": 9,
        "retry": [16, 0, 1, 3, 5, 10, 32],
        "group_fields": lambda i: {"consumeFromMinEnable": True, "consumeMessageOrderly": i % 8 == 0},
        "expected_group": ("retryMaxTimes", "retryQueueNums", "consumeBroadcastEnable", "consumeMessageOrderly"),
    },
    "import": {
        "topic": "import-topic-%04d",
        "group": "import-group-%04d",
        "queues": [4, 8, 16, 3, 6, 12, 5, 10],
        "read": lambda i, write: 16 if i % 11 == 0 else write,
        "perm": lambda i: 4 if i % 23 == 0 else 6,
        "order": 50,
        "retry": [16, 3, 0, 5, 10, 32],
        "group_fields": lambda i: {"consumeFromMinEnable": False},
        "expected_group": ("retryMaxTimes", "retryQueueNums", "consumeBroadcastEnable", "consumeEnable"),
    },
}


def namespaced(name, i, every):
    return "ns%d%%%s" % ((i // every) % 3 + 1, name) if i % every == 0 else name


def seed(p, n_topics, n_groups):
    topics, groups, exp_t, exp_g = {}, {}, {}, {}
    for i in range(n_topics):
        name = namespaced(p["topic"] % i, i, 5)
        write = p["queues"][i % len(p["queues"])]
        read, perm, order = p["read"](i, write), p["perm"](i), i % p["order"] == 0
        topics[name] = {"order": order, "perm": perm, "readQueueNums": read, "topicFilterType": "SINGLE_TAG",
                        "topicName": name, "topicSysFlag": 0, "writeQueueNums": write}
        exp_t[name] = {"readQueueNums": read, "writeQueueNums": write, "perm": perm, "order": order}
    for i in range(n_groups):
        name = namespaced(p["group"] % i, i, 4)
        g = {"brokerId": 0, "consumeBroadcastEnable": i % 15 == 0, "consumeEnable": True, "groupName": name,
             "notifyConsumerIdsChangedEnable": True, "retryMaxTimes": p["retry"][i % len(p["retry"])],
             "retryQueueNums": 2 if i % 23 == 0 else 1, "whichBrokerWhenConsumeSlowly": 1}
        g.update(p["group_fields"](i))
        groups[name] = g
        exp_g[name] = {k: g[k] for k in p["expected_group"]}
    return topics, groups, {"topics": exp_t, "groups": exp_g}


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in PROFILES:
        sys.exit("usage: seed.py %s OUT_DIR N_TOPICS N_GROUPS" % "|".join(PROFILES))
    profile, out, n_topics, n_groups = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    topics, groups, expected = seed(PROFILES[profile], n_topics, n_groups)
    os.makedirs(out, exist_ok=True)
    version = {"counter": 1, "stateVersion": 0, "timestamp": 0}
    with open(os.path.join(out, "topics.json"), "w") as f:
        json.dump({"dataVersion": version, "topicConfigTable": topics}, f, separators=(",", ":"))
    with open(os.path.join(out, "subscriptionGroup.json"), "w") as f:
        json.dump({"dataVersion": version, "subscriptionGroupTable": groups}, f, separators=(",", ":"))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
