// Package deploycheck holds the deploy check run by make test: template.yaml
// as transformed by aws-sam-translator (what CloudFormation deploys) must
// give every function what it needs (environment, policies, its log group)
// and every parameter a default that is safe for a dev stage. It has tests
// only.
package deploycheck
