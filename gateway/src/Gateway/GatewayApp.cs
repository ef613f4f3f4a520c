using PubSubGateway.Hosting;

namespace PubSubGateway;

/// <summary>Builds the gateway web application; used by Program and by tests that host several nodes.</summary>
public static class GatewayApp
{
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddGateway();
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapGateway();
        return app;
    }
}
