using Microsoft.Extensions.Options;
using PubSubGateway.ControlPlane;

try
{
    await ControlPlaneApp.Create(args).RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    Console.Error.WriteLine("Invalid configuration:");
    foreach (var failure in ex.Failures)
    {
        Console.Error.WriteLine("  " + failure);
    }

    return 2;
}
