using Prometheus;

namespace PubSubGateway.Observability;

internal enum DropReason
{
    SlowConsumer,
    QueueFull,
    InvalidJson,
    TooLarge,
    NatsPending,
}

internal enum MessageSource
{
    Bus,
    Http,
    WebSocket,
}

/// <summary>
/// The node's Prometheus metrics, in a registry of its own (several nodes can share a process in
/// tests). Labelled children are resolved once here so hot paths only touch pre-bound instruments.
/// </summary>
internal sealed class GatewayMetrics
{
    private readonly Counter.Child[] _received;
    private readonly Counter.Child[] _dropped;

    public GatewayMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);

        Connections = factory.CreateGauge("gateway_connections", "Open client WebSocket connections.");
        ConnectionsOpened = factory.CreateCounter("gateway_connections_opened_total", "Client connections accepted.");
        RawHandshakes = factory.CreateCounter("gateway_raw_handshakes_total", "WebSocket upgrades completed on the raw connection (Gateway:RawHandshake), not through the HTTP pipeline.");
        ConnectionsRejected = factory.CreateCounter("gateway_connections_rejected_total", "Client connections refused by a limit.", "reason");
        ConnectionsClosed = factory.CreateCounter("gateway_connections_closed_total", "Client connections closed, by close code the server sent or 'peer'.", "code");
        Subscriptions = factory.CreateGauge("gateway_subscriptions", "Client subscriptions (connection × topic or pattern).");
        Topics = factory.CreateGauge("gateway_topics", "Distinct topics and patterns with local subscribers.");
        NatsSubscriptions = factory.CreateGauge("gateway_nats_subscriptions", "Broker subscriptions held by this node (one per topic or pattern with local subscribers).");
        NatsConnected = factory.CreateGauge("gateway_nats_connected", "1 while the broker connection is open.");

        var received = factory.CreateCounter("gateway_messages_received_total", "Messages received, by source: bus (NATS or in-process, for local fan-out), http (publish API), ws (client pub op).", "source");
        _received = [received.WithLabels("bus"), received.WithLabels("http"), received.WithLabels("ws")];

        var dropped = factory.CreateCounter("gateway_messages_dropped_total", "Messages dropped, by reason.", "reason");
        _dropped =
        [
            dropped.WithLabels("slow_consumer"), dropped.WithLabels("queue_full"), dropped.WithLabels("invalid_json"),
            dropped.WithLabels("too_large"), dropped.WithLabels("nats_pending"),
        ];

        var latencyBuckets = Histogram.ExponentialBuckets(0.0001, 2, 16);
        Deliveries = new DeliveryRecorder(
            factory.CreateCounter("gateway_messages_delivered_total", "Message frames written to client sockets."),
            factory.CreateHistogram(
                "gateway_delivery_latency_seconds",
                "Time from a message reaching this node to its frame being written to a client socket.",
                new HistogramConfiguration { Buckets = latencyBuckets }),
            latencyBuckets);
        Registry.AddBeforeCollectCallback(Deliveries.Flush);
        ProtocolErrors = factory.CreateCounter("gateway_protocol_errors_total", "Error frames sent to clients, by code.", "code");
        OutboundQueueBytes = factory.CreateGauge("gateway_outbound_queue_bytes", "Bytes queued for client sockets and not yet written, over all connections.");
        OutboundQueuePeakBytes = factory.CreateGauge("gateway_outbound_queue_peak_bytes", "Largest number of bytes ever queued for one connection.");

        // Lets the load-test tool compute server allocations per delivered message from two scrapes.
        var allocated = factory.CreateGauge("gateway_process_allocated_bytes", "Bytes allocated on the managed heap since the process started (GC.GetTotalAllocatedBytes).");
        var cpu = factory.CreateGauge("gateway_process_cpu_seconds", "CPU time used by the process (user + system).");
        var gcPause = factory.CreateGauge("gateway_process_gc_pause_seconds", "Time the process spent paused for garbage collection since it started (GC.GetTotalPauseDuration).");
        var gcCollections = factory.CreateGauge("gateway_process_gc_collections", "Garbage collections since the process started, by generation.", "generation");
        var lastPause = factory.CreateGauge("gateway_process_gc_last_ephemeral_pause_seconds", "Pause of the last gen0/gen1 collection (GC.GetGCMemoryInfo(GCKind.Ephemeral)).");
        var lastPromoted = factory.CreateGauge("gateway_process_gc_last_ephemeral_promoted_bytes", "Bytes that survived the last gen0/gen1 collection.");
        var lastPinned = factory.CreateGauge("gateway_process_gc_last_ephemeral_pinned_objects", "Pinned objects the last gen0/gen1 collection found.");
        var jitMethods = factory.CreateGauge("gateway_process_jit_compiled_methods", "Methods the JIT has compiled since the process started, tier-ups included (JitInfo.GetCompiledMethodCount): still rising means code is still being tiered up.");
        var jitSeconds = factory.CreateGauge("gateway_process_jit_seconds", "Time spent compiling (JitInfo.GetCompilationTime).");
        var generations = Enumerable.Range(0, GC.MaxGeneration + 1)
            .Select(g => (Generation: g, Gauge: gcCollections.WithLabels(g.ToString(System.Globalization.CultureInfo.InvariantCulture))))
            .ToArray();
        Registry.AddBeforeCollectCallback(() =>
        {
            allocated.Set(GC.GetTotalAllocatedBytes(precise: false));
            cpu.Set(Environment.CpuUsage.TotalTime.TotalSeconds);
            gcPause.Set(GC.GetTotalPauseDuration().TotalSeconds);
            var ephemeral = GC.GetGCMemoryInfo(GCKind.Ephemeral);
            if (ephemeral.Index > 0)
            {
                lastPause.Set(ephemeral.PauseDurations[0].TotalSeconds);
                lastPromoted.Set(ephemeral.PromotedBytes);
                lastPinned.Set(ephemeral.PinnedObjectsCount);
            }

            jitMethods.Set(System.Runtime.JitInfo.GetCompiledMethodCount());
            jitSeconds.Set(System.Runtime.JitInfo.GetCompilationTime().TotalSeconds);
            foreach (var (generation, gauge) in generations)
            {
                gauge.Set(GC.CollectionCount(generation));
            }
        });
    }

    public CollectorRegistry Registry { get; }

    public Gauge Connections { get; }

    public Counter ConnectionsOpened { get; }

    public Counter RawHandshakes { get; }

    public Counter ConnectionsRejected { get; }

    public Counter ConnectionsClosed { get; }

    public Gauge Subscriptions { get; }

    public Gauge Topics { get; }

    public Gauge NatsSubscriptions { get; }

    public Gauge NatsConnected { get; }

    /// <summary>Delivered frames and their latency (written to Prometheus at each scrape).</summary>
    public DeliveryRecorder Deliveries { get; }

    public Counter ProtocolErrors { get; }

    public Gauge OutboundQueueBytes { get; }

    public Gauge OutboundQueuePeakBytes { get; }

    public void Received(MessageSource source) => _received[(int)source].Inc();

    public void Dropped(DropReason reason, int count = 1) => _dropped[(int)reason].Inc(count);
}
