using PubSubGateway.Topics;

namespace PubSubGateway.Tests.Unit;

public sealed class TopicRulesTests
{
    [Theory]
    [InlineData("a", false, "None")]
    [InlineData("chat.room1", false, "None")]
    [InlineData("A-z_0.9-x", false, "None")]
    [InlineData("", false, "Empty")]
    [InlineData(".a", false, "EmptyToken")]
    [InlineData("a.", false, "EmptyToken")]
    [InlineData("a..b", false, "EmptyToken")]
    [InlineData("a b", false, "BadCharacter")]
    [InlineData("a/b", false, "BadCharacter")]
    [InlineData("caf\u00e9", false, "BadCharacter")]
    [InlineData("a.*", false, "WildcardNotAllowed")]
    [InlineData("a.>", false, "WildcardNotAllowed")]
    [InlineData("a.*", true, "None")]
    [InlineData("*.*.b", true, "None")]
    [InlineData("a.>", true, "None")]
    [InlineData(">", true, "None")]
    [InlineData("a.>.b", true, "MisplacedWildcard")]
    [InlineData("a*", true, "MisplacedWildcard")]
    [InlineData("a.b>", true, "MisplacedWildcard")]
    public void Validates_the_topic_grammar(string topic, bool wildcards, string expected) =>
        Assert.Equal(expected, TopicRules.Validate(topic, wildcards).ToString());

    [Fact]
    public void Enforces_length_and_depth_limits()
    {
        Assert.Equal(TopicError.None, TopicRules.Validate(new string('a', 256), false));
        Assert.Equal(TopicError.TooLong, TopicRules.Validate(new string('a', 257), false));
        Assert.Equal(TopicError.None, TopicRules.Validate(string.Join('.', Enumerable.Repeat("a", 16)), false));
        Assert.Equal(TopicError.TooDeep, TopicRules.Validate(string.Join('.', Enumerable.Repeat("a", 17)), false));
        Assert.Equal(TopicError.TooDeep, TopicRules.Validate("a.b.c", false, maxTokens: 2));
        Assert.Equal(TopicError.TooLong, TopicRules.Validate("abcdef", false, maxBytes: 5));
    }

    [Theory]
    [InlineData("a.b", "a.b", true)]
    [InlineData("a.b", "a.c", false)]
    [InlineData("a.*", "a.b", true)]
    [InlineData("a.*", "a", false)]
    [InlineData("a.*", "a.b.c", false)]
    [InlineData("*.b", "a.b", true)]
    [InlineData("a.>", "a.b", true)]
    [InlineData("a.>", "a.b.c.d", true)]
    [InlineData("a.>", "a", false)]
    [InlineData(">", "x", true)]
    [InlineData("a.*.c", "a.b.c", true)]
    [InlineData("a.*.c", "a.b.d", false)]
    [InlineData("ab.*", "a.b", false)]
    [InlineData("a.b", "a.b.c", false)]
    public void Matches_patterns_like_NATS(string pattern, string topic, bool expected) =>
        Assert.Equal(expected, TopicPattern.Matches(pattern, topic));
}
