using PubSubGateway.ControlPlane.Hosting;

namespace PubSubGateway.ControlPlane;

/// <summary>Builds the control plane (registry, admin API, router); used by Program and by tests that host replicas.</summary>
public static class ControlPlaneApp
{
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddControlPlane();
        var app = builder.Build();
        app.MapControlPlane();
        return app;
    }
}
