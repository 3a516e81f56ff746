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
//	floor                          8.6    1.02  (0.86-1.05)       9.2
//	sdk-clients                   13.5    1.23  (1.19-1.26)      14.1
//	connection-sweeper            12.3    1.25  (1.22-1.33)      27.2
//	execute-connector             24.6    2.28  (2.04-2.32)      41.9
//	nango-authorize               12.9    1.27  (1.19-1.37)      26.5
//	nango-callback                16.1    1.42  (1.31-1.49)      18.3
//	nango-create-connection       13.3    1.26  (1.23-1.31)      39.0
//	nango-delete-connection       14.6    1.24  (1.21-1.32)      22.9
//	nango-get-connection          14.7    1.30  (1.24-1.42)      23.4
//	nango-get-connector           13.3    1.24  (1.24-1.28)      24.7
//	nango-list-connections        14.1    1.30  (1.05-1.35)      25.0
//	nango-list-connectors         15.8    1.34  (1.26-1.38)      37.5
//	nango-list-executions         14.4    1.32  (1.31-1.33)      21.2
//	nango-refresh                 15.2    1.34  (1.28-1.49)      27.5
//	nango-rotate-credentials      12.3    1.37  (1.20-1.54)      24.1
//	nango-update-connection       12.7    1.34  (1.31-1.45)      23.1
//	nango-webhook                 12.4    1.45  (1.37-1.50)      20.9
//
// Before that day's changes (COLDSTART_BASELINE=21df3cc, one run of 10x)
// every function was at 5.8-7.7x: the catalogue compiled the 61 actions'
// JSON Schemas at init (40 ms), and the schema validator's package init
// compiles every draft's metaschema (7.9 ms). The schemas are now made and
// compiled on an action's first use, and only the executor links the
// validator (internal/schema), which is the executor's remaining 1 x of
// floor: santhosh-tekuri/jsonschema v6 has no lazy form, and the
// validators without that cost that were tried (google/jsonschema-go,
// kaptinlin/jsonschema v0.4) report a first failure as text or with
// unreliable locations, not the tree the error words are made from.
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
