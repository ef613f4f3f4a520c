using PubSubGateway;
using PubSubGateway.GatewayProfiler;

// The gateway exactly as Program.cs builds it, plus a sampling allocation profiler: the runtime's
// AllocationTick event fires about every 100 KB allocated and names the type of the object that
// crossed the mark, so counts per type are proportional to bytes allocated per type.
using var allocations = new AllocationSampler();
var app = GatewayApp.Create(args);
app.Lifetime.ApplicationStopping.Register(() => Console.Error.WriteLine(allocations.Report()));
app.MapPost("/profiler/reset", () => allocations.Reset());
app.MapGet("/profiler/report", () => allocations.Report());
await app.RunAsync();
