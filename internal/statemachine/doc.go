// Package statemachine holds the Step Functions state machine that runs one
// workflow integration node (execute-node.asl.json, deployed by
// template.yaml's ExecuteNodeStateMachine) and the node runner its tests use
// (run.mjs: aws-local-stepfunctions with the Lambda task sent to the
// execute-connector bootstrap under the Runtime Interface Emulator).
//
// It has no Go code to import; its tests run the definition end to end.
package statemachine
