using Microsoft.Extensions.Options;
using PubSubGateway.Configuration;
using PubSubGateway.Topics;

namespace PubSubGateway.Durable;

/// <summary>Checks every <c>Gateway:Durable:</c> setting at start-up and reports all failures at once.</summary>
internal sealed class DurableOptionsValidator(IOptions<NatsOptions> nats) : IValidateOptions<DurableOptions>
{
    public ValidateOptionsResult Validate(string? name, DurableOptions options)
    {
        var errors = new List<string>();
        foreach (var pattern in options.Patterns.Where(p => TopicRules.Validate(p, allowWildcards: true) != TopicError.None))
        {
            errors.Add($"Gateway:Durable:Patterns entry '{pattern}' is not a valid topic pattern.");
        }

        if (options.Patterns.Count > 0 && string.IsNullOrWhiteSpace(nats.Value.Url))
        {
            errors.Add("Gateway:Durable:Patterns needs Nats:Url: durable topics are stored in NATS JetStream.");
        }

        if (string.IsNullOrEmpty(options.StreamName) || options.StreamName.Length > 64 ||
            !options.StreamName.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            errors.Add($"Gateway:Durable:StreamName '{options.StreamName}' must be 1-64 characters of [A-Za-z0-9_-].");
        }

        if (options.MaxAgeSeconds is < 1 or > 365 * 86_400)
        {
            errors.Add($"Gateway:Durable:MaxAgeSeconds is {options.MaxAgeSeconds}; it must be between 1 and 31536000.");
        }

        if (options.MaxMessagesPerTopic is < 1 or > 100_000_000)
        {
            errors.Add($"Gateway:Durable:MaxMessagesPerTopic is {options.MaxMessagesPerTopic}; it must be between 1 and 100000000.");
        }

        if (options.Replicas is < 1 or > 5)
        {
            errors.Add($"Gateway:Durable:Replicas is {options.Replicas}; it must be between 1 and 5.");
        }

        if (options.DuplicateWindowSeconds is < 1 or > 86_400)
        {
            errors.Add($"Gateway:Durable:DuplicateWindowSeconds is {options.DuplicateWindowSeconds}; it must be between 1 and 86400.");
        }

        if (options.ReplayBatch is < 1 or > 10_000)
        {
            errors.Add($"Gateway:Durable:ReplayBatch is {options.ReplayBatch}; it must be between 1 and 10000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
