global using PubSubGateway.Tests.Infrastructure;
