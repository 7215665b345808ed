//! The Kafka collector: one read-only poll of the cluster's groups, commits and offsets.
//!
//! Read-only by construction: it only issues admin requests (metadata, ListGroups, DescribeGroups,
//! OffsetFetch, ListOffsets). It never creates a consumer, so it can neither join a group nor commit,
//! and it never reads a message: even produce times come from ListOffsets (`produce_time`).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashMapExt};

use super::admin::{Admin, AdminError, OffsetFetchesInFlight};
use super::authorization::not_authorized;
use super::broker_probe::{Depth, every_broker_unreachable, unreachable_brokers};
use super::client_config::client_config;
use super::down_brokers::{
    PROBE_TIMEOUT, cluster_wide_timeout, coordinator_down_group, coordinator_of, split_batches,
};
use super::ends_after_commits::{ends_behind_commits, replace_ends};
use super::fetched_commits::{FetchedCommits, TopicNames};
use super::filter::{Filters, is_internal_topic};
use super::group_log::{GROUP_LOG_TOPIC, group_log_partition, group_log_partitions};
use super::health::broker_health;
use super::last_topic::LastTopic;
use super::log_starts::LogStarts;
use super::metadata::TopicMetadata;
use super::metadata_poll::MetadataPoll;
use super::named_topics;
use super::offsets_batches::{ask_all, list_offsets, offsets_batches};
use super::produce_time::{ProduceTimeStats, ProduceTimes, TopicFacts, Wanted};
use super::snapshot::{
    Assigned, CommitRef, Committed, Group, KafkaSnapshot, Member, Partition, PhaseTimes,
    RequestCounts, Topic,
};
use super::topic_config_reader::TopicConfigTask;
use super::types::{
    GroupDescription, GroupListing, GroupState, GroupType, Node, OffsetSpec, PartitionOffset,
    TopicPartition,
};
use super::unlisted::{unlisted_description, unlisted_group, unlisted_groups};
use crate::compact::OptI64;
use crate::config::KafkaConfig;
use crate::source::Collector;

/// A partition's error when its leader gave no log end (no offset and no error).
const NO_END: &str = "its leader gave no log end this poll";

/// Concurrent OffsetFetch requests. Batches of many groups: about one per coordinator of a small
/// cluster, since librdkafka parses each answer whole (20,000 committed offsets for 100 groups on
/// 200 partitions, about 3 MB of its lists until read) and a poll's peak memory is what they add
/// to the rest: at 20,000 partitions and 1,000 groups, three in flight instead of all ten took
/// 17 MiB off the peak for about 100 ms more of wall time (README, Performance). One-group
/// requests (an old broker, groups that moved): enough to keep thousands of groups inside one
/// refresh without flooding the group coordinators.
const OFFSET_FETCHES_IN_FLIGHT: OffsetFetchesInFlight = OffsetFetchesInFlight {
    batches: 3,
    alone: 256,
};

pub struct KafkaCollector {
    admin: Arc<Admin>,
    config: KafkaConfig,
    filters: Arc<Filters>,
    /// What the brokers said about old messages' produce times; carried from poll to poll.
    produce_times: Option<ProduceTimes>,
    /// The groups of the last snapshot, each with how many polls in a row ListGroups has left it
    /// out (see `unlisted_groups`). Carried from poll to poll.
    seen: Option<HashMap<String, u32>>,
    /// The log starts read so far, on their own cadence (see `log_starts`).
    starts: Option<LogStarts>,
    /// The brokers down at the last poll (see `down_brokers`).
    down: BTreeSet<i32>,
    /// Topic retention settings, read on their own slower cadence (see `topic_config_reader`).
    topic_configs: TopicConfigTask,
    /// The brokers of the last poll's metadata: checked directly at the start of the next
    /// (`broker_probe`).
    known: Vec<Node>,
    probe_depth: Depth,
    /// Topics the config's pipelines read: asked for by name when Metadata leaves one out
    /// (`named_topics`).
    named: Arc<[String]>,
}

impl KafkaCollector {
    pub fn new(config: &KafkaConfig) -> Result<KafkaCollector, AdminError> {
        let admin = Admin::new(&client_config(config))?;
        Ok(KafkaCollector {
            admin: Arc::new(admin),
            config: config.clone(),
            filters: Arc::new(config.filters()),
            produce_times: Some(ProduceTimes::default()),
            seen: Some(HashMap::new()),
            starts: Some(LogStarts::default()),
            down: BTreeSet::new(),
            topic_configs: TopicConfigTask::new(),
            known: Vec::new(),
            probe_depth: Depth::for_protocol(
                config
                    .properties
                    .get("security.protocol")
                    .map(String::as_str),
            ),
            named: Arc::from([]),
        })
    }

    /// The topics a pipeline reads, which pipetop expects to see: one that Metadata leaves out
    /// (not authorized, or gone) is listed with the reason instead of missing.
    pub fn with_named_topics(mut self, topics: impl IntoIterator<Item = String>) -> Self {
        self.named = topics.into_iter().collect();
        self
    }
}

impl Collector for KafkaCollector {
    type Snapshot = KafkaSnapshot;

    /// One full poll. The admin calls block, so they run on tokio's blocking pool.
    async fn poll(&mut self) -> Result<KafkaSnapshot, String> {
        let admin = Arc::clone(&self.admin);
        let config = self.config.clone();
        let filters = Arc::clone(&self.filters);
        let mut times = self.produce_times.take().unwrap_or_default();
        let mut seen = self.seen.take().unwrap_or_default();
        let mut starts = self.starts.take().unwrap_or_default();
        let down = self.down.clone();
        let known = (self.known.clone(), self.probe_depth);
        let named = Arc::clone(&self.named);
        let task = tokio::task::spawn_blocking(move || {
            let result = poll_blocking(
                &admin,
                &config,
                &filters,
                (&mut times, &mut seen, &mut starts),
                &down,
                (&known.0, known.1),
            )
            .map(|mut snapshot| {
                let unlisted = named_topics::unlisted(&snapshot, &named, &filters);
                let budget = (2 * PROBE_TIMEOUT).min(config.request_timeout);
                named_topics::add_unlisted(&admin, &mut snapshot, &unlisted, budget);
                snapshot
            });
            // A failure to get in (authentication, TLS) is the cause of whatever timed out.
            let result = match result {
                Ok(snapshot) => {
                    admin.clear_connect_failure();
                    Ok(snapshot)
                }
                Err(e) => Err(admin.connect_failure().unwrap_or_else(|| e.to_string())),
            };
            (result, times, seen, starts)
        });
        match task.await {
            Ok((result, times, seen, starts)) => {
                self.produce_times = Some(times);
                self.seen = Some(seen);
                self.starts = Some(starts);
                let mut result = result;
                if let Ok(snapshot) = &mut result {
                    self.known.clone_from(&snapshot.brokers);
                    self.topic_configs
                        .attach(&self.admin, snapshot, self.config.request_timeout)
                        .await;
                    self.down = snapshot
                        .broker_health
                        .iter()
                        .filter(|b| b.is_down())
                        .map(|b| b.id)
                        .collect();
                }
                result
            }
            // The state went down with the task: searches start again next poll.
            Err(e) => Err(format!("kafka poll task failed: {e}")),
        }
    }
}

fn poll_blocking(
    admin: &Arc<Admin>,
    config: &KafkaConfig,
    filters: &Filters,
    (times, seen, log_starts): (&mut ProduceTimes, &mut HashMap<String, u32>, &mut LogStarts),
    down_before: &BTreeSet<i32>,
    (known, probe_depth): (&[Node], Depth),
) -> Result<KafkaSnapshot, AdminError> {
    let started = Instant::now();
    let timeout = config.request_timeout;
    // The phases share one request timeout, counted from the poll's start: each gets what is
    // left of it, never less than `PROBE_TIMEOUT`, which brokers that answer need only a fraction
    // of. A broker that does not answer costs each phase at most that, since the phases that
    // could wait for it run side by side: Metadata with the direct check of the brokers, then
    // DescribeCluster and ListGroups (while Metadata may still run), then the groups and offsets.
    let deadline = started + timeout.saturating_sub(PROBE_TIMEOUT).max(PROBE_TIMEOUT);
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(PROBE_TIMEOUT)
    };
    let mut counts = RequestCounts::default();
    let metadata = MetadataPoll::start(admin, timeout, deadline);
    // Brokers that failed since the last poll are found here, in a fraction of `PROBE_TIMEOUT`,
    // and from now on treated like those down at the last poll: without this, the first poll
    // after a failure waits a request timeout for them (see `broker_probe`).
    let unreachable = unreachable_brokers(known, probe_depth, PROBE_TIMEOUT);
    let probe_ms = ms(started);
    if !known.is_empty() && known.iter().all(|b| unreachable.contains_key(&b.id)) {
        metadata.abandon();
        return Err(every_broker_unreachable(&unreachable));
    }
    let mut down = down_before.clone();
    down.extend(unreachable.keys());
    let down = &down;
    let cluster_wide = cluster_wide_timeout(timeout, down);

    let (cluster, listings) = std::thread::scope(|scope| {
        let cluster = scope.spawn(|| {
            let t = Instant::now();
            (admin.describe_cluster(cluster_wide.min(left())).ok(), ms(t))
        });
        let t = Instant::now();
        let listings = admin.list_groups(cluster_wide.min(left()));
        (join(cluster), (listings, ms(t)))
    });
    let (metadata, metadata_requests) = metadata.wait();
    let metadata_ms = ms(started);
    let metadata = metadata?;
    let (cluster, describe_cluster_ms) = cluster?;
    let (listings, list_groups_ms) = listings;
    counts.metadata = metadata_requests;
    counts.describe_cluster = 1;

    let mut phases = PhaseTimes {
        probe: probe_ms,
        metadata: metadata_ms,
        describe_cluster: describe_cluster_ms,
        list_groups: list_groups_ms,
        ..PhaseTimes::default()
    };
    let listed = listings?;
    // librdkafka asks every broker for its groups, once per round.
    counts.list_groups = count(metadata.brokers.len().max(1)).saturating_mul(listed.rounds);
    let listings = listed.groups;
    let group_log_topic = metadata.topics.iter().find(|t| t.name == GROUP_LOG_TOPIC);
    let leaders: HashMap<(&str, i32), i32> = metadata
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter_map(move |p| p.leader.map(|l| ((t.name.as_str(), p.partition), l)))
        })
        .collect();
    let (watched, unwatched): (Vec<_>, Vec<_>) = listings
        .into_iter()
        .partition(|g| filters.group(&g.group_id));
    // Groups whose coordinator is down are not asked (see `down_brokers`), listed or not: kept,
    // without data, for as long as it is down (not only for the polls of `unlisted_groups`).
    let coordinator_down =
        |id: &str| coordinator_of(id, group_log_topic, &leaders).filter(|b| down.contains(b));
    let held: Vec<Group> = watched
        .iter()
        .map(|g| g.group_id.as_str())
        .chain(seen.keys().map(String::as_str))
        .filter_map(|id| coordinator_down(id).map(|b| (id, coordinator_down_group(id, b))))
        .collect::<BTreeMap<_, _>>()
        .into_values()
        .collect();
    let watched: Vec<GroupListing> = watched
        .into_iter()
        .filter(|g| coordinator_down(&g.group_id).is_none())
        .collect();
    seen.retain(|id, _| coordinator_down(id).is_none());
    let unlisted = unlisted_groups(seen, &watched);
    // Unlisted groups are asked for their commits too: a coordinator that has just taken a group
    // over leaves it out of its listing while it loads, yet answers for its commits.
    // Each with its coordinator, the leader of its `__consumer_offsets` partition: the groups of
    // one coordinator are asked in a few OffsetFetch requests (see `group_offsets_batched`).
    let group_ids: Vec<(String, Option<i32>)> = watched
        .iter()
        .map(|g| g.group_id.clone())
        .chain(unlisted.iter().map(|(id, _)| id.clone()))
        .map(|id| {
            let coordinator = coordinator_of(&id, group_log_topic, &leaders);
            (id, coordinator)
        })
        .collect();
    // DescribeGroups only for groups with members. An Empty group has none by definition, so its
    // description would only repeat what ListGroups just said (state Empty, no members, no
    // assignor); its coordinator is the leader of its `__consumer_offsets` partition, which is how
    // Kafka itself picks it. Coordinator errors still show, through its OffsetFetch. This saves
    // one request per idle group, two on Kafka 4 (see `describe_requests`), and those are most of
    // the groups on a cluster that keeps old groups' commits.
    let (idle, active): (Vec<&GroupListing>, Vec<&GroupListing>) =
        watched.iter().partition(|g| g.state == GroupState::Empty);
    let describe_ids: Vec<String> = active.iter().map(|g| g.group_id.clone()).collect();

    let visible_topics: Vec<&TopicMetadata> = metadata
        .topics
        .iter()
        .filter(|t| filters.topic(&t.name, t.internal))
        .collect();
    let led = |t: &&TopicMetadata| {
        let name: Arc<str> = t.name.as_str().into();
        t.partitions
            .iter()
            .filter(|p| p.leader.is_some())
            .map(|p| TopicPartition::new(Arc::clone(&name), p.partition))
            .collect::<Vec<_>>()
    };
    let starts_wanted: Vec<TopicPartition> = visible_topics.iter().flat_map(led).collect();
    let mut ends_wanted = starts_wanted.clone();
    if let Some(t) = group_log_topic
        && !visible_topics.iter().any(|v| v.name == GROUP_LOG_TOPIC)
    {
        ends_wanted.extend(led(&t));
    }
    // The partitions of brokers down at the last poll: asked apart, with a short limit.
    let (probe_ends, end_batches) = split_batches(
        offsets_batches(ask_all(&ends_wanted, OffsetSpec::Latest), &leaders),
        &leaders,
        down,
    );
    // The log starts: every partition at a full read, in between only those that need it.
    let starts_due = log_starts.due(&starts_wanted, started);
    let (probe_starts, start_batches) = split_batches(
        offsets_batches(
            ask_all(&starts_due.partitions, OffsetSpec::Earliest),
            &leaders,
        ),
        &leaders,
        down,
    );

    // The request streams are independent, so they run at once (librdkafka and the brokers
    // work on all of them together) instead of one after another: DescribeGroups, OffsetFetch,
    // the log ends (side by side with the commits, see `ends_after_commits`: those older than a
    // commit are read again after it), the log starts (which only ever grow, so reading them
    // before a commit can only under-report "fell off retention", never invent it), and the
    // partitions of brokers known down, with the short limit.
    // While a broker is down, librdkafka may still route a moved group's requests to it (its
    // coordinator cache), so every group request gets the short limit, not only its share.
    let timeout = left().min(cluster_wide);
    // The snapshot's topic names, shared by its commits (read as each answer arrives) and its
    // members' assignments.
    let mut names = TopicNames::default();
    let (described, fetched, ends, starts) = std::thread::scope(|scope| {
        let describe = scope.spawn(|| {
            let t = Instant::now();
            let d = if describe_ids.is_empty() {
                Ok(Vec::new())
            } else {
                admin.describe_groups(&describe_ids, timeout)
            };
            (d, ms(t))
        });
        let down_starts = scope.spawn(|| list_offsets(admin, &probe_starts, cluster_wide));
        let down_ends = scope.spawn(|| list_offsets(admin, &probe_ends, cluster_wide));
        let starts = scope.spawn(|| {
            let t = Instant::now();
            let mut starts = list_offsets(admin, &start_batches, timeout);
            starts.extend(join(down_starts)?);
            Ok::<_, AdminError>((starts, ms(t)))
        });
        let ends = scope.spawn(|| {
            let t = Instant::now();
            let mut ends = list_offsets(admin, &end_batches, timeout);
            ends.extend(join(down_ends)?);
            Ok::<_, AdminError>((ends, ms(t)))
        });
        let t = Instant::now();
        let fetched = if group_ids.is_empty() {
            Ok((Vec::new(), 0))
        } else {
            admin.list_group_offsets_batched_into(
                &group_ids,
                OFFSET_FETCHES_IN_FLIGHT,
                timeout,
                |answer| FetchedCommits::read(answer, &mut names),
            )
        };
        (
            join(describe),
            (fetched, ms(t)),
            join(ends).and_then(|e| e),
            join(starts).and_then(|s| s),
        )
    });
    let ((descriptions, describe_ms), (offsets, fetch_ms)) = (described?, fetched);
    let ((mut ends, mut ends_ms), (starts, starts_ms)) = (ends?, starts?);
    let (descriptions, (offsets, offset_fetches)) = (descriptions?, offsets?);
    let behind = ends_behind_commits(&offsets, &ends);
    let reread = offsets_batches(ask_all(&behind, OffsetSpec::Latest), &leaders);
    if !reread.is_empty() {
        let t = Instant::now();
        replace_ends(
            &mut ends,
            list_offsets(admin, &reread, left().min(cluster_wide)),
        );
        ends_ms += ms(t);
    }
    phases.describe_groups = describe_ms;
    phases.offset_fetch = fetch_ms;
    phases.list_offsets_end = ends_ms;
    phases.list_offsets_start = starts_ms;
    phases.list_offsets = ends_ms + starts_ms;
    let t_assemble = Instant::now();
    // An unlisted group whose commits came back is there after all (not deleted): its data is
    // this poll's. Those without (deleted, expired, or their coordinator not answering) stay
    // marked, without data.
    let (answered, unlisted): (Vec<_>, Vec<_>) =
        unlisted.into_iter().partition(|(id, _): &(String, u32)| {
            offsets
                .iter()
                .any(|o| &o.group_id == id && o.error.is_none() && o.named_partitions)
        });
    let mut descriptions = descriptions;
    descriptions.extend(answered.iter().map(|(id, _)| unlisted_description(id)));
    descriptions.extend(
        idle.iter()
            .map(|g| idle_description(g, group_log_topic, &leaders, &metadata.brokers)),
    );
    counts.describe_groups = describe_requests(&active);
    // A few per coordinator, and one for each group asked alone.
    counts.offset_fetch = count(offset_fetches);
    // Every batch holds one leader's partitions: one request each.
    counts.list_offsets = count(
        end_batches.len()
            + start_batches.len()
            + probe_ends.len()
            + probe_starts.len()
            + reread.len(),
    );

    let end_of = index_offsets(&ends);
    let now_ms = crate::time::unix_ms(SystemTime::now());
    log_starts.merge(&starts_due, starts, &starts_wanted, (started, now_ms));
    let topics: Vec<Topic> = visible_topics
        .iter()
        .map(|t| Topic {
            name: t.name.clone(),
            internal: t.internal,
            error: None,
            partitions: t
                .partitions
                .iter()
                .map(|p| {
                    let key = (t.name.as_str(), p.partition);
                    let end = end_of.get(&key);
                    let start = log_starts.get(&t.name, p.partition);
                    let no_leader = p.leader.is_none().then(|| "no leader".to_string());
                    Partition {
                        partition: p.partition,
                        leader: p.leader,
                        replicas: p.replicas.clone(),
                        isr: p.isr.clone(),
                        start_offset: start.map(|s| s.0),
                        start_read_ms: start.map(|s| s.1),
                        end_offset: end.and_then(|o| o.offset),
                        error: p
                            .error
                            .clone()
                            .or(no_leader)
                            .or_else(|| end.and_then(|o| o.error.clone()))
                            .or_else(|| {
                                // Asked, and neither an offset nor an error came back.
                                let unanswered = end.is_none_or(|o| o.offset.is_none());
                                let asked = p.leader.is_some();
                                (asked && unanswered).then(|| NO_END.to_string())
                            }),
                    }
                })
                .collect(),
        })
        .collect();

    let mut groups = groups(descriptions, offsets, filters, names);
    groups.extend(held);
    *seen = groups
        .iter()
        .map(|g| (g.group_id.clone(), 0))
        .chain(unlisted.iter().cloned())
        .collect();
    groups.extend(
        unlisted
            .iter()
            .map(|(id, polls)| unlisted_group(id, *polls)),
    );
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    let principal = admin.identity().principal();
    for g in &mut groups {
        if let Some(said) = g
            .error
            .as_deref()
            .and_then(|e| not_authorized(e, &principal))
        {
            g.error = Some(said);
        }
    }
    let group_log = group_log_partitions(group_log_topic, &end_of, &unwatched);
    let broker_health = broker_health(&metadata, &ends_wanted, &leaders, &end_of, &unreachable);
    phases.assemble = ms(t_assemble);

    log_starts.review(&topics, &groups);
    let t_produce_times = Instant::now();
    let produce_times =
        fill_produce_times(admin, times, &mut groups, &topics, &leaders, now_ms, left());
    counts.list_offsets_by_time = produce_times.requests;
    phases.produce_times = ms(t_produce_times);

    Ok(KafkaSnapshot {
        taken_at_ms: now_ms,
        poll_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        requests: counts.total(),
        requests_by_kind: counts,
        phases_ms: phases,
        cluster_id: cluster.as_ref().and_then(|c| c.cluster_id.clone()),
        controller_id: cluster
            .as_ref()
            .and_then(|c| c.controller.as_ref().map(|n| n.id)),
        brokers: metadata.brokers,
        broker_health,
        topics,
        groups,
        group_log,
        produce_times,
        // Filled by `KafkaCollector::poll` from its own task (`topic_configs`).
        topic_configs: Default::default(),
    })
}

/// Sets `produced_ms` on every commit whose next message was already in the log when pipetop
/// first saw its partition (see `produce_time`), searching the brokers for those not known yet.
fn fill_produce_times(
    admin: &Admin,
    times: &mut ProduceTimes,
    groups: &mut [Group],
    topics: &[Topic],
    leaders: &HashMap<(&str, i32), i32>,
    now_ms: i64,
    timeout: std::time::Duration,
) -> ProduceTimeStats {
    times.observe_ends(
        topics.iter().flat_map(|t| {
            t.partitions
                .iter()
                .filter_map(|p| Some((t.name.as_str(), p.partition, p.end_offset?)))
        }),
        now_ms,
    );
    // foldhash: a lookup per topic of each group (where SipHash took about twice as long); a
    // group's commits come sorted with their name shared per topic (the collector's `groups`),
    // so the topic looked up for the commit before is usually the one.
    let topic_of: foldhash::HashMap<&str, (u32, &Topic)> = topics
        .iter()
        .zip(0u32..)
        .map(|(t, i)| (t.name.as_str(), (i, t)))
        .collect();
    let mut last = LastTopic::default();
    // Groups stopped at the same offset share one search; `search_of` remembers, commit by
    // commit (in group order), which one (`NO_SEARCH`: none), so filling in the answers needs no
    // second lookup. Keyed by the offset, the topic's place in `topics` (one per name) and the
    // partition: 16 bytes to hash rather than the name. These live only during the poll, but
    // beside the snapshot and model before it, 200,000 commits at scale: 4 bytes a commit.
    const NO_SEARCH: u32 = u32::MAX;
    let mut index: foldhash::HashMap<(i64, u32, i32), u32> = Default::default();
    let mut wanted: Vec<Wanted> = Vec::new();
    let mut search_of: Vec<u32> =
        Vec::with_capacity(groups.iter().map(|g| g.committed.len()).sum());
    for c in groups.iter().flat_map(|g| g.committed.iter()) {
        let search = last
            .get(c.topic, |name| {
                topic_of.get(name).copied().zip(times.topic(name))
            })
            .and_then(|((at, topic), facts)| {
                let (offset, end) = next_message(c, topic, facts)?;
                let next = u32::try_from(wanted.len())
                    .ok()
                    .filter(|&n| n != NO_SEARCH)?;
                Some(*index.entry((offset, at, c.partition)).or_insert_with(|| {
                    wanted.push(Wanted {
                        tp: TopicPartition::new(Arc::clone(c.topic), c.partition),
                        offset,
                        end,
                    });
                    next
                }))
            });
        search_of.push(search.unwrap_or(NO_SEARCH));
    }
    let stats = times.resolve(&wanted, now_ms, |questions| {
        let batches = offsets_batches(
            questions
                .into_iter()
                .map(|(tp, at)| (tp, OffsetSpec::AtTime(at)))
                .collect(),
            leaders,
        );
        // One answer per question, batch by batch (no batch asks a partition twice).
        let answers = list_offsets(admin, &batches, timeout);
        let answers = batches
            .iter()
            .flat_map(|b| &b.partitions)
            .zip(answers)
            .filter_map(|((_, spec), answer)| match spec {
                OffsetSpec::AtTime(at) => Some((*at, answer)),
                OffsetSpec::Earliest | OffsetSpec::Latest => None,
            })
            .collect();
        (answers, count(batches.len()))
    });
    let produced: Vec<OptI64> = wanted
        .iter()
        .map(|w| OptI64::new(times.produced_ms(&w.tp.topic, w.tp.partition, w.offset, now_ms)))
        .collect();
    let commits = groups.iter_mut().flat_map(|g| g.committed.iter_mut());
    for (c, search) in commits.zip(search_of) {
        c.produced_ms = produced
            .get(search as usize)
            .copied()
            .unwrap_or(OptI64::NONE);
    }
    stats
}

/// The message a commit waits for and the log end, if it predates pipetop's history: the
/// committed one, or the oldest still in the log when retention deleted that.
fn next_message(c: CommitRef<'_>, topic: &Topic, facts: TopicFacts) -> Option<(i64, i64)> {
    let p = topic.partition(c.partition)?;
    let end = p.end_offset?;
    let offset = c.offset.max(p.start_offset.unwrap_or(0));
    (offset < end && facts.predates_history(c.partition, offset)).then_some((offset, end))
}

/// What DescribeGroups would say of a group ListGroups reported Empty (see `poll_blocking`).
fn idle_description(
    listing: &GroupListing,
    group_log_topic: Option<&TopicMetadata>,
    leaders: &HashMap<(&str, i32), i32>,
    brokers: &[Node],
) -> GroupDescription {
    let coordinator = group_log_topic
        .and_then(|t| group_log_partition(&listing.group_id, t.partitions.len()))
        .and_then(|p| leaders.get(&(GROUP_LOG_TOPIC, p)).copied())
        .map(|id| {
            brokers
                .iter()
                .find(|b| b.id == id)
                .cloned()
                .unwrap_or_else(|| Node {
                    id,
                    host: String::new(),
                    port: 0,
                    rack: None,
                })
        });
    GroupDescription {
        group_id: listing.group_id.clone(),
        error: None,
        state: listing.state,
        is_simple: listing.is_simple,
        partition_assignor: String::new(),
        coordinator,
        members: Vec::new(),
    }
}

/// DescribeGroups requests on the wire: librdkafka 2.12 sends one per group, and on brokers with
/// KIP-848 (which report group types) it first tries ConsumerGroupDescribe, which a classic group
/// answers with GROUP_ID_NOT_FOUND, and then sends DescribeGroups: two requests.
fn describe_requests(described: &[&GroupListing]) -> u32 {
    count(
        described
            .iter()
            .map(|g| {
                if g.group_type == GroupType::Classic {
                    2
                } else {
                    1
                }
            })
            .sum(),
    )
}

/// A scoped thread's result; a panic in it is a poll failure, not a crash of the app.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> Result<T, AdminError> {
    handle.join().map_err(|_| AdminError::Internal {
        op: "poll",
        detail: "a Kafka request thread panicked".to_string(),
    })
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn groups(
    descriptions: Vec<GroupDescription>,
    offsets: Vec<FetchedCommits>,
    filters: &Filters,
    mut names: TopicNames,
) -> Vec<Group> {
    let shown = |topic: &str| filters.topic(topic, is_internal_topic(topic));
    let mut offsets_by_group: HashMap<String, FetchedCommits> = offsets
        .into_iter()
        .map(|o| (o.group_id.clone(), o))
        .collect();
    let mut groups: Vec<Group> = descriptions
        .into_iter()
        .filter_map(|d| {
            let mut fetched = offsets_by_group.remove(&d.group_id);
            let all_committed = fetched
                .as_mut()
                .map(|f| std::mem::take(&mut f.commits))
                .unwrap_or_default();
            let had_rows =
                !all_committed.is_empty() || d.members.iter().any(|m| !m.assignment.is_empty());
            // Kept as read (in topic/partition order) unless the filter hides some of them.
            let committed = if all_committed.iter().all(|c| shown(c.topic)) {
                all_committed
            } else {
                all_committed
                    .iter()
                    .filter(|c| shown(c.topic))
                    .map(|c| c.to_committed())
                    .collect::<Vec<Committed>>()
                    .into()
            };
            let members: Vec<Member> = d
                .members
                .into_iter()
                .map(|m| Member {
                    consumer_id: m.consumer_id,
                    client_id: m.client_id,
                    host: m.host,
                    assignment: m
                        .assignment
                        .into_iter()
                        .filter(|tp| shown(&tp.topic))
                        .map(|tp| Assigned {
                            topic: names.shared(&tp.topic),
                            partition: tp.partition,
                        })
                        .collect(),
                })
                .collect();
            // A group whose every partition is on a hidden topic is noise under that filter.
            let has_rows =
                !committed.is_empty() || members.iter().any(|m| !m.assignment.is_empty());
            if had_rows && !has_rows {
                return None;
            }
            let error = d.error.clone().or_else(|| fetched.and_then(|f| f.error));
            Some(Group {
                group_id: d.group_id,
                state: d.state,
                partition_assignor: d.partition_assignor,
                coordinator: d.coordinator.map(|n| n.id),
                members,
                committed,
                error,
            })
        })
        .collect();
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    groups
}

fn index_offsets(offsets: &[PartitionOffset]) -> HashMap<(&str, i32), &PartitionOffset> {
    offsets
        .iter()
        .map(|o| ((&*o.tp.topic, o.tp.partition), o))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(id: &str, state: GroupState, group_type: GroupType) -> GroupListing {
        GroupListing {
            group_id: id.to_string(),
            state,
            is_simple: false,
            group_type,
        }
    }

    #[test]
    fn classic_groups_cost_two_describe_requests() {
        let a = listing("a", GroupState::Stable, GroupType::Classic);
        let b = listing("b", GroupState::Stable, GroupType::Consumer);
        let c = listing("c", GroupState::Stable, GroupType::Unknown);
        assert_eq!(describe_requests(&[&a, &b, &c]), 4);
        assert_eq!(describe_requests(&[]), 0);
    }

    #[test]
    fn idle_group_coordinator_is_its_group_log_partition_leader() {
        let topic = TopicMetadata {
            name: GROUP_LOG_TOPIC.to_string(),
            internal: true,
            partitions: (0..10)
                .map(|p| crate::kafka::metadata::PartitionMetadata {
                    partition: p,
                    leader: Some(1 + p % 3),
                    replicas: vec![1 + p % 3].into(),
                    isr: vec![1 + p % 3].into(),
                    error: None,
                })
                .collect(),
            error: None,
        };
        let leaders: HashMap<(&str, i32), i32> =
            (0..10).map(|p| ((GROUP_LOG_TOPIC, p), 1 + p % 3)).collect();
        let brokers: Vec<Node> = (1..=3)
            .map(|id| Node {
                id,
                host: "h".to_string(),
                port: 9092,
                rack: None,
            })
            .collect();
        let g = listing("idle", GroupState::Empty, GroupType::Classic);
        let d = idle_description(&g, Some(&topic), &leaders, &brokers);
        let p = group_log_partition("idle", 10).expect("a partition");
        assert_eq!(d.coordinator.map(|n| n.id), Some(1 + p % 3));
        assert_eq!(d.state, GroupState::Empty);
        assert!(d.members.is_empty() && d.error.is_none());
        // Without the topic in the metadata the coordinator is unknown, not guessed.
        assert!(
            idle_description(&g, None, &leaders, &brokers)
                .coordinator
                .is_none()
        );
    }
}
