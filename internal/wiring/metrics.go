package wiring

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/automators/connectors/internal/adapter/lambdatask"
	"github.com/automators/connectors/internal/adapter/tracing"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/sweeper"
)

// The AWS clients, each counting its calls (every attempt) as
// OutboundCalls to its service.

func dynamoClient(cfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = countedAWS(o.HTTPClient, metrics.TargetDynamoDB) })
}

func secretsClient(cfg aws.Config) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.HTTPClient = countedAWS(o.HTTPClient, metrics.TargetSecretsManager)
	})
}

func kmsClient(cfg aws.Config) *kms.Client {
	return kms.NewFromConfig(cfg, func(o *kms.Options) { o.HTTPClient = countedAWS(o.HTTPClient, metrics.TargetKMS) })
}

// countedAWS is an AWS SDK client's HTTP client counting each attempt as
// one of the OutboundCalls to target (nil: the SDK's default client).
func countedAWS(d aws.HTTPClient, target string) aws.HTTPClient {
	if d == nil {
		d = awshttp.NewBuildableClient()
	}
	return metrics.CountDoer(d, target)
}

// withMetrics gives each invocation of t a metrics batch, flushed to sink
// when it returns: the HTTP functions' middleware does the same for them.
func withMetrics[In, Out any](sink metrics.Sink, function string, t lambdatask.Task[In, Out]) lambdatask.Task[In, Out] {
	return func(ctx context.Context, in In) (Out, error) {
		ctx, batch := metrics.Start(ctx, metrics.Function(function))
		defer sink.Flush(batch) // stdout: nothing to do when it fails
		return t(ctx, in)
	}
}

func (c *core) executorTask() lambdatask.Task[executor.Input, executor.Output] {
	return c.task(c.executor())
}

func (c *core) task(e *executor.Executor) lambdatask.Task[executor.Input, executor.Output] {
	return tracing.Handler(c.tracing, "execute-connector",
		withMetrics(c.metrics, "execute-connector", lambdatask.Executor(e, c.logger)),
		tracing.HandlerOptions[executor.Input, executor.Output]{})
}

func (c *core) sweeperTask() lambdatask.Task[json.RawMessage, sweeper.Result] {
	return tracing.Handler(c.tracing, "connection-sweeper",
		withMetrics(c.metrics, "connection-sweeper", lambdatask.Sweeper(c.sweeper(), c.logger)),
		tracing.HandlerOptions[json.RawMessage, sweeper.Result]{})
}

// ExecutorTask returns the execute-connector handler as deployed (its
// metrics and spans included), over the App's executor.
func (a *App) ExecutorTask() lambdatask.Task[executor.Input, executor.Output] {
	return a.core.task(a.Executor)
}

// SweeperTask returns the connection-sweeper handler as deployed.
func (a *App) SweeperTask() lambdatask.Task[json.RawMessage, sweeper.Result] {
	return a.core.sweeperTask()
}
