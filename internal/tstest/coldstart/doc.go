// Package coldstart holds the cold-start benchmark of the functions (make
// coldstart): each function's bootstrap, and an SDK-init floor
// (testdata/floor: load the AWS configuration, read the secret from
// Secrets Manager, answer), is started under the Lambda Runtime Interface
// Emulator against moto and invoked once, and the time from that first
// invoke (when the emulator starts the bootstrap process) to the first
// answer is reported per function, with its ratio to the floor measured in
// the same run. The acceptance figure is a ratio of at most 1.25.
//
// It is a benchmark, not a test, on purpose: wall-clock figures vary with
// the machine and its load, so nothing asserts on them; the benchmark only
// fails when a function does not start or answer.
//
// The bootstraps are built with the deploy flags (template.yaml's Metadata and the Makefile) but for the
// host (linux/amd64 on the CI machines), since the emulator runs them as
// host processes; Lambda runs the arm64 build (make sizes).
package coldstart
