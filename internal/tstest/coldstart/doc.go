// Package coldstart holds the cold-start benchmark of the functions (make
// coldstart): the init of each function's bootstrap, against an SDK-init
// floor (testdata/floor: load the AWS configuration, read the secret from
// Secrets Manager), measured in the same run. The acceptance figure is
// x-floor, the function's init over the floor's, at most 1.25.
//
// Init is timed precisely, not inferred from a first answer: each bootstrap
// is started as a plain process whose AWS_LAMBDA_RUNTIME_API points at a
// fake Lambda Runtime API on loopback (runtimeAPI), with the environment it
// is deployed with (SECRETS_ID in Secrets Manager, TABLE_NAME, KMS_KEY_ID,
// all in moto; NANGO_HOST at the fake Nango). Init is the time from just
// before the process's start to its first GET
// /2018-06-01/runtime/invocation/next, which the Lambda runtime client makes
// exactly when init is done. That request is then answered with the
// function's sample event (events/), and the time to its answer is reported
// too (answer-ms): init plus the first invocation's work (DynamoDB, Nango),
// for information only. The floor and the function alternate within each
// iteration; figures are medians.
//
// A second reference, sdk-clients (testdata/clients), is the floor plus the
// DynamoDB and KMS clients every function links, built but not called: its
// ratio is the SDK's share of a function's, which no wiring can remove
// while the functions use those clients.
//
// The functions are measured traced, as deployed with the ADOT collector
// layer: OTEL_EXPORTER_OTLP_ENDPOINT points at a loopback collector, and
// the benchmark fails for a function that exports no trace of its first
// invocation (the export is in answer-ms, not in init-ms: nothing is
// dialled at init).
//
// Figures of 3 December 2026 (linux/amd64, 2 shared cores, moto; three
// runs of -benchtime 10x, median of the runs' medians, and the runs'
// range of x-floor):
//
//	row                        init-ms x-floor  (range)     answer-ms
//	floor                         10.5    0.95  (0.85-1.00)      11.1
//	sdk-clients                   12.3    1.15  (1.14-1.25)      12.9
//	connection-sweeper            14.5    1.23  (1.08-1.34)      33.2
//	execute-connector             13.9    1.35  (1.29-1.41)      33.2
//	nango-authorize               14.6    1.37  (1.23-1.37)      28.6
//	nango-callback                15.2    1.31  (1.24-1.59)      18.0
//	nango-create-connection       14.4    1.18  (1.02-1.33)      42.5
//	nango-delete-connection       13.7    1.29  (1.09-1.47)      22.6
//	nango-get-connection          15.3    1.49  (1.22-1.59)      23.4
//	nango-get-connector           14.7    1.27  (1.26-1.41)      30.4
//	nango-list-connections        14.7    1.31  (1.13-1.34)      26.4
//	nango-list-connectors         15.1    1.20  (1.19-1.35)      36.2
//	nango-list-executions         13.9    1.30  (1.28-1.36)      23.0
//	nango-refresh                 15.0    1.33  (1.28-1.45)      27.3
//	nango-rotate-credentials      13.9    1.27  (1.23-1.42)      26.1
//	nango-update-connection       14.2    1.35  (1.25-1.41)      27.5
//	nango-webhook                 13.2    1.26  (1.24-1.28)      23.9
//
// Before that day's changes (COLDSTART_BASELINE=21df3cc, one run of 10x)
// every function was at 5.8-7.7x: the catalogue compiled the 61 actions'
// JSON Schemas at init (40 ms), and the schema validator's package init
// compiles every draft's metaschema (7.9 ms). The schemas are now made and
// compiled on an action's first use, with schema.Subset; the library
// validator is the tests' oracle and no function links it. With it the
// executor was at 2.28x (2.04-2.32) in the same kind of runs.
//
// Where the rest goes (GODEBUG=inittrace=1 and timing probes, not kept):
// package init is about 6 ms against the floor's 3, most of the
// difference in the AWS SDK's DynamoDB and KMS clients (service schemas
// and endpoint tables: the sdk-clients row); OpenTelemetry's SDK,
// propagators and otelhttp add about 0.3 ms (the exporter and the AWS
// middleware are the tracing package's own: otlptracehttp and otelaws
// would link gRPC, protobuf, SQS, SNS and S3, about 3 ms). After main,
// the wiring's work beside the floor's (config, secret read) is about
// 0.7 ms: the registry and catalogue 0.5 (after the API-key patterns lost
// their bounded repetitions, 1.3 ms before), the store, the policy.
//
// It is a benchmark, not a test, on purpose: wall-clock figures vary with
// the machine and its load, so nothing asserts on them; the benchmark only
// fails when a function does not start or answer.
//
// The bootstraps are built with the deploy flags (template.yaml's Metadata
// and the Makefile) but for the host (linux/amd64 on the CI machines);
// Lambda runs the arm64 build (make sizes).
package coldstart
