package dynamostore_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/tstest/reporoot"
)

// templateResource is the logical id of the table in template.yaml.
const templateResource = "ConnectorCredentialsTable"

// TestTemplateTableMatchesSchema holds template.yaml's table to
// CreateTableInput, so the deployed table and the tables tests create cannot
// drift. A missing template.yaml is a failure: the table must be declared.
func TestTemplateTableMatchesSchema(t *testing.T) {
	root, err := reporoot.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "template.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read template: %v", err)
	}
	for _, d := range compareTemplate(data) {
		t.Errorf("%s: %s", path, d)
	}
}

// TestCompareTemplate checks the checker on templates written here, so that
// it is known to catch drift and to read CloudFormation's short tags.
func TestCompareTemplate(t *testing.T) {
	const good = `
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String}
Resources:
  Other:
    Type: AWS::SNS::Topic
  ConnectorCredentialsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "ConnectorCredentials-${Stage}"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: PK, AttributeType: S}
        - AttributeName: SK
          AttributeType: S
        - AttributeName: GSI1PK
          AttributeType: S
        - AttributeName: GSI1SK
          AttributeType: S
      KeySchema:
        - AttributeName: PK
          KeyType: HASH
        - AttributeName: SK
          KeyType: RANGE
      GlobalSecondaryIndexes:
        - IndexName: GSI1
          KeySchema:
            - AttributeName: GSI1PK
              KeyType: HASH
            - AttributeName: GSI1SK
              KeyType: RANGE
          Projection:
            ProjectionType: ALL
      TimeToLiveSpecification:
        AttributeName: expiresAtEpoch
        Enabled: true
      PointInTimeRecoverySpecification:
        PointInTimeRecoveryEnabled: true
      Tags:
        - Key: app
          Value: !Ref AWS::StackName
Outputs:
  TableName:
    Value: !GetAtt ConnectorCredentialsTable.Arn
`
	if d := compareTemplate([]byte(good)); len(d) != 0 {
		t.Fatalf("good template reported: %q", d)
	}
	tests := []struct{ name, old, new string }{
		{"ttl attribute", "AttributeName: expiresAtEpoch", "AttributeName: ttl"},
		{"ttl disabled", "Enabled: true", "Enabled: false"},
		{"key type", "KeyType: RANGE\n      GlobalSecondaryIndexes", "KeyType: HASH\n      GlobalSecondaryIndexes"},
		{"attribute type", "{AttributeName: PK, AttributeType: S}", "{AttributeName: PK, AttributeType: N}"},
		{"index name", "IndexName: GSI1", "IndexName: ByUser"},
		{"projection", "ProjectionType: ALL", "ProjectionType: KEYS_ONLY"},
		{"billing", "PAY_PER_REQUEST", "PROVISIONED"},
		{"pitr", "PointInTimeRecoveryEnabled: true", "PointInTimeRecoveryEnabled: false"},
		{"type", "Type: AWS::DynamoDB::Table", "Type: AWS::Serverless::SimpleTable"},
		{"missing table", "ConnectorCredentialsTable:\n", "SomethingElse:\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(good, tt.old, tt.new, 1)
			if bad == good {
				t.Fatalf("test edit %q did not apply", tt.old)
			}
			if d := compareTemplate([]byte(bad)); len(d) == 0 {
				t.Fatal("drift not reported")
			}
		})
	}
	if d := compareTemplate([]byte("Resources: [")); len(d) == 0 {
		t.Fatal("invalid YAML not reported")
	}
}

// compareTemplate returns the differences between the template's table and
// CreateTableInput, as readable lines; none means they agree.
func compareTemplate(data []byte) (diffs []string) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []string{fmt.Sprintf("parse: %v", err)}
	}
	res := lookup(&doc, "Resources", templateResource)
	if res == nil {
		return []string{"no resource " + templateResource}
	}
	diff := func(what string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", what, got, want))
		}
	}
	diff("Type", scalar(lookup(res, "Type")), "AWS::DynamoDB::Table")
	props := lookup(res, "Properties")
	want := dynamostore.CreateTableInput("x")

	diff("BillingMode", scalar(lookup(props, "BillingMode")), want.BillingMode)

	gotAttrs := pairs(lookup(props, "AttributeDefinitions"), "AttributeName", "AttributeType")
	wantAttrs := map[string]string{}
	for _, a := range want.AttributeDefinitions {
		wantAttrs[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}
	diff("AttributeDefinitions", sorted(gotAttrs), sorted(wantAttrs))

	diff("KeySchema", keySchema(lookup(props, "KeySchema")), wantKeySchema(want.KeySchema))

	var gsi *yaml.Node
	if seq := lookup(props, "GlobalSecondaryIndexes"); seq != nil {
		for _, ix := range seq.Content {
			if scalar(lookup(ix, "IndexName")) == dynamostore.IndexGSI1 {
				gsi = ix
			}
		}
		diff("number of GlobalSecondaryIndexes", len(seq.Content), len(want.GlobalSecondaryIndexes))
	}
	if gsi == nil {
		diffs = append(diffs, "no GlobalSecondaryIndexes entry "+dynamostore.IndexGSI1)
	} else {
		wantGSI := want.GlobalSecondaryIndexes[0]
		diff("GSI1 KeySchema", keySchema(lookup(gsi, "KeySchema")), wantKeySchema(wantGSI.KeySchema))
		diff("GSI1 ProjectionType", scalar(lookup(gsi, "Projection", "ProjectionType")), wantGSI.Projection.ProjectionType)
	}

	diff("TimeToLiveSpecification.AttributeName", scalar(lookup(props, "TimeToLiveSpecification", "AttributeName")), dynamostore.AttrTTL)
	diff("TimeToLiveSpecification.Enabled", scalar(lookup(props, "TimeToLiveSpecification", "Enabled")), "true")
	diff("PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled",
		scalar(lookup(props, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")), "true")
	return diffs
}

// lookup follows mapping keys from n; nil when any is missing.
func lookup(n *yaml.Node, path ...string) *yaml.Node {
	for _, key := range path {
		for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
			if n.Kind == yaml.DocumentNode {
				n = n.Content[0]
			} else {
				n = n.Alias
			}
		}
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// scalar is a plain scalar's value. A tagged one (!Ref, !Sub) is not a
// literal, so it is shown with its tag and will not match.
func scalar(n *yaml.Node) string {
	switch {
	case n == nil:
		return "<missing>"
	case n.Kind != yaml.ScalarNode:
		return "<not a scalar>"
	case strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!"): // !!str, !!bool: resolved, not written
		return n.Tag + " " + n.Value
	}
	return n.Value
}

func pairs(seq *yaml.Node, k, v string) map[string]string {
	m := map[string]string{}
	if seq == nil {
		return m
	}
	for _, e := range seq.Content {
		m[scalar(lookup(e, k))] = scalar(lookup(e, v))
	}
	return m
}

func keySchema(seq *yaml.Node) []string {
	var ks []string
	if seq == nil {
		return ks
	}
	for _, e := range seq.Content {
		ks = append(ks, scalar(lookup(e, "AttributeName"))+" "+scalar(lookup(e, "KeyType")))
	}
	return ks
}

func wantKeySchema(ks []types.KeySchemaElement) []string {
	var out []string
	for _, k := range ks {
		out = append(out, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return out
}

func sorted(m map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}
