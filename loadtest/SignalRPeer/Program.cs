using PubSubGateway.SignalRPeer;

// The peer issue 7 compares the gateway with: ASP.NET Core SignalR with the Redis backplane, fed
// from NATS the way the gateway is (a backend publishes to gw.topic.<topic>; one bridge
// subscription per node sends to the SignalR group <topic>). Clients call Subscribe(topic) and
// receive "msg" invocations whose only argument is the payload.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSignalR(o => o.ClientTimeoutInterval = TimeSpan.FromMinutes(5))
    .AddStackExchangeRedis(builder.Configuration["Redis"] ?? "127.0.0.1:6379");
builder.Services.AddHostedService<NatsBridge>();
var app = builder.Build();
app.MapHub<TopicHub>("/hub");
app.MapGet("/healthz", () => "ok");
await app.RunAsync();
