package dynamostore_test

import (
	"bytes"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/storetest"
)

func TestDataKeyConformance(t *testing.T) {
	storetest.RunDataKeys(t, func(t *testing.T) connectors.DataKeyStore { return newStore(t) })
}

// TestRawItemsHoldNoPlaintextDataKey: the table holds the data key wrapped,
// under PK=KEY#<org>, SK=<key id>, and never its plaintext.
func TestRawItemsHoldNoPlaintextDataKey(t *testing.T) {
	client := awstest.DynamoDB(t)
	table := awstest.Table(t, client)
	s := dynamostore.New(client, table, []byte("k"))
	check := storetest.SealWithDataKeys(t, s, "o1")
	var raw bytes.Buffer
	found := false
	for _, item := range scanAll(t, client, table) {
		pk, _ := item["PK"].(*types.AttributeValueMemberS)
		sk, _ := item["SK"].(*types.AttributeValueMemberS)
		if pk != nil && sk != nil && pk.Value == "KEY#o1" && sk.Value == connectors.DataKeyID(1) {
			found = true
		}
		for _, v := range item {
			switch v := v.(type) {
			case *types.AttributeValueMemberB:
				raw.Write(v.Value)
			case *types.AttributeValueMemberS:
				raw.WriteString(v.Value)
			}
		}
	}
	if !found {
		t.Fatal("no item PK=KEY#o1, SK=00000001")
	}
	check(raw.Bytes())
}
