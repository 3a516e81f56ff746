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
// Figures of 2 December 2026 (linux/amd64, 2 shared cores, moto; three
// runs of -benchtime 10x, median of the runs' medians, and the runs'
// range of x-floor):
//
//	row                      init-ms  x-floor  (range)      answer-ms
//	floor                      9.9     1.02   (1.01-1.08)     10.3
//	sdk-clients               11.0     1.18   (1.18-1.19)     11.4
//	connection-sweeper        12.1     1.28   (1.19-1.32)     18.5
//	execute-connector         12.1     1.28   (1.28-1.31)     29.5
//	nango-authorize           13.0     1.29   (1.24-1.29)     24.3
//	nango-callback            12.4     1.26   (1.25-1.28)     13.4
//	nango-delete-connection   12.2     1.29   (1.22-1.33)     16.7
//	nango-get-connection      11.4     1.30   (1.27-1.33)     15.9
//	nango-list-connections    12.8     1.32   (1.24-1.34)     19.5
//	nango-refresh             12.0     1.24   (1.23-1.28)     21.0
//	nango-webhook             12.7     1.28   (1.26-1.29)     18.5
//
// The three functions added later that day (API-key connections and
// sharing), in a session of three runs of -benchtime 10x with every other
// function measured alongside: nango-create-connection 1.40 (1.27-1.42),
// nango-rotate-credentials 1.43 (1.38-1.47), nango-update-connection 1.45
// (1.42-1.50), against 1.24-1.42 for the functions above in the same runs
// (a slower session than the table's): the same wiring, in the same band.
//
// The deployment measured is configured for every connector (the built-in
// OAuth's clients and PUBLIC_URL included), so that no "configuration value
// missing" line is part of the measure (the table above was taken with
// five of them; one run of -benchtime 10x so configured gave 1.21-1.33).
//
// COLDSTART_BASELINE=<revision> adds each function as built at that
// revision, against the same floor. With the revision before the provider
// port (ffd2e1b), one run of -benchtime 10x gave 1.21-1.31 for the old
// bootstraps and 1.16-1.32 for these: the redesign did not move init.
//
// Where the 2-3 ms above the floor go (GODEBUG=inittrace=1 and timing
// probes, not kept): before main, package init costs 3.4 ms against the
// floor's 1.7 ms, 1.4 ms of the difference in the SDK's
// service/dynamodb/schemas (0.70), service/kms/schemas (0.37), their
// endpoint tables (0.24) and dynamodbstreams/schemas (0.07, through the
// attribute-value marshaller), and about 0.2 ms in the service's own
// packages; the bootstrap is 11.1 MiB on arm64 against the floor's 8.6
// (sdk-clients 9.4). After main, internal/wiring's work beside the
// floor's (config, secret read) is about 0.6 ms: the store, the five
// "configuration value missing" lines, the catalogue, the policy. Building
// that work while the secret is read (a goroutine) measured no change.
//
// It is a benchmark, not a test, on purpose: wall-clock figures vary with
// the machine and its load, so nothing asserts on them; the benchmark only
// fails when a function does not start or answer.
//
// The bootstraps are built with the deploy flags (template.yaml's Metadata
// and the Makefile) but for the host (linux/amd64 on the CI machines);
// Lambda runs the arm64 build (make sizes).
package coldstart
