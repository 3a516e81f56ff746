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
// It is a benchmark, not a test, on purpose: wall-clock figures vary with
// the machine and its load, so nothing asserts on them; the benchmark only
// fails when a function does not start or answer.
//
// The bootstraps are built with the deploy flags (template.yaml's Metadata
// and the Makefile) but for the host (linux/amd64 on the CI machines);
// Lambda runs the arm64 build (make sizes).
package coldstart
