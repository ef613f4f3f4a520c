namespace PubSubGateway.Tests.Infrastructure;

internal static class WaitFor
{
    /// <summary>Polls until the condition holds; fails the test after <paramref name="timeout"/>.</summary>
    public static async Task ConditionAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, string? because = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"condition not met in time{(because is null ? "" : ": " + because)}");
            }

            await Task.Delay(50);
        }
    }
}
